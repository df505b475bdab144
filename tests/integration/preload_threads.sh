#!/usr/bin/env bash
# preload_threads: build/prog/mt_threads (tests/prog/mt_threads.c: blocking
# I/O from many threads at once: a TCP connection per thread, one
# connection shared by a sending and a receiving thread, close() of fds
# whose readers are blocked in recv() in other threads, UDP from several
# threads) against kernel peers (python3: TCP echo, a TCP service that
# answers after a delay, UDP echo) on TAP mt0 (kernel 10.61.60.1,
# microtcp 10.61.60.2). Three runs, each must print no FAIL and exit 0:
#   1. on the kernel (checks the program and the peers themselves),
#   2. on microtcp: LD_PRELOAD=$MTCP_BUILD/libmtcp.so,
#   3. on microtcp built with ThreadSanitizer (build/tsan, made here:
#      libmtcp.so and mt_threads), TSAN_OPTIONS=halt_on_error=1:exitcode=66;
#      any "WARNING: ThreadSanitizer" fails the test.
#      The report is printed symbolized (tsan_run and tsan_symbolize in preload_lib.bash).
# PRELOAD_THREADS_TSAN=0 skips run 3; TSAN_EXTRA=opt=v:... adds TSan options.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need make nm ldd addr2line

PROG=$MTCP_BUILD/prog/mt_threads
ECHO_PORT=7100 DELAY_PORT=7101 UDP_PORT=7102

[ -x "$PROG" ] || fail "$PROG not found (make $PROG)"

pl_setup t 10.61.60

# ------------------------------------------------------------ the peers
cat >"$TMP_DIR/peers.py" <<'PY'
# TCP echo (echo until EOF, then FIN), a delay service (read delay ms,
# length, payload; wait; send the payload back; close), UDP echo.
import socket, struct, sys, threading, time

addr = sys.argv[1]
echo_port, delay_port, udp_port = map(int, sys.argv[2:5])
lock = threading.Lock()
counts = {"echo": 0, "delay": 0, "udp": 0, "errors": 0}

def note(what, msg=None):
    with lock:
        counts[what] += 1
        if msg:
            print("peers: " + msg, file=sys.stderr, flush=True)

def recv_exact(c, n):
    b = bytearray()
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            raise EOFError("EOF after %d of %d bytes" % (len(b), n))
        b += d
    return bytes(b)

def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.shutdown(socket.SHUT_WR)
        note("echo")
    except (OSError, EOFError) as e:
        note("errors", "echo: %r" % e)
    finally:
        c.close()

def delay(c):
    try:
        ms, n = struct.unpack("!II", recv_exact(c, 8))
        data = recv_exact(c, n)
        time.sleep(ms / 1000.0)
        c.sendall(data)
        note("delay")
    except (OSError, EOFError) as e:
        note("errors", "delay: %r" % e)
    finally:
        c.close()

def serve(port, fn):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    def loop():
        while True:
            c, _ = s.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()

def udp_echo():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((addr, udp_port))
    def loop():
        while True:
            d, a = u.recvfrom(65536)
            u.sendto(d, a)
            note("udp")
    threading.Thread(target=loop, daemon=True).start()

serve(echo_port, echo)
serve(delay_port, delay)
udp_echo()
print("peers: ready", flush=True)
while True:
    line = sys.stdin.readline()
    if not line:
        time.sleep(3600)
        continue
    with lock:
        print("peers: %s " % line.strip() +
              " ".join("%s=%d" % kv for kv in sorted(counts.items())), flush=True)
PY

# The peers read stdin from a fifo: a line asks for their counters.
mkfifo "$TMP_DIR/peers.in" || fail "mkfifo failed"
ip netns exec "$NS" "$PY" "$TMP_DIR/peers.py" $K $ECHO_PORT $DELAY_PORT $UDP_PORT \
	<"$TMP_DIR/peers.in" >"$TMP_DIR/peers.out" 2>"$TMP_DIR/peers.err" &
PEERS_PID=$!
exec 9>"$TMP_DIR/peers.in"
wait_grep 5 "$TMP_DIR/peers.out" '^peers: ready' || pl_fail "the python peers did not start" peers
log "peers (pid $PEERS_PID) on $K: TCP echo $ECHO_PORT, TCP delay $DELAY_PORT, UDP echo $UDP_PORT"

# peer_counts: the peers' counters (echo/delay connections served, UDP
# datagrams echoed, errors), as one line; for the log only.
# peer_counts TAG: TAG names the question (each call its own).
peer_counts() {
	echo "$1" >&9
	if wait_until 15 grep -q "^peers: $1 " "$TMP_DIR/peers.out"; then
		grep "^peers: $1 " "$TMP_DIR/peers.out"
	else
		echo "peers: no answer for their counters within 15 s"
	fi
}

# check_run NAME RC: mt_threads printed its summary, no FAIL, exited 0.
check_run() {
	local name=$1 rc=$2 sum
	sum=$(grep '^mt_threads: .* checks, ' "$TMP_DIR/$name.out")
	[ -n "$sum" ] || pl_fail "$name: mt_threads printed no summary (exit $rc)" "$name" peers
	log "    $sum"
	if grep -q '^FAIL' "$TMP_DIR/$name.out" || [ "$rc" -ne 0 ]; then
		grep '^FAIL' "$TMP_DIR/$name.out" | head -n 20 | sed 's/^/    | /' >&2
		pl_fail "$name: mt_threads exited $rc with the failures above" "$name" peers
	fi
	log "    $(peer_counts "after-$name")"
}

ARGS=($K $ECHO_PORT $DELAY_PORT $UDP_PORT)

# ------------------------------------------------------------ 1. kernel
log "1. mt_threads on the kernel (the program and the peers)"
k_run kernel 90 "$PROG" "${ARGS[@]}"
check_run kernel $?

# ------------------------------------------------------------ 2. microtcp
log "2. mt_threads on microtcp ($PL_LIB)"
mt_run preload 90 "$PROG" "${ARGS[@]}"
check_run preload $?
via_tap "mt_threads on microtcp" $((2 * (4 * 4 + 8) * 1048576))
# The counters it wrote at exit (MTCP_STATS; pl_fail shows them when a check
# fails): at least the 2 x 200 UDP echoes came in.
udp_in=$(pl_stats preload | awk '$1 == "udp_rx" { print $2 }')
[ -n "$udp_in" ] || fail "preload: no udp_rx counter in its MTCP_STATS file"
assert_ge "UDP datagrams the stack received (MTCP_STATS udp_rx)" "$udp_in" 400

# ------------------------------------------------------------ 3. TSan
if [ "${PRELOAD_THREADS_TSAN:-1}" = 0 ]; then
	log "PRELOAD_THREADS_TSAN=0: no ThreadSanitizer run"
	log "PASS"
	exit 0
fi
log "3. mt_threads on microtcp, both built with ThreadSanitizer (build/tsan)"
tsan_build mt_threads
# Smaller transfers: everything runs 5 to 15 times slower under TSan.
tsan_run tsan 120 "" -A 2 -B 4 -d 3000 "${ARGS[@]}"
rc=$?
check_run tsan $rc
via_tap "mt_threads on microtcp under TSan" $((2 * (4 * 2 + 4) * 1048576))
log "ok: no ThreadSanitizer report"
log "PASS"

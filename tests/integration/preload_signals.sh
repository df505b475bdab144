#!/usr/bin/env bash
# preload_signals: build/prog/sig_send (tests/prog/sig_send.c): signal
# handlers that send() on a socket, fired every 50 us at threads that are
# themselves sending and receiving on sockets (on microtcp: often inside
# the library, holding pl_lock, the stack lock or tx_lock). Before the
# library deferred such signals to the exit of its calls, the handler's
# send waited for a lock its own thread held: a deadlock, which sig_send's
# watchdog reports ("no progress", exit 3).
# Peers (python3, in the namespace): TCP echo, and a TCP counter (counts
# the bytes until EOF, checks each is 'S', answers the count).
# TAP mt0: kernel 10.61.61.1, microtcp 10.61.61.2. Runs, each must print
# "sig_send: ok" and exit 0:
#   1. on the kernel (checks the program and the peers),
#   2. on microtcp: LD_PRELOAD=$PL_LIB (PRELOAD_SIGNALS_LIB overrides it:
#      PRELOAD_SIGNALS_LIB=/work/baseline/libmtcp.so shows a library
#      without the deferral failing),
#   3. twice more on microtcp with 1 and 8 threads,
#   3b. build/prog/sig_nested (tests/prog/sig_nested.c), kernel then
#      microtcp: a handler that blocks in recv() on one socket while its
#      thread sleeps in recv() on another; the thread's recv must still see
#      its data (a handler's wait that shared the thread's waiter took the
#      wake-up and left it asleep: "FAIL: round N", exit 3),
#   4. on microtcp built with ThreadSanitizer (build/tsan, made here); any
#      "WARNING: ThreadSanitizer" fails. PRELOAD_SIGNALS_TSAN=0 skips it.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need make

PL_LIB=${PRELOAD_SIGNALS_LIB:-$PL_LIB}
PROG=$MTCP_BUILD/prog/sig_send
NESTED=$MTCP_BUILD/prog/sig_nested
ECHO_PORT=7200 COUNT_PORT=7201

[ -x "$PROG" ] || fail "$PROG not found (make $PROG)"
[ -x "$NESTED" ] || fail "$NESTED not found (make $NESTED)"

pl_setup s 10.61.61

cat >"$TMP_DIR/peers.py" <<'PY'
import socket, sys, threading

addr, echo_port, count_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError as e:
        print("peers: echo: %r" % e, file=sys.stderr, flush=True)
    finally:
        c.close()

def count(c):
    n, bad = 0, False
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
            bad = bad or d.strip(b"S") != b""
        c.sendall(("%d%s" % (n, " BAD" if bad else "")).encode())
    except OSError as e:
        print("peers: count: %r" % e, file=sys.stderr, flush=True)
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

serve(echo_port, echo)
serve(count_port, count)
print("peers: ready", flush=True)
threading.Event().wait()
PY
ip netns exec "$NS" "$PY" "$TMP_DIR/peers.py" $K $ECHO_PORT $COUNT_PORT \
	>"$TMP_DIR/peers.out" 2>"$TMP_DIR/peers.err" </dev/null &
wait_until 5 grep -q '^peers: ready' "$TMP_DIR/peers.out" || pl_fail "the python peers did not start" peers
log "peers on $K: TCP echo $ECHO_PORT, TCP counter $COUNT_PORT"

# check_run NAME RC: sig_send said ok, printed no FAIL, exited 0.
check_run() {
	local name=$1 rc=$2
	grep '^sig_send: ' "$TMP_DIR/$name.out" | head -n 1 | sed 's/^/    /'
	if [ "$rc" -ne 0 ] || grep -q '^FAIL' "$TMP_DIR/$name.out" ||
	   ! grep -q '^sig_send: ok$' "$TMP_DIR/$name.out"; then
		grep '^FAIL' "$TMP_DIR/$name.out" | head -n 10 | sed 's/^/    | /' >&2
		pl_fail "$name: sig_send exited $rc (3: its watchdog saw no progress: a deadlock)" "$name" peers
	fi
}
# handler_runs NAME: how many times the handlers ran
handler_runs() {
	sed -n 's/.* \([0-9]*\) handler runs.*/\1/p' "$TMP_DIR/$1.out"
}

ARGS=($K $ECHO_PORT $COUNT_PORT)

log "1. sig_send on the kernel (the program and the peers)"
k_run kernel 60 "$PROG" -d 30000 "${ARGS[@]}"
check_run kernel $?

log "2. sig_send on microtcp ($PL_LIB)"
mt_run preload 60 "$PROG" -d 30000 "${ARGS[@]}"
check_run preload $?
via_tap "sig_send on microtcp" $((2 * 4096 * 100))
# Enough signals landed for the run to mean something (a few thousand
# here; hundreds of them inside the library's locks).
assert_ge "handler runs on microtcp" "$(handler_runs preload)" 1000

log "3. sig_send on microtcp with 1 and with 8 threads"
mt_run preload1 60 "$PROG" -t 1 -d 30000 "${ARGS[@]}"
check_run preload1 $?
mt_run preload8 60 "$PROG" -t 8 -r 1000 -d 30000 "${ARGS[@]}"
check_run preload8 $?

log "3b. sig_nested: a handler blocks in recv() while its thread sleeps in recv()"
# check_nested NAME RC: sig_nested said ok and exited 0.
check_nested() {
	grep -E '^(sig_nested|FAIL)' "$TMP_DIR/$1.out" | head -n 3 | sed 's/^/    /'
	[ "$2" -eq 0 ] && grep -q '^sig_nested: ok, 50 rounds$' "$TMP_DIR/$1.out" ||
		pl_fail "$1: sig_nested exited $2 (3: the thread's recv stayed asleep with its data queued)" "$1" peers
}
k_run nested_kernel 60 "$NESTED" -r 50 $K $ECHO_PORT
check_nested nested_kernel $?
mt_run nested 60 "$NESTED" -r 50 $K $ECHO_PORT
check_nested nested $?

if [ "${PRELOAD_SIGNALS_TSAN:-1}" = 0 ]; then
	log "PRELOAD_SIGNALS_TSAN=0: no ThreadSanitizer run"
	log "PASS"
	exit 0
fi
log "4. sig_send on microtcp, both built with ThreadSanitizer (build/tsan)"
tsan_build sig_send
# report_signal_unsafe=0: the handler's send() allocates (the stack's send
# ring, ring_reserve, is allocated on demand), and TSan reports any malloc
# in a handler. Deferral cannot help with that one: it is only unsafe if the
# handler interrupted the program's own malloc (noted in signals.c).
tsan_run tsan 120 report_signal_unsafe=0 -r 300 -s 8000 -d 90000 "${ARGS[@]}"
rc=$?
check_run tsan $rc
assert_ge "handler runs under TSan" "$(handler_runs tsan)" 100
log "ok: no ThreadSanitizer report"
log "PASS"

#!/usr/bin/env bash
# exit_keeper: a process exits as fast as on the kernel; what it leaves is
# finished by a keeper (preload/init.c, issue 13).
#
# A python client on microtcp (TAP mt0, 10.61.58.2) writes 20 MiB to a
# kernel server (10.61.58.1) that reads all but the last 256 KiB at once,
# then stops reading for 3 s (a small receive buffer: the rest waits in
# the client's send buffer), then reads to the end. The client's last
# write returns during the pause; it closes and exits. Checked:
#   - the client is gone < 0.5 s after its last write returned, measured
#     as a shell sees it: $(client 2>&1) returns then (the output is read
#     through a pipe: the keeper holds neither stdout nor stderr);
#   - a keeper ("mtcp-keeper") is running then, and the server receives
#     all 20 MiB intact, then a clean FIN (EOF, no reset);
#   - the keeper is gone after the transfer and TIME-WAIT (MTCP_TCP_MSL=1:
#     2 s), with its lifetime logged;
#   - the same with SO_LINGER {on, 10 s} on a socket the exit closes: an
#     exiting process never lingers (Linux's inet_release, PF_EXITING);
#   - a client with nothing left (the server closed first, and the
#     client's FIN was acknowledged before it exited) forks no keeper;
#   - a stack alone on the address (MTCP_SHARE=off) forks none either: its
#     exit waits for the data, as before, and the server gets it all.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need sha256sum ss

pl_setup k 10.61.58
export MTCP_TCP_MSL=1
PORT=7050
MIB=20
HOLD=$((256 * 1024))
D=$TMP_DIR/data
mkdata "$D" $MIB
SHA=$(sha256sum <"$D" | cut -d' ' -f1)

cat >"$TMP_DIR/server.py" <<'EOF'
import hashlib, socket, sys, time
addr, port, total, hold, pause = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
# A small window: what the client writes past it waits in its own stack.
l.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
l.bind((addr, port))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
h = hashlib.sha256()
n = 0
def take(limit):
    global n
    while n < limit:
        b = c.recv(min(65536, limit - n))
        if not b:
            return False
        h.update(b)
        n += len(b)
    return True
take(total - hold)
print("paused %.6f %d" % (time.time(), n), flush=True)
time.sleep(pause)
end = "eof"
try:
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
except ConnectionResetError:
    end = "reset"
print("got %d %s %s %.6f" % (n, h.hexdigest(), end, time.time()), flush=True)
c.close()
EOF

cat >"$TMP_DIR/client.py" <<'EOF'
import socket, sys, time
import struct
addr, port, path, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
s = socket.socket()
if mode == "linger":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 10))
s.connect((addr, port))
with open(path, "rb") as f:
    data = f.read()
s.sendall(data)
print("lastwrite %.6f" % time.time(), flush=True)
if mode == "linger":
    s.detach()          # the fd stays open: the process's exit closes it
else:
    s.close()
EOF

# keepers: the pids of mtcp-keeper processes in $NS
keepers() {
	local p
	for p in $(ip netns pids "$NS" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = mtcp-keeper ] && echo "$p"
	done
}
no_keeper() { [ -z "$(keepers)" ]; }

# exit_case NAME PORT MODE: the client (MODE close: it closes, then
# exits; linger: SO_LINGER {on, 10 s} and the fd left for exit to close)
# against a pausing server; every check above.
exit_case() {
	local name=$1 port=$2 mode=$3 srv=$1-srv out rc t_gone t_last ms t_pause kp fd t
	k_bg "$srv" 60 $PY "$TMP_DIR/server.py" "$K" "$port" $((MIB * 1048576)) $HOLD 3
	local spid=$BG_PID
	wait_grep 5 "$TMP_DIR/$srv.out" '^listening' || pl_fail "the kernel server is not listening" "$srv"

	_tap_mark
	_mt_cmd "$name"
	log "[microtcp] $name: \$(python3 client.py $K $port data $mode 2>&1)"
	out=$("${_MT[@]}" timeout -k 5 30 $PY "$TMP_DIR/client.py" "$K" "$port" "$D" "$mode" 2>&1)
	rc=$?
	t_gone=$(date +%s.%N)
	printf '%s\n' "$out" >"$TMP_DIR/$name.out"
	printf '%s\n' "$out" | sed "s/^/    | $name: /"
	[ $rc -eq 0 ] || pl_fail "$name: the client exited $rc" "$name" "$srv"
	t_last=$(awk '$1 == "lastwrite" { print $2 }' "$TMP_DIR/$name.out")
	[ -n "$t_last" ] || pl_fail "$name: the client did not say when its last write returned" "$name"
	ms=$(awk -v a="$t_last" -v b="$t_gone" 'BEGIN { printf "%d", (b - a) * 1000 }')
	log "$name: exit latency: $ms ms from the last write's return to \$(...) returning"
	assert_lt "$name: ms from the last write to the client gone (pipe closed, process reaped)" "$ms" 500

	t_pause=$(awk '$1 == "paused" { print $2 }' "$TMP_DIR/$srv.out")
	if [ "$PL_KERNEL_ONLY" != 1 ]; then
		# The client left data in flight (the server is still
		# pausing): a keeper has it.
		[ -n "$t_pause" ] && awk -v a="$t_pause" -v b="$t_gone" 'BEGIN { exit !(b < a + 3) }' ||
			pl_fail "$name: the client did not exit during the server's pause (paused at ${t_pause:-never}, gone at $t_gone): nothing was left to keep" "$name" "$srv"
		kp=$(keepers)
		[ -n "$kp" ] || pl_fail "$name: no mtcp-keeper process in $NS after the client exited with data in flight" "$name" "$srv"
		log "ok: $name: keeper $kp runs ($(tr '\0' ' ' </proc/$kp/cmdline 2>/dev/null | cut -c 1-60))"
		for fd in 0 1 2; do
			# /dev/null by its device (1:3), not its path: in a root
			# bind-mounted elsewhere (scripts/fresh-root) the link
			# reads as the host's path to it
			t=$(readlink /proc/$kp/fd/$fd 2>/dev/null)
			d=$(stat -L -c %t:%T "/proc/$kp/fd/$fd" 2>/dev/null)
			[ "$d" = 1:3 ] || pl_fail "$name: the keeper's fd $fd is '$t' (device ${d:-none}), not /dev/null (1:3)" "$name"
		done
		log "ok: $name: the keeper's stdin, stdout and stderr are /dev/null"
	fi

	bg_wait $spid 30 || pl_fail "$name: the kernel server did not finish" "$srv" "$name"
	local got gsha gend t_eof t_kgone
	read -r _ got gsha gend t_eof < <(grep '^got ' "$TMP_DIR/$srv.out")
	assert_eq "$name: bytes the server received" $((MIB * 1048576)) "$got"
	assert_eq "$name: sha256 of what the server received" "$SHA" "$gsha"
	assert_eq "$name: how the stream ended at the server" eof "$gend"
	via_tap "$name: the transfer" $((MIB * 1048576))

	if [ "$PL_KERNEL_ONLY" != 1 ]; then
		# The server's FIN (it closed after EOF) puts the keeper's
		# connection in TIME-WAIT: 2 s here.
		wait_until 10 no_keeper ||
			pl_fail "$name: the keeper ($(keepers)) is still there 10 s after the transfer ended" "$name"
		t_kgone=$(date +%s.%N)
		log "$name: keeper lifetime: $(awk -v a="$t_gone" -v b="$t_kgone" 'BEGIN { printf "%.2f", b - a }') s" \
		    "after the client exited, $(awk -v a="$t_eof" -v b="$t_kgone" 'BEGIN { printf "%.2f", b - a }') s" \
		    "after the server's EOF (TIME-WAIT 2 s, MTCP_TCP_MSL=1)"
	fi
}

# ------------------------------------------------------------ exit at once
exit_case cli $PORT close
# Linux's inet_release never lingers for a process that is exiting
# (PF_EXITING): the FIN goes, the exit does not wait for its ACK.
exit_case linger $((PORT + 2)) linger

# ------------------------------------------------------------ nothing left
# The server answers and closes first: the client's connection ends in
# CLOSED (the peer's FIN, then ours acknowledged): no keeper.
cat >"$TMP_DIR/srv2.py" <<'EOF'
import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], int(sys.argv[2])))
l.listen(1)
print("listening", flush=True)
c, _ = l.accept()
c.recv(100)
c.sendall(b"bye\n")
c.close()
EOF
cat >"$TMP_DIR/cli2.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.connect((sys.argv[1], int(sys.argv[2])))
s.sendall(b"hi\n")
buf = b""
while True:
    b = s.recv(100)
    if not b:
        break
    buf += b
print(buf.decode().strip(), flush=True)
s.close()
time.sleep(0.2)     # our FIN acknowledged: LAST-ACK -> CLOSED
EOF
k_bg srv2 20 $PY "$TMP_DIR/srv2.py" "$K" $((PORT + 1))
SRV=$BG_PID
wait_grep 5 "$TMP_DIR/srv2.out" '^listening' || pl_fail "the second kernel server is not listening" srv2
mt_run cli2 20 env MTCP_LOG=info $PY "$TMP_DIR/cli2.py" "$K" $((PORT + 1)) ||
	pl_fail "the second client failed" cli2 srv2
assert_contains "the second client's answer" "$TMP_DIR/cli2.out" '^bye$'
bg_wait $SRV 10 || pl_fail "the second server did not finish" srv2
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	grep -q 'keeper' "$TMP_DIR/cli2.err" &&
		pl_fail "a keeper was forked for a client with nothing left" cli2
	no_keeper || pl_fail "a keeper ($(keepers)) runs after a client with nothing left" cli2
	log "ok: no keeper for a client whose connection was done"
fi
# ------------------------------------------------------------ alone
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	k_bg alone-srv 60 $PY "$TMP_DIR/server.py" "$K" $((PORT + 3)) $((MIB * 1048576)) $HOLD 3
	SRV=$BG_PID
	wait_grep 5 "$TMP_DIR/alone-srv.out" '^listening' || pl_fail "the kernel server is not listening" alone-srv
	mt_run alone 30 env MTCP_SHARE=off MTCP_LOG=info $PY "$TMP_DIR/client.py" "$K" $((PORT + 3)) "$D" close ||
		pl_fail "the client alone on the address failed" alone alone-srv
	assert_contains "the client alone says why it forks no keeper" "$TMP_DIR/alone.err" 'alone on its address: no keeper'
	no_keeper || pl_fail "a keeper ($(keepers)) runs for a stack alone on the address" alone
	bg_wait $SRV 30 || pl_fail "the kernel server did not finish" alone-srv alone
	read -r _ GOT GSHA GEND _ < <(grep '^got ' "$TMP_DIR/alone-srv.out")
	assert_eq "alone: bytes the server received" $((MIB * 1048576)) "$GOT"
	assert_eq "alone: sha256 of what the server received" "$SHA" "$GSHA"
	assert_eq "alone: how the stream ended at the server" eof "$GEND"
fi
log "PASS"

#!/usr/bin/env bash
# fork_python: python's socketserver.ForkingTCPServer on microtcp (issue
# 13): the parent accepts, forks a child per connection and closes its
# copy; the child serves it. On the kernel first (the test proves itself),
# then on microtcp over AF_PACKET (veth) and over a multi-queue TAP
# (multiproc_lib.bash; kernel 10.61.130.1, microtcp 10.61.130.2).
#   - fork_echo.py (an echo handler in ForkingTCPServer, with LD_PRELOAD)
#     listens on S:7000;
#   - 50 kernel clients one after the other, then 20 at once (mp_echo
#     client): 1 MiB each way on each connection, every byte compared,
#     each ended by the client's shutdown and the server's EOF;
#   - afterwards the parent keeps nothing of those connections: its
#     children are gone (reaped) within 5 s; it holds as many fds as
#     before the first client; on the kernel, no socket of S is left but
#     the listener; on microtcp, its stack holds no socket and no control
#     block when it begins to exit, its listener closed (MTCP_STATS usage);
#   - SIGTERM ends it the ordinary way, exit 0, "RESULT served 70";
#   - on microtcp: the bytes crossed the link; no RST from the parent's
#     stack, no connection reset in it.
MP_DRIVERS_DEFAULT="kernel packet tap"
. "$(dirname "$0")/multiproc_lib.bash"
need ps

PORT=7000 BYTES=$((1 << 20)) NSEQ=50 NPAR=20
mp_setup 10.61.130
test_cleanup() { mp_cleanup; }

children_of() { ps --ppid "$1" -o pid= 2>/dev/null | awk '{print $1}' | paste -sd ' '; }
no_children() { [ -z "$(children_of "$1")" ]; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

mt_bg server 120 "$PY" "$LIB_DIR/fork_echo.py" "$S" $PORT
SRV=$BG_PID
mp_ready server 'serving'
SPID=$(mp_pid server)
FD0=$(nfds "$SPID")
log "ForkingTCPServer: pid $SPID, $FD0 fds open"
b0=$(mp_dev_bytes)

# clients NAME N C: N connections, C at a time, from the kernel
clients() {
	local name=$1 n=$2 c=$3 res
	k_run "$name" 60 "$MP_ECHO" client "$S" $PORT "$n" "$c" $BYTES 1
	local rc=$?
	res=$(grep '^RESULT ' "$TMP_DIR/$name.out")
	log "$name: exit $rc: ${res:-no RESULT line}"
	[ $rc = 0 ] && [[ $res == "RESULT conns $n ok $n "* ]] ||
		mp_fail "$n kernel clients, $c at a time, 1 MiB each way: ${res:-exit $rc, no RESULT line}$(sed -n '1s/^mp_echo client: / (first error: /p' "$TMP_DIR/$name.err" | sed 's/$/)/')" "$name" server
	log "ok: $n connections, $c at a time, $BYTES bytes each way, all intact"
}
clients seq $NSEQ 1
clients par $NPAR $NPAR

wait_until 5 no_children "$SPID" ||
	mp_fail "the parent (pid $SPID) still has children 5 s after the clients were done: $(children_of "$SPID")" server
log "ok: every child is gone"
FD1=$(nfds "$SPID")
[ "$FD1" = "$FD0" ] ||
	mp_fail "the parent holds $FD1 fds after serving, $FD0 before: $(ls -l "/proc/$SPID/fd" | awk 'NR > 1 {print $NF}' | sort | uniq -c | paste -sd ' ')" server
log "ok: the parent holds $FD1 fds, as before the first client"
if [ "$PL_KERNEL_ONLY" = 1 ]; then
	left=$(ip netns exec "$NS_STACK" ss -Htan "src $S" | awk '$1 != "LISTEN"' | wc -l)
	[ "$left" = 0 ] ||
		fail "$left sockets of $S other than the listener are left on the kernel: $(ip netns exec "$NS_STACK" ss -Htan "src $S" | head -n 5 | paste -sd ' ')"
	log "ok: the kernel holds no socket of $S but the listener"
else
	moved=$(($(mp_dev_bytes) - b0))
	min=$(((NSEQ + NPAR) * BYTES * 2))
	[ "$moved" -ge "$min" ] ||
		fail "only $moved bytes crossed $MP_PEER_DEV (expected >= $min): not on microtcp"
	log "ok: $moved bytes crossed $MP_PEER_DEV"
fi

mp_stop server "$SRV" || mp_fail "the server exited $? after SIGTERM (expected 0)" server
res=$(grep '^RESULT ' "$TMP_DIR/server.out")
[ "$res" = "RESULT served $((NSEQ + NPAR))" ] ||
	mp_fail "the server says '${res:-nothing}', expected 'RESULT served $((NSEQ + NPAR))'" server
log "ok: the server ended on SIGTERM: $res"
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	mp_resets_none server
	# The parent's stack holds no state of the connections its children
	# served: MTCP_STATS's "usage" lines are mtcp_stack_usage's counts
	# when the process began to exit, before the library closed its
	# sockets. By then `with Server(...)` has closed the listener
	# (server_close), so nothing at all may be left: a connection kept
	# for a child (held only), a shell, or a control block would count.
	st=$TMP_DIR/server.stats
	us=$(awk '$1 == "usage" && $2 == "sockets" {print $3}' "$st" 2>/dev/null)
	up=$(awk '$1 == "usage" && $2 == "tcp_pcbs" {print $3}' "$st" 2>/dev/null)
	[ -n "$us" ] && [ -n "$up" ] ||
		fail "no 'usage sockets N' / 'usage tcp_pcbs N' lines in the parent's MTCP_STATS ($st)"
	[ "$us" = 0 ] && [ "$up" = 0 ] ||
		fail "the parent's stack held $us sockets and $up TCP control blocks at exit, after its listener closed; expected none: it kept state of connections its children served"
	log "ok: at exit the parent's stack held nothing (0 sockets, 0 control blocks)"
fi
log "PASS"

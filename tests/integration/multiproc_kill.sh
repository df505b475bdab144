#!/usr/bin/env bash
# multiproc_kill: a process on microtcp killed with SIGKILL takes nothing
# down but its own connections (issue 12), over AF_PACKET (veth) and over a
# multi-queue TAP (multiproc_lib.bash; kernel 10.61.82.1, microtcp
# 10.61.82.2):
#   - server A (mp_echo serve S:7001) and server B (S:7002), two processes
#     on microtcp, each with 50 live connections from the kernel (mp_echo
#     hold: one echo round done, held open);
#   - SIGKILL to A; at once a new process on microtcp binds A's port (with
#     SO_REUSEADDR, as servers do; retrying while EADDRINUSE): it must
#     succeed within 2 s of the kill, and then accept a connection from the
#     kernel and echo a line on it (the port is really its own);
#   - B's 50 connections never noticed: a second echo round on each after
#     the kill, all bytes intact, none ended meanwhile; 20 new connections
#     to B succeed too; B's stack reset none of its connections, B saw no
#     reset, and no RST for port 7002 crossed the link (capture);
#   - A's 50 connections end for their kernel peers, not hang: data sent on
#     each after the kill meets a reset (or an EOF), within 20 s.
. "$(dirname "$0")/multiproc_lib.bash"
need dumpcap nc

N=50 BIND_MS=2000
mp_setup 10.61.82
test_cleanup() { mp_cleanup; }

mp_cap_start rst 'tcp[13] & 4 != 0'
mt_bg srvA 60 "$MP_ECHO" serve "$S" 7001
SA=$BG_PID
mp_ready srvA 'serving tcp'
mt_bg srvB 60 "$MP_ECHO" serve "$S" 7002
SB=$BG_PID
mp_ready srvB 'serving tcp'
PID_A=$(mp_pid srvA)

k_bg holdA 60 "$MP_ECHO" hold "$S" 7001 $N "$TMP_DIR/heldA" "$TMP_DIR/goA" 20 -g
HA=$BG_PID
k_bg holdB 60 "$MP_ECHO" hold "$S" 7002 $N "$TMP_DIR/heldB" "$TMP_DIR/goB" 20
HB=$BG_PID
for x in "A $HA" "B $HB"; do
	read -r w p <<<"$x"
	wait_until 25 eval "[ -e '$TMP_DIR/held$w' ] || ! kill -0 $p 2>/dev/null"
	[ -e "$TMP_DIR/held$w" ] && grep -qx "first echo ok: $N" "$TMP_DIR/hold$w.out" ||
		mp_fail "the kernel's $N connections to server $w (microtcp) could not be set up while servers A and B both run: $(paste -sd ' ' "$TMP_DIR/hold$w.out")" "hold$w" srvA srvB
	log "kernel -> server $w: $(paste -sd ' ' "$TMP_DIR/hold$w.out")"
done
log "ok: $N live connections to each of A (pid $PID_A) and B"

# ------------------------------------------------------------ the kill
t_kill=$(date +%s%3N)
kill -KILL "$PID_A" || fail "kill -KILL $PID_A (server A) failed"
log "SIGKILL to server A (pid $PID_A)"
mt_bg newA 30 "$MP_BIND" -a -l -A -R 5000 -T "$TMP_DIR/newA.ts" NEWA "$S" 7001
NA=$BG_PID
mp_ready newA '^NEWA: bind ' 10
bg_wait "$SA" 5 >/dev/null
grep -q '^NEWA: bind 0$' "$TMP_DIR/newA.out" ||
	mp_fail "a new process could not bind server A's port 7001 within 5 s of A's SIGKILL: $(grep '^NEWA: bind' "$TMP_DIR/newA.out")" newA
took=$(($(cat "$TMP_DIR/newA.ts") - t_kill))
[ "$took" -le "$BIND_MS" ] ||
	mp_fail "a new process bound server A's port 7001 only $took ms after A's SIGKILL (expected <= $BIND_MS ms: a dead process's ports are freed within 2 s)" newA
log "ok: a new process bound port 7001 $took ms after the SIGKILL ($(tail -n 1 "$TMP_DIR/newA.err"))"
grep -q '^NEWA: listen 0$' "$TMP_DIR/newA.out" || mp_fail "the new process could not listen on port 7001" newA
echo to-the-new-owner >"$TMP_DIR/line"
PL_IN=$TMP_DIR/line k_run newAcli 10 nc -n -N -w 5 "$S" 7001 ||
	pl_fail "the kernel could not connect to the new owner of port 7001" newAcli newA
[ "$(cat "$TMP_DIR/newAcli.out")" = to-the-new-owner ] ||
	pl_fail "the new owner of port 7001 did not echo the line: got '$(head -c 100 "$TMP_DIR/newAcli.out")'" newAcli newA
bg_wait "$NA" 10
grep -q '^NEWA: echo ok$' "$TMP_DIR/newA.out" || pl_fail "the new owner of port 7001 did not echo" newA
log "ok: the new owner of port 7001 accepted a connection and echoed on it"

# ------------------------------------------------------------ B never noticed
touch "$TMP_DIR/goB"
bg_wait "$HB" 30
rb=$?
log "kernel -> server B after the kill: $(paste -sd ' ' "$TMP_DIR/holdB.out")"
[ $rb -eq 0 ] ||
	mp_fail "server B's connections did not survive server A's SIGKILL: $(paste -sd ' ' "$TMP_DIR/holdB.out") (expected: ended while held: 0, second echo ok: $N)" holdB srvB
log "ok: all $N connections to B echoed again after A's SIGKILL, none ended"
k_run newB 30 "$MP_ECHO" client "$S" 7002 20 4 4096 9 ||
	mp_fail "new connections to server B after A's SIGKILL: $(cat "$TMP_DIR/newB.out")" newB srvB
log "ok: 20 new connections to B after the kill"

# ------------------------------------------------------------ A's peers learn
touch "$TMP_DIR/goA"
bg_wait "$HA" 30
ra=$?
log "kernel -> server A after its SIGKILL: $(paste -sd ' ' "$TMP_DIR/holdA.out")"
[ $ra -eq 0 ] ||
	pl_fail "the kernel's connections to the killed server A did not end for their peers (expected: learned gone: $N, via a reset or EOF when they send; not an echo, not silence): $(paste -sd ' ' "$TMP_DIR/holdA.out")" holdA
log "ok: each of A's $N connections met a reset or an EOF when the kernel sent on it"

mp_stop srvB "$SB" || mp_fail "server B exited $? after SIGTERM" srvB
res=$(grep '^RESULT ' "$TMP_DIR/srvB.out")
[[ $res == "RESULT accepted $((N + 20)) closed $((N + 20)) "*" resets 0 errors 0" ]] ||
	mp_fail "server B: expected $((N + 20)) connections accepted and closed, none reset: ${res:-no RESULT line}" srvB
log "ok: server B: $res"
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	er=$(mp_stat srvB tcp_estab_resets)
	[ "$er" = 0 ] || mp_fail "server B's stack reset $er of its connections (tcp_estab_resets)" srvB
fi
mp_cap_stop rst
mp_cap_lines rst >"$TMP_DIR/rst.lines"
nb=$(grep -c ':7002[> ]' "$TMP_DIR/rst.lines")
[ "$nb" = 0 ] || { grep ':7002[> ]' "$TMP_DIR/rst.lines" | head >&2
	fail "$nb RST segments of server B's connections (port 7002) crossed the link"; }
log "ok: no RST of port 7002 on the link ($(wc -l <"$TMP_DIR/rst.lines") RSTs of A's connections)"
log "PASS"

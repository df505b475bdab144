#!/usr/bin/env bash
# multiproc_servers: two unrelated servers and a client, each a process of
# its own on microtcp, all on one address at once (issue 12), once over
# AF_PACKET (veth) and once over a multi-queue TAP (multiproc_lib.bash; kernel
# 10.61.80.1, microtcp 10.61.80.2):
#   - server A (mp_echo serve S:7001) and server B (mp_echo serve S:7002),
#     each one process, started one after the other and left running;
#   - then, all at the same time: the kernel opens 200 connections to A and
#     200 to B, and a client on microtcp (a third process) opens 200 to the
#     kernel's echo server K:7000; 10 at a time each, 16 KiB each way per
#     connection, every byte compared (tests/prog/mp_echo.c);
#   - every one of the 600 connections succeeds with its bytes intact;
#   - no RST crosses the link (dumpcap on the kernel's end, the whole time);
#   - each stack's counters (MTCP_STATS): no RST sent, no connection reset;
#     each server accepted its 200, none reset;
#   - the bytes crossed the link (the programs really ran on microtcp).
. "$(dirname "$0")/multiproc_lib.bash"
need dumpcap

N=200 C=10 BYTES=16384
mp_setup 10.61.80
test_cleanup() { mp_cleanup; }

k_bg kserv 90 "$MP_ECHO" serve "$K" 7000
KSERV=$BG_PID
mp_ready kserv 'serving tcp'
mp_cap_start rst 'tcp[13] & 4 != 0'

mt_bg srvA 90 "$MP_ECHO" serve "$S" 7001
SA=$BG_PID
mp_ready srvA 'serving tcp'
mt_bg srvB 90 "$MP_ECHO" serve "$S" 7002
SB=$BG_PID
mp_ready srvB 'serving tcp'
kill -0 "$SA" 2>/dev/null || mp_fail "server A (S:7001) ended when server B started" srvA srvB
log "servers A (pid $(mp_pid srvA)) and B (pid $(mp_pid srvB)) run on microtcp at $S"

b0=$(mp_dev_bytes)
log "all at once: kernel -> A, kernel -> B, microtcp client -> kernel: $N connections each"
k_bg cliA 60 "$MP_ECHO" client "$S" 7001 $N $C $BYTES 1
PA=$BG_PID
k_bg cliB 60 "$MP_ECHO" client "$S" 7002 $N $C $BYTES 2
PB=$BG_PID
mt_bg cliM 60 "$MP_ECHO" client "$K" 7000 $N $C $BYTES 3
PM=$BG_PID
bg_wait "$PA" 60; rA=$?
bg_wait "$PB" 60; rB=$?
bg_wait "$PM" 60; rM=$?
moved=$(($(mp_dev_bytes) - b0))

bad=()
for x in "kernel -> server A ($S:7001, microtcp)|$rA|cliA" \
	"kernel -> server B ($S:7002, microtcp)|$rB|cliB" \
	"client on microtcp -> kernel server ($K:7000)|$rM|cliM"; do
	IFS='|' read -r what rc name <<<"$x"
	res=$(grep '^RESULT ' "$TMP_DIR/$name.out")
	log "$what: exit $rc: ${res:-no RESULT line}"
	[ "$rc" = 0 ] && [[ $res == "RESULT conns $N ok $N "* ]] ||
		bad+=("$what: ${res:-exit $rc, no RESULT line}$(sed -n '1s/^mp_echo client: / (first error: /p' "$TMP_DIR/$name.err" | sed 's/$/)/')")
done

mp_cap_stop rst
mp_cap_lines rst >"$TMP_DIR/rst.lines"
nrst=$(wc -l <"$TMP_DIR/rst.lines")
rst_summary() {
	awk '{split($2, a, ">"); split(a[1], s, ":"); n[s[1] ":" s[2]]++}
	     END {for (k in n) printf "%s sent %d, ", k, n[k]}' "$TMP_DIR/rst.lines" | sed 's/, $//'
}
if [ ${#bad[@]} -gt 0 ]; then
	tails cliA cliB cliM srvA srvB
	m=$(printf '%s; ' "${bad[@]}")
	fail "with two servers and a client on microtcp at $S at once, ${#bad[@]} of the 3 clients" \
		"had failed connections: ${m%; }. RST segments on the link meanwhile: $nrst" \
		"($(rst_summary))"
fi
log "ok: 3 x $N connections, ${BYTES} bytes each way on each, all intact"

[ "$nrst" = 0 ] || { head -n 20 "$TMP_DIR/rst.lines" >&2
	fail "$nrst RST segments crossed the link ($(rst_summary)); expected none"; }
log "ok: no RST crossed the link"

if [ "$PL_KERNEL_ONLY" != 1 ]; then
	min=$((3 * N * BYTES * 2))
	[ "$moved" -ge "$min" ] ||
		fail "only $moved bytes crossed $MP_PEER_DEV (expected >= $min): not on microtcp"
	log "ok: $moved bytes crossed $MP_PEER_DEV"
fi

for x in "srvA $SA" "srvB $SB" "kserv $KSERV"; do
	read -r name pid <<<"$x"
	mp_stop "$name" "$pid" || mp_fail "$name exited $? after SIGTERM" "$name"
	res=$(grep '^RESULT ' "$TMP_DIR/$name.out")
	[[ $res == "RESULT accepted $N closed $N "*" resets 0 errors 0" ]] ||
		mp_fail "$name: expected $N connections accepted and closed, none reset: ${res:-no RESULT line}" "$name"
	log "ok: $name: $res"
done
mp_resets_none srvA srvB cliM
log "PASS"

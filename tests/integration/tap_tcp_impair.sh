#!/usr/bin/env bash
# tap_tcp_impair: TCP through an impaired device. mtcp-echo on a TAP device
# with MTCP_IMPAIR=loss=0.02,dup=0.01,reorder=0.02,corrupt=0.002 (both
# directions), the kernel as the client: 5 MiB of random bytes echoed back
# byte-identical, 20 MiB to discard all counted, 5 MiB of chargen all the
# RFC 864 pattern. Loss, duplicates, reordering and corrupted frames
# (dropped by checksum) must all be repaired by retransmission.
# TCP_IMPAIR overrides the impairment (e.g. adds seed=N).
. "$(dirname "$0")/lib.sh"
need python3 cmp

ADDR=10.61.4.2
MIB=1048576
IMPAIR=${TCP_IMPAIR:-loss=0.02,dup=0.01,reorder=0.02,corrupt=0.002}

make_ns NS k
tap_topology "$NS" 10.61.4.1/24
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=$ADDR/24 MTCP_IMPAIR="$IMPAIR"
grep -q 'udp+tcp' "$ECHO_OUT" ||
	fail "mtcp-echo serves no TCP: $(head -n 1 "$ECHO_OUT"); $(grep -i tcp "$ECHO_ERR" | head -n 3)"


log "echo: 5 MiB of random bytes through $IMPAIR"
head -c $((5 * MIB)) /dev/urandom >"$TMP_DIR/e.in"
echo_stats
in0=$(stat_get tcp_echo_bytes_in); out0=$(stat_get tcp_echo_bytes_out)
tcpc echo 120 echo $ADDR 7 "$TMP_DIR/e.in" "$TMP_DIR/e.out" || fail "echo client failed (above)"
cmp "$TMP_DIR/e.in" "$TMP_DIR/e.out" ||
	fail "echo: got $(stat -c %s "$TMP_DIR/e.out") bytes back of $((5 * MIB)), not identical (cmp above)"
log "ok: 5 MiB came back byte-identical: $(rate_of)"
echo_stats
assert_eq "tcp_echo_bytes_in growth" $((5 * MIB)) "$(stat_delta tcp_echo_bytes_in "$in0")"
assert_eq "tcp_echo_bytes_out growth" $((5 * MIB)) "$(stat_delta tcp_echo_bytes_out "$out0")"

log "discard: 20 MiB through $IMPAIR"
in0=$(stat_get tcp_discard_bytes_in)
tcpc discard 120 discard $ADDR 9 $((20 * MIB)) || fail "discard client failed (above)"
log "discard: $(rate_of)"
echo_stats
assert_eq "tcp_discard_bytes_in growth (bytes mtcp-echo read)" $((20 * MIB)) \
	"$(stat_delta tcp_discard_bytes_in "$in0")"

log "chargen: read 5 MiB through $IMPAIR, every byte checked against RFC 864"
tcpc chargen 60 chargen $ADDR 19 $((5 * MIB)) || fail "chargen client failed (above)"
log "chargen: $(rate_of)"

echo_stats
stats_dump
# The impairment happened: of ~18000 frames received, ~36 had a bit flipped,
# nearly all in the TCP segment; the checksum must have caught them.
[[ $IMPAIR == *corrupt=0.002* ]] &&
	assert_ge "drop TCP_BAD_CSUM (corrupted segments caught)" "$(drop_get TCP_BAD_CSUM)" 1
kill -0 "$ECHO_PID" 2>/dev/null || fail "mtcp-echo died"
all_closed() {
	echo_stats
	[ "$(stat_get tcp_echo_open)" = 0 ] && [ "$(stat_get tcp_discard_open)" = 0 ] &&
		[ "$(stat_get tcp_chargen_open)" = 0 ]
}
wait_until 10 all_closed ||
	fail "connections left open after 10 s: echo $(stat_get tcp_echo_open)" \
		"discard $(stat_get tcp_discard_open) chargen $(stat_get tcp_chargen_open)"
stop_echo TERM
assert_eq "mtcp-echo exit status after SIGTERM" 0 "$ECHO_STATUS"
log "PASS"

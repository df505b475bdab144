#!/usr/bin/env bash
# tap_ping: the stack on a TAP device answers the kernel's pings, small and
# fragmented (4000 bytes: reassembled on the way in, fragmented on the way
# out), and does not answer for an address that is not its own.
. "$(dirname "$0")/lib.sh"
need ping

make_ns NS k
tap_topology "$NS" 10.61.1.1/24
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/24 MTCP_MAC=02:61:01:00:00:02

log "step 1: 5 small pings"
ping_from "$NS" "$TMP_DIR/ping1" -c 5 -i 0.2 -W 2 10.61.1.2
assert_eq "replies to ping -c 5 10.61.1.2" 5 "$(ping_received "$TMP_DIR/ping1")"

log "step 2: 3 pings of 4000 bytes (fragmented both ways)"
echo_stats
reasm0=$(stat_get ip_reassembled); ftx0=$(stat_get ip_frags_tx)
ping_from "$NS" "$TMP_DIR/ping2" -s 4000 -c 3 -i 0.2 -W 2 10.61.1.2
assert_eq "replies to ping -s 4000 -c 3" 3 "$(ping_received "$TMP_DIR/ping2")"
assert_contains "4008-byte replies" "$TMP_DIR/ping2" '^4008 bytes from 10\.61\.1\.2'
echo_stats
stats_dump
assert_ge "ip_reassembled growth (3 datagrams of 3 fragments in)" \
	$(($(stat_get ip_reassembled) - reasm0)) 3
assert_ge "ip_frags_tx growth (3 replies of 3 fragments out)" \
	$(($(stat_get ip_frags_tx) - ftx0)) 9

log "step 3: nobody answers for 10.61.1.3 (not the stack's address)"
ping_from "$NS" "$TMP_DIR/ping3" -c 2 -i 0.2 -W 1 10.61.1.3
assert_eq "replies to ping 10.61.1.3" 0 "$(ping_received "$TMP_DIR/ping3")"

kill -0 "$ECHO_PID" 2>/dev/null || fail "mtcp-echo died"
log "PASS"

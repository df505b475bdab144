#!/usr/bin/env bash
# veth_packet: the same ping and UDP checks as tap_ping/tap_udp_echo, with
# the stack on one end of a veth pair through MTCP_DRIVER=packet (AF_PACKET)
# and the kernel on the other end, in another namespace.
#
# The kernel's end keeps its default offloads: UDP it sends may reach the
# packet socket with the checksum not yet filled in (TP_STATUS_CSUMNOTREADY),
# which the stack has to accept as the kernel's own stacks do.
. "$(dirname "$0")/lib.sh"
need ping socat python3

make_ns NS_STACK s
make_ns NS_PEER p
veth_topology "$NS_STACK" "$NS_PEER" 10.61.2.1/24
start_echo "$NS_STACK" MTCP_DRIVER=packet MTCP_IFACE=mtv0 MTCP_ADDR=10.61.2.2/24

log "ping: 5 small"
ping_from "$NS_PEER" "$TMP_DIR/ping1" -c 5 -i 0.2 -W 2 10.61.2.2
assert_eq "replies to ping -c 5 10.61.2.2" 5 "$(ping_received "$TMP_DIR/ping1")"

log "ping: 3 of 4000 bytes (fragmented both ways)"
echo_stats
reasm0=$(stat_get ip_reassembled); ftx0=$(stat_get ip_frags_tx)
ping_from "$NS_PEER" "$TMP_DIR/ping2" -s 4000 -c 3 -i 0.2 -W 2 10.61.2.2
assert_eq "replies to ping -s 4000 -c 3" 3 "$(ping_received "$TMP_DIR/ping2")"
echo_stats
assert_ge "ip_reassembled growth" $(($(stat_get ip_reassembled) - reasm0)) 3
assert_ge "ip_frags_tx growth" $(($(stat_get ip_frags_tx) - ftx0)) 9

log "ping: nobody answers for 10.61.2.3"
ping_from "$NS_PEER" "$TMP_DIR/ping3" -c 2 -i 0.2 -W 1 10.61.2.3
assert_eq "replies to ping 10.61.2.3" 0 "$(ping_received "$TMP_DIR/ping3")"

udp_checks "$NS_PEER" 10.61.2.2

echo_stats
stats_dump
kill -0 "$ECHO_PID" 2>/dev/null || fail "mtcp-echo died"
log "PASS"

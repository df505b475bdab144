#!/usr/bin/env bash
# tap_udp_echo: UDP echo (7), discard (9) and chargen (19) on a TAP device,
# driven by the kernel's socat; a datagram to a closed port is refused with
# ICMP port unreachable, which the kernel turns into ECONNREFUSED.
. "$(dirname "$0")/lib.sh"
need socat python3

make_ns NS k
tap_topology "$NS" 10.61.1.1/24
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/24
udp_checks "$NS" 10.61.1.2
log "PASS"

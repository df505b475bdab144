#!/usr/bin/env bash
# pcap: with MTCP_PCAP set, the stack writes every frame it sends and
# receives to a pcap file that tshark reads: the ICMP echo requests and
# replies of a ping and the UDP datagrams of an echo, both directions.
. "$(dirname "$0")/lib.sh"
need ping socat tshark

PCAP=$TMP_DIR/mtcp.pcap
make_ns NS k
tap_topology "$NS" 10.61.1.1/24
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/24 MTCP_PCAP="$PCAP"

ping_from "$NS" "$TMP_DIR/ping" -c 2 -i 0.2 -W 2 10.61.1.2
assert_eq "replies to ping -c 2" 2 "$(ping_received "$TMP_DIR/ping")"
printf 'hello pcap\n' >"$TMP_DIR/u.in"
udp_roundtrip "$NS" 10.61.1.2 7 "$TMP_DIR/u.in" "$TMP_DIR/u.out" 0.5 || fail "socat to port 7 failed"
cmp -s "$TMP_DIR/u.in" "$TMP_DIR/u.out" || fail "UDP echo reply differs"

# stop it first, so that nothing can be left in a write buffer
stop_echo TERM
assert_eq "mtcp-echo exit status after SIGTERM" 0 "$ECHO_STATUS"
[ -s "$PCAP" ] || fail "MTCP_PCAP file $PCAP missing or empty"
log "pcap file: $(stat -c %s "$PCAP") bytes"

run tshark -n -r "$PCAP" >/dev/null || fail "tshark -r $PCAP failed"
tshark -n -r "$PCAP" >"$TMP_DIR/tshark.txt" 2>"$TMP_DIR/tshark.err"
sed 's/^/    | /' "$TMP_DIR/tshark.txt"
grep -Ei 'cut short|corrupt|malformed' "$TMP_DIR/tshark.txt" "$TMP_DIR/tshark.err" &&
	fail "tshark found damaged frames in $PCAP (above)"

count() { # display filter -> number of frames
	tshark -n -r "$PCAP" -Y "$1" 2>/dev/null | wc -l
}
assert_ge "echo requests to the stack (icmp.type==8 && ip.dst==10.61.1.2)" \
	"$(count 'icmp.type==8 && ip.dst==10.61.1.2')" 2
assert_ge "echo replies from the stack (icmp.type==0 && ip.src==10.61.1.2)" \
	"$(count 'icmp.type==0 && ip.src==10.61.1.2')" 2
assert_ge "UDP to the echo port (udp.dstport==7 && ip.dst==10.61.1.2)" \
	"$(count 'udp.dstport==7 && ip.dst==10.61.1.2')" 1
assert_ge "UDP from the echo port (udp.srcport==7 && ip.src==10.61.1.2)" \
	"$(count 'udp.srcport==7 && ip.src==10.61.1.2')" 1
assert_ge "ARP frames (the stack's gratuitous ARP and the kernel's request/reply)" \
	"$(count 'arp')" 2
log "PASS"

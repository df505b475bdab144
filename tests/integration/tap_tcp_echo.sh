#!/usr/bin/env bash
# tap_tcp_echo: TCP echo (7), discard (9) and chargen (19) of mtcp-echo on a
# TAP device, the kernel as the client (python3 in the namespace):
#   a) 20 MiB of random bytes echoed back byte-identical (sent and read
#      concurrently), b) 200 MiB to discard, every byte counted by
#      mtcp-echo, c) 200 MiB read from chargen, all of it the RFC 864
#      pattern, d) a connect to a closed port refused (our RST), e) 200
#      short echo connections in a row, f) 50 echo connections of 1 MiB at
#      once, g) 300 echo connections open at once with a few bytes each;
#   then no connection is left open and mtcp-echo exits 0 on SIGTERM.
# Throughput of a) to c) is logged for information (MB = 10^6 bytes).
# TCP_TEST_PCAP=FILE records the stack's frames (large: 400+ MiB).
. "$(dirname "$0")/lib.sh"
need python3 cmp

ADDR=10.61.3.2
MIB=1048576

make_ns NS k
tap_topology "$NS" 10.61.3.1/24
pcap=()
[ -n "${TCP_TEST_PCAP:-}" ] && pcap=("MTCP_PCAP=$TCP_TEST_PCAP")
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=$ADDR/24 MTCP_LOG=warn "${pcap[@]}"
grep -q 'udp+tcp' "$ECHO_OUT" ||
	fail "mtcp-echo serves no TCP: $(head -n 1 "$ECHO_OUT"); $(grep -i tcp "$ECHO_ERR" | head -n 3)"


# ---------------------------------------------------------------- (d) first:
# the quickest proof that there is a TCP at all.
log "(d) connect to closed TCP port 5999: refused (RST)"
tcpc refused 5 refused $ADDR 5999 ||
	fail "(d) connect to a closed port was not refused with ECONNREFUSED (above)"
log "ok: (d) connect to closed port 5999 refused"

# ---------------------------------------------------------------- (a)
log "(a) echo: 20 MiB of random bytes, sent and read back concurrently"
head -c $((20 * MIB)) /dev/urandom >"$TMP_DIR/a.in"
echo_stats
in0=$(stat_get tcp_echo_bytes_in); out0=$(stat_get tcp_echo_bytes_out)
c0=$(stat_get tcp_echo_conns)
tcpc a 40 echo $ADDR 7 "$TMP_DIR/a.in" "$TMP_DIR/a.out" || fail "(a) echo client failed (above)"
cmp "$TMP_DIR/a.in" "$TMP_DIR/a.out" ||
	fail "(a) echo: got $(stat -c %s "$TMP_DIR/a.out") bytes back of $((20 * MIB)), not identical (cmp above)"
log "ok: (a) 20 MiB came back byte-identical"
rate_a=$(rate_of)
echo_stats
assert_eq "(a) tcp_echo_conns growth" 1 "$(stat_delta tcp_echo_conns "$c0")"
assert_eq "(a) tcp_echo_bytes_in growth" $((20 * MIB)) "$(stat_delta tcp_echo_bytes_in "$in0")"
assert_eq "(a) tcp_echo_bytes_out growth" $((20 * MIB)) "$(stat_delta tcp_echo_bytes_out "$out0")"
log "(a) echo throughput: $rate_a"

# ---------------------------------------------------------------- (b)
log "(b) discard: 200 MiB, then the server's close"
in0=$(stat_get tcp_discard_bytes_in)
tcpc b 60 discard $ADDR 9 $((200 * MIB)) || fail "(b) discard client failed (above)"
rate_b=$(rate_of)
echo_stats
assert_eq "(b) tcp_discard_bytes_in growth (bytes mtcp-echo read)" $((200 * MIB)) \
	"$(stat_delta tcp_discard_bytes_in "$in0")"
log "(b) discard throughput: $rate_b"

# ---------------------------------------------------------------- (c)
log "(c) chargen: read 200 MiB, every byte checked against RFC 864"
out0=$(stat_get tcp_chargen_bytes_out)
tcpc c 60 chargen $ADDR 19 $((200 * MIB)) || fail "(c) chargen client failed (above)"
rate_c=$(rate_of)
echo_stats
assert_ge "(c) tcp_chargen_bytes_out growth" "$(stat_delta tcp_chargen_bytes_out "$out0")" $((200 * MIB))
log "(c) chargen throughput: $rate_c"

# ---------------------------------------------------------------- (e)
log "(e) 200 echo connections in a row, a few bytes each, our FIN after the echo"
c0=$(stat_get tcp_echo_conns)
tcpc e 40 seq $ADDR 7 200 || fail "(e) sequential echo connections failed (above)"
log "(e) 200 connections in $(awk '{print $4}' <<<"$RES") s"
echo_stats
assert_eq "(e) tcp_echo_conns growth" 200 "$(stat_delta tcp_echo_conns "$c0")"

# ---------------------------------------------------------------- (f)
log "(f) 50 echo connections at once, 1 MiB each"
c0=$(stat_get tcp_echo_conns)
tcpc f 40 conc $ADDR 7 50 $MIB || fail "(f) 50 concurrent echo connections failed (above)"
log "(f) $(rate_of)"
echo_stats
assert_eq "(f) tcp_echo_conns growth" 50 "$(stat_delta tcp_echo_conns "$c0")"

# ---------------------------------------------------------------- (g)
log "(g) 300 echo connections open at once, 100 bytes each"
c0=$(stat_get tcp_echo_conns)
tcpc g 30 conc $ADDR 7 300 100 || fail "(g) 300 concurrent echo connections failed (above)"
echo_stats
assert_eq "(g) tcp_echo_conns growth" 300 "$(stat_delta tcp_echo_conns "$c0")"

# ---------------------------------------------------------------- the end
log "every connection closed on mtcp-echo's side"
all_closed() {
	echo_stats
	[ "$(stat_get tcp_echo_open)" = 0 ] && [ "$(stat_get tcp_discard_open)" = 0 ] &&
		[ "$(stat_get tcp_chargen_open)" = 0 ]
}
wait_until 10 all_closed ||
	fail "connections left open after 10 s: echo $(stat_get tcp_echo_open)" \
		"discard $(stat_get tcp_discard_open) chargen $(stat_get tcp_chargen_open)"
stats_dump
assert_eq "tcp_accept_fail" 0 "$(stat_get tcp_accept_fail)"
assert_eq "tcp_echo_errors (echo connections ended by an error)" 0 "$(stat_get tcp_echo_errors)"
assert_eq "tcp_discard_errors" 0 "$(stat_get tcp_discard_errors)"
kill -0 "$ECHO_PID" 2>/dev/null || fail "mtcp-echo died"
stop_echo TERM
assert_eq "mtcp-echo exit status after SIGTERM" 0 "$ECHO_STATUS"
log "throughput (kernel client <-> microtcp over TAP): echo $rate_a; discard $rate_b; chargen $rate_c"
log "PASS"

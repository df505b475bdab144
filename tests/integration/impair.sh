#!/usr/bin/env bash
# impair: with MTCP_IMPAIR=loss=0.2,seed=3 the stack's device loses about a
# fifth of the frames: 40 pings get some replies, but not all.
. "$(dirname "$0")/lib.sh"
need ping

make_ns NS k
tap_topology "$NS" 10.61.1.1/24
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/24 MTCP_IMPAIR=loss=0.2,seed=3

ping_from "$NS" "$TMP_DIR/ping" -c 40 -i 0.05 -W 1 10.61.1.2
n=$(ping_received "$TMP_DIR/ping")
assert_gt "replies to 40 pings with loss=0.2" "$n" 0
assert_lt "replies to 40 pings with loss=0.2" "$n" 40
echo_stats
stats_dump
kill -0 "$ECHO_PID" 2>/dev/null || fail "mtcp-echo died"
log "PASS"

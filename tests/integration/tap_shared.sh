#!/usr/bin/env bash
# tap_shared: two mtcp-echo processes on one multi-queue TAP, each with an
# address of its own (no steering filter: each receives every frame the
# kernel sends there and keeps its own; stack/dev/tap.c): both answer ping,
# UDP and TCP echo; the first is SIGKILLed (its queue vanishes, the other
# queue is renumbered) and the second goes on; a new process joins the TAP
# after the kill and works too. Neither logs that the TAP is single-queue.
. "$(dirname "$0")/lib.sh"
need socat python3 cmp

A=10.61.5.2 B=10.61.5.3

make_ns NS k
tap_topology "$NS" 10.61.5.1/24

# check ADDR WHAT: ping, UDP echo and 1 MiB of TCP echo to ADDR
check() {
	local addr=$1 what=$2 out=$TMP_DIR/ping.out
	ping_from "$NS" "$out" -c 3 -i 0.2 -W 2 "$addr" ||
		fail "$what: ping $addr failed"
	assert_eq "$what: ping replies" 3 "$(ping_received "$out")"
	head -c 1000 /dev/urandom >"$TMP_DIR/u.in"
	udp_roundtrip "$NS" "$addr" 7 "$TMP_DIR/u.in" "$TMP_DIR/u.out" ||
		fail "$what: UDP echo to $addr failed"
	cmp -s "$TMP_DIR/u.in" "$TMP_DIR/u.out" || fail "$what: UDP echo from $addr differs"
	head -c 1048576 /dev/urandom >"$TMP_DIR/t.in"
	tcpc "t-$addr" 20 echo "$addr" 7 "$TMP_DIR/t.in" "$TMP_DIR/t.out" ||
		fail "$what: TCP echo client to $addr failed (above)"
	cmp -s "$TMP_DIR/t.in" "$TMP_DIR/t.out" || fail "$what: TCP echo from $addr differs"
	log "ok: $what: ping, UDP and TCP echo at $addr"
}

# no_single_queue_line ERRFILE
no_single_queue_line() {
	! grep -q 'single-queue' "$1" || fail "$1 says the TAP is single-queue: $(grep single-queue "$1")"
}

start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=$A/24 MTCP_LOG=warn
PID_A=$ECHO_PID ERR_A=$ECHO_ERR
start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=$B/24 MTCP_LOG=warn
PID_B=$ECHO_PID ERR_B=$ECHO_ERR
ip -n "$NS" -d link show mt0 | grep -q 'numqueues 2' ||
	fail "mt0 has not 2 queues: $(ip -n "$NS" -d link show mt0 | grep -o 'numqueues [0-9]*')"
check $A "first process"
check $B "second process"

kill -KILL "$PID_A"
wait "$PID_A" 2>/dev/null
log "first process SIGKILLed"
wait_until 5 sh -c "ip -n '$NS' -d link show mt0 | grep -q 'numqueues 1'" ||
	fail "mt0 still has the killed process's queue"
check $B "second process, after the first was killed"

start_echo "$NS" MTCP_IFACE=mt0 MTCP_ADDR=$A/24 MTCP_LOG=warn
PID_C=$ECHO_PID ERR_C=$ECHO_ERR
check $A "a third process, joined after the kill"
check $B "second process, with the third"

no_single_queue_line "$ERR_A"
no_single_queue_line "$ERR_B"
no_single_queue_line "$ERR_C"
stop_echo
assert_eq "third process exit status" 0 "$ECHO_STATUS"
ECHO_PID=$PID_B ECHO_ERR=$ERR_B
stop_echo
assert_eq "second process exit status" 0 "$ECHO_STATUS"
log "PASS"

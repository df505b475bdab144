#!/usr/bin/env bash
# move_stream: a connection moved back and forth between two processes
# under load, 100 times (issue 13), on the kernel first (the test proves
# itself), then on microtcp over AF_PACKET (veth) and over a multi-queue
# TAP (multiproc_lib.bash; kernel 10.61.135.1, microtcp 10.61.135.2).
#   - move_stream (tests/prog) connects to the kernel's stream_sink, forks,
#     and parent and child take 100 turns of 1 MiB each, strictly one at a
#     time (a token on a pipe), each writing as fast as blocking writes go:
#     on microtcp each turn's first write moves the connection to the
#     writer, with the previous writer's bytes still queued or in flight;
#     the last writer shuts the connection down for writing;
#   - both processes exit 0;
#   - stream_sink received exactly 100 MiB, every byte the stream's at its
#     offset (so in order, none lost or doubled), then a clean FIN;
#   - on microtcp: the bytes crossed the link; the parent's stack sent no
#     RST and had no connection reset.
# Prints each process's first-write latency per turn (p50/p99/max: on
# microtcp, about what a move costs).
MP_DRIVERS_DEFAULT="kernel packet tap"
. "$(dirname "$0")/multiproc_lib.bash"

TURNS=100 SLICE=$((1 << 20)) PORT=7300
TOTAL=$((TURNS * SLICE))
SINK=$MTCP_BUILD/prog/stream_sink
MOVER=$MTCP_BUILD/prog/move_stream
[ -x "$SINK" ] && [ -x "$MOVER" ] || fail "$SINK or $MOVER not found (make builds tests/prog/*.c)"
mp_setup 10.61.135
test_cleanup() { mp_cleanup; }

k_bg sink 90 "$SINK" "$K" $PORT -n $TOTAL -t 20
SINKPID=$BG_PID
mp_ready sink 'listening'
b0=$(mp_dev_bytes)
t0=$SECONDS
mt_run mover 60 "$MOVER" "$K" $PORT $TURNS $SLICE
rm=$?
bg_wait "$SINKPID" 30
rs=$?
moved=$(($(mp_dev_bytes) - b0))
log "move_stream: $TURNS turns of $SLICE bytes in $((SECONDS - t0)) s"
grep -h '^first_write ' "$TMP_DIR/mover.out" | sed 's/^/    | /'

res=$(grep '^RESULT ' "$TMP_DIR/sink.out")
log "stream_sink: exit $rs: ${res:-no RESULT line}"
[ "$rm" = 0 ] ||
	mp_fail "move_stream exited $rm (0: both processes got through their turns; stderr says where it stopped): sink: ${res:-no RESULT line}" mover sink
[ "$rs" = 0 ] && [[ $res == "RESULT bytes $TOTAL first_bad none end eof "* ]] ||
	mp_fail "the kernel received '${res:-nothing}' (exit $rs); expected 'bytes $TOTAL first_bad none end eof': every byte the stream's, in order, then FIN" mover sink
log "ok: $TOTAL bytes written in $TURNS turns by two processes arrived intact, in order, then FIN"
grep -q "^RESULT turns $TURNS bytes $TOTAL child_exit 0$" "$TMP_DIR/mover.out" ||
	mp_fail "move_stream: no 'RESULT turns $TURNS ... child_exit 0' line" mover
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	[ "$moved" -ge "$TOTAL" ] ||
		fail "only $moved bytes crossed $MP_PEER_DEV (expected >= $TOTAL): not on microtcp"
	log "ok: $moved bytes crossed $MP_PEER_DEV"
	mp_resets_none mover
fi
log "PASS"

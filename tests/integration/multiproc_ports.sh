#!/usr/bin/env bash
# multiproc_ports: one port space for every process on the address, as on
# one Linux host (issue 12), over AF_PACKET (veth) and over a multi-queue TAP
# (multiproc_lib.bash; kernel 10.61.81.1, S = 10.61.81.2).
#
# The same sequence of probes runs twice: first on the kernel (S is then a
# kernel address on the stack's interface), then with every probe a process
# of its own on microtcp (S is microtcp's). Each probe (tests/prog/mp_bind.c,
# mp_echo.c) prints results and errno names, never a port, into a
# transcript; the kernel's transcript must be the expected one below (a
# check of the test) and microtcp's must equal the kernel's:
#   1. TCP: process A listens on a port; B binds it: EADDRINUSE; also with
#      SO_REUSEADDR (A listens), with SO_REUSEPORT on B only, and on the
#      wildcard address; A exits: the port is free again for the next
#      process;
#   2. TCP, SO_REUSEPORT on both: A and B bind and listen on one port, a
#      third without it gets EADDRINUSE; 40 connections from the kernel all
#      succeed and both A and B accept some (spread by flow hash);
#   3. UDP: a bound port gives EADDRINUSE to a second process, and both
#      binds succeed when both set SO_REUSEADDR;
#   4. the local port of another process's connection (connect() chose
#      it): binding it (wildcard address) gives EADDRINUSE, also with
#      SO_REUSEADDR;
#   5. two processes binding port 0 get different ports;
#   6. four client processes open 1,000 connections each to the kernel's
#      echo server, all held open at once, one echo round on each, then a
#      second: every connection succeeds, 4,000 distinct local ports, and
#      the server's side (ss) sees 4,000 established connections from
#      4,000 distinct source ports.
# A different transcript fails the test with the diff; the kernel's run
# also shows that the probes are right on this topology.
. "$(dirname "$0")/multiproc_lib.bash"
need ss diff

mp_setup 10.61.81
test_cleanup() { mp_cleanup; }
KPORT=7000

k_bg kserv 300 "$MP_ECHO" serve "$K" $KPORT
KSERV=$BG_PID
mp_ready kserv 'serving tcp'

ORIG_KONLY=$PL_KERNEL_ONLY
MODE=
# mode kernel|microtcp: who serves S (mt_run/mt_bg run in $NS_STACK on
# the kernel while PL_KERNEL_ONLY=1)
set_mode() {
	MODE=$1
	if [ "$1" = kernel ]; then
		PL_KERNEL_ONLY=1
		[ "$ORIG_KONLY" = 1 ] ||
			run ip -n "$NS_STACK" addr add "$S/24" dev "$MP_IFACE" || fail "addr add $S failed"
	else
		PL_KERNEL_ONLY=$ORIG_KONLY
		[ "$ORIG_KONLY" = 1 ] ||
			run ip -n "$NS_STACK" addr del "$S/24" dev "$MP_IFACE" || fail "addr del $S failed"
		# the kernel's neighbour entry for S: the MAC of mtv0 (kernel
		# mode) is not microtcp's
		run ip -n "$NS_PEER" neigh flush dev "$MP_PEER_DEV"
	fi
	T=$TMP_DIR/$MODE.transcript
	: >"$T"
	log "---- $MODE mode"
}

note() { echo "$*" >>"$T"; }
# probe NAME ARGS...: mp_bind in the foreground; its stdout to the transcript
probe() {
	local name=$MODE-$1
	shift
	mt_run "$name" 20 "$MP_BIND" "$@"
	local rc=$?
	[ $rc -eq 0 ] || note "[$name exited $rc]"
	cat "$TMP_DIR/$name.out" >>"$T"
}
# holder NAME ARGS...: mp_bind -H in the background, ready once it holds
declare -A HOLD=()
holder() {
	local name=$MODE-$1
	shift
	mt_bg "$name" 40 "$MP_BIND" -H 30 "$@"
	HOLD[$name]=$BG_PID
	mp_ready "$name" ': holding$'
}
# release NAME: SIGTERM to a holder; its stdout to the transcript
release() {
	local name=$MODE-$1
	mp_stop "$name" "${HOLD[$name]}" || note "[$name exited $?]"
	cat "$TMP_DIR/$name.out" >>"$T"
}

sequence() {
	note "== 1. TCP: a port another process listens on"
	holder A -l A "$S" 7101
	probe B B "$S" 7101
	probe B2 -a B2 "$S" 7101
	probe B3 -P B3 "$S" 7101
	probe B5 B5 0.0.0.0 7101
	release A
	probe B4 -l B4 "$S" 7101

	note "== 2. TCP: SO_REUSEPORT on both"
	holder RA -P -l RA "$S" 7102
	holder RB -P -l RB "$S" 7102
	probe RC -l RC "$S" 7102
	k_run "$MODE-rpcli" 30 "$MP_ECHO" client "$S" 7102 40 4 0
	note "connections through the group: $(sed -nE 's/^RESULT conns ([0-9]+) ok ([0-9]+) .*/\2 of \1 ok/p' "$TMP_DIR/$MODE-rpcli.out")"
	release RA
	release RB

	note "== 3. UDP"
	holder U1 -u U1 "$S" 7103
	probe U2 -u U2 "$S" 7103
	release U1
	holder UA -u -a UA "$S" 7104
	probe UB -u -a UB "$S" 7104
	release UA

	note "== 4. the local port of another process's connection"
	rm -f "$TMP_DIR/$MODE.cport"
	holder C -C "$K:$KPORT" -o "$TMP_DIR/$MODE.cport" C "$S" 0
	if [ -s "$TMP_DIR/$MODE.cport" ]; then
		# the wildcard address: on the kernel in the tap topology the
		# connection is K -> K over lo (K is local there too)
		probe D D 0.0.0.0 "@$TMP_DIR/$MODE.cport"
		probe D2 -a D2 0.0.0.0 "@$TMP_DIR/$MODE.cport"
	else
		note "[C has no local port]"
	fi
	release C

	note "== 5. port 0 in two processes"
	holder E1 -o "$TMP_DIR/$MODE.e1" E1 "$S" 0
	holder E2 -o "$TMP_DIR/$MODE.e2" E2 "$S" 0
	local e1 e2
	e1=$(cat "$TMP_DIR/$MODE.e1" 2>/dev/null) e2=$(cat "$TMP_DIR/$MODE.e2" 2>/dev/null)
	note "ephemeral ports differ: $([ -n "$e1" ] && [ "$e1" != "$e2" ] && echo yes || echo "no ($e1, $e2)")"
	release E1
	release E2

	note "== 6. four clients, 1000 connections each, held at once"
	local i pids=() go=$TMP_DIR/$MODE.go
	rm -f "$go"
	for i in 1 2 3 4; do
		rm -f "$TMP_DIR/$MODE.held$i"
		mt_bg "$MODE-hold$i" 60 "$MP_ECHO" hold "$K" $KPORT 1000 "$TMP_DIR/$MODE.held$i" "$go" 12 \
			-p "$TMP_DIR/$MODE.ports$i"
		pids+=("$BG_PID")
	done
	for i in 1 2 3 4; do
		wait_until 15 eval "[ -e '$TMP_DIR/$MODE.held$i' ] || ! kill -0 ${pids[$((i - 1))]} 2>/dev/null"
	done
	local est dist ports
	# the server's ends (on the kernel in the tap topology the clients
	# connect from K, over lo: their ends have dport $KPORT)
	est=$(ip netns exec "$NS_PEER" ss -Htn state established "( sport = :$KPORT )" | wc -l)
	dist=$(ip netns exec "$NS_PEER" ss -Htn state established "( sport = :$KPORT )" |
		awk '{print $NF}' | sort -u | wc -l)
	ports=$(cat "$TMP_DIR/$MODE".ports[1-4] 2>/dev/null | sort -u | wc -l)
	log "$MODE: while held: the server has $est connections, from $dist distinct" \
		"source ports; the clients' ports files hold $ports distinct ports"
	note "server: established: $est, distinct source addresses and ports: $dist"
	note "clients: distinct local ports over all four: $ports"
	touch "$go"
	for i in 1 2 3 4; do
		bg_wait "${pids[$((i - 1))]}" 60
		local rc=$?
		note "-- client $i (exit $rc)"
		cat "$TMP_DIR/$MODE-hold$i.out" >>"$T"
	done
}

EXPECTED="== 1. TCP: a port another process listens on
B: bind -1 EADDRINUSE
B2: SO_REUSEADDR 0
B2: bind -1 EADDRINUSE
B3: SO_REUSEPORT 0
B3: bind -1 EADDRINUSE
B5: bind -1 EADDRINUSE
A: bind 0
A: listen 0
A: holding
A: accepted any: no
B4: bind 0
B4: listen 0
== 2. TCP: SO_REUSEPORT on both
RC: bind -1 EADDRINUSE
connections through the group: 40 of 40 ok
RA: SO_REUSEPORT 0
RA: bind 0
RA: listen 0
RA: holding
RA: accepted any: yes
RB: SO_REUSEPORT 0
RB: bind 0
RB: listen 0
RB: holding
RB: accepted any: yes
== 3. UDP
U2: bind -1 EADDRINUSE
U1: bind 0
U1: holding
UB: SO_REUSEADDR 0
UB: bind 0
UA: SO_REUSEADDR 0
UA: bind 0
UA: holding
== 4. the local port of another process's connection
D: bind -1 EADDRINUSE
D2: SO_REUSEADDR 0
D2: bind -1 EADDRINUSE
C: connect 0
C: holding
== 5. port 0 in two processes
ephemeral ports differ: yes
E1: bind 0
E1: holding
E2: bind 0
E2: holding
== 6. four clients, 1000 connections each, held at once
server: established: 4000, distinct source addresses and ports: 4000
clients: distinct local ports over all four: 4000"
for i in 1 2 3 4; do
	EXPECTED+="
-- client $i (exit 0)
connected: 1000
first echo ok: 1000
distinct local ports: 1000
ended while held: 0
second echo ok: 1000"
done

set_mode kernel
sequence
printf '%s\n' "$EXPECTED" >"$TMP_DIR/expected.transcript"
diff -u --label expected --label kernel "$TMP_DIR/expected.transcript" "$TMP_DIR/kernel.transcript" >&2 ||
	fail "on the kernel, the probes did not print what Linux does (diff above): the test itself is wrong"
log "ok: on the kernel, the probes printed the expected transcript"

set_mode microtcp
b0=$(mp_dev_bytes)
sequence
moved=$(($(mp_dev_bytes) - b0))
if ! diff -u --label kernel --label microtcp "$TMP_DIR/kernel.transcript" "$TMP_DIR/microtcp.transcript" >&2; then
	n=$(diff "$TMP_DIR/kernel.transcript" "$TMP_DIR/microtcp.transcript" | grep -c '^>')
	first=$(diff "$TMP_DIR/kernel.transcript" "$TMP_DIR/microtcp.transcript" |
		awk '/^[<>]/ {print; c++} c == 2 {exit}' | paste -sd ' ')
	h=$(mp_hints microtcp-A microtcp-B microtcp-hold1)
	fail "processes on microtcp do not share one port space as on Linux: $n transcript" \
		"line(s) differ from the kernel's (diff above; first: $first)${h:+ $h}"
fi
log "ok: microtcp's transcript equals the kernel's"
if [ "$PL_KERNEL_ONLY" != 1 ]; then
	[ "$moved" -ge 2000000 ] ||
		fail "only $moved bytes crossed $MP_PEER_DEV in microtcp mode (expected >= 2 MB): not on microtcp"
fi
mp_stop kserv "$KSERV"
log "PASS"

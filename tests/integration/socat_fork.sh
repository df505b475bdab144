#!/usr/bin/env bash
# socat_fork: socat's fork-per-connection listener with an EXEC: child on
# microtcp (issue 13), on the kernel first (the test proves itself), then
# on microtcp over AF_PACKET (veth) and over a multi-queue TAP
# (multiproc_lib.bash; kernel 10.61.131.1, microtcp 10.61.131.2).
#   - `socat TCP-LISTEN:7000,fork,reuseaddr EXEC:cat` (the issue's): the
#     parent accepts and forks per connection; the child relays between
#     the connection and cat (a socketpair to a forked, exec'd cat);
#   - `socat TCP-LISTEN:7001,fork,reuseaddr EXEC:cat,nofork` (inetd
#     style): the child execs cat with the connection itself as its stdin
#     and stdout, so the connection crosses exec;
#   (each with backlog=128: socat's default of 5 overflows under 20
#   clients at once, on the kernel too, and a client sees a reset);
#   - for each: 20 kernel clients at once (mp_echo client), 1 MiB each way,
#     every byte compared, each ended by the client's shutdown and the
#     server's EOF; afterwards every child is gone within 5 s, and socat
#     ends on SIGTERM;
#   - on microtcp: the bytes crossed the link; no RST from the listener's
#     stack, no connection reset in it.
# Both parts are tried even when the first fails; the test fails listing
# each part that did (mp_bad).
MP_DRIVERS_DEFAULT="kernel packet tap"
. "$(dirname "$0")/multiproc_lib.bash"
need socat ps

BYTES=$((1 << 20)) NPAR=20
mp_setup 10.61.131
test_cleanup() { mp_cleanup; }

children_of() { ps --ppid "$1" -o pid= 2>/dev/null | awk '{print $1}' | paste -sd ' '; }
no_children() { [ -z "$(children_of "$1")" ]; }
listening() { # NAME PORT: socat (run NAME) listens on PORT
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		[ -n "$(ip netns exec "$NS_STACK" ss -Hltn "sport = :$2")" ]
	else
		# on microtcp nothing shows in ss: the log line says it
		grep -q 'listening on' "$TMP_DIR/$1.err"
	fi
}

# bad NAME MSG RUN...: a failed part (the tails of those runs); the test
# goes on with the next part and fails at the end
bad() {
	local name=$1 msg=$2
	shift 2
	tails "$@"
	mp_bad "$name" "$msg$(h=$(mp_hints "$@"); [ -n "$h" ] && echo " $h")"
}

# one NAME PORT EXEC-ADDRESS: socat with that EXEC address, 20 clients
one() {
	local name=$1 port=$2 exec=$3 pid spid b0 res rc
	log "---- socat TCP-LISTEN:$port,fork,reuseaddr $exec"
	mt_bg "$name" 90 socat -d -d "TCP-LISTEN:$port,fork,reuseaddr,backlog=128" "$exec"
	pid=$BG_PID
	wait_until 10 listening "$name" $port ||
		{ bad "$name" "socat ($exec) does not listen on port $port within 10 s" "$name"; return 1; }
	# BG_PID is timeout(1)'s; socat's own pid is in its log lines
	spid=$(sed -nE '1s/^.* socat\[([0-9]+)\] .*/\1/p' "$TMP_DIR/$name.err")
	[ -n "$spid" ] || { bad "$name" "socat's log names no pid" "$name"; return 1; }
	b0=$(mp_dev_bytes)
	k_run "$name-cli" 60 "$MP_ECHO" client "$S" "$port" $NPAR $NPAR $BYTES 1
	rc=$?
	res=$(grep '^RESULT ' "$TMP_DIR/$name-cli.out")
	log "$name-cli: exit $rc: ${res:-no RESULT line}"
	[ $rc = 0 ] && [[ $res == "RESULT conns $NPAR ok $NPAR "* ]] ||
		{ bad "$name" "$NPAR kernel clients at once, 1 MiB each way: ${res:-exit $rc, no RESULT line}$(sed -n '1s/^mp_echo client: / (first error: /p' "$TMP_DIR/$name-cli.err" | sed 's/$/)/')" "$name-cli" "$name"
		  mp_stop "$name" "$pid"; return 1; }
	log "ok: $NPAR connections at once, $BYTES bytes each way, all intact"
	if [ "$PL_KERNEL_ONLY" != 1 ]; then
		local moved=$(($(mp_dev_bytes) - b0)) min=$((NPAR * BYTES * 2))
		[ "$moved" -ge "$min" ] ||
			{ bad "$name" "only $moved bytes crossed $MP_PEER_DEV (expected >= $min): not on microtcp"; mp_stop "$name" "$pid"; return 1; }
		log "ok: $moved bytes crossed $MP_PEER_DEV"
	fi
	wait_until 5 no_children "$spid" ||
		{ bad "$name" "socat ($exec, pid $spid) still has children 5 s after the clients were done: $(children_of "$spid")" "$name"; mp_stop "$name" "$pid"; return 1; }
	log "ok: every child is gone"
	# socat's status after SIGTERM is 143: what matters is that it ends
	mp_stop "$name" "$pid"
	log "ok: socat ($exec) ended on SIGTERM (exit $?)"
	[ "$PL_KERNEL_ONLY" = 1 ] && return 0
	# mp_resets_none, but a failed part, not the end of the test
	local st=$TMP_DIR/$name.stats rst er
	rst=$(awk '$1 == "stat" && $2 == "tcp_out_rsts" {print $3}' "$st" 2>/dev/null)
	er=$(awk '$1 == "stat" && $2 == "tcp_estab_resets" {print $3}' "$st" 2>/dev/null)
	[ "$rst" = 0 ] && [ "$er" = 0 ] ||
		{ bad "$name" "the listener's stack (MTCP_STATS): tcp_out_rsts ${rst:-missing}, tcp_estab_resets ${er:-missing}; expected 0 and 0" "$name"; return 1; }
	log "ok: $name: no RST sent, no connection reset (its stack's counters)"
}

one socat-exec 7000 EXEC:cat
one socat-nofork 7001 EXEC:cat,nofork
mp_bad_end
log "PASS"

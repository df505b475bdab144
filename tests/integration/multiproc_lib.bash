# tests/integration/multiproc_lib.bash - what the multi-process tests share
# (multiproc_*.sh, nginx_multiproc.sh, daemons.sh): several programs on
# microtcp at once, all on one address (S), against the kernel's peers (K),
# over either link driver. Sourced first thing by those tests, instead of
# lib.sh (it sources lib.sh and preload_lib.bash itself); not a test itself
# (tests/run runs only *.sh).
#
# Drivers. MP_DRIVER says which one a run uses:
#   packet  a veth pair: mtv0 in $NS_STACK (no address; the programs on
#           microtcp run here, MTCP_DRIVER=packet MTCP_IFACE=mtv0), mtp0 in
#           $NS_PEER with K/24 (the kernel's peers run here)
#   tap     one namespace: TAP mt0, made multi-queue (IFF_MULTI_QUEUE: each
#           process opens a queue of its own), K/24 on it; the programs on
#           microtcp (MTCP_DRIVER=tap MTCP_IFACE=mt0) and the kernel's peers
#           both run in it ($NS_STACK = $NS_PEER)
# MP_TAP_SINGLE=1 makes mt0 an ordinary single-queue TAP instead: only
# for looking at a test's steps with a TAP driver that cannot open a
# multi-queue one (a second process on it then fails to open it: EBUSY).
# MP_DRIVER=kernel is packet with PL_KERNEL_ONLY=1 (below): a test that
# sets MP_DRIVERS_DEFAULT="kernel packet tap" before sourcing this file
# proves itself on the kernel first, in every run (issue 13's tests).
# Without MP_DRIVER, the test runs itself once per driver in MP_DRIVERS
# (default $MP_DRIVERS_DEFAULT, else "packet tap"), one after the other,
# each run with its own TEST_NAME (<test>-<driver>), namespaces and logs,
# prints one line per driver and fails if any run failed:
#     bash tests/integration/multiproc_servers.sh            # both
#     MP_DRIVER=tap bash tests/integration/multiproc_servers.sh
#
# Every program on microtcp gets the same settings: MTCP_ADDR=S/24, the
# same MAC (PL_MAC), MTCP_STATS=$TMP_DIR/NAME.stats (its counters, written
# at an ordinary exit).
#
# PL_KERNEL_ONLY=1 checks a test itself without microtcp: S becomes a second
# kernel address (on mtv0 in $NS_STACK; on mt0 for tap, where the kernel
# then talks to itself over lo and captures are taken on lo) and every
# "microtcp" program runs on the kernel. Every test here must pass so: the
# kernel is the host the processes on microtcp must add up to.
#
#   mp_setup NET          the topology above, K=NET.1 S=NET.2; sets NS (the
#                         kernel's side, for k_run/k_bg), MT_OPTS (mt_run,
#                         mt_bg: the programs on microtcp, in $NS_STACK)
#   mt_bg, k_bg           preload_lib's, remembering each run's pid by NAME
#   mp_ready NAME REGEX [SECS]  NAME.out (a background run) has a line
#                         matching REGEX within SECS (default 10), or fail
#                         with its tails (at once if the run ended)
#   mp_fail MSG NAME...   pl_fail, with what known messages in those runs'
#                         stderr mean (mp_hints: e.g. a TAP driver that
#                         cannot open a multi-queue TAP)
#   mp_pid NAME           the pid a program printed ("... pid N") in NAME.out
#   mp_stop NAME BGPID [SECS]   SIGTERM to a background run, wait for it
#                         (default 10 s); fails if it does not end
#   mp_gone PID           PID has ended (gone, or a zombie not yet reaped)
#   mp_resets_none NAME...      the counters of each run on microtcp: no RST
#                         sent (tcp_out_rsts), no connection reset
#                         (tcp_estab_resets); non-zero drops are logged
#   mp_cap_start NAME FILTER    dumpcap on the kernel's end of the link
#                         (mtp0, mt0; lo for PL_KERNEL_ONLY on tap), with a
#                         capture filter; mp_cap_stop NAME ends it (fails
#                         if it dropped any frame); mp_cap_lines NAME: one
#                         line per frame (mp_pcap.py)
#   mp_dev_bytes          bytes through the kernel's end of the link so far
#   mp_bad NAME MSG       record a failure of one part of a test and go on
#                         (daemons.sh); mp_bad_end fails the test if any

# ------------------------------------------------------------ one run per driver
if [ -z "${MP_DRIVER:-}" ]; then
	_mp_test=$(basename "$0" .sh)
	_mp_child=
	# _mp_stop STATUS: end the run under way (TERM; KILL after 10 s) and
	# remove whatever of its namespaces it left: a run cleans up after
	# itself on TERM, but not if it cannot (its trap deferred behind a
	# command, or a bash that fails to run it)
	_mp_stop() {
		local c=$_mp_child i ns pids
		trap '' INT TERM
		if [ -n "$c" ]; then
			kill -TERM "$c" 2>/dev/null
			for ((i = 0; i < 200; i++)); do
				kill -0 "$c" 2>/dev/null || break
				sleep 0.05
			done
			kill -0 "$c" 2>/dev/null && echo "$_mp_test: run $c did not end within 10 s of SIGTERM: killed" >&2 &&
				kill -KILL "$c" 2>/dev/null
			wait "$c" 2>/dev/null
			for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
				[[ $ns == "mtcpt-$_mp_test-$_mp_d-"*"-$c" ]] || continue
				pids=$(ip netns pids "$ns" 2>/dev/null)
				[ -n "$pids" ] && kill -TERM $pids 2>/dev/null && sleep 1
				pids=$(ip netns pids "$ns" 2>/dev/null)
				[ -n "$pids" ] && kill -KILL $pids 2>/dev/null && sleep 0.2
				ip netns del "$ns" 2>/dev/null && echo "$_mp_test: removed $ns, left by run $c" >&2
			done
		fi
		rm -f "$_mp_log"
		exit "$1"
	}
	trap '_mp_stop 130' INT
	trap '_mp_stop 143' TERM
	_mp_rc=0
	_mp_sum=()
	_mp_log=$(mktemp "/tmp/mtcpt-$_mp_test.drivers.XXXXXX") || exit 1
	for _mp_d in ${MP_DRIVERS:-${MP_DRIVERS_DEFAULT:-packet tap}}; do
		echo "==== $_mp_test over $_mp_d (MP_DRIVER=$_mp_d)"
		: >"$_mp_log"
		# tee ignores TERM and INT (a timeout(1) or ^C reaches the whole
		# process group): it must outlive the run, which logs its cleanup
		# (a run whose output pipe is gone dies of SIGPIPE, cleaning nothing)
		MP_DRIVER=$_mp_d TEST_NAME=$_mp_test-$_mp_d bash "$0" "$@" \
			> >(trap '' TERM INT; exec tee -a "$_mp_log") 2>&1 &
		_mp_child=$!
		wait "$_mp_child"
		_mp_r=$?
		_mp_child=
		if [ $_mp_r -eq 0 ]; then
			_mp_sum+=("PASS $_mp_test over $_mp_d")
		else
			_mp_rc=1
			_mp_sum+=("FAIL $_mp_test over $_mp_d (exit $_mp_r): $(grep -m 1 'FAIL: ' "$_mp_log" | sed 's/^.*FAIL: //' | cut -c 1-400)")
		fi
	done
	rm -f "$_mp_log"
	echo "==== $_mp_test:"
	printf '%s\n' "${_mp_sum[@]}"
	exit $_mp_rc
fi

case $MP_DRIVER in
packet | tap) ;;
kernel) MP_DRIVER=packet PL_KERNEL_ONLY=1 ;;
*) echo "FAIL: MP_DRIVER must be packet, tap or kernel, not '$MP_DRIVER'" >&2; exit 2 ;;
esac

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$LIB_DIR/preload_lib.bash"

MP_ECHO=$MTCP_BUILD/prog/mp_echo
MP_BIND=$MTCP_BUILD/prog/mp_bind
[ -x "$MP_ECHO" ] && [ -x "$MP_BIND" ] ||
	fail "$MP_ECHO or $MP_BIND not found (make builds tests/prog/*.c)"
# thousands of connections in one process (each stack socket is a kernel
# fd too), and the kernel's server holding all of them
[ "$(ulimit -n)" -ge 16384 ] || ulimit -n 16384 ||
	fail "could not raise RLIMIT_NOFILE to 16384 (ulimit -n)"

mp_setup() { # NET
	K=$1.1 S=$1.2
	if [ "$MP_DRIVER" = packet ]; then
		make_ns NS_STACK s
		make_ns NS_PEER p
		veth_topology "$NS_STACK" "$NS_PEER" "$K/24"
		MP_IFACE=mtv0 MP_PEER_DEV=mtp0
	else
		make_ns NS_PEER t
		NS_STACK=$NS_PEER
		if [ "${MP_TAP_SINGLE:-0}" = 1 ]; then
			tap_topology "$NS_PEER" "$K/24" mt0
			log "MP_TAP_SINGLE=1: mt0 is a single-queue TAP (one process at a time can open it)"
		else
			tap_topology "$NS_PEER" "$K/24" mt0 multi_queue
		fi
		MP_IFACE=mt0 MP_PEER_DEV=mt0
	fi
	NS=$NS_PEER
	MP_CAP_DEV=$MP_PEER_DEV
	MT_OPTS=(--netns "$NS_STACK" --driver "$MP_DRIVER" --iface "$MP_IFACE" --addr "$S/24"
		--mac "$PL_MAC")
	# MTCP_LOG=LEVEL in the test's environment: the programs on microtcp
	# log at that level (diagnosis).
	[ -n "${MTCP_LOG:-}" ] && MT_OPTS+=(--log "$MTCP_LOG")
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		run ip -n "$NS_STACK" addr add "$S/24" dev "$MP_IFACE" || fail "addr add $S failed"
		[ "$MP_DRIVER" = tap ] && MP_CAP_DEV=lo
		log "PL_KERNEL_ONLY=1: $S is the kernel's (on $MP_IFACE); nothing runs on microtcp"
	fi
	log "driver $MP_DRIVER: programs on microtcp in $NS_STACK on $MP_IFACE as $S;" \
		"the kernel's peers in $NS_PEER as $K on $MP_PEER_DEV"
}

# preload_lib's _mt_cmd, but PL_KERNEL_ONLY runs in $NS_STACK (not $NS)
_mt_cmd() {
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		_MT=(ip netns exec "$NS_STACK")
	else
		_MT=("$MTCP" run --lib "$PL_LIB" "${MT_OPTS[@]}" --stats "$TMP_DIR/$1.stats")
		[ "${PL_PCAP:-0}" = 1 ] && _MT+=(--pcap "$TMP_DIR/$1.pcap")
		_MT+=(--)
	fi
}

# mt_bg and k_bg (preload_lib) also remember each run's pid by name
declare -gA _MP_BG=()
eval "_pl_mt_bg() $(declare -f mt_bg | tail -n +2)"
eval "_pl_k_bg() $(declare -f k_bg | tail -n +2)"
mt_bg() { _pl_mt_bg "$@"; _MP_BG[$1]=$BG_PID; }
k_bg() { _pl_k_bg "$@"; _MP_BG[$1]=$BG_PID; }

# _mp_ready_now NAME REGEX: the line is there, or the run is over
_mp_ready_now() {
	grep -Eq -- "$2" "$TMP_DIR/$1.out" 2>/dev/null && return 0
	[ -n "${_MP_BG[$1]:-}" ] && ! kill -0 "${_MP_BG[$1]}" 2>/dev/null
}

mp_ready() { # NAME REGEX [SECS]
	wait_until "${3:-10}" _mp_ready_now "$1" "$2"
	grep -Eq -- "$2" "$TMP_DIR/$1.out" 2>/dev/null && return 0
	local st="still running"
	if [ -n "${_MP_BG[$1]:-}" ] && ! kill -0 "${_MP_BG[$1]}" 2>/dev/null; then
		wait "${_MP_BG[$1]}" 2>/dev/null
		st="exited with status $?"
	fi
	mp_fail "$1 did not get ready within ${3:-10} s ($st; no line /$2/ in its output)" "$1"
}

# mp_hints NAME...: what known messages in those runs' stderr mean
mp_hints() {
	local n f
	for n in "$@"; do
		f=$TMP_DIR/$n.err
		[ -f "$f" ] || continue
		if grep -q 'cannot open tap device.*Invalid argument' "$f"; then
			echo "($n: $MP_IFACE is a multi-queue TAP (IFF_MULTI_QUEUE: a queue per process);" \
				"the TAP driver opened it without IFF_MULTI_QUEUE, which the kernel refuses with EINVAL)"
		elif grep -q 'cannot open tap device.*busy' "$f"; then
			echo "($n: the TAP is single-queue and another process holds it open)"
		fi
	done | sort -u | paste -sd ' '
}

# mp_fail MSG NAME...: pl_fail, with mp_hints
mp_fail() {
	local msg=$1 h
	shift
	h=$(mp_hints "$@")
	pl_fail "$msg${h:+ $h}" "$@"
}

mp_pid() { # NAME
	local p
	p=$(sed -nE 's/.* pid ([0-9]+)$/\1/p' "$TMP_DIR/$1.out" | head -n 1)
	[ -n "$p" ] || pl_fail "$1 printed no pid" "$1"
	echo "$p"
}

# mp_gone PID: no such process, or a zombie (a daemon's parent is init,
# which may reap it late)
mp_gone() {
	[ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

mp_stop() { # NAME BGPID [SECS]
	kill -TERM "$2" 2>/dev/null
	bg_wait "$2" "${3:-10}"
	local rc=$?
	[ $rc -eq 124 ] && pl_fail "$1 did not end within ${3:-10} s of SIGTERM" "$1"
	return $rc
}

# mp_stat NAME COUNTER: one counter of run NAME (from MTCP_STATS)
mp_stat() {
	pl_stats "$1" | awk -v k="$2" '$1 == k {print $2; f = 1} END {if (!f) print "missing"}'
}

mp_resets_none() { # NAME...
	[ "$PL_KERNEL_ONLY" = 1 ] && return 0
	local n rst er drops
	for n in "$@"; do
		pl_stats "$n" >/dev/null
		rst=$(mp_stat "$n" tcp_out_rsts) er=$(mp_stat "$n" tcp_estab_resets)
		drops=$(pl_stats "$n" | awk '$1 ~ /^drop_/ && $2 != 0 {printf " %s=%s", substr($1, 6), $2}')
		[ -n "$drops" ] && log "$n: drops:$drops"
		[ "$rst" = 0 ] || mp_fail "$n: its stack sent $rst RST segments (tcp_out_rsts; expected 0: no stack may answer a flow that another process owns)" "$n"
		[ "$er" = 0 ] || mp_fail "$n: $er of its connections were reset (tcp_estab_resets; expected 0)" "$n"
		log "ok: $n: no RST sent, no connection reset (its stack's counters)"
	done
}

# ------------------------------------------------------------ captures

mp_cap_start() { # NAME FILTER
	local name=$1 f=$TMP_DIR/$1
	rm -f "$f.pcap"
	log "capture $name on $MP_CAP_DEV in $NS_PEER: $2"
	# ip netns exec execs dumpcap: $! is dumpcap itself
	ip netns exec "$NS_PEER" dumpcap -q -P -i "$MP_CAP_DEV" -f "$2" -w "$f.pcap" \
		>"$f.cap.out" 2>"$f.cap.err" </dev/null &
	eval "MP_CAP_$name=$!"
	wait_grep 10 "$f.cap.err" '^Capturing on' || {
		cat "$f.cap.err" >&2
		fail "dumpcap did not start capturing on $MP_CAP_DEV within 10 s"
	}
}

mp_cap_stop() { # NAME
	local v=MP_CAP_$1 f=$TMP_DIR/$1
	[ -n "${!v:-}" ] || return 0
	kill -TERM "${!v}" 2>/dev/null
	bg_wait "${!v}" 5
	eval "MP_CAP_$1="
	local drop
	drop=$(sed -nE 's,.*received/dropped on interface.*: [0-9]+/([0-9]+) .*,\1,p' "$f.cap.err")
	[ "${drop:-x}" = 0 ] || {
		cat "$f.cap.err" >&2
		fail "capture $1: dumpcap dropped ${drop:-an unknown number of} frames (the counts would be wrong)"
	}
}

mp_cap_lines() { # NAME
	"$PY" "$LIB_DIR/mp_pcap.py" "$TMP_DIR/$1.pcap" || fail "could not read the capture $1"
}

# lib.sh's dev_bytes: a shared TAP's queues drop what the packet sockets
# took, so the kernel's sends are read from the root qdisc.
mp_dev_bytes() {
	dev_bytes "$NS_PEER" "$MP_PEER_DEV"
}

# ------------------------------------------------------------ failures that go on

MP_BAD=()
mp_bad() { # NAME MSG
	echo "[$(_ts)] FAILED PART: $TEST_NAME: $1: $2" >&2
	MP_BAD+=("$1: $2")
	return 1
}
mp_bad_end() {
	[ ${#MP_BAD[@]} -eq 0 ] && return 0
	local m
	m=$(printf '%s; ' "${MP_BAD[@]}")
	fail "${#MP_BAD[@]} part(s) failed: ${m%; }"
}

# the captures' dumpcaps end with the namespaces; stop them first so that
# their counts are flushed (a test_cleanup of the test's own calls this)
mp_cleanup() {
	local v
	for v in ${!MP_CAP_*}; do
		[ -n "${!v}" ] && kill -TERM "${!v}" 2>/dev/null
	done
	return 0
}

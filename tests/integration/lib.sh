# tests/integration/lib.sh - shared helpers for microtcp's integration tests.
#
# Source it first thing in a test:
#
#     . "$(dirname "$0")/lib.sh"
#
# What it gives:
#   make_ns VAR TAG        create a namespace with a name unique to this run
#                          (mtcpt-<test>-<TAG>-<pid>) and store it in VAR; it
#                          is removed at exit, with every process inside it
#   tap_topology NS ADDR/P [TAPNAME [multi_queue]]
#                          TAP device mt0 in NS (multi-queue: one queue per
#                          process that opens it; TAP_MULTI_QUEUE=0 makes it
#                          single-queue), kernel address ADDR/P, up
#   veth_topology NS_STACK NS_PEER PEER_ADDR/P
#                          veth pair: mtv0 in NS_STACK (no address, IPv6 off,
#                          up; for MTCP_DRIVER=packet), mtp0 in NS_PEER with
#                          PEER_ADDR/P, up (VETH_TX_CSUM=off: no checksum
#                          offload on mtp0)
#   dev_bytes NS DEV       bytes through DEV so far, both ways, as the
#                          kernel counts them
#   start_echo NS VAR=VAL...
#                          run build/mtcp-echo in NS in the background with
#                          exactly these MTCP_* variables; waits up to 5 s
#                          for its ready line; sets ECHO_PID, ECHO_OUT,
#                          ECHO_ERR; fails with its log if it is not ready
#   echo_stats             SIGUSR1 to ECHO_PID, wait for "stat end", load the
#                          counters: stat_get NAME, drop_get REASON
#   stop_echo              SIGTERM to ECHO_PID, wait for it (<= 5 s), sets
#                          ECHO_STATUS
#   in_ns NS CMD...        run CMD in NS, logging the command and its output
#   ping_from NS OUT ARGS.., ping_received OUT, udp_roundtrip NS ADDR PORT IN OUT,
#   udp_checks NS ADDR     (echo, discard, chargen, closed port), vmrss_kb
#   log MSG, fail MSG, assert_eq WHAT EXPECTED GOT, assert_ge WHAT GOT MIN,
#   assert_gt WHAT GOT MIN, assert_lt WHAT GOT MAX, assert_contains WHAT FILE
#   REGEX, wait_until SECONDS CMD...
#
# At exit (also on failure, INT or TERM): every process in the run's
# namespaces is killed by pid, the namespaces are deleted, and a sanitizer
# report in mtcp-echo's stderr fails the test. Temp files live in one
# directory, removed on success and kept (5 newest per test) on failure.
# Executed directly, this file tests that cleanup (tests/run does so).
#
# Every test runs as root, inside namespaces it creates; nothing here touches
# the root namespace's interfaces, addresses or routes, and no route leaves a
# namespace. Binaries are taken from $MTCP_BUILD (tests/run sets it; default
# <repo>/build).

set -uo pipefail

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$LIB_DIR/../.." && pwd)
MTCP_BUILD=${MTCP_BUILD:-$REPO_DIR/build}
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}
NS_PREFIX=mtcpt

_lib_ns=()              # namespaces this run created
_lib_cleaned=0
TMP_DIR=$(mktemp -d "/tmp/mtcpt-$TEST_NAME.XXXXXX") || {
	echo "FAIL: $TEST_NAME: mktemp failed" >&2; exit 1; }
ECHO_PID=
ECHO_OUT=
ECHO_ERR=
ECHO_STATUS=
declare -gA STAT=()
declare -gA DROP=()

# ---------------------------------------------------------------- logging

_ts() { date +%H:%M:%S.%3N; }
# LIB_QUIET=1 (scripts/demo, scripts/bench-ping): log and run print nothing
# unless a command fails; fail always prints.
LIB_QUIET=${LIB_QUIET:-0}
log() { [ "$LIB_QUIET" = 1 ] || echo "[$(_ts)] $TEST_NAME: $*"; }

# fail MSG...: print what went wrong, the tail of the stack's log, and exit 1.
# Called inside $(...), it also stops the test itself (SIGUSR2 -> exit 1).
_in_fail=0
fail() {
	echo "[$(_ts)] FAIL: $TEST_NAME: $*" >&2
	if [ "$BASHPID" != "$$" ]; then
		kill -USR2 $$ 2>/dev/null
		exit 1
	fi
	if [ $_in_fail -eq 0 ] && [ -n "$ECHO_PID" ] && kill -0 "$ECHO_PID" 2>/dev/null; then
		_in_fail=1
		_echo_stats_try >/dev/null 2>&1 || echo "(no fresh counters: $_es_err)" >&2
	fi
	_in_fail=1
	if [ -n "$ECHO_ERR" ] && [ -s "$ECHO_ERR" ]; then
		echo "---- last lines of mtcp-echo stderr ($ECHO_ERR), counters left out:" >&2
		grep -Ev '^(stat|drop) [A-Za-z0-9_]+ [0-9]+$|^stat end$' "$ECHO_ERR" | tail -n 30 >&2
		echo "----" >&2
	fi
	[ ${#STAT[@]} -gt 0 ] && stats_dump >&2
	exit 1
}

# run CMD...: log the command, run it, log its output; returns its status.
run() {
	local out rc
	out=$("$@" 2>&1); rc=$?
	[ "$LIB_QUIET" = 1 ] && [ $rc -eq 0 ] && return 0
	echo "[$(_ts)] \$ $*"
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/    | /'
	[ $rc -ne 0 ] && echo "    (exit $rc)"
	return $rc
}

# in_ns NS CMD...: run CMD in namespace NS, logged like run.
in_ns() {
	local ns=$1; shift
	run ip netns exec "$ns" "$@"
}

# ---------------------------------------------------------------- asserts

assert_eq() { # WHAT EXPECTED GOT
	[ "$2" == "$3" ] || fail "$1: expected '$2', got '$3'"
	log "ok: $1 = '$3'"
}
assert_ne() { # WHAT UNEXPECTED GOT
	[ "$2" != "$3" ] || fail "$1: expected anything but '$2', got it"
	log "ok: $1 = '$3' (not '$2')"
}
_num() { [[ $1 =~ ^-?[0-9]+$ ]] || fail "$2: '$1' is not a number"; }
assert_ge() { # WHAT GOT MIN
	_num "$2" "$1"; _num "$3" "$1"
	[ "$2" -ge "$3" ] || fail "$1: expected >= $3, got $2"
	log "ok: $1 = $2 (>= $3)"
}
assert_gt() { # WHAT GOT MIN
	_num "$2" "$1"; _num "$3" "$1"
	[ "$2" -gt "$3" ] || fail "$1: expected > $3, got $2"
	log "ok: $1 = $2 (> $3)"
}
assert_lt() { # WHAT GOT MAX
	_num "$2" "$1"; _num "$3" "$1"
	[ "$2" -lt "$3" ] || fail "$1: expected < $3, got $2"
	log "ok: $1 = $2 (< $3)"
}
assert_contains() { # WHAT FILE EREGEX
	grep -Eq -- "$3" "$2" || {
		echo "---- $2:" >&2; head -c 4000 "$2" >&2; echo "----" >&2
		fail "$1: no line matching /$3/ in $2"
	}
	log "ok: $1 (/$3/ found)"
}

# wait_until SECONDS CMD...: retry CMD every 50 ms until it succeeds or
# SECONDS pass; returns CMD's last status.
wait_until() {
	local secs=$1; shift
	local i n=$((secs * 20))
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# need CMD...: fail (not skip) when a tool the test relies on is missing.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			fail "required tool '$c' not found (scripts/deps installs it)"
	done
}

# ---------------------------------------------------------------- cleanup

# Kill every process inside NS (by pid: TERM, then KILL after 2 s), then
# delete NS.
_ns_destroy() {
	local ns=$1 pids i
	ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		kill -TERM $pids 2>/dev/null
		for ((i = 0; i < 40; i++)); do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -z "$pids" ] && break
			sleep 0.05
		done
		if [ -n "$pids" ]; then
			kill -KILL $pids 2>/dev/null
			for ((i = 0; i < 40; i++)); do
				[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
				sleep 0.05
			done
		fi
	fi
	ip netns del "$ns" 2>/dev/null ||
		echo "cleanup: could not delete namespace $ns" >&2
}

# Idempotent; runs on EXIT (and so after INT/TERM, which exit).
cleanup() {
	local rc=$? ns
	[ $_lib_cleaned -eq 1 ] && return 0
	_lib_cleaned=1
	trap - EXIT INT TERM USR2
	if [ -n "$(type -t test_cleanup)" ]; then test_cleanup || true; fi
	for ns in "${_lib_ns[@]}"; do
		_ns_destroy "$ns"
	done
	# A sanitizer build (MTCP_BUILD=build/asan) reports on stderr, often
	# only at exit: any report fails the test.
	local f
	for f in "$TMP_DIR"/echo*.err; do
		[ -f "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error:' "$f"; then
			echo "FAIL: $TEST_NAME: sanitizer report in $f:" >&2
			grep -vE '^(stat|drop) [A-Za-z0-9_]+ [0-9]+$' "$f" | head -n 60 >&2
			[ $rc -eq 0 ] && rc=1
		fi
	done
	if [ $rc -eq 0 ] || [ -n "${KEEP_TMP_ON_SUCCESS:-}" ]; then
		[ -z "${KEEP_TMP_ON_SUCCESS:-}" ] && rm -rf "$TMP_DIR"
	else
		# Keep the logs of a failed run, but not forever: at most the 5 newest.
		echo "logs kept in $TMP_DIR" >&2
		ls -1dt /tmp/mtcpt-"$TEST_NAME".* 2>/dev/null | tail -n +6 | xargs -r rm -rf
	fi
	exit $rc
}
trap cleanup EXIT
trap 'echo "$TEST_NAME: interrupted" >&2; exit 130' INT
trap 'echo "$TEST_NAME: terminated" >&2; exit 143' TERM
trap 'exit 1' USR2

# Remove namespaces left by an earlier run of this test that was killed
# with SIGKILL (its cleanup never ran): only names of the form
# mtcpt-<this test>-*-<pid> whose <pid> is no longer alive.
_reap_stale() {
	local ns pid
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
		[[ $ns == "$NS_PREFIX-$TEST_NAME-"* ]] || continue
		pid=${ns##*-}
		[[ $pid =~ ^[0-9]+$ ]] || continue
		kill -0 "$pid" 2>/dev/null && continue
		echo "removing stale namespace $ns (its test run $pid is gone)" >&2
		_ns_destroy "$ns"
	done
}
_reap_stale

# ---------------------------------------------------------------- topologies

# make_ns VAR TAG: create a namespace named uniquely for this run
# (mtcpt-<test>-<TAG>-<pid>), bring its loopback up, store its name in VAR.
# It is removed at exit with every process inside it.
make_ns() { # VAR TAG
	local ns="$NS_PREFIX-$TEST_NAME-$2-$$"
	ip netns add "$ns" || fail "ip netns add $ns failed"
	_lib_ns+=("$ns")
	ip -n "$ns" link set lo up || fail "lo up in $ns failed"
	printf -v "$1" '%s' "$ns"
	log "namespace $ns created"
}

# tap_topology NS KERNEL_ADDR/P [TAPNAME [multi_queue]]: a TAP device (default
# mt0) in NS with the kernel's address on it; IPv6 off on it so the kernel
# stays quiet. Multi-queue, as several processes on one address need
# (stack/dev/tap.c); TAP_MULTI_QUEUE=0 makes it single-queue (the driver's
# fallback). The fourth argument, multi_queue, says so where a test
# depends on it.
tap_topology() {
	local ns=$1 addr=$2 dev=${3:-mt0} mq=multi_queue
	case ${4:-} in
	''|multi_queue) ;;
	*) fail "tap_topology: unknown option '$4' (multi_queue or nothing)" ;;
	esac
	[ "${TAP_MULTI_QUEUE:-1}" = 0 ] && [ -z "${4:-}" ] && mq=
	run ip -n "$ns" tuntap add dev "$dev" mode tap $mq || fail "tuntap add in $ns failed"
	run ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1" || true
	run ip -n "$ns" addr add "$addr" dev "$dev" || fail "addr add $addr failed"
	run ip -n "$ns" link set "$dev" up || fail "link up $dev failed"
	TAP_DEV=$dev
	TAP_MAC=$(ip netns exec "$ns" cat "/sys/class/net/$dev/address")
}

# veth_topology NS_STACK NS_PEER PEER_ADDR/P [STACK_DEV PEER_DEV]: a veth
# pair created inside NS_STACK with its peer moved straight to NS_PEER (it
# never appears in the root namespace). The stack's end has no address and
# IPv6 off; the peer's end has PEER_ADDR/P.
veth_topology() {
	local nss=$1 nsp=$2 addr=$3 sdev=${4:-mtv0} pdev=${5:-mtp0}
	run ip -n "$nss" link add "$sdev" type veth peer name "$pdev" netns "$nsp" ||
		fail "veth add failed"
	run ip netns exec "$nss" sysctl -qw "net.ipv6.conf.$sdev.disable_ipv6=1" || true
	run ip netns exec "$nsp" sysctl -qw "net.ipv6.conf.$pdev.disable_ipv6=1" || true
	run ip -n "$nsp" addr add "$addr" dev "$pdev" || fail "addr add $addr failed"
	# VETH_TX_CSUM=off: the kernel fills in every checksum itself (for
	# diagnosis; by default its end keeps checksum offload, as veths have).
	if [ "${VETH_TX_CSUM:-on}" = off ]; then
		run ip netns exec "$nsp" python3 "$LIB_DIR/inject.py" --tx-csum-off "$pdev" ||
			fail "could not turn tx checksum offload off on $pdev"
	fi
	run ip -n "$nss" link set "$sdev" up || fail "link up $sdev failed"
	run ip -n "$nsp" link set "$pdev" up || fail "link up $pdev failed"
	VETH_STACK_DEV=$sdev
	VETH_PEER_DEV=$pdev
	VETH_PEER_MAC=$(ip netns exec "$nsp" cat "/sys/class/net/$pdev/address")
}

# dev_bytes NS DEV: bytes through DEV in NS so far, both directions, as the
# kernel counts them (0 when there is no DEV): rx_bytes, plus what the
# kernel sent: tx_bytes, or its root qdisc's count where that is larger.
# On a multi-queue TAP the stacks take the kernel's frames from packet
# sockets and the TAP's queues drop them (stack/dev/tap.c), so tun counts
# them as dropped, never in tx_bytes; the qdisc counted them on the way.
dev_bytes() {
	local ns=$1 dev=$2 d=/sys/class/net/$2/statistics
	ip netns exec "$ns" sh -c "cat $d/rx_bytes $d/tx_bytes 2>/dev/null &&
		tc -s qdisc show dev $dev root 2>/dev/null" |
		awk 'NR == 1 {rx = $1} NR == 2 {tx = $1}
			$1 == "Sent" && !q {q = $2}
			END {print rx + (q > tx ? q : tx)}'
}

# ---------------------------------------------------------------- mtcp-echo

ECHO_BIN=${ECHO_BIN:-$MTCP_BUILD/mtcp-echo}

# _echo_env VAR=VAL...: the environment mtcp-echo runs with: nothing of the
# caller's MTCP_* settings, only PATH, sanitizer options and what is given.
_echo_env() {
	local e=(env -i "PATH=$PATH")
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && e+=("$v=${!v}")
	done
	printf '%s\0' "${e[@]}" "$@"
}

# start_echo NS VAR=VAL...
start_echo() {
	local ns=$1; shift
	local n=$((${_echo_n:-0} + 1)); _echo_n=$n
	local envv i
	[ -x "$ECHO_BIN" ] || fail "$ECHO_BIN not found or not executable (run make)"
	mapfile -d '' envv < <(_echo_env "$@")
	ECHO_OUT=$TMP_DIR/echo$n.out
	ECHO_ERR=$TMP_DIR/echo$n.err
	log "starting mtcp-echo in $ns: $* (stdout $ECHO_OUT, stderr $ECHO_ERR)"
	# ip netns exec execs the command without forking, so $! is mtcp-echo.
	ip netns exec "$ns" "${envv[@]}" "$ECHO_BIN" >"$ECHO_OUT" 2>"$ECHO_ERR" &
	ECHO_PID=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^mtcp-echo: ready ' "$ECHO_OUT" 2>/dev/null && break
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q '^mtcp-echo: ready ' "$ECHO_OUT" 2>/dev/null; then
		local st=running
		if ! kill -0 "$ECHO_PID" 2>/dev/null; then
			wait "$ECHO_PID"; st="exited with status $?"
		fi
		echo "---- mtcp-echo stdout:" >&2; cat "$ECHO_OUT" >&2
		fail "mtcp-echo not ready within 5 s ($st)"
	fi
	log "$(head -n 1 "$ECHO_OUT") (pid $ECHO_PID)"
}

# echo_stats [PID]: ask mtcp-echo for its counters and load them into STAT
# and DROP (replacing the previous snapshot).
echo_stats() {
	_echo_stats_try "$@" || fail "echo_stats: $_es_err"
}

# _echo_stats_try [PID]: echo_stats that returns 1 (reason in _es_err)
# instead of failing.
_echo_stats_try() {
	local pid=${1:-$ECHO_PID} off i block line
	_es_err=
	[ -n "$pid" ] || { _es_err="no mtcp-echo running"; return 1; }
	kill -0 "$pid" 2>/dev/null || { _es_err="mtcp-echo (pid $pid) is not running"; return 1; }
	off=$(stat -c %s "$ECHO_ERR")
	kill -USR1 "$pid" || { _es_err="kill -USR1 $pid failed"; return 1; }
	for ((i = 0; i < 100; i++)); do
		tail -c +$((off + 1)) "$ECHO_ERR" | grep -q '^stat end$' && break
		sleep 0.05
	done
	block=$(tail -c +$((off + 1)) "$ECHO_ERR")
	grep -q '^stat end$' <<<"$block" ||
		{ _es_err="no 'stat end' within 5 s of SIGUSR1"; return 1; }
	# only the first complete block after the signal
	block=$(sed -n '1,/^stat end$/p' <<<"$block")
	STAT=(); DROP=()
	while read -r line; do
		if [[ $line =~ ^stat\ ([a-z0-9_]+)\ ([0-9]+)$ ]]; then
			STAT[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
		elif [[ $line =~ ^drop\ ([A-Z0-9_]+)\ ([0-9]+)$ ]]; then
			DROP[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
		fi
	done <<<"$block"
	[ ${#STAT[@]} -gt 0 ] || { _es_err="no 'stat NAME VALUE' lines parsed"; return 1; }
}

# stat_get NAME / drop_get REASON: a counter from the last echo_stats; a
# name mtcp-echo did not print fails the test (catches renamed counters).
stat_get() {
	[ -n "${STAT[$1]+x}" ] || fail "mtcp-echo printed no counter 'stat $1' (have: ${!STAT[*]})"
	echo "${STAT[$1]}"
}
drop_get() {
	[ -n "${DROP[$1]+x}" ] || fail "mtcp-echo printed no drop reason 'drop $1' (have: ${!DROP[*]})"
	echo "${DROP[$1]}"
}

# stats_dump: log every non-zero counter of the last snapshot.
stats_dump() {
	local k s=""
	for k in $(printf '%s\n' "${!STAT[@]}" | sort); do
		[ "${STAT[$k]}" != 0 ] && s+=" $k=${STAT[$k]}"
	done
	log "stats (last snapshot, non-zero):$s"
	s=""
	for k in $(printf '%s\n' "${!DROP[@]}" | sort); do
		[ "${DROP[$k]}" != 0 ] && s+=" $k=${DROP[$k]}"
	done
	log "drops:${s:- none}"
}

# stop_echo [SIGNAL]: stop mtcp-echo (default TERM) and wait up to 5 s;
# sets ECHO_STATUS (its exit status, or "timeout").
stop_echo() {
	local sig=${1:-TERM} i
	[ -n "$ECHO_PID" ] || return 0
	kill "-$sig" "$ECHO_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$ECHO_PID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$ECHO_PID" 2>/dev/null; then
		ECHO_STATUS=timeout
	else
		wait "$ECHO_PID" 2>/dev/null; ECHO_STATUS=$?
		ECHO_PID=
	fi
}

# vmrss_kb [PID]: resident set size of a process in kB.
vmrss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/${1:-$ECHO_PID}/status"
}

# ---------------------------------------------------------------- traffic

# ping_received FILE: the "N received" count from ping's summary in FILE.
ping_received() {
	local n
	n=$(sed -nE 's/.* ([0-9]+) (packets )?received.*/\1/p' "$1" | tail -n 1)
	echo "${n:-0}"
}

# ping_from NS OUTFILE ARGS...: kernel ping in NS, output logged and kept.
ping_from() {
	local ns=$1 out=$2; shift 2
	ip netns exec "$ns" ping "$@" >"$out" 2>&1
	local rc=$?
	[ "$LIB_QUIET" = 1 ] && return $rc
	echo "[$(_ts)] \$ ip netns exec $ns ping $*"
	sed 's/^/    | /' "$out"
	return $rc
}

# udp_roundtrip NS ADDR PORT INFILE OUTFILE [SECS]: send INFILE's bytes as
# datagrams (socat reads up to 64 KiB per datagram) and keep what comes back.
# Returns socat's status; its stderr is in OUTFILE.err.
udp_roundtrip() {
	local ns=$1 addr=$2 port=$3 in=$4 out=$5 t=${6:-1}
	ip netns exec "$ns" timeout 10 socat -b 65536 -t "$t" -T 5 - "UDP:$addr:$port" \
		<"$in" >"$out" 2>"$out.err"
	local rc=$?
	[ "$LIB_QUIET" = 1 ] && return $rc
	echo "[$(_ts)] \$ ip netns exec $ns socat -b 65536 -t $t -T 5 - UDP:$addr:$port < $in > $out"
	[ -s "$out.err" ] && sed 's/^/    | /' "$out.err"
	echo "    (socat exit $rc, sent $(stat -c %s "$in") bytes, got $(stat -c %s "$out") bytes)"
	return $rc
}

# ---------------------------------------------------------------- UDP services


# chargen_check FILE: FILE holds one chargen datagram (RFC 864): 0..512
# bytes, lines of 72 printable characters each one further along the
# printable ASCII ring than the previous line, ended by CR LF.
chargen_check() {
	python3 - "$1" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
if len(d) > 512:
    sys.exit("chargen datagram of %d bytes (> 512)" % len(d))
# the ring: the 95 printing characters (space too) or the 94 without space
def ok(ring):
    prev = None
    for k, line in enumerate(d.split(b"\r\n")):
        last = (k == len(d.split(b"\r\n")) - 1)
        if not last and len(line) != 72:
            return "line %d has %d characters, not 72" % (k, len(line))
        if len(line) > 72:
            return "line %d longer than 72" % k
        for i, c in enumerate(line):
            if c not in ring:
                return "byte %r at line %d not printable" % (c, k)
            if i and ring.index(c) != (ring.index(line[i - 1]) + 1) % len(ring):
                return "line %d: %r does not follow %r" % (k, chr(c), chr(line[i - 1]))
        if line and prev is not None and ring.index(line[0]) != (ring.index(prev) + 1) % len(ring):
            return "line %d starts with %r, expected the one after %r" % (k, chr(line[0]), chr(prev))
        if line:
            prev = line[0]
    return None
errs = [ok(bytes(range(32, 127))), ok(bytes(range(33, 127)))]
if None not in errs:
    sys.exit("not the RFC 864 pattern: " + errs[0] + " / " + errs[1])
print("chargen: %d bytes of the RFC 864 pattern" % len(d))
PY
}

# udp_checks NS ADDR: run every UDP check against mtcp-echo at ADDR from
# the kernel in NS.
udp_checks() {
	local ns=$1 addr=$2 i n
	local in=$TMP_DIR/udp.in out=$TMP_DIR/udp.out

	log "UDP echo (7): 6 small datagrams in one socat session"
	: >"$in"
	# one datagram per write: socat reads the pipe once per printf here
	{
		for n in 1 13 64 200 511 1472; do
			head -c "$n" /dev/urandom | tee -a "$in"
			sleep 0.1
		done
	} | {
		echo "[$(_ts)] \$ ip netns exec $ns socat -t 1 - UDP:$addr:7"
		ip netns exec "$ns" timeout 10 socat -b 65536 -t 1 -T 5 - "UDP:$addr:7" \
			>"$out" 2>"$out.err"
		echo "    (socat exit $?)"
	}
	[ -s "$out.err" ] && sed 's/^/    | /' "$out.err"
	if ! cmp -s "$in" "$out"; then
		echo_stats
		[ "$(drop_get UDP_BAD_CSUM)" -gt 0 ] &&
			log "hint: UDP_BAD_CSUM=$(drop_get UDP_BAD_CSUM): on a veth the kernel hands over UDP" \
				"with the checksum unfinished (TP_STATUS_CSUMNOTREADY, see PACKET_AUXDATA);" \
				"VETH_TX_CSUM=off makes the kernel finish it, to confirm"
	fi
	cmp "$in" "$out" || fail "echo of 6 small datagrams: got $(stat -c %s "$out") bytes back, sent $(stat -c %s "$in"), not identical (cmp above)"
	log "ok: echo of 6 small datagrams ($(stat -c %s "$in") bytes) came back byte-identical"

	log "UDP echo (7): one 5000-byte datagram (fragmented both ways)"
	echo_stats
	local reasm0 ftx0
	reasm0=$(stat_get ip_reassembled); ftx0=$(stat_get ip_frags_tx)
	head -c 5000 /dev/urandom >"$in"
	udp_roundtrip "$ns" "$addr" 7 "$in" "$out" 1 || fail "socat to UDP port 7 failed"
	cmp "$in" "$out" || fail "echo of a 5000-byte datagram: got $(stat -c %s "$out") bytes back, not identical"
	log "ok: 5000-byte datagram came back byte-identical"
	echo_stats
	assert_ge "ip_reassembled growth (5000-byte datagram in)" $(($(stat_get ip_reassembled) - reasm0)) 1
	assert_ge "ip_frags_tx growth (5000-byte datagram out, 4 fragments)" $(($(stat_get ip_frags_tx) - ftx0)) 4

	log "UDP discard (9): no reply, but counted"
	local rx0
	rx0=$(stat_get udp_rx)
	printf 'to be discarded\n' >"$in"
	udp_roundtrip "$ns" "$addr" 9 "$in" "$out" 0.5 || fail "socat to UDP port 9 failed"
	assert_eq "bytes received from discard" 0 "$(stat -c %s "$out")"
	echo_stats
	assert_ge "udp_rx growth (datagram to discard)" $(($(stat_get udp_rx) - rx0)) 1

	log "UDP chargen (19): one datagram in, one datagram of the pattern out"
	local got=0
	for i in 1 2 3; do
		printf 'x' >"$in"
		udp_roundtrip "$ns" "$addr" 19 "$in" "$out" 1 || fail "socat to UDP port 19 failed"
		got=$(stat -c %s "$out")
		[ "$got" -gt 0 ] && break   # a 0-byte reply is allowed; try again for content
	done
	[ "$got" -gt 0 ] || fail "chargen: three datagrams, three empty replies"
	chargen_check "$out" || fail "chargen reply is not the RFC 864 pattern (above); first bytes: $(head -c 80 "$out" | od -c | head -n 3)"

	log "UDP to closed port 5999: ICMP port unreachable -> ECONNREFUSED"
	echo_stats
	local err0
	err0=$(stat_get icmp_errors_sent)
	printf 'anyone?\n' >"$in"
	udp_roundtrip "$ns" "$addr" 5999 "$in" "$out" 1 && fail "socat to closed UDP port 5999 succeeded; expected 'Connection refused'"
	assert_contains "socat reports ECONNREFUSED" "$out.err" 'Connection refused'
	echo_stats
	stats_dump
	assert_ge "icmp_errors_sent growth (port unreachable)" $(($(stat_get icmp_errors_sent) - err0)) 1
}

# ---------------------------------------------------------------- self-test
# tests/run runs every tests/integration/*.sh, so this file too. Executed
# rather than sourced, it checks the harness itself: a test that fails, one
# that fails inside $(...), and one killed by SIGTERM each leave no
# namespace and no process behind.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	_child=$TMP_DIR/child.sh
	cat >"$_child" <<'CHILD'
TEST_NAME=libchild; . "$LIB" || exit 9
make_ns NS a
ip netns exec "$NS" sleep 60 &
echo "$! $NS" >"$OUT"
case $MODE in
fail) fail "deliberate failure" ;;
subshell) x=$(stat_get no_such_counter); echo "not reached: $x"; exit 0 ;;
term) sleep 60 & wait $! ;;
esac
CHILD
	test_cleanup() {
		[ -n "${_cpid:-}" ] && kill -TERM "$_cpid" 2>/dev/null
		rm -rf /tmp/mtcpt-libchild.*
		return 0
	}
	for _mode in fail subshell term; do
		log "self-test: child test ending by '$_mode'"
		rm -f "$TMP_DIR/child.out"
		LIB=$LIB_DIR/lib.sh OUT=$TMP_DIR/child.out MODE=$_mode \
			bash "$_child" >"$TMP_DIR/child.log" 2>&1 &
		_cpid=$!
		wait_until 5 test -s "$TMP_DIR/child.out" || fail "child never started its namespace"
		[ $_mode = term ] && kill -TERM "$_cpid"
		_i=0
		while kill -0 "$_cpid" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.05; _i=$((_i + 1)); done
		kill -0 "$_cpid" 2>/dev/null && fail "child ($_mode) still running after 5 s"
		wait "$_cpid"; _rc=$?
		read -r _spid _cns <"$TMP_DIR/child.out"
		sed 's/^/    | /' "$TMP_DIR/child.log"
		[ $_rc -ne 0 ] || fail "child ($_mode) exited 0"
		ip netns list | awk '{print $1}' | grep -qx "$_cns" &&
			fail "child ($_mode) left namespace $_cns"
		kill -0 "$_spid" 2>/dev/null && fail "child ($_mode) left process $_spid running"
		log "ok: '$_mode' exited $_rc, no namespace, no process left"
	done
	log "PASS"
	exit 0
fi

# ---------------------------------------------------------------- TCP client

# tcpc NAME SECS MODE ARGS...: run tcpc.py (the kernel's side of the TCP
# service tests) in $NS for at most SECS (it stops itself then; timeout(1)
# is the backstop), output in NAME.log and logged; its "RESULT mode bytes
# secs MB/s" line goes to $RES.
tcpc() {
	local name=$1 secs=$2; shift 2
	local out=$TMP_DIR/$name.log rc
	echo "[$(_ts)] \$ ip netns exec $NS python3 tcpc.py $*"
	ip netns exec "$NS" timeout -k 5 $((secs + 10)) python3 "$LIB_DIR/tcpc.py" "$@" "$secs" \
		>"$out" 2>&1
	rc=$?
	sed 's/^/    | /' "$out"
	[ $rc -eq 0 ] || echo "    (exit $rc)"
	RES=$(grep '^RESULT ' "$out" | tail -n 1)
	return $rc
}
# rate_of: "N MB/s (B bytes in S s)" from the last RESULT line
rate_of() { awk '{printf "%s MB/s (%d bytes in %s s)", $5, $3, $4}' <<<"$RES"; }
# stat_delta NAME BEFORE: the growth of counter NAME since BEFORE (echo_stats first)
stat_delta() { echo $(($(stat_get "$1") - $2)); }

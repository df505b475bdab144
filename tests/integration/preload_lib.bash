# tests/integration/preload_lib.bash - helpers for the preload_*.sh tests:
# real programs (curl, wget, python, socat, nc, iperf3) run on microtcp
# through scripts/mtcp run, against kernel peers in the same namespace.
# Sourced after lib.sh (not a test itself: tests/run runs only *.sh).
#
#   pl_setup TAG NET      namespace + TAP mt0: the kernel is NET.1/24 on mt0,
#                         microtcp NET.2/24 (K, S), fixed MAC (PL_MAC)
#   mt_run NAME SECS CMD...   CMD on microtcp in $NS, bounded by SECS;
#                         stdout/stderr in $TMP_DIR/NAME.out / NAME.err,
#                         stdin from $PL_IN (default /dev/null);
#                         returns CMD's status (124: timed out)
#   mt_bg NAME SECS CMD...    the same in the background; BG_PID
#   k_run / k_bg NAME SECS CMD...   the same on the kernel (no preload)
#   bg_wait PID SECS      wait for a background job: its status, or 124 (killed)
#   bg_stop PID           TERM it (timeout(1) passes it on) and reap it
#   tails NAME...         print the last lines of NAME.out and NAME.err
#   pl_fail MSG NAME...   tails of those runs, then fail MSG
#   k_listening PORT      a kernel socket listens on TCP PORT in $NS
#   same_file WHAT A B NAME...  sha256 of A and B equal, and via_tap; or pl_fail
#   via_tap WHAT MIN      at least MIN bytes crossed mt0 since the last
#                         mt_run/mt_bg started: the program really ran on
#                         microtcp (on the kernel, a client's connection to
#                         K, the namespace's own address, would go over lo)
#   mkdata FILE MIB       FILE with MIB MiB of random bytes
#
# The preload's own messages go to the program's stderr (NAME.err);
# MTCP_LOG defaults to warn.
#
# PL_PCAP=1 captures every run on microtcp to $TMP_DIR/NAME.pcap (MTCP_PCAP).
#
# PL_KERNEL_ONLY=1 checks the test itself without microtcp: S is added to
# mt0 as a second kernel address and every "microtcp" program runs on the
# kernel, without the preload (and without via_tap's check).

PY=/usr/bin/python3
MTCP=$REPO_DIR/scripts/mtcp
PL_LIB=$MTCP_BUILD/libmtcp.so
PL_MAC=02:00:00:00:00:02
export MTCP_LOG=${MTCP_LOG:-warn}

[ -x "$PY" ] || fail "$PY not found (the tests use it explicitly, not a python3 from PATH)"
PL_KERNEL_ONLY=${PL_KERNEL_ONLY:-0}
[ -f "$PL_LIB" ] || fail "$PL_LIB not found (run make)"
[ "$PL_KERNEL_ONLY" = 1 ] || nm -D --defined-only "$PL_LIB" 2>/dev/null | grep -qw socket ||
	fail "$PL_LIB defines no socket(): the preload library is not built yet"

# pl_setup TAG NET: e.g. pl_setup a 10.61.50
pl_setup() {
	make_ns NS "$1"
	tap_topology "$NS" "$2.1/24"
	K=$2.1 S=$2.2
	# The same MAC for every program run on microtcp here: each is a new
	# stack, and a new random MAC would leave the kernel's neighbour entry
	# for S pointing at the previous one for seconds.
	MT_OPTS=(--netns "$NS" --iface mt0 --addr "$S/24" --mac "$PL_MAC")
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		run ip -n "$NS" addr add "$S/24" dev mt0 || fail "addr add $S failed"
		log "PL_KERNEL_ONLY=1: $S is the kernel's too; nothing runs on microtcp"
	fi
}

# _mt_cmd NAME: how mt_run/mt_bg start a program (in _MT)
_mt_cmd() {
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		_MT=(ip netns exec "$NS")
	else
		_MT=("$MTCP" run --lib "$PL_LIB" "${MT_OPTS[@]}" --stats "$TMP_DIR/$1.stats")
		[ "${PL_PCAP:-0}" = 1 ] && _MT+=(--pcap "$TMP_DIR/$1.pcap")
		_MT+=(--)
	fi
}

_pl_cmdlog() { # WHERE NAME CMD...
	local where=$1 name=$2 c; shift 2
	c="$*"; c=${c//$'\n'/ }
	[ ${#c} -gt 240 ] && c="${c:0:240}..."
	log "[$where] $name: $c"
}

# curl_rate FILE: curl's -w "$CURL_W" output as "CODE, BYTES bytes, R MB/s"
CURL_W='%{http_code} %{size_download} %{speed_download}\n'
curl_rate() {
	awk '{printf "HTTP %s, %d bytes, %.1f MB/s", $1, $2, $3 / 1e6}' "$1"
}

mt_run() {
	local name=$1 secs=$2 rc; shift 2
	_tap_mark
	_pl_cmdlog microtcp "$name" "$@"
	_mt_cmd "$name"
	timeout -k 5 "$secs" "${_MT[@]}" "$@" \
		>"$TMP_DIR/$name.out" 2>"$TMP_DIR/$name.err" <"${PL_IN:-/dev/null}"
	rc=$?
	_pl_status "$name" $rc
	return $rc
}

mt_bg() {
	local name=$1 secs=$2; shift 2
	_tap_mark
	_pl_cmdlog "microtcp, background" "$name" "$@"
	_mt_cmd "$name"
	timeout -k 5 "$secs" "${_MT[@]}" "$@" \
		>"$TMP_DIR/$name.out" 2>"$TMP_DIR/$name.err" <"${PL_IN:-/dev/null}" &
	BG_PID=$!
}

k_run() {
	local name=$1 secs=$2 rc; shift 2
	_pl_cmdlog kernel "$name" "$@"
	ip netns exec "$NS" timeout -k 5 "$secs" "$@" \
		>"$TMP_DIR/$name.out" 2>"$TMP_DIR/$name.err" <"${PL_IN:-/dev/null}"
	rc=$?
	_pl_status "$name" $rc
	return $rc
}

k_bg() {
	local name=$1 secs=$2; shift 2
	_pl_cmdlog "kernel, background" "$name" "$@"
	ip netns exec "$NS" timeout -k 5 "$secs" "$@" \
		>"$TMP_DIR/$name.out" 2>"$TMP_DIR/$name.err" <"${PL_IN:-/dev/null}" &
	BG_PID=$!
}

# _pl_status NAME RC: log a run's end; a non-empty stderr is shown (short).
_pl_status() {
	local name=$1 rc=$2
	log "    $name: exit $rc$([ "$rc" = 124 ] && echo ' (timed out)')"
	if [ -s "$TMP_DIR/$name.err" ]; then
		tail -n 5 "$TMP_DIR/$name.err" | sed "s/^/    | $name.err: /"
	fi
}

bg_wait() { # PID SECS
	local pid=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 124
	fi
	wait "$pid"
}

bg_stop() { # PID
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

tails() {
	local n f
	for n in "$@"; do
		for f in "$TMP_DIR/$n.out" "$TMP_DIR/$n.err"; do
			[ -s "$f" ] || continue
			echo "---- last lines of $f:" >&2
			tail -n 20 "$f" | cut -c 1-300 >&2
		done
		f=$TMP_DIR/$n.stats
		[ -s "$f" ] || continue
		echo "---- the stack's counters that are not zero ($f):" >&2
		awk '$1 != "stat" || $2 != "end" { if ($3 != 0) printf "%s %s %s\n", $1, $2, $3 }' \
			"$f" | paste -sd ' ' | fold -s -w 160 >&2
	done
}

# pl_stats NAME: the stack's counters of microtcp run NAME (MTCP_STATS), as
# "name value" lines; fails if the run wrote none.
pl_stats() {
	local f=$TMP_DIR/$1.stats
	grep -qx 'stat end' "$f" 2>/dev/null || fail "$1: no counters in $f (MTCP_STATS)"
	awk '$1 == "stat" && NF == 3 { print $2, $3 } $1 == "drop" { print "drop_" $2, $3 }' "$f"
}

pl_fail() { # MSG NAME...
	local msg=$1; shift
	tails "$@"
	fail "$msg"
}

k_listening() { # PORT
	[ -n "$(ip netns exec "$NS" ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# wait_grep SECS FILE REGEX: FILE has a line matching REGEX within SECS
wait_grep() {
	wait_until "$1" grep -Eq -- "$3" "$2"
}

same_file() { # WHAT A B NAME...
	local what=$1 a=$2 b=$3; shift 3
	[ -f "$b" ] || pl_fail "$what: $b was not written" "$@"
	local ha hb
	ha=$(sha256sum <"$a" | cut -d' ' -f1)
	hb=$(sha256sum <"$b" | cut -d' ' -f1)
	[ "$ha" = "$hb" ] ||
		pl_fail "$what: sha256 differs: sent $(stat -c %s "$a") bytes ($ha), got $(stat -c %s "$b") bytes ($hb)" "$@"
	log "ok: $what: $(stat -c %s "$b") bytes, sha256 equal (${ha:0:16}...)"
	via_tap "$what" "$(stat -c %s "$a")"
}

# _tap_bytes: bytes through mt0 so far, both directions (0: no mt0)
_tap_bytes() { dev_bytes "$NS" mt0; }
TAP_MARK=0
_tap_mark() { TAP_MARK=$(_tap_bytes); }

via_tap() { # WHAT MIN
	[ "$PL_KERNEL_ONLY" = 1 ] && return 0
	local moved=$(($(_tap_bytes) - TAP_MARK))
	[ "$moved" -ge "$2" ] ||
		fail "$1: only $moved bytes crossed mt0 (expected >= $2): the program did not run on microtcp"
	log "ok: $1: $moved bytes crossed mt0 (microtcp's device)"
}

mkdata() { # FILE MIB
	head -c $(($2 * 1048576)) /dev/urandom >"$1" || fail "could not write $1"
}

# ------------------------------------------------------------ ThreadSanitizer
# tsan_build PROG: libmtcp.so and build/prog/PROG built with ThreadSanitizer
# in build/tsan; sets TLIB, TPROG and TSAN_RT (the runtime to preload).
tsan_build() {
	make -C "$REPO_DIR" --no-print-directory BUILD=build/tsan SAN=thread OPT=-O1 \
		build/tsan/libmtcp.so "build/tsan/prog/$1" >"$TMP_DIR/make-tsan.log" 2>&1 || {
		tail -n 30 "$TMP_DIR/make-tsan.log" >&2
		fail "make of the ThreadSanitizer build failed (above)"
	}
	TLIB=$REPO_DIR/build/tsan/libmtcp.so
	TPROG=$REPO_DIR/build/tsan/prog/$1
	TSAN_RT=$(ldd "$TPROG" | awk '/libtsan\.so/ {print $3}')
	[ -f "$TSAN_RT" ] || fail "no libtsan in ldd $TPROG"
}

# tsan_run NAME SECS OPTS ARGS...: $TPROG ARGS on microtcp built with TSan,
# output in $TMP_DIR/NAME.out/.err; OPTS are added to TSAN_OPTIONS. Fails,
# with the reports symbolized, when TSan reported; else returns the
# program's exit status.
#
# LD_PRELOAD order: libmtcp.so first, then the TSan runtime (a NEEDED of
# both anyway). The program's calls reach libmtcp.so directly and
# libmtcp.so's own libc calls go through TSan's interceptors, so TSan
# models the fds the preload itself uses (eventfd wake-ups, poll, close)
# and not the program's stack sockets. The other order puts TSan's fd
# model on the program's fd numbers.
#
# symbolize=0: TSan's in-process symbolizer opens files with open(),
# which resolves to libmtcp.so's (instrumented) open; a report made
# while reporting deadlocks TSan. The frames are symbolized here after
# the run instead (addr2line, tsan_symbolize).
tsan_run() {
	local name=$1 secs=$2 opts=$3 rc; shift 3
	log "    LD_PRELOAD=$TLIB $TSAN_RT"
	_tap_mark
	log "[microtcp, TSan] $name: $TPROG $*"
	ip netns exec "$NS" timeout -k 5 "$secs" env LD_PRELOAD="$TLIB $TSAN_RT" \
		MTCP_IFACE=mt0 MTCP_ADDR=$S/24 MTCP_MAC=$PL_MAC MTCP_LOG=$MTCP_LOG \
		TSAN_OPTIONS="halt_on_error=1:exitcode=66:symbolize=0${opts:+:$opts}${TSAN_EXTRA:+:$TSAN_EXTRA}" \
		"$TPROG" "$@" >"$TMP_DIR/$name.out" 2>"$TMP_DIR/$name.err" </dev/null
	rc=$?
	_pl_status "$name" $rc
	if grep -q 'WARNING: ThreadSanitizer' "$TMP_DIR/$name.err"; then
		tsan_symbolize "$TMP_DIR/$name.err" >"$TMP_DIR/$name.sym"
		echo "---- ThreadSanitizer reports ($TMP_DIR/$name.sym):" >&2
		sed -n '/WARNING: ThreadSanitizer/,/^SUMMARY/p' "$TMP_DIR/$name.sym" | head -n 120 >&2
		fail "ThreadSanitizer reported (above; $(basename "$TPROG") exit $rc)"
	fi
	return $rc
}

# tsan_symbolize FILE: FILE's report lines, frames "(module+0xOFF)" of
# libmtcp.so and $TPROG followed by function file:line.
tsan_symbolize() {
	local line mod off obj sym
	while IFS= read -r line; do
		if [[ $line =~ \(([^()+]+)\+(0x[0-9a-f]+)\)[[:space:]]*$ ]]; then
			mod=${BASH_REMATCH[1]##*/} off=${BASH_REMATCH[2]} obj=
			case $mod in
			libmtcp.so) obj=$TLIB ;;
			"${TPROG##*/}") obj=$TPROG ;;
			esac
			if [ -n "$obj" ] && [[ $line =~ ^[[:space:]]*#[0-9]+ ]]; then
				# a return address: the call is the byte before
				sym=$(addr2line -f -C -i -p -e "$obj" "$(printf '0x%x' $((off - 1)))" |
					sed "s|$REPO_DIR/||g" | paste -sd ';')
				line="$line  $sym"
			elif [ -n "$obj" ]; then
				# a data address: the symbol at or below it
				sym=
				while read -r a t n; do
					((16#$a <= off)) || break
					sym=$n
				done < <(nm -n -C --defined-only "$obj")
				line="$line  $sym"
			fi
		fi
		printf '%s\n' "$line"
	done <"$1"
}

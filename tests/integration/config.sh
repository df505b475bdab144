#!/usr/bin/env bash
# config: every invalid MTCP_* value stops mtcp-echo with exit status 2 and
# one line on stderr naming the variable; SIGTERM and SIGINT stop a running
# mtcp-echo promptly with status 0 after printing its counters.
. "$(dirname "$0")/lib.sh"

make_ns NS k
tap_topology "$NS" 10.61.1.1/24

# bad_config VAR VAR=VAL...: run mtcp-echo with exactly these variables;
# it must exit 2 within 5 s, print no ready line, and say VAR on stderr.
bad_config() {
	local var=$1; shift
	local envv out=$TMP_DIR/bad.out err=$TMP_DIR/bad.err rc
	[ -x "$ECHO_BIN" ] || fail "$ECHO_BIN not found or not executable (run make)"
	mapfile -d '' envv < <(_echo_env "$@")
	echo "[$(_ts)] \$ mtcp-echo with: $*"
	ip netns exec "$NS" timeout -k 1 5 "${envv[@]}" "$ECHO_BIN" >"$out" 2>"$err"
	rc=$?
	sed 's/^/    | /' "$out" "$err"
	[ $rc -eq 124 ] && fail "$var: mtcp-echo still running after 5 s with: $*"
	assert_eq "$var: exit status with $*" 2 $rc
	grep -q 'ready' "$out" && fail "$var: printed a ready line despite the bad value"
	grep -q -- "$var" "$err" || fail "$var: stderr does not name $var: $(cat "$err")"
	assert_eq "$var: lines on stderr" 1 "$(wc -l <"$err")"
}

OK=(MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/24)
bad_config MTCP_ADDR    MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.300/24
bad_config MTCP_ADDR    MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2/33
bad_config MTCP_ADDR    MTCP_IFACE=mt0 MTCP_ADDR=10.61.1.2
bad_config MTCP_ADDR    MTCP_IFACE=mt0
bad_config MTCP_IFACE   MTCP_ADDR=10.61.1.2/24
bad_config MTCP_DRIVER  "${OK[@]}" MTCP_DRIVER=bogus
bad_config MTCP_IMPAIR  "${OK[@]}" MTCP_IMPAIR=loss=2
bad_config MTCP_IMPAIR  "${OK[@]}" MTCP_IMPAIR=nonsense=0.1
bad_config MTCP_MAC     "${OK[@]}" MTCP_MAC=zz
bad_config MTCP_MAC     "${OK[@]}" MTCP_MAC=02:61:01:00:00
bad_config MTCP_LOG     "${OK[@]}" MTCP_LOG=nonsense
bad_config MTCP_LOG     "${OK[@]}" MTCP_LOG=arp:loud
bad_config MTCP_GATEWAY "${OK[@]}" MTCP_GATEWAY=10.61.1.999
bad_config MTCP_TCP_MSL "${OK[@]}" MTCP_TCP_MSL=0
bad_config MTCP_TCP_MSL "${OK[@]}" MTCP_TCP_MSL=30s
bad_config MTCP_TCP_MSL "${OK[@]}" MTCP_TCP_MSL=-1
bad_config MTCP_OFFLOAD "${OK[@]}" MTCP_OFFLOAD=yes
bad_config MTCP_STATS   "${OK[@]}" MTCP_STATS="/tmp/$(printf 'x%.0s' {1..4200})"

for sig in TERM INT; do
	log "SIG$sig stops a running mtcp-echo with status 0 and its counters"
	start_echo "$NS" "${OK[@]}" MTCP_LOG=arp:debug,ip:info
	t0=$(date +%s%N)
	stop_echo $sig
	ms=$((($(date +%s%N) - t0) / 1000000))
	assert_eq "exit status after SIG$sig" 0 "$ECHO_STATUS"
	assert_lt "milliseconds to exit after SIG$sig" $ms 2000
	assert_contains "counters printed on SIG$sig" "$ECHO_ERR" '^stat end$'
	assert_contains "eth_tx counter printed on SIG$sig" "$ECHO_ERR" '^stat eth_tx [0-9]+$'
	assert_contains "drop reasons printed on SIG$sig" "$ECHO_ERR" '^drop IP_BAD_CSUM [0-9]+$'
done
log "PASS"

#!/usr/bin/env bash
# preload_iperf3: iperf3 on microtcp (LD_PRELOAD through scripts/mtcp run)
# against the kernel's iperf3 in the same namespace over TAP mt0 (kernel
# 10.61.52.1, microtcp 10.61.52.2), 2 s each:
#   client on microtcp, TCP, it sends           (kernel iperf3 -s)
#   client on microtcp, TCP -R, it receives     (kernel iperf3 -s)
#   client on microtcp, UDP -b 50M, it sends    (kernel iperf3 -s; loss reported)
#   server on microtcp (iperf3 -s -4 -1 -B 10.61.52.2), kernel client, TCP
#   the same, UDP -b 50M (the kernel sends)
# Both ends must exit 0 and their --json must show sum_received.bytes > 0.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need iperf3 ss

pl_setup i 10.61.52

# ipjson NAME [KEY]: check NAME.out (iperf3 --json): no "error", KEY.bytes
# > 0 (default sum_received; an iperf3 -s serving -R reports only what it
# sent: sum_sent); prints a summary line. Returns 1 when the check fails.
ipjson() {
	"$PY" - "$TMP_DIR/$1.out" "${2:-sum_received}" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    sys.exit("not iperf3 JSON: %s" % e)
if "error" in d:
    sys.exit("iperf3 error: %s" % d["error"])
end = d.get("end", {})
key = sys.argv[2]
r = end.get(key, {})
n = r.get("bytes", 0)
s = "%s %d bytes, %.1f Mbit/s" % (key, n, r.get("bits_per_second", 0) / 1e6)
if "retransmits" in end.get("sum_sent", {}):
    s += ", sender retransmits %d" % end["sum_sent"]["retransmits"]
if "lost_percent" in end.get("sum", {}):
    s += ", UDP lost %.2f%% (%d of %d datagrams)" % (
        end["sum"]["lost_percent"], end["sum"].get("lost_packets", 0), end["sum"].get("packets", 0))
print(s)
sys.exit(0 if n > 0 else "%s.bytes is %d" % (key, n))
PY
}

# check NAME RC WHAT PEER [KEY]: NAME exited RC 0, its JSON is good (ipjson)
check() {
	local name=$1 rc=$2 what=$3 peer=$4 key=${5:-} s
	[ "$rc" -eq 0 ] || pl_fail "$what: $name exited $rc" "$name" "$peer"
	s=$(ipjson "$name" $key 2>&1) || pl_fail "$what: $name: $s" "$name" "$peer"
	log "ok: $what: $name: $s"
}

# client CASE PORT ARGS...: kernel server on PORT, client on microtcp
client() {
	local c=$1 port=$2 rc; shift 2
	k_bg ks$c 25 iperf3 -s -1 -B "$K" -p "$port" --json
	local p=$BG_PID
	wait_until 5 k_listening "$port" || pl_fail "kernel iperf3 -s not listening on $port" ks$c
	mt_run mc$c 20 iperf3 -4 -c "$K" -p "$port" -t 2 --json "$@"
	rc=$?
	check mc$c $rc "client on microtcp (${*:-TCP})" ks$c
	bg_wait "$p" 10
	rc=$?
	check ks$c $rc "kernel server (${*:-TCP})" mc$c "$([ "${1:-}" = -R ] && echo sum_sent)"
	via_tap "iperf3 ${*:-TCP}" 1000000
}

client 1 5201
client 2 5202 -R
client 3 5203 -u -b 50M

# ------------------------------------------------------------ server
# server CASE PORT ARGS...: iperf3 -s on microtcp, the kernel's client.
# iperf3 --json prints nothing before the end: retry the client while the
# server is not listening yet (refused connections are no test for -1).
# (iperf3 3.12 --json may exit 0 with {"error": ...}: look at the output)
server() {
	local c=$1 port=$2 rc p i; shift 2
	mt_bg ms$c 30 iperf3 -s -4 -1 -B "$S" -p "$port" --json
	p=$BG_PID
	for i in $(seq 1 40); do
		k_run kc$c 20 iperf3 -c "$S" -p "$port" -t 2 --json "$@"
		rc=$?
		grep -q 'Connection refused' "$TMP_DIR/kc$c.out" || break
		kill -0 "$p" 2>/dev/null || break
		sleep 0.25
	done
	check kc$c $rc "kernel client of the server on microtcp (${*:-TCP})" ms$c
	bg_wait "$p" 10
	rc=$?
	check ms$c $rc "iperf3 server on microtcp (${*:-TCP})" kc$c
	via_tap "iperf3 server on microtcp (${*:-TCP})" 1000000
}

server 4 5204
server 5 5205 -u -b 50M
log "PASS"

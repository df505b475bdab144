#!/usr/bin/env bash
# ab_quick: the A/B harness runs end to end. `scripts/mtcp ab --quick`
# (every workload once on the kernel, once on microtcp, over its own veth
# pair between two namespaces) must exit 0 within 110 s and leave:
#   report.md    a table row for every workload with a number for the
#                kernel, a number for microtcp and a numeric ratio; the
#                steering rows (informational) a number for microtcp,
#                "-" for the kernel and "info" for the ratio
#   results.json parseable, the same rows with numeric medians
#   chart.png    a PNG (magic bytes)
# and none of its namespaces behind. Nothing about speed is asserted: the
# harness measures, this checks that it does.
#
# One failure is the kernel's, not the harness's: nginx with 2 workers on
# the kernel, keep-alive, where the kernel gave wrk's 16 connections all
# to one worker (the harness then fails the run, "not every worker
# served": see mtcp-ab's notes). Exit 1 with that failure alone, and that
# row's kernel cell FAIL, passes.
#
# AB_OFFLOAD=on|off (default on) is passed as --offload.
. "$(dirname "$0")/lib.sh"
need iperf3 wrk gnuplot curl ss timeout
[ -x /usr/sbin/nginx ] || fail "/usr/sbin/nginx not found (scripts/deps installs it)"
PY=/usr/bin/python3
[ -x "$PY" ] || fail "$PY not found"
for f in "$MTCP_BUILD/libmtcp.so" "$MTCP_BUILD/prog/pingpong" "$MTCP_BUILD/prog/steer_cost"; do
	[ -f "$f" ] || fail "$f not found (make build/libmtcp.so build/prog/pingpong build/prog/steer_cost)"
done

RES=$TMP_DIR/ab
OUT=$TMP_DIR/ab.out
ERR=$TMP_DIR/ab.err
log "scripts/mtcp ab --quick --no-build --offload ${AB_OFFLOAD:-on} --results $RES"
t0=$SECONDS
MTCP_BUILD=$MTCP_BUILD timeout -k 5 110 "$REPO_DIR/scripts/mtcp" ab --quick --no-build \
	--offload "${AB_OFFLOAD:-on}" --results "$RES" >"$OUT" 2>"$ERR"
rc=$?
log "exit $rc after $((SECONDS - t0)) s"
sed 's/^/    | /' "$ERR" "$OUT"
[ $rc -eq 0 ] || fail "scripts/mtcp ab --quick exited $rc (124: timed out; its output above)"

for f in report.md results.json chart.png; do
	[ -s "$RES/$f" ] || fail "no $RES/$f"
	grep -qF "$RES/$f" "$OUT" || fail "the harness did not print the path of $f"
done

# every row, numeric kernel / microtcp / ratio cells
"$PY" - "$RES/report.md" <<'PY' || fail "report.md: a row is missing or not numeric (above)"
import re, sys
rows = ["bulk near→far", "bulk far→near", "1-byte ping-pong RTT p50", "1-byte ping-pong RTT p99",
        "nginx 1 KB, keep-alive", "nginx 1 KB, new connection",
        "nginx 1 KB, 2 workers, keep-alive", "nginx 1 KB, 2 workers, new connection",
        "CPU near process, near→far", "CPU far process (kernel), near→far", "CPU whole machine, near→far",
        "CPU near process, far→near", "CPU far process (kernel), far→near", "CPU whole machine, far→near",
        "nginx RSS holding", "nginx RSS growth"]
info = ["steering filter per frame, flows hit", "steering filter per frame, ports hit"]
text = open(sys.argv[1], encoding="utf-8").read()
res = text.split("## Results", 1)[1].split("\n## ", 1)[0]
num = re.compile(r"^\*{0,2}[0-9]+(\.[0-9]+)?\*{0,2}$")
bad = 0
for name in rows + info:
    line = [ln for ln in res.splitlines() if ln.startswith("| " + name)]
    if len(line) != 1:
        print("row '%s': %d lines in the results table" % (name, len(line)))
        bad += 1
        continue
    cells = [c.strip() for c in line[0].strip("|").split("|")]
    if name in info:
        ok = len(cells) == 5 and cells[2] == "-" and num.match(cells[3]) and cells[4] == "info"
    else:
        ok = len(cells) == 5 and all(num.match(c) for c in cells[2:5])
    if not ok:
        print("row '%s' not as expected: %s" % (name, line[0]))
        bad += 1
    else:
        print("ok: %s: kernel %s, microtcp %s, ratio %s" % (name, cells[2], cells[3], cells[4]))
sys.exit(1 if bad else 0)
PY
log "ok: report.md has all 18 rows (16 with a ratio, 2 informational)"

"$PY" - "$RES/results.json" <<'PY' || fail "results.json is not what it should be (above)"
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
t = d["table"]
assert len(t) == 18, "%d rows in table, expected 18" % len(t)
for r in t:
    if r["better"] == "info":
        assert r["kernel"].get("not_measured") and r["kernel"]["median"] is None, r["id"]
        v = r["microtcp"]["median"]
        assert isinstance(v, (int, float)) and v > 0, "%s microtcp median %r" % (r["id"], v)
        assert r["ratio"] is None, "%s ratio %r" % (r["id"], r["ratio"])
        continue
    for m in ("kernel", "microtcp"):
        v = r[m]["median"]
        assert isinstance(v, (int, float)) and v >= 0, "%s %s median %r" % (r["id"], m, v)
    assert isinstance(r["ratio"], (int, float)), "%s ratio %r" % (r["id"], r["ratio"])
assert d["failures"] == [], d["failures"]
for w in ("bulk", "pingpong", "nginx-ka", "nginx-conn", "nginx2-ka", "nginx2-conn", "memory"):
    assert set(d["runs"][w]) == {"kernel", "microtcp"}, w
assert set(d["runs"]["steer"]) == {"microtcp"}, "steer runs in %s" % sorted(d["runs"]["steer"])
for w in ("nginx2-ka", "nginx2-conn"):
    for r in d["runs"][w]["microtcp"]:
        assert len(r["served"]) == 2 and all(n > 0 for n in r["served"].values()), r
print("results.json: %d rows, runs of %s" % (len(t), ", ".join(sorted(d["runs"]))))
PY
log "ok: results.json parses, 18 rows with numeric medians, ratios but for the 2 informational"

magic=$(head -c 8 "$RES/chart.png" | od -An -tx1 | tr -d ' \n')
assert_eq "chart.png magic bytes" 89504e470d0a1a0a "$magic"

# its namespaces are gone
for ns in $(grep -oE 'mtcpab-(near|far)-[0-9]+' "$RES/report.md" | sort -u); do
	ip netns list | awk '{print $1}' | grep -qxF "$ns" && fail "the harness left namespace $ns"
done
log "ok: no namespace of the harness left"
log "PASS"

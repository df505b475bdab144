#!/usr/bin/env bash
# api_diff: the differential API suite. tests/api/run runs every
# build/api/* program (one socket API behaviour each, tests/api/*.c) on the
# kernel and under libmtcp.so against the same kernel peers and compares
# their outputs; this test passes when every program printed the same in
# both modes and at least 60 programs ran.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp /tmp/mtcpt-api_diff.XXXXXX) || exit 1
trap 'rm -f "$out"' EXIT

bash "$here/../api/run" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}

n=$(sed -n 's/^programs run: \([0-9][0-9]*\)$/\1/p' "$out" | tail -n 1)
if [ -z "$n" ]; then
	echo "FAIL: api_diff: tests/api/run printed no 'programs run: N' line (exit $rc)"
	exit 1
fi
if [ "$n" -lt 60 ]; then
	echo "FAIL: api_diff: only $n programs ran (expected at least 60; build them with make)"
	exit 1
fi
if [ "$rc" -ne 0 ]; then
	echo "FAIL: api_diff: $(grep -E "^[0-9]+ same, [0-9]+ differ" "$out" | tail -n 1) (tests/api/run exit $rc)"
	exit 1
fi
echo "PASS: api_diff: $n programs, kernel and preload outputs identical"

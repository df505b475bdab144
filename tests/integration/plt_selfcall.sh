#!/usr/bin/env bash
# plt_selfcall: no code in libmtcp.so calls, through the PLT, a function
# the library itself exports. Such a call binds to our own wrapper (the
# preload comes first in the process), not to libc: the stack's frame I/O
# would be looked up in the fd table on every frame, and a wrapper calling
# another (accept -> accept4) would take an indirect jump to whichever
# definition an earlier interposer put first. The stack calls the OS
# through its table (stack/base/os.h); the preload through REAL() or a
# PL_LOCAL name.
#
#   tests/integration/plt_selfcall.sh [LIBRARY]   (default: $MTCP_BUILD/libmtcp.so)
#
# Fails naming every offending call (the calling function and its target).
# Needs no namespace and no root, only nm and objdump (binutils).
. "$(dirname "$0")/lib.sh"
need nm objdump

LIB=${1:-$MTCP_BUILD/libmtcp.so}
[ -f "$LIB" ] || fail "no library at $LIB (run make first)"
log "library: $LIB"

# What the library exports: its defined dynamic symbols, version suffix cut.
nm -D --defined-only "$LIB" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' |
	sort -u >"$TMP_DIR/exports" || fail "nm -D $LIB failed"
n_exp=$(wc -l <"$TMP_DIR/exports")
# The interposed calls are what matters; a parse that found none of them
# would pass anything.
for want in socket write writev sendmsg poll close; do
	grep -qx -- "$want" "$TMP_DIR/exports" ||
		fail "nm found no export '$want' in $LIB: is this libmtcp.so?"
done
log "ok: $n_exp exported symbols (socket, write, writev, sendmsg, poll, close among them)"

# Every instruction outside the PLT stubs that names a NAME@plt target
# (call, jmp, or any other form): "caller target" per line.
objdump -d --no-show-raw-insn "$LIB" | awk '
	/^[0-9a-f]+ <.*>:$/ { fn = $2; gsub(/[<>:]/, "", fn); next }
	fn ~ /@plt$/ || fn == "" { next }
	/<[^>]*@plt(\+0x[0-9a-f]+)?>/ {
		t = $0
		sub(/.*</, "", t); sub(/(\+0x[0-9a-f]+)?>.*/, "", t)
		print fn, t
	}' >"$TMP_DIR/pltcalls" || fail "objdump -d $LIB failed"
n_calls=$(wc -l <"$TMP_DIR/pltcalls")
assert_gt "instructions through the PLT found by objdump (libc, liburcu)" "$n_calls" 0

awk 'NR == FNR { own[$1 "@plt"] = 1; next } ($2 in own)' \
	"$TMP_DIR/exports" "$TMP_DIR/pltcalls" | sort | uniq -c >"$TMP_DIR/self" ||
	fail "matching the PLT targets against the exports failed"
if [ -s "$TMP_DIR/self" ]; then
	echo "calls from libmtcp.so through the PLT to its own exports (count caller -> target):" >&2
	awk '{ printf "    %dx %s -> %s\n", $1, $2, $3 }' "$TMP_DIR/self" >&2
	fail "$(wc -l <"$TMP_DIR/self") caller/target pair(s) in $LIB call the library's own exports through the PLT: $(awk '{ printf "%s%s -> %s", (NR > 1 ? ", " : ""), $2, $3 }' "$TMP_DIR/self")"
fi
log "ok: none of $n_calls instructions through the PLT targets one of the $n_exp exports"
log "PASS"

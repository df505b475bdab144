#!/usr/bin/env bash
# preload_nosocket: a program that never opens an AF_INET socket behaves
# under LD_PRELOAD=libmtcp.so exactly as without it (same stdout, same
# stderr, same exit status) and never starts the stack: it runs with
# MTCP_IFACE naming a device that does not exist and MTCP_PCAP set, and no
# capture file may appear. Covers ls, sh (pipelines of children that inherit
# LD_PRELOAD), cat of a binary file, python3, exit statuses 0..4.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need ls sh cat gzip sort sha256sum

make_ns NS n
PCAP=$TMP_DIR/never.pcap
MT_OPTS=(--netns "$NS" --iface mtcp-nosuch0 --addr 10.61.53.2/24 --pcap "$PCAP")
head -c 300000 /dev/urandom >"$TMP_DIR/blob"
printf 'b\na\nc\n' >"$TMP_DIR/abc"

n=0
# same_run CMD...: CMD without and with the preload, compared
same_run() {
	n=$((n + 1))
	local rk rm
	k_run plain$n 20 "$@"; rk=$?
	mt_run pre$n 20 "$@"; rm=$?
	assert_eq "exit status of '$*' under the preload (as without)" "$rk" "$rm"
	cmp -s "$TMP_DIR/plain$n.out" "$TMP_DIR/pre$n.out" ||
		pl_fail "stdout of '$*' differs under the preload ($(stat -c %s "$TMP_DIR/pre$n.out") bytes, without: $(stat -c %s "$TMP_DIR/plain$n.out"))" plain$n pre$n
	cmp -s "$TMP_DIR/plain$n.err" "$TMP_DIR/pre$n.err" ||
		pl_fail "stderr of '$*' differs under the preload (the preload must print nothing)" plain$n pre$n
	log "ok: '$*': exit $rm, $(stat -c %s "$TMP_DIR/pre$n.out") bytes of stdout, stderr as without the preload"
	[ ! -e "$PCAP" ] || fail "'$*' created the capture file $PCAP: the stack was started"
}

same_run ls -la /usr/lib
same_run ls /nonexistent-mtcp
same_run sh -c 'echo hi'
same_run sh -c 'echo hi; exit 3'
same_run cat "$TMP_DIR/blob"
same_run sh -c "ls /usr/bin | sort -r | head -n 20; sort '$TMP_DIR/abc'; gzip -c '$TMP_DIR/blob' | gzip -dc | sha256sum"
same_run "$PY" -c 'import os, sys; print(sorted(os.listdir("/usr/lib"))[:5]); sys.exit(4)'
same_run false
[ ! -e "$PCAP" ] || fail "capture file $PCAP exists"
log "ok: no capture file: the stack never started"
log "PASS"

#!/usr/bin/env bash
# preload_socat_nc: socat and nc (netcat-openbsd) on microtcp (LD_PRELOAD
# through scripts/mtcp run), as client and as server, data in both
# directions, against the kernel's socat/nc in the same namespace over TAP
# mt0 (kernel 10.61.51.1, microtcp 10.61.51.2). Each case moves 8 MiB of
# random bytes one way and compares them (sha256):
#   socat client sends / receives     (kernel socat listens)
#   socat server receives / sends     (kernel socat connects)
#   nc client sends / receives        (kernel nc -l)
#   nc server receives / sends        (kernel nc connects)
# and UDP with socat: a 5000-byte datagram (IP fragments both ways) echoed
# by the kernel's socat to socat on microtcp, and the other way round.
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need socat nc ss sha256sum

pl_setup s 10.61.51
D=$TMP_DIR/data
mkdata "$D" 8

# kernel_listens NAME PORT: wait for the kernel's listener (BG_PID) on PORT
kernel_listens() {
	wait_until 5 k_listening "$2" || pl_fail "kernel $1 not listening on port $2" "$1"
}
# done_ok NAME PID: the background job PID ended with status 0 within 10 s
done_ok() {
	bg_wait "$2" 10
	local rc=$?
	[ $rc -eq 0 ] || pl_fail "$1 exited $rc" "$1"
}

# ------------------------------------------------------------ socat client
k_bg ks1 30 socat -u TCP-LISTEN:7001,bind=$K,reuseaddr CREATE:"$TMP_DIR/s1.got"
P=$BG_PID; kernel_listens ks1 7001
mt_run ms1 20 socat -u FILE:"$D" TCP:$K:7001 || pl_fail "socat on microtcp: sending to $K:7001 failed" ms1 ks1
done_ok ks1 $P
same_file "socat client on microtcp sends" "$D" "$TMP_DIR/s1.got" ms1 ks1

k_bg ks2 30 socat -u FILE:"$D" TCP-LISTEN:7002,bind=$K,reuseaddr
P=$BG_PID; kernel_listens ks2 7002
mt_run ms2 20 socat -u TCP:$K:7002 CREATE:"$TMP_DIR/s2.got" ||
	pl_fail "socat on microtcp: receiving from $K:7002 failed" ms2 ks2
done_ok ks2 $P
same_file "socat client on microtcp receives" "$D" "$TMP_DIR/s2.got" ms2 ks2

# ------------------------------------------------------------ socat server
# -d -d: socat says "listening on" once it listens (on microtcp: no ss)
mt_bg ms3 30 socat -d -d -u TCP-LISTEN:7003,bind=$S,reuseaddr CREATE:"$TMP_DIR/s3.got"
P=$BG_PID
wait_grep 10 "$TMP_DIR/ms3.err" 'listening on' || pl_fail "socat on microtcp is not listening on $S:7003" ms3
k_run ks3 20 socat -u FILE:"$D" TCP:$S:7003 || pl_fail "kernel socat: sending to $S:7003 failed" ks3 ms3
done_ok ms3 $P
same_file "socat server on microtcp receives" "$D" "$TMP_DIR/s3.got" ms3 ks3

mt_bg ms4 30 socat -d -d -u FILE:"$D" TCP-LISTEN:7004,bind=$S,reuseaddr
P=$BG_PID
wait_grep 10 "$TMP_DIR/ms4.err" 'listening on' || pl_fail "socat on microtcp is not listening on $S:7004" ms4
k_run ks4 20 socat -u TCP:$S:7004 CREATE:"$TMP_DIR/s4.got" ||
	pl_fail "kernel socat: receiving from $S:7004 failed" ks4 ms4
done_ok ms4 $P
same_file "socat server on microtcp sends" "$D" "$TMP_DIR/s4.got" ms4 ks4

# ------------------------------------------------------------ nc
# -n: no DNS; -N on the sending side: shutdown(SHUT_WR) at the end of stdin,
# so the peer sees EOF (not on the receiving side: a shutdown there at once
# makes the sending nc stop early)
k_bg kn1 30 nc -n -l $K 7011
P=$BG_PID; kernel_listens kn1 7011
PL_IN=$D mt_run mn1 20 nc -n -N $K 7011 || pl_fail "nc on microtcp: sending to $K:7011 failed" mn1 kn1
done_ok kn1 $P
same_file "nc client on microtcp sends" "$D" "$TMP_DIR/kn1.out" mn1 kn1

PL_IN=$D k_bg kn2 30 nc -n -N -l $K 7012
P=$BG_PID; kernel_listens kn2 7012
mt_run mn2 20 nc -n $K 7012 || pl_fail "nc on microtcp: receiving from $K:7012 failed" mn2 kn2
done_ok kn2 $P
same_file "nc client on microtcp receives" "$D" "$TMP_DIR/mn2.out" mn2 kn2

mt_bg mn3 30 nc -n -v -l $S 7013
P=$BG_PID
wait_grep 10 "$TMP_DIR/mn3.err" '^Listening on' || pl_fail "nc on microtcp is not listening on $S:7013" mn3
PL_IN=$D k_run kn3 20 nc -n -N $S 7013 || pl_fail "kernel nc: sending to $S:7013 failed" kn3 mn3
done_ok mn3 $P
same_file "nc server on microtcp receives" "$D" "$TMP_DIR/mn3.out" mn3 kn3

PL_IN=$D mt_bg mn4 30 nc -n -N -v -l $S 7014
P=$BG_PID
wait_grep 10 "$TMP_DIR/mn4.err" '^Listening on' || pl_fail "nc on microtcp is not listening on $S:7014" mn4
k_run kn4 20 nc -n $S 7014 || pl_fail "kernel nc: receiving from $S:7014 failed" kn4 mn4
done_ok mn4 $P
same_file "nc server on microtcp sends" "$D" "$TMP_DIR/kn4.out" mn4 kn4
# ------------------------------------------------------------ UDP (socat)
U=$TMP_DIR/dgram
head -c 5000 /dev/urandom >"$U"
k_bg ku1 20 socat -b 65536 -T 3 UDP-LISTEN:7021,bind=$K PIPE
P=$BG_PID
wait_until 5 eval '[ -n "$(ip netns exec "$NS" ss -Hlun "sport = :7021")" ]' ||
	pl_fail "kernel socat not listening on UDP port 7021" ku1
PL_IN=$U mt_run mu1 10 socat -b 65536 -t 1 -T 5 - UDP:$K:7021 ||
	pl_fail "socat on microtcp: UDP to the kernel's echo failed" mu1 ku1
same_file "UDP datagram of 5000 bytes from socat on microtcp, echoed" "$U" "$TMP_DIR/mu1.out" mu1 ku1
done_ok ku1 $P

mt_bg mu2 20 socat -d -d -b 65536 -T 3 UDP-LISTEN:7022,bind=$S PIPE
P=$BG_PID
wait_grep 10 "$TMP_DIR/mu2.err" 'listening on' || pl_fail "socat on microtcp is not listening on UDP $S:7022" mu2
PL_IN=$U k_run ku2 10 socat -b 65536 -t 1 -T 5 - UDP:$S:7022 ||
	pl_fail "kernel socat: UDP to the echo on microtcp failed" ku2 mu2
same_file "UDP datagram of 5000 bytes echoed by socat on microtcp" "$U" "$TMP_DIR/ku2.out" ku2 mu2
done_ok mu2 $P
log "PASS"

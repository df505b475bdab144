#!/usr/bin/env bash
# multiproc_unowned: frames that no process on the address owns get exactly
# one answer, as from one host (issue 12), with three processes on microtcp
# running, over AF_PACKET (veth) and over a multi-queue TAP
# (multiproc_lib.bash; kernel 10.61.83.1, microtcp 10.61.83.2). The
# processes: TCP echo servers on S:7001 and S:7002, a UDP echo server on
# S:7003 (tests/prog/mp_echo.c). From the kernel, while dumpcap records
# what microtcp sends on the link:
#   - ARP: the kernel's neighbour entry for S is flushed first; each ARP
#     request for S gets exactly one reply;
#   - a SYN to unused port 7999: connect() fails with ECONNREFUSED, and
#     exactly one RST from S:7999 is on the link;
#   - a datagram to unused UDP port 7998: a connected socket's recv() fails
#     with ECONNREFUSED, and exactly one ICMP port unreachable quoting it;
#   - ping -c 3: 3 received, no "DUP!", exactly 3 echo replies on the link;
# then the three servers still serve (5 TCP connections to each TCP
# server, 3 datagrams echoed by the UDP one), and stop cleanly.
. "$(dirname "$0")/multiproc_lib.bash"
need dumpcap ping

mp_setup 10.61.83
test_cleanup() { mp_cleanup; }

mt_bg srvA 60 "$MP_ECHO" serve "$S" 7001
SA=$BG_PID
mp_ready srvA 'serving tcp'
mt_bg srvB 60 "$MP_ECHO" serve "$S" 7002
SB=$BG_PID
mp_ready srvB 'serving tcp'
mt_bg srvU 60 "$MP_ECHO" userve "$S" 7003
SU=$BG_PID
mp_ready srvU 'serving udp'
for x in "srvA $SA" "srvB $SB"; do
	read -r n p <<<"$x"
	kill -0 "$p" 2>/dev/null || mp_fail "$n ended when the other servers started" "$n"
done
log "three processes on microtcp at $S: pids $(mp_pid srvA), $(mp_pid srvB), $(mp_pid srvU)"

cat >"$TMP_DIR/probe.py" <<'PY'
import errno, socket, sys
what, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if what == "tcp":
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        print("tcp connect: connected")
    except OSError as e:
        print("tcp connect: %s" % (errno.errorcode.get(e.errno, e) if e.errno else "timeout"))
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((host, port))
    s.settimeout(3)
    s.send(b"anyone-there?")
    try:
        d = s.recv(100)
        print("udp recv: %d bytes" % len(d))
    except OSError as e:
        print("udp recv: %s" % (errno.errorcode.get(e.errno, e) if e.errno else "timeout"))
PY

run ip -n "$NS_PEER" neigh flush dev "$MP_PEER_DEV"
mp_cap_start un 'arp or icmp or (tcp[13] & 4 != 0)'
k_run syn 10 "$PY" "$TMP_DIR/probe.py" tcp "$S" 7999
sleep 1
k_run udp 10 "$PY" "$TMP_DIR/probe.py" udp "$S" 7998
sleep 1
ping_from "$NS_PEER" "$TMP_DIR/ping.out" -c 3 -i 0.3 -W 2 "$S"
sleep 1
mp_cap_stop un
mp_cap_lines un >"$TMP_DIR/un.lines"
sed 's/^/    | capture: /' "$TMP_DIR/un.lines" | head -n 40

cnt() { grep -cE -- "$1" "$TMP_DIR/un.lines"; }
q=${S//./\\.}
k=${K//./\\.}
n_rst=$(cnt "^tcp $q:7999>$k:[0-9]+ .*RST")
n_unr=$(cnt "^icmp $q>$k 3 3 udp $k:[0-9]+>$q:7998$")
n_rep=$(cnt "^icmp $q>$k 0 0")
n_areq=$(cnt "^arp $k>$q request")
n_arep=$(cnt "^arp $q>$k reply")
got_syn=$(cat "$TMP_DIR/syn.out")
got_udp=$(cat "$TMP_DIR/udp.out")
dups=$(grep -c 'DUP!' "$TMP_DIR/ping.out")
recvd=$(ping_received "$TMP_DIR/ping.out")
summary="RSTs from $S:7999: $n_rst; port unreachables for 7998: $n_unr; echo replies: $n_rep"
summary+=" (ping: $recvd received, $dups DUP!); ARP requests for $S: $n_areq, replies: $n_arep;"
summary+=" the kernel's probes: '$got_syn', '$got_udp'"
log "$summary"

bad=()
[ "$n_rst" = 1 ] || bad+=("a SYN to unused port 7999 got $n_rst RSTs (expected exactly 1)")
[ "$got_syn" = "tcp connect: ECONNREFUSED" ] || bad+=("connect() to unused port 7999: '$got_syn' (expected ECONNREFUSED)")
[ "$n_unr" = 1 ] || bad+=("a datagram to unused UDP port 7998 got $n_unr ICMP port unreachables (expected exactly 1)")
[ "$got_udp" = "udp recv: ECONNREFUSED" ] || bad+=("recv() on a UDP socket connected to unused port 7998: '$got_udp' (expected ECONNREFUSED)")
[ "$n_rep" = 3 ] && [ "$dups" = 0 ] && [ "$recvd" = 3 ] ||
	bad+=("ping -c 3: $recvd received, $dups DUP!, $n_rep echo replies on the link (expected 3, 0, 3)")
if [ "$PL_KERNEL_ONLY" != 1 ] || [ "$MP_DRIVER" = packet ]; then
	[ "$n_areq" -ge 1 ] && [ "$n_arep" = "$n_areq" ] ||
		bad+=("ARP: $n_areq requests for $S, $n_arep replies (expected one reply per request, at least one request)")
fi
if [ ${#bad[@]} -gt 0 ]; then
	m=$(printf '%s; ' "${bad[@]}")
	mp_fail "with three processes on microtcp at $S, frames nobody owns were not answered exactly once: ${m%; }" srvA srvB srvU
fi
log "ok: one RST, one port unreachable, one echo reply per ping, one ARP reply per request"

# ------------------------------------------------------------ they still serve
k_run cliA 20 "$MP_ECHO" client "$S" 7001 5 5 4096 1 ||
	mp_fail "server A ($S:7001) did not serve 5 connections: $(cat "$TMP_DIR/cliA.out")" cliA srvA
k_run cliB 20 "$MP_ECHO" client "$S" 7002 5 5 4096 2 ||
	mp_fail "server B ($S:7002) did not serve 5 connections: $(cat "$TMP_DIR/cliB.out")" cliB srvB
printf 'one\ntwo\nthree\n' >"$TMP_DIR/dgrams"
k_run cliU 20 "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(2)
ok = 0
for m in (b"one", b"two", b"three"):
    for attempt in range(3):
        s.send(m)
        try:
            if s.recv(100) == m:
                ok += 1
                break
        except OSError as e:
            print("recv: %s" % e)
print("udp echoed: %d of 3" % ok)
' "$S" 7003
assert_eq "UDP echo server ($S:7003)" "udp echoed: 3 of 3" "$(tail -n 1 "$TMP_DIR/cliU.out")"
log "ok: the three servers still serve"
for x in "srvA $SA" "srvB $SB" "srvU $SU"; do
	read -r n p <<<"$x"
	mp_stop "$n" "$p" || mp_fail "$n exited $? after SIGTERM" "$n"
done
log "PASS"

#!/usr/bin/python3
"""mp_pcap.py - one line per frame of a capture, for the multi-process tests
(multiproc_lib.bash: mp_cap_start, mp_cap_stop, mp_cap_lines).

    mp_pcap.py FILE.pcap

FILE is a classic pcap (dumpcap -P) of Ethernet frames. Each frame this
script knows becomes one line:

    tcp SRC:SPORT>DST:DPORT FLAGS       (FLAGS: the set ones of SYN ACK FIN
                                         RST PSH, joined by '|')
    udp SRC:SPORT>DST:DPORT
    icmp SRC>DST TYPE CODE [ORIG]       (ORIG, for an error: the quoted
                                         datagram's "PROTO SRC:SPORT>DST:DPORT")
    arp SRC_IP>DST_IP request|reply SENDER_MAC
    other ETHERTYPE

Counting is left to grep.
"""
import socket
import struct
import sys


def ip4(b):
    return socket.inet_ntoa(b)


def ports(proto, b):
    if proto in (6, 17) and len(b) >= 4:
        return struct.unpack("!HH", b[:4])
    return 0, 0


def describe_ip(p):
    if len(p) < 20:
        return "other ipv4-truncated"
    ihl = (p[0] & 15) * 4
    proto = p[9]
    src, dst = ip4(p[12:16]), ip4(p[16:20])
    frag = struct.unpack("!H", p[6:8])[0] & 0x3FFF
    body = p[ihl:]
    if frag & 0x1FFF:
        return "ipfrag %s>%s proto %d" % (src, dst, proto)
    if proto == 6 and len(body) >= 14:
        sp, dp = ports(6, body)
        fl = body[13]
        names = [n for bit, n in ((2, "SYN"), (16, "ACK"), (1, "FIN"), (4, "RST"), (8, "PSH"))
                 if fl & bit]
        return "tcp %s:%d>%s:%d %s" % (src, sp, dst, dp, "|".join(names) or "none")
    if proto == 17 and len(body) >= 8:
        sp, dp = ports(17, body)
        return "udp %s:%d>%s:%d" % (src, sp, dst, dp)
    if proto == 1 and len(body) >= 4:
        t, c = body[0], body[1]
        s = "icmp %s>%s %d %d" % (src, dst, t, c)
        if t in (3, 4, 5, 11, 12) and len(body) >= 8 + 20:
            q = body[8:]
            qp = q[9]
            qihl = (q[0] & 15) * 4
            sp, dp = ports(qp, q[qihl:])
            pn = {6: "tcp", 17: "udp", 1: "icmp"}.get(qp, str(qp))
            s += " %s %s:%d>%s:%d" % (pn, ip4(q[12:16]), sp, ip4(q[16:20]), dp)
        return s
    return "ip %s>%s proto %d" % (src, dst, proto)


def describe(f):
    if len(f) < 14:
        return "other truncated"
    et = struct.unpack("!H", f[12:14])[0]
    p = f[14:]
    if et == 0x8100 and len(f) >= 18:
        et = struct.unpack("!H", f[16:18])[0]
        p = f[18:]
    if et == 0x0800:
        return describe_ip(p)
    if et == 0x0806 and len(p) >= 28:
        op = struct.unpack("!H", p[6:8])[0]
        smac = ":".join("%02x" % x for x in p[8:14])
        return "arp %s>%s %s %s" % (ip4(p[14:18]), ip4(p[24:28]),
                                    {1: "request", 2: "reply"}.get(op, str(op)), smac)
    return "other 0x%04x" % et


def main():
    d = open(sys.argv[1], "rb").read()
    if len(d) < 24:
        sys.exit("mp_pcap.py: %s: no pcap header" % sys.argv[1])
    magic = d[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("mp_pcap.py: %s: not a classic pcap (dumpcap -P)" % sys.argv[1])
    linktype = struct.unpack(e + "I", d[20:24])[0]
    if linktype != 1:
        sys.exit("mp_pcap.py: %s: link type %d, not Ethernet" % (sys.argv[1], linktype))
    off = 24
    out = []
    while off + 16 <= len(d):
        incl = struct.unpack(e + "I", d[off + 8:off + 12])[0]
        out.append(describe(d[off + 16:off + 16 + incl]))
        off += 16 + incl
    sys.stdout.write("".join(s + "\n" for s in out))


main()

#!/usr/bin/env python3
"""inject.py - send hand-made (mostly malformed) Ethernet frames to the stack.

    inject.py IFACE CASE --dst-mac MAC --dst-ip A.B.C.D --src-ip A.B.C.D
              [--count N] [--size BYTES]
    inject.py --tx-csum-off IFACE     (what `ethtool -K IFACE tx off` does)

Runs on the kernel side of a TAP device or veth pair, inside the test's
namespace, and writes frames with a raw AF_PACKET socket: what leaves IFACE
reaches the stack unchanged. Each CASE sends --count frames (or datagrams)
of one kind of damage; `inject.py --list` shows them. Prints one line:
"inject: CASE: N frames sent".

Only the Ethernet source MAC is taken from IFACE; every address in the
frames is given on the command line (the test's own 10.61.x.x hosts).
"""
import argparse
import random
import socket
import struct
import sys
import time

ETH_P_IP, ETH_P_ARP = 0x0800, 0x0806


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(s):
    b = bytes.fromhex(s.replace(":", ""))
    if len(b) != 6:
        raise argparse.ArgumentTypeError("bad MAC " + s)
    return b


class Frames:
    def __init__(self, a, src_mac):
        self.a, self.smac = a, src_mac
        self.dmac = a.dst_mac
        self.src, self.dst = socket.inet_aton(a.src_ip), socket.inet_aton(a.dst_ip)
        # a fresh identification space per run: fragments left in the
        # stack's reassembly queue by an earlier run must not mix with ours
        self.ident = random.randrange(0x10000)

    def eth(self, ethertype, payload, dmac=None):
        return (dmac or self.dmac) + self.smac + struct.pack("!H", ethertype) + payload

    def iph(self, plen, proto, ident=None, frag=0, ver=4, ihl=5, options=b"",
            tot=None, dst=None, good_csum=True):
        if ident is None:
            self.ident = (self.ident + 1) & 0xFFFF
            ident = self.ident
        hlen = 20 + len(options)
        h = struct.pack("!BBHHHBBH4s4s", (ver << 4) | ihl, 0,
                        tot if tot is not None else hlen + plen, ident, frag,
                        64, proto, 0, self.src, dst or self.dst) + options
        c = csum(h)
        if not good_csum:
            c ^= 0x5A5A
        return h[:10] + struct.pack("!H", c) + h[12:]

    def ip(self, proto, payload, **kw):
        return self.eth(ETH_P_IP, self.iph(len(payload), proto, **kw) + payload)

    def udp(self, dport, data, sport=40000, length=None, good_csum=True):
        ln = 8 + len(data) if length is None else length
        u = struct.pack("!HHHH", sport, dport, ln, 0) + data
        c = csum(self.src + self.dst + struct.pack("!BBH", 0, 17, len(u)) + u) or 0xFFFF
        if not good_csum:
            c = c ^ 0x1234 or 1
        return u[:6] + struct.pack("!H", c) + u[8:]

    def icmp_echo(self, data, seq=1, good_csum=True):
        m = struct.pack("!BBHHH", 8, 0, 0, 0x6161, seq) + data
        c = csum(m)
        if not good_csum:
            c ^= 0x0F0F
        return m[:2] + struct.pack("!H", c) + m[4:]

    def arp_request(self):
        return struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1) + self.smac + self.src + \
            b"\0" * 6 + self.dst


def cases(F, a):
    """Each case yields the frames it sends."""
    n = a.count
    pay = bytes(range(32, 96)) * 2

    def eth_short():            # not a whole Ethernet header (may be refused
        for _ in range(n):      # by the kernel: AF_PACKET wants >= 14 bytes)
            yield (F.dmac + F.smac)[:10]

    def eth_header_only():      # header, IPv4 ethertype, nothing after it
        for _ in range(n):
            yield F.eth(ETH_P_IP, b"")

    def arp_trunc():            # ARP cut after 10 bytes
        for _ in range(n):
            yield F.eth(ETH_P_ARP, F.arp_request()[:10], dmac=b"\xff" * 6)

    def ip_trunc_header():      # 12 bytes of an IPv4 header
        for _ in range(n):
            yield F.eth(ETH_P_IP, F.iph(8, 17)[:12])

    def ip_bad_version():
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay), ver=6)

    def ip_bad_ihl():           # IHL 3 (12 bytes): below the minimum of 5
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay), ihl=3)

    def ip_ihl_gt_len():        # IHL 15 (60 bytes) in a 40-byte datagram
        for _ in range(n):
            h = F.iph(0, 1, ihl=15, tot=40)
            yield F.eth(ETH_P_IP, h + b"\0" * 20)

    def ip_len_gt_frame():      # total length 1000, 108 bytes present
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay[:80]), tot=1000)

    def ip_len_lt_hdr():        # total length 10 < header length 20
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay[:40]), tot=10)

    def ip_bad_csum():
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay), good_csum=False)

    def ip_bad_options():       # option 0x44 (timestamp) with length 40 > room
        opt = bytes([0x44, 40, 5, 0])
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay), ihl=6, options=opt)

    def ip_bad_options_len1():  # option with a length byte of 1
        opt = bytes([0x07, 1, 0, 0])
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay), ihl=6, options=opt)

    def udp_bad_csum():
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay, good_csum=False))

    def udp_len_long():         # UDP length 500 in a 136-byte datagram
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay, length=500))

    def udp_len_short():        # UDP length 4 < 8
        for _ in range(n):
            yield F.ip(17, F.udp(7, pay, length=4))

    def udp_trunc():            # 5 bytes of a UDP header
        for _ in range(n):
            yield F.ip(17, F.udp(7, b"")[:5])

    def icmp_bad_csum():
        for i in range(n):
            yield F.ip(1, F.icmp_echo(pay, seq=i, good_csum=False))

    def icmp_trunc():           # 3 bytes of ICMP
        for _ in range(n):
            yield F.ip(1, b"\x08\x00\x00")

    def frag_overlap():         # fragments overlapping with different bytes
        for _ in range(n):
            F.ident = (F.ident + 1) & 0xFFFF
            dgram = F.udp(7, bytes(64))             # 72 bytes
            yield F.ip(17, dgram[:48], ident=F.ident, frag=0x2000 | 0)
            yield F.ip(17, b"\xAA" * 24, ident=F.ident, frag=0x2000 | 3)  # 24..47
            yield F.ip(17, dgram[48:], ident=F.ident, frag=6)             # 48..71

    def frag_past_end():        # a fragment beyond the datagram's known end
        for _ in range(n):
            F.ident = (F.ident + 1) & 0xFFFF
            dgram = F.udp(7, bytes(64))             # 72 bytes
            yield F.ip(17, dgram[40:], ident=F.ident, frag=5)             # last: 40..71
            yield F.ip(17, bytes(16), ident=F.ident, frag=0x2000 | 20)    # 160..175

    def frag_too_big():         # offset + length > 65535
        for _ in range(n):
            yield F.ip(17, bytes(1024), frag=8180)  # 65440 + 1024

    def frag_flood():           # first fragments of --count distinct datagrams
        body = bytes(a.size)
        for i in range(n):
            yield F.ip(17, F.udp(7, body)[:a.size // 8 * 8],
                       ident=(F.ident + i) & 0xFFFF, frag=0x2000)

    def other_mac():            # a valid ping, to some other station's MAC
        for i in range(n):
            yield F.eth(ETH_P_IP, F.iph(72, 1) + F.icmp_echo(bytes(64), seq=i),
                        dmac=bytes.fromhex("026100ffee01"))

    def other_ip():             # a valid ping, to another IP in the subnet
        other = bytearray(F.dst)
        other[3] ^= 0x40
        for i in range(n):
            yield F.eth(ETH_P_IP, F.iph(72, 1, dst=bytes(other)) +
                        F.icmp_echo(bytes(64), seq=i))

    def unknown_type():         # ethertype 0x88b5 (local experimental)
        for _ in range(n):
            yield F.eth(0x88B5, pay)

    def good_ping():            # control: a well-formed echo request
        for i in range(n):
            yield F.ip(1, F.icmp_echo(pay, seq=i))

    return {k: v for k, v in locals().items() if callable(v) and not k.startswith("_")
            and k not in ("pay", "n")}


def tx_csum_off(iface):
    """ethtool -K IFACE tx off, without ethtool (ETHTOOL_STXCSUM ioctl)."""
    import ctypes
    import fcntl
    ev = ctypes.create_string_buffer(struct.pack("II", 0x17, 0), 8)
    ifr = struct.pack("16sP", iface.encode(), ctypes.addressof(ev)).ljust(40, b"\0")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), 0x8946, ifr)      # SIOCETHTOOL
    print("inject: %s: tx checksum offload off" % iface)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--tx-csum-off":
        tx_csum_off(sys.argv[2])
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("iface", nargs="?")
    p.add_argument("case", nargs="?")
    p.add_argument("--dst-mac", type=mac)
    p.add_argument("--dst-ip")
    p.add_argument("--src-ip")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--size", type=int, default=1400, help="frag_flood fragment size")
    p.add_argument("--pace", type=int, default=200,
                   help="pause 1 ms after this many frames (keeps queues from overflowing)")
    p.add_argument("--list", action="store_true")
    a = p.parse_args()
    if a.list:
        print("\n".join(sorted(cases(None, a))))
        return 0
    if not (a.iface and a.case and a.dst_mac and a.dst_ip and a.src_ip):
        p.error("IFACE CASE --dst-mac --dst-ip --src-ip are required")
    if not 1 <= a.count <= 100000:
        p.error("--count must be 1..100000")
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((a.iface, 0))
    src_mac = s.getsockname()[4]
    tab = cases(Frames(a, src_mac), a)
    if a.case not in tab:
        p.error("unknown case %s (try --list)" % a.case)
    sent = refused = 0
    for f in tab[a.case]():
        try:
            s.send(f)
            sent += 1
        except OSError as e:
            refused += 1
            if refused == 1:
                print("inject: %s: kernel refused a %d-byte frame: %s" % (a.case, len(f), e))
        if a.pace and (sent + refused) % a.pace == 0:
            time.sleep(0.001)
    print("inject: %s: %d frames sent%s" % (a.case, sent,
          ", %d refused" % refused if refused else ""))
    return 0 if sent else 1


if __name__ == "__main__":
    sys.exit(main())

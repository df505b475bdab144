#!/usr/bin/python3
"""peer.py - the kernel peers of the differential API suite (tests/api/run).

Run (by tests/api/run, in the peer namespace) as:

    /usr/bin/python3 tests/api/peer.py ADDR [READY_FILE]

Every service listens on ADDR (10.61.40.1 in the suite). The port numbers are
mirrored in tests/api/api.h; change both together.

  TCP 7     echo: echoes everything until EOF, then closes
  TCP 9     discard: reads until EOF, then closes
  TCP 2000  bulk: sends 1 MiB of the pattern (byte i = (i * 131 + 7) & 0xff),
            then closes (FIN)
  TCP 2001  close-now: accepts and closes at once (FIN, no data)
  TCP 2002  reset: accepts, waits 0.2 s (so the client's connect has
            returned before the RST arrives), closes with SO_LINGER {1, 0} (RST)
  TCP 2003  delay: waits 1.0 s, sends "delayed-data\\n" (13 bytes), then
            reads until EOF and closes
  TCP 2004  half-close: reads until EOF, then sends "n=<bytes> crc=<crc32 as
            8 hex digits>\\n" and closes
  TCP 2005  sink: accepts and never reads (fills the client's send buffer);
            closes when the client's FIN arrives (or after 30 s)
  TCP 2006  hello-close: sends "hello-then-close\\n" (17 bytes), then closes
  TCP 2010  connect-back: the client sends "<port> <count> [close]\\n"; the
            peer opens <count> connections to <client address>:<port>,
            answers "ok <count>\\n" (or "err <errno name>\\n") on the
            control connection; on each data connection it sends
            "hello-from-peer\\n" (16 bytes) and then echoes until EOF (or,
            with "close", closes it right after the greeting).
  UDP 7     echo: every datagram is sent back to its sender (also empty ones)

  TCP 5999 and UDP 5999: nothing listens (ECONNREFUSED / ICMP port unreachable)

Prints "peer ready" on stdout (and writes READY_FILE) once every socket listens.
"""
import errno
import os
import select
import socket
import struct
import sys
import threading
import time
import zlib

ADDR = sys.argv[1] if len(sys.argv) > 1 else "10.61.40.1"
READY = sys.argv[2] if len(sys.argv) > 2 else None

PATTERN = bytes((i * 131 + 7) & 0xFF for i in range(256)) * 4096  # 1 MiB


def spawn(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def quiet_close(c):
    try:
        c.close()
    except OSError:
        pass


def h_echo(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
    except OSError:
        pass
    quiet_close(c)


def h_discard(c):
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    quiet_close(c)


def h_bulk(c):
    try:
        c.sendall(PATTERN)
    except OSError:
        pass
    quiet_close(c)


def h_close_now(c):
    quiet_close(c)


def h_reset(c):
    time.sleep(0.2)
    try:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    quiet_close(c)


def h_delay(c):
    try:
        time.sleep(1.0)
        c.sendall(b"delayed-data\n")
        while c.recv(65536):
            pass
    except OSError:
        pass
    quiet_close(c)


def h_half_close(c):
    n = 0
    crc = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            n += len(d)
            crc = zlib.crc32(d, crc)
        c.sendall(b"n=%d crc=%08x\n" % (n, crc & 0xFFFFFFFF))
    except OSError:
        pass
    quiet_close(c)


def h_sink(c):
    try:
        p = select.poll()
        p.register(c.fileno(), select.POLLRDHUP)
        p.poll(30000)
    except OSError:
        pass
    quiet_close(c)


def h_hello_close(c):
    try:
        c.sendall(b"hello-then-close\n")
    except OSError:
        pass
    quiet_close(c)


def h_connect_back(c):
    try:
        line = b""
        while not line.endswith(b"\n") and len(line) < 64:
            d = c.recv(64)
            if not d:
                break
            line += d
        parts = line.split()
        port = int(parts[0])
        count = int(parts[1]) if len(parts) > 1 else 1
        close_after = len(parts) > 2 and parts[2] == b"close"
        host = c.getpeername()[0]
        conns = []
        err = None
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            try:
                s.connect((host, port))
            except OSError as e:
                err = e
                quiet_close(s)
                break
            s.settimeout(None)
            conns.append(s)
        for s in conns:
            try:
                s.sendall(b"hello-from-peer\n")
            except OSError:
                pass
            if close_after:
                quiet_close(s)
            else:
                spawn(h_echo, s)
        if err is None:
            c.sendall(b"ok %d\n" % count)
        else:
            name = errno.errorcode.get(err.errno or 0, "ETIMEDOUT")
            c.sendall(b"err %s\n" % name.encode())
        while c.recv(64):
            pass
    except (OSError, ValueError, IndexError):
        pass
    quiet_close(c)


TCP = {
    7: h_echo,
    9: h_discard,
    2000: h_bulk,
    2001: h_close_now,
    2002: h_reset,
    2003: h_delay,
    2004: h_half_close,
    2005: h_sink,
    2006: h_hello_close,
    2010: h_connect_back,
}


def acceptor(ls, handler):
    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            time.sleep(0.01)
            continue
        spawn(handler, c)


def udp_echo(s):
    while True:
        try:
            d, a = s.recvfrom(65536)
            s.sendto(d, a)
        except OSError:
            pass


def main():
    for port, handler in TCP.items():
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((ADDR, port))
        ls.listen(128)
        spawn(acceptor, ls, handler)
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind((ADDR, 7))
    spawn(udp_echo, us)
    print("peer ready", flush=True)
    if READY:
        with open(READY, "w") as f:
            f.write("%d\n" % os.getpid())
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()

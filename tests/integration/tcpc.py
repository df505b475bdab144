#!/usr/bin/env python3
# tcpc.py - the kernel's side of the TCP service tests: a client for echo,
# discard and chargen (RFC 862/863/864) and a kernel server for the
# comparison runs. Every mode is bounded by TIMEOUT seconds in total; it
# exits 0 and prints "RESULT MODE BYTES SECONDS" on success, exits 1 with a
# message on stderr otherwise.
#
#   echo HOST PORT INFILE OUTFILE TIMEOUT    send INFILE while reading back
#   discard HOST PORT BYTES TIMEOUT          send BYTES, half-close, await EOF
#   chargen HOST PORT BYTES TIMEOUT          read BYTES, check RFC 864, close
#   refused HOST PORT TIMEOUT                connect must fail: ECONNREFUSED
#   seq HOST PORT COUNT TIMEOUT              COUNT echo connections in a row
#   conc HOST PORT COUNT BYTES TIMEOUT       COUNT echo connections at once
#   server ADDR TIMEOUT                      kernel discard (9) + chargen (19)
import errno
import os
import selectors
import socket
import sys
import threading
import time

RING = bytes(range(32, 127))            # the 95 printable characters
LINE = 72
PERIOD = 95 * (LINE + 2)
CHUNK = 262144


def die(msg):
    sys.stderr.write("tcpc: %s\n" % msg)
    sys.stderr.flush()
    os._exit(1)


def pattern(length):
    """The RFC 864 stream from line 0, length bytes."""
    one = bytearray()
    for k in range(95):
        one += bytes(RING[(k + i) % 95] for i in range(LINE)) + b"\r\n"
    reps = length // PERIOD + 1
    return bytes(one * reps)[:length]


def result(mode, nbytes, secs):
    rate = nbytes / secs / 1e6 if secs > 0 else 0.0
    print("RESULT %s %d %.3f %.1f" % (mode, nbytes, secs, rate), flush=True)


class Deadline:
    def __init__(self, secs):
        self.end = time.monotonic() + secs

    def left(self, what):
        t = self.end - time.monotonic()
        if t <= 0:
            die("%s: timed out" % what)
        return t


def connect(host, port, dl):
    try:
        s = socket.create_connection((host, port), timeout=dl.left("connect"))
    except OSError as e:
        die("connect to %s:%d: %s" % (host, port, e))
    s.settimeout(min(30.0, dl.left("connect")))
    return s


def recv_into(s, buf, n, dl, what):
    s.settimeout(min(30.0, dl.left(what)))
    try:
        return s.recv_into(buf, n)
    except socket.timeout:
        die("%s: nothing received for %.0f s" % (what, s.gettimeout()))
    except OSError as e:
        die("%s: recv: %s" % (what, e))


def cmd_echo(host, port, infile, outfile, timeout):
    dl = Deadline(timeout)
    data = open(infile, "rb").read()
    t0 = time.monotonic()
    s = connect(host, port, dl)
    err = []

    def sender():
        try:
            mv = memoryview(data)
            for i in range(0, len(mv), 65536):
                s.sendall(mv[i:i + 65536])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    got = 0
    buf = bytearray(CHUNK)
    with open(outfile, "wb") as f:
        while True:
            n = recv_into(s, buf, CHUNK, dl, "echo (%d of %d bytes back)" % (got, len(data)))
            if n == 0:
                break
            f.write(buf[:n])
            got += n
    secs = time.monotonic() - t0
    th.join(dl.left("echo: sender"))
    if err:
        die("echo: send: %s" % err[0])
    if th.is_alive():
        die("echo: sender still running after EOF")
    s.close()
    result("echo", got, secs)


def cmd_discard(host, port, nbytes, timeout):
    dl = Deadline(timeout)
    block = os.urandom(CHUNK)
    t0 = time.monotonic()
    s = connect(host, port, dl)
    left = nbytes
    try:
        while left > 0:
            s.settimeout(min(30.0, dl.left("discard send")))
            n = s.send(block[:min(left, CHUNK)])
            left -= n
        s.shutdown(socket.SHUT_WR)
    except socket.timeout:
        die("discard: send stalled (%d of %d bytes sent)" % (nbytes - left, nbytes))
    except OSError as e:
        die("discard: send: %s (%d of %d bytes sent)" % (e, nbytes - left, nbytes))
    buf = bytearray(4096)
    n = recv_into(s, buf, len(buf), dl, "discard: waiting for the server's close")
    if n:
        die("discard: the server sent %d bytes" % n)
    secs = time.monotonic() - t0
    s.close()
    result("discard", nbytes, secs)


def cmd_chargen(host, port, nbytes, timeout):
    dl = Deadline(timeout)
    ext = pattern(PERIOD + CHUNK)
    twice = ext[:2 * PERIOD]
    t0 = time.monotonic()
    s = connect(host, port, dl)
    buf = bytearray(CHUNK)
    got = 0
    off = None
    head = bytearray()
    while got < nbytes:
        n = recv_into(s, buf, min(CHUNK, nbytes - got), dl,
                      "chargen (%d of %d bytes)" % (got, nbytes))
        if n == 0:
            die("chargen: EOF after %d of %d bytes" % (got, nbytes))
        if off is None:
            # where in the period the stream starts: from its first line
            head += buf[:n]
            if len(head) < LINE + 2 and got + n < nbytes:
                got += n
                continue
            i = twice.find(bytes(head[:LINE + 2]))
            if i < 0:
                die("chargen: the stream does not start with an RFC 864 line: %r"
                    % bytes(head[:80]))
            off = i
            chunk, pos = bytes(head), 0
        else:
            chunk, pos = bytes(buf[:n]), got
        o = (off + pos) % PERIOD
        if chunk != ext[o:o + len(chunk)]:
            exp = ext[o:o + len(chunk)]
            k = next(j for j in range(len(chunk)) if chunk[j] != exp[j])
            die("chargen: byte %d of the stream is %r, expected %r (context %r)"
                % (pos + k, chunk[k:k + 1], exp[k:k + 1], chunk[max(0, k - 20):k + 20]))
        got = pos + len(chunk)
    secs = time.monotonic() - t0
    s.close()           # with data unread: the kernel sends RST
    result("chargen", got, secs)


def cmd_refused(host, port, timeout):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except ConnectionRefusedError:
        print("RESULT refused 0 0 0", flush=True)
        return
    except socket.timeout:
        die("connect to closed port %d: timed out, expected ECONNREFUSED (no RST?)" % port)
    except OSError as e:
        die("connect to closed port %d: %s, expected ECONNREFUSED" % (port, e))
    die("connect to closed port %d succeeded" % port)


def cmd_seq(host, port, count, timeout):
    dl = Deadline(timeout)
    t0 = time.monotonic()
    buf = bytearray(4096)
    for i in range(count):
        msg = b"seq %d " % i + os.urandom(1 + i % 23)
        s = connect(host, port, dl)
        try:
            s.sendall(msg)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            die("seq %d: send: %s" % (i, e))
        back = bytearray()
        while True:
            n = recv_into(s, buf, len(buf), dl, "seq %d" % i)
            if n == 0:
                break
            back += buf[:n]
        s.close()
        if bytes(back) != msg:
            die("seq %d: sent %r, got back %r" % (i, msg, bytes(back)))
    result("seq", count, time.monotonic() - t0)


def cmd_conc(host, port, count, nbytes, timeout):
    dl = Deadline(timeout)
    t0 = time.monotonic()
    sel = selectors.DefaultSelector()
    conns = []
    # phase 1: every connection established before any data moves
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex((host, port))
        if rc not in (0, errno.EINPROGRESS):
            die("conc %d: connect: %s" % (i, os.strerror(rc)))
        c = {"i": i, "s": s, "out": os.urandom(nbytes), "sent": 0,
             "back": bytearray(), "eof": False, "up": rc == 0}
        conns.append(c)
        sel.register(s, selectors.EVENT_WRITE, c)
    pending = sum(1 for c in conns if not c["up"])
    while pending:
        for key, _ in sel.select(min(1.0, dl.left("conc: %d connects pending" % pending))):
            c = key.data
            if c["up"]:
                continue
            rc = c["s"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if rc:
                die("conc %d: connect: %s" % (c["i"], os.strerror(rc)))
            c["up"] = True
            pending -= 1
    # phase 2: all of them send and read back at once
    for c in conns:
        sel.modify(c["s"], selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    active = count
    while active:
        for key, ev in sel.select(min(1.0, dl.left("conc: %d connections unfinished" % active))):
            c = key.data
            s = c["s"]
            if ev & selectors.EVENT_WRITE and c["sent"] < nbytes:
                try:
                    c["sent"] += s.send(c["out"][c["sent"]:c["sent"] + 65536])
                except BlockingIOError:
                    pass
                except OSError as e:
                    die("conc %d: send: %s" % (c["i"], e))
                if c["sent"] == nbytes:
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, c)
            if ev & selectors.EVENT_READ:
                try:
                    d = s.recv(CHUNK)
                except BlockingIOError:
                    continue
                except OSError as e:
                    die("conc %d: recv: %s" % (c["i"], e))
                if d:
                    c["back"] += d
                    if len(c["back"]) > nbytes:
                        die("conc %d: more bytes back than sent" % c["i"])
                else:
                    if c["sent"] < nbytes:
                        die("conc %d: EOF before all was sent" % c["i"])
                    sel.unregister(s)
                    c["eof"] = True
                    active -= 1
    for c in conns:
        if bytes(c["back"]) != c["out"]:
            die("conc %d: got %d bytes back of %d, not identical"
                % (c["i"], len(c["back"]), nbytes))
        c["s"].close()
    result("conc", count * nbytes, time.monotonic() - t0)


def cmd_server(addr, timeout):
    """Kernel discard (9) and chargen (19) servers, a thread per
    connection, until TIMEOUT seconds have passed."""
    ext = pattern(PERIOD + CHUNK)

    def discard(c):
        buf = bytearray(CHUNK)
        try:
            while c.recv_into(buf):
                pass
        except OSError:
            pass
        c.close()

    def chargen(c):
        mv = memoryview(ext)
        off = 0
        try:
            while True:
                off = (off + c.send(mv[off:off + CHUNK])) % PERIOD
        except OSError:
            pass
        c.close()

    def serve(port, fn):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(64)
        while True:
            c, _ = ls.accept()
            threading.Thread(target=fn, args=(c,), daemon=True).start()

    for port, fn in ((9, discard), (19, chargen)):
        threading.Thread(target=serve, args=(port, fn), daemon=True).start()
    print("server ready", flush=True)
    time.sleep(timeout)


def main(a):
    if not a:
        die("usage: see the head of this file")
    m, a = a[0], a[1:]
    try:
        if m == "echo":
            cmd_echo(a[0], int(a[1]), a[2], a[3], float(a[4]))
        elif m == "discard":
            cmd_discard(a[0], int(a[1]), int(a[2]), float(a[3]))
        elif m == "chargen":
            cmd_chargen(a[0], int(a[1]), int(a[2]), float(a[3]))
        elif m == "refused":
            cmd_refused(a[0], int(a[1]), float(a[2]))
        elif m == "seq":
            cmd_seq(a[0], int(a[1]), int(a[2]), float(a[3]))
        elif m == "conc":
            cmd_conc(a[0], int(a[1]), int(a[2]), int(a[3]), float(a[4]))
        elif m == "server":
            cmd_server(a[0], float(a[1]))
        else:
            die("unknown mode %s" % m)
    except (IndexError, ValueError):
        die("bad arguments for %s: %s" % (m, " ".join(a)))


main(sys.argv[1:])

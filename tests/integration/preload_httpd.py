#!/usr/bin/env python3
# preload_httpd.py - a small, fast HTTP/1.1 file server for the preload
# tests and scripts/bench-preload: GET and HEAD of the files in DIR, the body
# sent with sendfile(2), one thread per connection, "Connection: close"
# after each response (no keep-alive). Fast enough that the server is never
# what limits a download (python's http.server copies through user space).
#
#   preload_httpd.py ADDR PORT DIR TIMEOUT
#
# Prints "httpd ready ADDR PORT" once listening; each request is logged to
# stderr ("GET /path 200 BYTES"). Exits 0 after TIMEOUT seconds.
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse


def reply(conn, code, reason, length=0, extra=""):
    head = ("HTTP/1.1 %d %s\r\nServer: preload_httpd\r\nContent-Length: %d\r\n"
            "Content-Type: application/octet-stream\r\nConnection: close\r\n%s\r\n"
            % (code, reason, length, extra))
    conn.sendall(head.encode())


def serve(conn, root):
    try:
        conn.settimeout(60)
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = conn.recv(4096)
            if not chunk or len(req) > 65536:
                return
            req += chunk
        line = req.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) != 3 or parts[0] not in ("GET", "HEAD"):
            reply(conn, 400, "Bad Request")
            return
        rel = urllib.parse.unquote(parts[1].split("?", 1)[0]).lstrip("/")
        path = os.path.realpath(os.path.join(root, rel))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            reply(conn, 404, "Not Found")
            sys.stderr.write("%s /%s 404\n" % (parts[0], rel))
            return
        # sendfile needs a blocking socket (settimeout makes it
        # non-blocking): bound each send by SO_SNDTIMEO instead
        conn.settimeout(None)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 60, 0))
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            reply(conn, 200, "OK", size)
            sent = 0
            if parts[0] == "GET":
                while sent < size:
                    n = os.sendfile(conn.fileno(), f.fileno(), sent, size - sent)
                    if n == 0:
                        break
                    sent += n
        sys.stderr.write("%s /%s 200 %d\n" % (parts[0], rel, sent))
        conn.shutdown(socket.SHUT_WR)
        # let the client close first: no RST for its last ACKs
        conn.settimeout(10)
        while conn.recv(65536):
            pass
    except OSError as e:
        sys.stderr.write("connection error: %s\n" % e)
    finally:
        conn.close()


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: preload_httpd.py ADDR PORT DIR TIMEOUT")
    addr, port, root, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    root = os.path.realpath(root)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    print("httpd ready %s %d" % (addr, port), flush=True)
    end = time.monotonic() + secs
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            conn, _ = s.accept()
        except socket.timeout:
            break
        threading.Thread(target=serve, args=(conn, root), daemon=True).start()
    s.close()


if __name__ == "__main__":
    main()

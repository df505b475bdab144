#!/usr/bin/env python3
"""fork_echo.py ADDR PORT: python's socketserver.ForkingTCPServer as an
echo server, unmodified library code (tests/integration/fork_python.sh):
the parent accepts, forks a child per connection and closes its copy of
the connection; the child echoes until the client's EOF, shuts down and
leaves with os._exit.

Prints "fork_echo: serving ADDR:PORT pid PID" once it listens. SIGTERM
ends it the ordinary way (serve_forever returns, server_close reaps the
children, the interpreter exits: the preload writes MTCP_STATS then); it
prints "RESULT served N" first.
"""
import os
import signal
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            b = self.request.recv(65536)
            if not b:
                return
            self.request.sendall(b)


class Server(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    # the default backlog of 5 overflows under 20 clients at once, on the
    # kernel too (a client then sees its connection reset)
    request_queue_size = 128
    served = 0

    def process_request(self, request, client_address):
        Server.served += 1
        super().process_request(request, client_address)


def stop(signum, frame):
    # Once: `timeout` passes SIGTERM on to its child and to the process
    # group too, so a second one may come while server_close reaps the
    # children, and must not cut that (and the RESULT line) short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(0)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    signal.signal(signal.SIGTERM, stop)
    with Server((host, port), Echo) as srv:
        print("fork_echo: serving %s:%d pid %d" % (host, port, os.getpid()), flush=True)
        try:
            srv.serve_forever()
        except SystemExit:
            pass
    print("RESULT served %d" % Server.served, flush=True)


if __name__ == "__main__":
    main()

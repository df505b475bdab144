#!/usr/bin/env python3
"""exit_time.py OUT SECS CMD...: how long CMD takes to be gone after its
last write (tests/integration/exit_fast.sh).

Runs CMD with its stdout in OUT, waits for it on a pidfd (no polling
interval in the measure) and reaps it; then reads CMD's "lastwrite NS"
and "closed NS" lines (CLOCK_MONOTONIC, the clock time.monotonic_ns reads)
and prints

    RESULT exit S gone_ms G close_ms C

G: from the last write returning to the process reaped; C: from the last
write returning to close() returning. Exit status 0 when CMD exited 0 and
printed both lines; 1 otherwise. CMD still running after SECS is killed
(SIGKILL, "RESULT timeout").
"""
import os
import select
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 4:
        sys.exit("usage: exit_time.py OUT SECS CMD...")
    out, secs, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    with open(out, "wb") as f:
        p = subprocess.Popen(cmd, stdout=f)
    pfd = os.pidfd_open(p.pid)
    poller = select.poll()
    poller.register(pfd, select.POLLIN)
    if not poller.poll(secs * 1000):
        p.kill()
        p.wait()
        print("RESULT timeout after %g s" % secs)
        return 1
    gone = time.monotonic_ns()
    _, st = os.waitpid(p.pid, 0)
    code = os.waitstatus_to_exitcode(st)
    t = {}
    with open(out) as f:
        for line in f:
            w = line.split()
            if len(w) == 2 and w[0] in ("lastwrite", "closed"):
                t[w[0]] = int(w[1])
    if "lastwrite" not in t or "closed" not in t:
        print("RESULT exit %d no lastwrite/closed lines" % code)
        return 1
    print("RESULT exit %d gone_ms %.1f close_ms %.1f" %
          (code, (gone - t["lastwrite"]) / 1e6, (t["closed"] - t["lastwrite"]) / 1e6))
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

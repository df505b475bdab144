#!/usr/bin/env bash
# harness_cleanup: the test harness itself (lib.sh, run directly is its
# self-test): a test that fails, fails inside $(...), or is killed with
# SIGTERM leaves no namespace and no process behind.
exec bash "$(dirname "$0")/lib.sh"

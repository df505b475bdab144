#!/usr/bin/env bash
# nginx_tap: Debian's nginx, unmodified (master_process off, daemon off,
# epoll, sendfile, tcp_nopush, tcp_nodelay, keep-alive, listen backlog=1024,
# as root), on microtcp through scripts/mtcp run, over TAP mt0 (microtcp
# 10.61.70.2, the kernel's clients at 10.61.70.1 in the same namespace):
#   - it runs as root without switching user and serves from a 0700 dir
#   - curl fetches 50 MiB: sha256 equal
#   - wrk -t 2 -c 100 -d 5s: no socket error, every response 200, right length
#   - ab -n 20000 -c 50, with -k and without: none failed, no non-2xx
#   - 1000 keep-alive connections held at once (nginx's stub_status and the
#     kernel's ss both count them), a second GET on each: 2000 x 200
#   - SIGQUIT stops it (status 0, gone within 5 s, nothing at [warn] or
#     worse in its error log); a second nginx, SIGTERM with an idle
#     keep-alive connection open: the same
#   - last: keep-alive requests one at a time (ab -k -c 1) take a median
#     under 20 ms: a response of one full segment and a short tail is not
#     held for the client's delayed ACK when nginx uncorks
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
. "$LIB_DIR/nginx_lib.bash"

ng_setup_tap n 10.61.70
ng_all_checks
log "PASS"

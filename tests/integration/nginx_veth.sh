#!/usr/bin/env bash
# nginx_veth: the checks of nginx_tap with nginx's stack on a veth end
# through AF_PACKET (MTCP_DRIVER=packet on mtv0, microtcp 10.61.71.2, in
# one namespace) and the kernel's clients on the other end (mtp0,
# 10.61.71.1, in the peer namespace). mtp0 keeps its default offloads
# unless VETH_TX_CSUM=off.
#   - nginx runs as root without switching user, serves from a 0700 dir
#   - curl fetches 50 MiB: sha256 equal
#   - wrk -t 2 -c 100 -d 5s: no socket error, every response 200, right length
#   - ab -n 20000 -c 50, with -k and without: none failed, no non-2xx
#   - 1000 keep-alive connections held at once, a second GET on each
#   - SIGQUIT, and SIGTERM with an idle keep-alive connection: clean stop
#   - last: keep-alive requests one at a time: median under 20 ms
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
. "$LIB_DIR/nginx_lib.bash"

ng_setup_veth 10.61.71
ng_all_checks
log "PASS"

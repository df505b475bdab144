#!/usr/bin/env bash
# nginx_multiproc: Debian's nginx, unmodified, in its default process model
# on microtcp (issue 12): `daemon on; master_process on; worker_processes 2;`
# started with LD_PRELOAD, over AF_PACKET (veth) and over a multi-queue TAP
# (multiproc_lib.bash; kernel 10.61.84.1 runs the clients, nginx listens on
# 10.61.84.2:8080). The process that binds the port daemonizes and exits;
# the master forks two workers, which inherit the listening socket.
#   - it daemonizes: the started process exits 0 within 10 s, the pid file
#     names a live master (another process), which has two workers;
#   - it serves: the first request within 5 s; curl fetches a 50 MiB file,
#     sha256 equal; wrk -t2 -c100 -d5s: no socket error, every response 200
#     with the right length; ab -n 20000 -c 50 with and without -k: all
#     complete, none failed, no non-2xx (nginx_lib.bash's checks);
#   - both workers serve: the access log ($pid in its format) shows exactly
#     the two worker pids, never the master's;
#   - nginx -s reload while ab -n 20000 -c 50 runs: ab completes every
#     request, none failed; afterwards only the new workers serve;
#   - nginx -s quit: the master and its workers are gone within 5 s,
#     nothing at [warn] or worse in the error log; at once a new nginx (the
#     same port) daemonizes, binds without "Address already in use" and
#     serves, and quits cleanly too.
. "$(dirname "$0")/multiproc_lib.bash"
. "$LIB_DIR/nginx_lib.bash"
need ps

mp_setup 10.61.84
# a failed run's logs are kept: not the 50 MiB file
test_cleanup() { mp_cleanup; rm -f "$TMP_DIR/www/big.bin"; }
NG_NS=$NS_STACK
NG_VIA="$NS_PEER $MP_PEER_DEV"
NG_URL=http://$S:$NG_PORT
ng_www

# workers_of PID: the pids of PID's children, sorted, space-separated
workers_of() {
	ps --ppid "$1" -o pid= 2>/dev/null | awk '{print $1}' | sort -n | paste -sd ' '
}
nworkers_is() { [ "$(workers_of "$1" | wc -w)" = "$2" ]; }

# mp_ng_cmd NAME ARGS...: nginx with ARGS (on microtcp, in $NS_STACK) in
# the foreground, bounded; output in NAME.out/.err
mp_ng_cmd() {
	local name=$1
	shift
	mt_run "$name" 15 "$NGINX" -p "$NG_DIR/" -c "$NG_DIR/nginx.conf" -e "$NG_DIR/error.log" "$@"
}

# mp_ng_start NAME: start nginx; it must daemonize, have two workers and
# serve. Sets NG_DIR, NG_PID (the master), NG_WORKERS.
mp_ng_start() {
	local name=$1 rc
	NG_DIR=$TMP_DIR/$name
	ng_conf "$NG_DIR" 2
	log "starting nginx ($name): daemon on, master_process on, worker_processes 2"
	mt_bg "ng-$name" 15 "$NGINX" -p "$NG_DIR/" -c "$NG_DIR/nginx.conf" -e "$NG_DIR/error.log"
	local launched=$BG_PID
	bg_wait "$launched" 10
	rc=$?
	[ $rc -eq 0 ] ||
		mp_fail "nginx ($name) as started did not exit 0 within 10 s (status $rc): it must daemonize" "ng-$name"
	wait_until 5 test -s "$NG_DIR/nginx.pid" ||
		mp_fail "nginx ($name) daemonized but wrote no pid file within 5 s" "ng-$name"
	NG_PID=$(cat "$NG_DIR/nginx.pid")
	[ "$(cat "/proc/$NG_PID/comm" 2>/dev/null)" = nginx ] ||
		mp_fail "nginx ($name): the pid file says $NG_PID, which is not a running nginx" "ng-$name"
	wait_until 5 nworkers_is "$NG_PID" 2 ||
		mp_fail "nginx ($name): the master (pid $NG_PID) has workers '$(workers_of "$NG_PID")', expected 2" "ng-$name"
	NG_WORKERS=$(workers_of "$NG_PID")
	log "nginx ($name) daemonized: master $NG_PID, workers $NG_WORKERS"
	local ok=0 t_end=$((SECONDS + 5))
	while [ $SECONDS -lt $t_end ]; do
		ip netns exec "$NS_PEER" timeout 3 curl -sS -f --max-time 1 -o /dev/null \
			"$NG_URL/small.html" 2>"$NG_DIR/probe.err" && { ok=1; break; }
		sleep 0.25
	done
	[ $ok = 1 ] ||
		mp_fail "nginx ($name) daemonized (master $NG_PID, workers $NG_WORKERS) but did not serve $NG_URL/small.html within 5 s: $(cat "$NG_DIR/probe.err")" "ng-$name"
	log "ok: nginx ($name) serves $NG_URL"
}

# pids_in_log [FROM_LINE]: the distinct pids in the access log from line
# FROM_LINE on, sorted
pids_in_log() {
	tail -n "+${1:-1}" "$NG_DIR/access.log" | awk '{print $1}' | sort -un | paste -sd ' '
}

# mp_ng_quit: nginx -s quit; master and workers gone within 5 s
mp_ng_quit() {
	local w p
	mp_ng_cmd "quit-${NG_DIR##*/}" -s quit ||
		mp_fail "nginx -s quit failed" "quit-${NG_DIR##*/}"
	wait_until 5 mp_gone "$NG_PID" ||
		fail "nginx's master (pid $NG_PID) still running 5 s after nginx -s quit"
	for w in $NG_WORKERS; do
		! mp_gone "$w" && [ "$(cat "/proc/$w/comm" 2>/dev/null)" = nginx ] &&
			fail "nginx's worker $w still running after the master quit"
	done
	log "ok: nginx (master $NG_PID) gone after nginx -s quit"
	ng_log_clean "after nginx -s quit"
}

# ------------------------------------------------------------ start, serve
mp_ng_start main
MAIN_WORKERS=$NG_WORKERS
ng_curl_big
ng_wrk
ng_ab -k
ng_ab

log_pids=$(pids_in_log)
log "access log: $(wc -l <"$NG_DIR/access.log") requests, served by pids: $log_pids (workers: $NG_WORKERS, master: $NG_PID)"
[ "$log_pids" = "$NG_WORKERS" ] ||
	fail "the requests were served by pids '$log_pids'; expected both workers and only them ('$NG_WORKERS'; master $NG_PID)"
log "ok: both workers served, the master none"

# ------------------------------------------------------------ reload under load
from=$(($(wc -l <"$NG_DIR/access.log") + 1))
k_bg abreload 60 ab -n 20000 -c 50 -s 10 -r "$NG_URL/small.html"
ABR=$BG_PID
wait_until 10 eval "[ \$(wc -l <'$NG_DIR/access.log') -ge $((from + 2000)) ] || ! kill -0 $ABR 2>/dev/null"
kill -0 "$ABR" 2>/dev/null || pl_fail "ab ended before nginx -s reload could be sent" abreload
log "nginx -s reload with ab running ($(($(wc -l <"$NG_DIR/access.log") - from)) requests in)"
mp_ng_cmd reload -s reload || mp_fail "nginx -s reload failed" reload
bg_wait "$ABR" 60 || pl_fail "ab -n 20000 -c 50 across nginx -s reload exited non-zero" abreload
f=$TMP_DIR/abreload.out
grep -E '^(Complete|Failed|Non-2xx)' "$f" | sed 's/^/    | /'
assert_eq "ab across nginx -s reload: complete requests" 20000 "$(awk '/^Complete requests:/ {print $3}' "$f")"
assert_eq "ab across nginx -s reload: failed requests" 0 "$(awk '/^Failed requests:/ {print $3}' "$f")"
grep -q '^Non-2xx responses:' "$f" && pl_fail "ab across nginx -s reload: $(grep '^Non-2xx' "$f")" abreload
assert_contains "nginx got the reload" "$NG_DIR/error.log" 'signal 1 \(SIGHUP\) received'
# two workers, none of them one from before the reload
new_workers_only() {
	local w
	nworkers_is "$NG_PID" 2 || return 1
	for w in $(workers_of "$NG_PID"); do
		[[ " $MAIN_WORKERS " == *" $w "* ]] && return 1
	done
	return 0
}
wait_until 10 new_workers_only ||
	fail "10 s after nginx -s reload the master's workers are '$(workers_of "$NG_PID")' (expected two new ones; before: $MAIN_WORKERS)"
NG_WORKERS=$(workers_of "$NG_PID")
log "new workers after reload: $NG_WORKERS (old: $MAIN_WORKERS)"
from=$(($(wc -l <"$NG_DIR/access.log") + 1))
k_run abnew 30 ab -n 400 -c 10 "$NG_URL/small.html" || pl_fail "ab -n 400 after the reload failed" abnew
assert_eq "ab -n 400 after the reload: failed requests" 0 "$(awk '/^Failed requests:/ {print $3}' "$TMP_DIR/abnew.out")"
new_pids=$(pids_in_log "$from")
for p in $new_pids; do
	[[ " $NG_WORKERS " == *" $p "* ]] ||
		fail "after the reload, pid $p served a request; expected only the new workers ($NG_WORKERS)"
done
log "ok: after the reload, requests served by the new workers only ($new_pids)"

# ------------------------------------------------------------ quit, and a new nginx at once
mp_ng_quit
mp_ng_start again
grep -q 'Address already in use' "$NG_DIR/error.log" &&
	fail "the new nginx met 'Address already in use' binding port $NG_PORT after the first one quit: $(grep -m 1 'Address already in use' "$NG_DIR/error.log")"
log "ok: a new nginx bound port $NG_PORT at once after the first quit"
k_run again 10 curl -sS -f -o "$TMP_DIR/again.dl" "$NG_URL/small.html" || pl_fail "curl to the new nginx failed" again
cmp -s "$TMP_DIR/www/small.html" "$TMP_DIR/again.dl" || fail "the new nginx served small.html wrong"
mp_ng_quit
log "PASS"

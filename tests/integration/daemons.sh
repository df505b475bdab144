#!/usr/bin/env bash
# daemons: servers that daemonize, on microtcp (issue 12), over AF_PACKET
# (veth) and over a multi-queue TAP (multiproc_lib.bash; kernel 10.61.85.1,
# microtcp 10.61.85.2). Each is started the way its users do, with
# LD_PRELOAD, unmodified (Debian's packages; scripts/deps installs them):
#   lighttpd -f CONF        (no -D: it forks; the parent exits)
#   haproxy -D -f CONF      (a TCP proxy from S:8082 to the kernel's web
#                           server K:8090)
#   redis-server --daemonize yes ...
#   memcached -d ...
# For each, alone on the address first: the started process exits 0 within
# 10 s, the pid file names a live daemon within 5 s, and the daemon serves
# the kernel's client:
#   lighttpd  curl of a 1 MiB file, sha256 equal, 3 times
#   haproxy   curl of the same file through the proxy, sha256 equal, 3 times
#   redis     redis-cli SET then GET from the kernel: the value back
#   memcached set then get (nc from the kernel): STORED, the value back
# and it ends within 5 s of SIGTERM. Then all four at once on the address:
# each serves once more while the others run, and all end.
# Every part is tried even when one fails; the test fails listing each part
# that did (mp_bad).
. "$(dirname "$0")/multiproc_lib.bash"
need lighttpd haproxy redis-server redis-cli memcached curl nc sha256sum

mp_setup 10.61.85
test_cleanup() { mp_cleanup; }
W=$TMP_DIR/www
mkdir -p "$W"
mkdata "$W/f.bin" 1
echo hello-from-lighttpd >"$W/index.html"
HSUM=$(sha256sum <"$W/f.bin" | cut -d' ' -f1)

# the kernel's web server, haproxy's backend
k_bg kweb 200 "$PY" -m http.server --bind "$K" --directory "$W" 8090
KWEB=$BG_PID
wait_until 10 k_listening 8090 || pl_fail "the kernel's web server does not listen on $K:8090" kweb

# ------------------------------------------------------------ configurations
D=$TMP_DIR/d
mkdir -p "$D/lighttpd" "$D/haproxy" "$D/redis" "$D/memcached"
cat >"$D/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$W"
server.bind = "$S"
server.port = 8081
server.pid-file = "$D/lighttpd/lighttpd.pid"
server.errorlog = "$D/lighttpd/error.log"
server.upload-dirs = ( "$D/lighttpd" )
server.max-keep-alive-requests = 100
index-file.names = ( "index.html" )
mimetype.assign = ( ".html" => "text/html", ".bin" => "application/octet-stream" )
EOF
cat >"$D/haproxy/haproxy.cfg" <<EOF
global
    pidfile $D/haproxy/haproxy.pid
    maxconn 1000
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind $S:8082
    default_backend be
backend be
    server kernel $K:8090
EOF

# ------------------------------------------------------------ helpers
declare -A DPID=() DPIDF=() DLOG=()
DPIDF[lighttpd]=$D/lighttpd/lighttpd.pid DLOG[lighttpd]=$D/lighttpd/error.log
DPIDF[haproxy]=$D/haproxy/haproxy.pid DLOG[haproxy]=
DPIDF[redis]=$D/redis/redis.pid DLOG[redis]=$D/redis/redis.log
DPIDF[memcached]=$D/memcached/memcached.pid DLOG[memcached]=

# bad NAME RUN MSG: a failed part, with the tails of RUN and the daemon's log
bad() {
	local name=$1 run=$2 msg=$3 h
	tails "$run"
	if [ -n "${DLOG[$name]}" ] && [ -s "${DLOG[$name]}" ]; then
		echo "---- last lines of ${DLOG[$name]}:" >&2
		tail -n 15 "${DLOG[$name]}" | cut -c 1-300 >&2
	fi
	h=$(mp_hints "$run")
	[ -n "${DPID[$name]:-}" ] && msg="$name daemonized (pid ${DPID[$name]}), but: $msg"
	mp_bad "$name" "$msg${h:+ $h}"
}

# d_cmd NAME: the command line that starts daemon NAME
d_cmd() {
	case $1 in
	lighttpd) CMD=(lighttpd -f "$D/lighttpd/lighttpd.conf") ;;
	haproxy) CMD=(haproxy -D -f "$D/haproxy/haproxy.cfg") ;;
	redis) CMD=(redis-server --daemonize yes --bind "$S" --port 6379
		--pidfile "$D/redis/redis.pid" --logfile "$D/redis/redis.log" --dir "$D/redis"
		--save "" --appendonly no --protected-mode no) ;;
	memcached) CMD=(memcached -d -u root -l "$S" -p 11211 -U 0 -P "$D/memcached/memcached.pid") ;;
	esac
}

# d_start NAME TAG: start daemon NAME on microtcp; it must daemonize
d_start() {
	local name=$1 run=$1-$2 pidf=${DPIDF[$1]} rc pid
	rm -f "$pidf"
	d_cmd "$name"
	mt_bg "$run" 15 "${CMD[@]}"
	bg_wait "$BG_PID" 10
	rc=$?
	[ $rc -eq 0 ] || { bad "$name" "$run" "$name as started did not exit 0 within 10 s (status $rc): it must daemonize"; return 1; }
	wait_until 5 test -s "$pidf" ||
		{ bad "$name" "$run" "$name as started exited 0, but no pid file $pidf within 5 s (the daemon died, or never wrote it)"; return 1; }
	pid=$(tr -dc 0-9 <"$pidf")
	[ -n "$pid" ] && ! mp_gone "$pid" ||
		{ bad "$name" "$run" "$name: the pid file says '$pid', which is not running (the daemon died)"; return 1; }
	DPID[$name]=$pid
	log "$name daemonized: pid $pid ($(cat "/proc/$pid/comm"))"
}

# d_stop NAME: SIGTERM, gone within 5 s
d_stop() {
	local name=$1 pid=${DPID[$1]:-}
	[ -n "$pid" ] || return 0
	DPID[$name]=
	kill -TERM "$pid" 2>/dev/null
	wait_until 5 mp_gone "$pid" ||
		{ mp_bad "$name" "$name (pid $pid) still running 5 s after SIGTERM"; kill -KILL "$pid" 2>/dev/null; return 1; }
	log "ok: $name (pid $pid) ended after SIGTERM"
}

# d_check NAME TAG: daemon NAME serves the kernel's client
d_check() {
	local name=$1 run=$1-$2-cli i got
	case $name in
	lighttpd | haproxy)
		local port=8081
		[ "$name" = haproxy ] && port=8082
		for i in 1 2 3; do
			rm -f "$TMP_DIR/$run.dl"
			k_run "$run" 15 curl -sS -f --max-time 10 -o "$TMP_DIR/$run.dl" "http://$S:$port/f.bin" ||
				{ bad "$name" "$run" "curl http://$S:$port/f.bin (try $i of 3) failed: $(head -c 300 "$TMP_DIR/$run.err")"; return 1; }
			got=$(sha256sum <"$TMP_DIR/$run.dl" | cut -d' ' -f1)
			[ "$got" = "$HSUM" ] ||
				{ bad "$name" "$run" "http://$S:$port/f.bin: $(stat -c %s "$TMP_DIR/$run.dl") bytes, sha256 differs"; return 1; }
		done
		log "ok: $name: 3 x 1 MiB over http://$S:$port, sha256 equal" ;;
	redis)
		k_run "$run-set" 10 redis-cli -h "$S" -p 6379 SET mp-key "value-$2" ||
			{ bad redis "$run-set" "redis-cli SET failed: $(cat "$TMP_DIR/$run-set.out" "$TMP_DIR/$run-set.err" | head -c 300)"; return 1; }
		k_run "$run" 10 redis-cli -h "$S" -p 6379 GET mp-key ||
			{ bad redis "$run" "redis-cli GET failed: $(cat "$TMP_DIR/$run.out" "$TMP_DIR/$run.err" | head -c 300)"; return 1; }
		got=$(cat "$TMP_DIR/$run.out")
		[ "$got" = "value-$2" ] && [ "$(cat "$TMP_DIR/$run-set.out")" = OK ] ||
			{ bad redis "$run" "redis-cli SET mp-key: '$(head -c 100 "$TMP_DIR/$run-set.out")', GET mp-key: '$(head -c 100 <<<"$got")' (expected OK, 'value-$2')"; return 1; }
		log "ok: redis: SET and GET from the kernel" ;;
	memcached)
		printf 'set mp-key 0 0 %d\r\nvalue-%s\r\nget mp-key\r\nquit\r\n' $((6 + ${#2})) "$2" >"$TMP_DIR/$run.in"
		PL_IN=$TMP_DIR/$run.in k_run "$run" 10 nc -n -w 5 "$S" 11211 ||
			{ bad memcached "$run" "nc to $S:11211 failed"; return 1; }
		got=$(tr -d '\r' <"$TMP_DIR/$run.out" | paste -sd ' ')
		[ "$got" = "STORED VALUE mp-key 0 $((6 + ${#2})) value-$2 END" ] ||
			{ bad memcached "$run" "set/get: got '$(head -c 200 <<<"$got")' (expected 'STORED VALUE mp-key 0 $((6 + ${#2})) value-$2 END')"; return 1; }
		log "ok: memcached: set and get from the kernel" ;;
	esac
}

ALL=(redis memcached lighttpd haproxy)

# ------------------------------------------------------------ each alone
for d in "${ALL[@]}"; do
	log "---- $d alone on $S"
	d_start "$d" alone && d_check "$d" alone
	d_stop "$d"
done

# ------------------------------------------------------------ all at once
log "---- all four at once on $S"
for d in "${ALL[@]}"; do
	d_start "$d" together
done
for d in "${ALL[@]}"; do
	[ -n "${DPID[$d]:-}" ] && d_check "$d" together
done
for d in "${ALL[@]}"; do
	d_stop "$d"
done
mp_stop kweb "$KWEB"
mp_bad_end
log "PASS"

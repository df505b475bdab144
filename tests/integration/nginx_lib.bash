# tests/integration/nginx_lib.bash - Debian's nginx (/usr/sbin/nginx,
# unmodified) on microtcp, the kernel's clients (curl, wrk, ab, a client
# holding 1000 keep-alive connections) against it. Shared by nginx_tap.sh
# (TAP device) and nginx_veth.sh (AF_PACKET on a veth pair); sourced after
# lib.sh and preload_lib.bash (not a test itself: tests/run runs only *.sh).
#
#   ng_setup_tap TAG NET   namespace $NS, TAP mt0: kernel NET.1/24 on mt0
#                          (clients run there), nginx on microtcp NET.2/24
#   ng_setup_veth NET      namespaces $NS_STACK (veth end mtv0, nginx on
#                          microtcp NET.2/24, MTCP_DRIVER=packet) and $NS
#                          (= $NS_PEER: veth end mtp0, kernel NET.1/24,
#                          clients run there)
#   ng_start NAME          write $TMP_DIR/NAME/nginx.conf (everything nginx
#                          writes is under $TMP_DIR/NAME), start nginx on
#                          microtcp in the background (bounded by $NG_SECS),
#                          wait for its pid file and a first 200; sets NG_PID
#                          (nginx itself), NG_BG (its timeout(1) wrapper),
#                          NG_DIR, NG_URL (http://S:PORT)
#   ng_stop SIG            SIG to nginx; it must be gone within $NG_STOP_SECS
#                          with status 0, say it got SIG, log nothing at
#                          [warn] or worse, and leave its stderr (where the
#                          preload's warnings go) empty
#   ng_log_clean WHAT      the error log has nothing at [warn] or worse
#   ng_status              nginx's stub_status (/status) into ST_ACTIVE,
#                          ST_ACCEPTS, ST_HANDLED, ST_REQUESTS, ST_READING,
#                          ST_WRITING, ST_WAITING
#   ng_root_check          nginx runs as uid 0 (no user switch) and serves
#                          files from the root-only (0700) $TMP_DIR
#   ng_curl_big            curl fetches the 50 MiB file: sha256 equal
#   ng_wrk                 wrk -t 2 -c 100 -d 5s: no socket error, every
#                          response 200 with the right body length
#   ng_ab [-k]             ab -n 20000 -c 50: all complete, none failed,
#                          no non-2xx (with -k: every request kept alive)
#   ng_holdconns N         N keep-alive connections opened, a GET on each,
#                          all held open (nginx's stub_status and the
#                          kernel's ss agree), a second GET on each: 2N
#                          responses 200, no connection closed or reopened
#   ng_term_idle           a second nginx, SIGTERM while a kept-alive
#                          connection is idle on it
#   ng_ka_latency          ab -k -c 1 -n 50: the median time per request
#                          (kept for ng_ka_latency_check, at the very end)
#   ng_ka_latency_check    that median is under $NG_KA_MS ms: a response of
#                          one full segment and a short tail (small.html is
#                          one) is not held back for the client's delayed
#                          ACK (nginx uncorks with Nagle on, see below)
#
# Any failure also prints the tail of nginx's error log and stderr (the
# preload's messages). PL_KERNEL_ONLY=1 (see preload_lib.bash) runs nginx
# on the kernel at the same address: a check of the test itself.

NGINX=${NGINX:-/usr/sbin/nginx}
NG_PORT=8080
NG_SECS=${NG_SECS:-80}          # backstop for one nginx's whole life
NG_STOP_SECS=${NG_STOP_SECS:-5} # SIGQUIT/SIGTERM to gone
NG_BIG_MIB=50
NG_SMALL_LEN=1234               # bytes in /small.html (with the ~240-byte
                                # header: one 1448-byte segment and a tail)
NG_KA_MS=${NG_KA_MS:-20}        # ng_ka_latency_check's bound
NG_KA_RESULT=
NG_PID=
NG_BG=
NG_DIR=
NG_VIA=                         # "NS DEV": the device microtcp's frames cross

[ -x "$NGINX" ] || fail "$NGINX not found (scripts/deps installs nginx)"
need curl wrk ab ss sha256sum timeout

# 1000 connections: nginx's fds (each stack socket is a kernel fd too) and
# the client's. nginx sets no limit itself when master_process is off.
[ "$(ulimit -n)" -ge 8192 ] || ulimit -n 8192 ||
	fail "could not raise RLIMIT_NOFILE to 8192 (ulimit -n)"

# fail, preceded by nginx's error log and stderr when there is one.
eval "_ng_lib_fail() $(declare -f fail | tail -n +2)"
fail() {
	if [ -n "$NG_DIR" ]; then
		local f
		for f in "$NG_DIR/error.log" "$NG_DIR/stderr" "$NG_DIR/stdout"; do
			[ -s "$f" ] || continue
			echo "---- last lines of $f:" >&2
			tail -n 30 "$f" | cut -c 1-300 >&2
		done
	fi
	_ng_lib_fail "$@"
}

# ---------------------------------------------------------------- topologies

ng_setup_tap() { # TAG NET
	pl_setup "$1" "$2"
	NG_NS=$NS                       # where nginx runs
	NG_VIA="$NS mt0"
}

ng_setup_veth() { # NET
	make_ns NS_STACK s
	make_ns NS_PEER p
	veth_topology "$NS_STACK" "$NS_PEER" "$1.1/24"
	K=$1.1 S=$1.2
	NS=$NS_PEER                     # the kernel's clients run here (k_run)
	NG_NS=$NS_STACK
	NG_VIA="$NS_PEER mtp0"
	MT_OPTS=(--netns "$NS_STACK" --driver packet --iface mtv0 --addr "$S/24" --mac "$PL_MAC")
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		run ip -n "$NS_STACK" addr add "$S/24" dev mtv0 || fail "addr add $S failed"
		log "PL_KERNEL_ONLY=1: $S is the kernel's (on mtv0); nothing runs on microtcp"
	fi
}

# _ng_dev_bytes: bytes through the peer's device, both directions
_ng_dev_bytes() { dev_bytes "${NG_VIA% *}" "${NG_VIA#* }"; }

# ng_via WHAT MIN BEFORE: at least MIN bytes crossed the device since
# BEFORE (_ng_dev_bytes): the traffic went through microtcp's device.
ng_via() {
	[ "$PL_KERNEL_ONLY" = 1 ] && return 0
	local moved=$(($(_ng_dev_bytes) - $3))
	[ "$moved" -ge "$2" ] ||
		fail "$1: only $moved bytes crossed ${NG_VIA#* } (expected >= $2): not served by microtcp"
	log "ok: $1: $moved bytes crossed ${NG_VIA#* }"
}

# ---------------------------------------------------------------- content

# ng_www: the files nginx serves (one copy for every nginx of the test)
ng_www() {
	[ -d "$TMP_DIR/www" ] && return 0
	mkdir -p "$TMP_DIR/www"
	mkdata "$TMP_DIR/www/big.bin" "$NG_BIG_MIB"
	head -c "$NG_SMALL_LEN" /dev/urandom | base64 -w 76 | head -c "$NG_SMALL_LEN" \
		>"$TMP_DIR/www/small.html"
	[ "$(stat -c %s "$TMP_DIR/www/small.html")" = "$NG_SMALL_LEN" ] ||
		fail "could not write small.html"
}

# ng_conf DIR [WORKERS]: nginx.conf, every path under DIR. Without WORKERS,
# one process in the foreground (access log off); with it, nginx's default
# process model: a daemon, a master and WORKERS workers, and an access log
# naming the process that served each request.
ng_conf() {
	local d=$1 workers=${2:-} head access
	mkdir -p "$d/tmp"
	if [ -n "$workers" ]; then
		head="# nginx on microtcp ($TEST_NAME): the default process model, as root.
user root;
daemon on;
master_process on;
worker_processes $workers;"
		access="log_format withpid '\$pid \$status \$body_bytes_sent \"\$request\"';
    access_log $d/access.log withpid;"
	else
		head="# nginx on microtcp ($TEST_NAME): one process, in the foreground, as root.
user root;
master_process off;
daemon off;
worker_processes 1;"
		access="access_log off;"
	fi
	cat >"$d/nginx.conf" <<EOF
$head
pid $d/nginx.pid;
error_log $d/error.log info;

events {
    use epoll;
    worker_connections 4096;
}

http {
    $access
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 60s;
    keepalive_requests 100000;

    types {
        text/html html;
        application/octet-stream bin;
    }
    default_type application/octet-stream;

    client_body_temp_path $d/tmp/client_body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;

    server {
        listen $S:$NG_PORT backlog=1024;
        server_name nginx-on-microtcp;
        root $TMP_DIR/www;
        location = /status {
            stub_status;
        }
    }
}
EOF
}

# ---------------------------------------------------------------- nginx

ng_start() { # NAME
	local name=$1 i
	local -a cmd
	ng_www
	NG_DIR=$TMP_DIR/$name
	ng_conf "$NG_DIR"
	NG_URL=http://$S:$NG_PORT
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		cmd=(ip netns exec "$NG_NS")
	else
		# --lib: the library of $MTCP_BUILD (tests/run --build DIR)
		cmd=("$MTCP" run --lib "$PL_LIB" "${MT_OPTS[@]}")
		[ "${PL_PCAP:-0}" = 1 ] && cmd+=(--pcap "$NG_DIR/nginx.pcap")
		cmd+=(--)
	fi
	cmd+=("$NGINX" -p "$NG_DIR/" -c "$NG_DIR/nginx.conf" -e "$NG_DIR/error.log")
	log "starting nginx ($name) in $NG_NS: ${cmd[*]}"
	timeout -k 5 "$NG_SECS" "${cmd[@]}" >"$NG_DIR/stdout" 2>"$NG_DIR/stderr" </dev/null &
	NG_BG=$!
	NG_PID=
	for ((i = 0; i < 100; i++)); do
		[ -s "$NG_DIR/nginx.pid" ] && break
		kill -0 "$NG_BG" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$NG_DIR/nginx.pid" ]; then
		local st=running
		if ! kill -0 "$NG_BG" 2>/dev/null; then
			wait "$NG_BG"; st="exited with status $?"
		fi
		NG_BG=
		fail "nginx wrote no pid file within 5 s ($st)"
	fi
	NG_PID=$(cat "$NG_DIR/nginx.pid")
	[ "$(cat "/proc/$NG_PID/comm" 2>/dev/null)" = nginx ] ||
		fail "pid file says $NG_PID, which is not nginx"
	# The pid file is written after the listening socket is bound; nginx
	# may still be setting up epoll: retry the first request for 5 s.
	for ((i = 0; i < 20; i++)); do
		ip netns exec "$NS" timeout 3 curl -sS -f --max-time 1 -o /dev/null \
			"$NG_URL/small.html" 2>"$NG_DIR/probe.err" && break
		kill -0 "$NG_BG" 2>/dev/null || break
		sleep 0.25
	done
	[ $i -lt 20 ] && kill -0 "$NG_BG" 2>/dev/null ||
		fail "nginx (pid $NG_PID) did not serve $NG_URL/small.html within 5 s: $(cat "$NG_DIR/probe.err")"
	log "nginx ($name) pid $NG_PID serves $NG_URL"
	assert_contains "nginx uses epoll" "$NG_DIR/error.log" 'using the "epoll" event method'
}

# ng_log_clean WHAT: no [warn], [error], [crit], [alert] or [emerg] in the
# error log (a [warn] would be e.g. worker_connections over RLIMIT_NOFILE)
ng_log_clean() {
	local bad
	bad=$(grep -E '\[(warn|error|crit|alert|emerg)\]' "$NG_DIR/error.log" | head -n 10)
	[ -z "$bad" ] || fail "$1: nginx's error log has:"$'\n'"$bad"
	log "ok: $1: nothing at [warn] or worse in $(wc -l <"$NG_DIR/error.log") lines of error.log"
}

ng_stop() { # SIG (QUIT or TERM)
	local sig=$1 num t0 t1 rc
	[ -n "$NG_BG" ] || fail "ng_stop: no nginx running"
	num=$(kill -l "$sig")
	kill -0 "$NG_PID" 2>/dev/null || fail "nginx (pid $NG_PID) is gone before SIG$sig"
	t0=$EPOCHREALTIME
	kill "-$sig" "$NG_PID"
	# $NG_BG (timeout) ends as soon as nginx does, with its status
	bg_wait "$NG_BG" "$NG_STOP_SECS"
	rc=$?
	t1=$EPOCHREALTIME
	NG_BG=
	[ $rc -ne 124 ] || fail "nginx (pid $NG_PID) still running $NG_STOP_SECS s after SIG$sig (killed)"
	kill -0 "$NG_PID" 2>/dev/null && fail "nginx (pid $NG_PID) left running after SIG$sig"
	log "nginx stopped $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}') s after SIG$sig"
	assert_eq "nginx's exit status after SIG$sig" 0 "$rc"
	assert_contains "nginx got SIG$sig" "$NG_DIR/error.log" "signal $num \\(SIG$sig\\) received"
	ng_log_clean "after SIG$sig"
	[ ! -s "$NG_DIR/stderr" ] ||
		fail "nginx's stderr (the preload's warnings) is not empty:"$'\n'"$(head -n 20 "$NG_DIR/stderr")"
	log "ok: nothing on nginx's stderr (no warning from the preload)"
}

# ng_status: nginx's own counters (stub_status)
ng_status() {
	local out
	out=$(ip netns exec "$NS" timeout 5 curl -sS -f --max-time 4 "$NG_URL/status") ||
		fail "GET /status failed"
	read -r ST_ACTIVE ST_ACCEPTS ST_HANDLED ST_REQUESTS ST_READING ST_WRITING ST_WAITING < <(
		awk '/^Active connections:/ {a = $3}
		     /^ *[0-9]+ +[0-9]+ +[0-9]+ *$/ {ac = $1; h = $2; r = $3}
		     /^Reading:/ {print a, ac, h, r, $2, $4, $6}' <<<"$out")
	[[ ${ST_WAITING:-} =~ ^[0-9]+$ ]] || fail "cannot parse /status:"$'\n'"$out"
	log "nginx status: active $ST_ACTIVE, accepts $ST_ACCEPTS, handled $ST_HANDLED," \
		"requests $ST_REQUESTS, reading $ST_READING, writing $ST_WRITING, waiting $ST_WAITING"
}

# ---------------------------------------------------------------- checks

ng_root_check() {
	local uid
	uid=$(awk '/^Uid:/ {print $2 $3 $4 $5}' "/proc/$NG_PID/status")
	assert_eq "nginx's uids (real, effective, saved, fs): no user switch" 0000 "$uid"
	assert_eq "mode of TMP_DIR (only root may read what nginx serves)" 700 \
		"$(stat -c %a "$TMP_DIR")"
	k_run small 10 curl -sS -f -o "$TMP_DIR/small.dl" -w "$CURL_W" "$NG_URL/small.html" ||
		pl_fail "curl $NG_URL/small.html failed" small
	cmp -s "$TMP_DIR/www/small.html" "$TMP_DIR/small.dl" ||
		fail "small.html as served differs from the file"
	log "ok: nginx as root served small.html ($NG_SMALL_LEN bytes) from the 0700 directory"
}

ng_curl_big() {
	local b0
	b0=$(_ng_dev_bytes)
	k_run big 30 curl -sS -f -o "$TMP_DIR/big.dl" -w "$CURL_W" "$NG_URL/big.bin" ||
		pl_fail "curl $NG_URL/big.bin ($NG_BIG_MIB MiB) failed" big
	log "curl: $(curl_rate "$TMP_DIR/big.out")"
	local ha hb
	ha=$(sha256sum <"$TMP_DIR/www/big.bin" | cut -d' ' -f1)
	hb=$(sha256sum <"$TMP_DIR/big.dl" | cut -d' ' -f1)
	[ "$ha" = "$hb" ] ||
		fail "curl $NG_URL/big.bin: sha256 differs: served $(stat -c %s "$TMP_DIR/www/big.bin") bytes ($ha), got $(stat -c %s "$TMP_DIR/big.dl") bytes ($hb)"
	log "ok: curl $NG_URL/big.bin: $(stat -c %s "$TMP_DIR/big.dl") bytes, sha256 equal (${ha:0:16}...)"
	rm -f "$TMP_DIR/big.dl"
	ng_via "curl $NG_URL/big.bin" $((NG_BIG_MIB * 1048576)) "$b0"
}

# wrk's own counters, and every response checked (status 200, body length)
ng_wrk() {
	cat >"$TMP_DIR/wrk.lua" <<EOF
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) non200 = 0; badlen = 0; n = 0 end
function response(status, headers, body)
  n = n + 1
  if status ~= 200 then non200 = non200 + 1 end
  if #body ~= $NG_SMALL_LEN then badlen = badlen + 1 end
end
function done(summary, latency, requests)
  local a, b, c = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("non200"); b = b + t:get("badlen"); c = c + t:get("n")
  end
  local e = summary.errors
  io.write(string.format("WRK requests %d responses %d non200 %d badlen %d connect %d read %d write %d status %d timeout %d\n",
    summary.requests, c, a, b, e.connect, e.read, e.write, e.status, e.timeout))
end
EOF
	k_run wrk 20 wrk -t 2 -c 100 -d 5s --timeout 5s -s "$TMP_DIR/wrk.lua" "$NG_URL/small.html" ||
		pl_fail "wrk failed" wrk
	sed 's/^/    | /' "$TMP_DIR/wrk.out"
	local r
	r=$(grep '^WRK ' "$TMP_DIR/wrk.out") || pl_fail "wrk printed no WRK summary" wrk
	local -A w=()
	set -- ${r#WRK }
	while [ $# -ge 2 ]; do w[$1]=$2; shift 2; done
	local k
	for k in connect read write timeout status non200 badlen; do
		[ "${w[$k]}" = 0 ] || pl_fail "wrk: $k = ${w[$k]} (expected 0): $r" wrk
	done
	assert_ge "wrk -c 100 -d 5s: requests completed" "${w[requests]}" 1000
	log "ok: wrk: ${w[requests]} requests, all 200 with $NG_SMALL_LEN-byte bodies, no socket errors"
}

# ng_ab [-k]: ab -n 20000 -c 50
ng_ab() {
	local a=${1:-} n=20000 v
	local name=ab${a#-}
	k_run "$name" 60 ab -n $n -c 50 -s 10 -r "$@" "$NG_URL/small.html" ||
		pl_fail "ab $* exited non-zero" "$name"
	local f=$TMP_DIR/$name.out
	grep -E '^(Complete|Failed|Non-2xx|Keep-Alive|Requests per|Time taken|Total transferred|HTML transferred)' "$f" |
		sed 's/^/    | /'
	v=$(awk '/^Complete requests:/ {print $3}' "$f")
	assert_eq "ab $*: complete requests" "$n" "$v"
	v=$(awk '/^Failed requests:/ {print $3}' "$f")
	assert_eq "ab $*: failed requests" 0 "$v"
	grep -q '^Non-2xx responses:' "$f" && pl_fail "ab $*: $(grep '^Non-2xx' "$f")" "$name"
	v=$(awk '/^HTML transferred:/ {print $3}' "$f")
	assert_eq "ab $*: body bytes" $((n * NG_SMALL_LEN)) "$v"
	if [ "${1:-}" = -k ]; then
		v=$(awk '/^Keep-Alive requests:/ {print $3}' "$f")
		assert_eq "ab -k: keep-alive requests" "$n" "$v"
	fi
}

# The client: N keep-alive connections, a GET on each, held, a second GET.
_ng_holdconns_py() {
	cat >"$TMP_DIR/holdconns.py" <<'PY'
"""holdconns.py HOST PORT N PATH BODYFILE HELDFILE GOFILE SECS

Open N TCP connections to HOST:PORT (non-blocking, one selector), send
"GET PATH" (HTTP/1.1, keep-alive) on each and read every response: status
200, body equal to BODYFILE, no "Connection: close". Keep all N open, write
HELDFILE, and wait (up to SECS) for GOFILE to appear: a connection that
becomes readable meanwhile (closed or reset by the server) fails the run.
Then a second GET on every one of the same connections, every response
checked again. Never reconnects. Exit 0 and a RESULT line, or exit 1 with
the reason.
"""
import os, selectors, socket, sys, time

host, port, n, path, bodyfile, heldfile, gofile, secs = sys.argv[1:]
port, n, secs = int(port), int(n), float(secs)
body = open(bodyfile, "rb").read()
req = ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode()
deadline = time.monotonic() + secs
sel = selectors.DefaultSelector()

def die(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)

class Conn:
    def __init__(self, i):
        self.i = i
        self.s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setblocking(False)
        self.buf = b""
        self.responses = 0
        self.state = "connecting"
        self.local = None

    def send_get(self):
        if self.s.send(req) != len(req):
            die("conn %d: short send of the request" % self.i)
        self.state = "reading"
        sel.modify(self.s, selectors.EVENT_READ, self)

    def on_event(self):
        if self.state == "connecting":
            err = self.s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                die("conn %d: connect: %s" % (self.i, os.strerror(err)))
            self.local = self.s.getsockname()
            self.send_get()
            return False
        try:
            d = self.s.recv(65536)
        except OSError as e:
            die("conn %d (after %d responses): recv: %s" % (self.i, self.responses, e))
        if not d:
            die("conn %d: closed by the server after %d responses (state %s, %d bytes pending)"
                % (self.i, self.responses, self.state, len(self.buf)))
        if self.state != "reading":
            die("conn %d: %d unexpected bytes while idle" % (self.i, len(d)))
        self.buf += d
        h = self.buf.find(b"\r\n\r\n")
        if h < 0:
            return False
        lines = self.buf[:h].decode("latin-1").split("\r\n")
        st = lines[0].split()
        hdr = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            hdr[k.strip().lower()] = v.strip()
        clen = int(hdr.get("content-length", "-1"))
        if len(st) < 2 or st[1] != "200" or clen != len(body):
            die("conn %d: response %d: %r, content-length %d (want 200, %d)"
                % (self.i, self.responses + 1, lines[0], clen, len(body)))
        if hdr.get("connection", "").lower() == "close":
            die("conn %d: the server says Connection: close" % self.i)
        if len(self.buf) < h + 4 + clen:
            return False
        if len(self.buf) > h + 4 + clen:
            die("conn %d: %d bytes beyond the response" % (self.i, len(self.buf) - h - 4 - clen))
        if self.buf[h + 4:] != body:
            die("conn %d: response %d: the body differs from the file" % (self.i, self.responses + 1))
        self.buf = b""
        self.responses += 1
        self.state = "idle"
        return True

def run_until(conns, want, what):
    done = sum(1 for c in conns if c.state == "idle" and c.responses == want)
    while done < len(conns):
        t = deadline - time.monotonic()
        if t <= 0:
            left = [c for c in conns if not (c.state == "idle" and c.responses == want)]
            die("%s: %d of %d connections not done within %.0f s (e.g. conn %d, state %s)"
                % (what, len(left), len(conns), secs, left[0].i, left[0].state))
        for key, _ in sel.select(min(t, 1.0)):
            if key.data.on_event() and key.data.responses == want:
                done += 1

t0 = time.monotonic()
conns = []
for i in range(n):
    c = Conn(i)
    e = c.s.connect_ex((host, port))
    if e not in (0, 115):      # EINPROGRESS
        die("conn %d: connect: %s" % (i, os.strerror(e)))
    sel.register(c.s, selectors.EVENT_WRITE, c)
    conns.append(c)
run_until(conns, 1, "first GET")
ports = {c.local for c in conns}
if len(ports) != n:
    die("only %d distinct local addresses for %d connections" % (len(ports), n))
print("phase 1: %d connections, each answered 200 with %d bytes, in %.2f s"
      % (n, len(body), time.monotonic() - t0), flush=True)

# Held: nothing may arrive (an EOF or RST would make a socket readable).
open(heldfile, "w").close()
while not os.path.exists(gofile):
    if time.monotonic() > deadline:
        die("no %s within %.0f s" % (gofile, secs))
    for key, _ in sel.select(0.05):
        key.data.on_event()    # dies: closed, reset or unexpected data
for c in conns:
    if c.s.getsockname() != c.local:
        die("conn %d: local address changed" % c.i)

t1 = time.monotonic()
for c in conns:
    c.send_get()
run_until(conns, 2, "second GET")
print("phase 2: the same %d connections, a second GET on each answered 200, in %.2f s"
      % (n, time.monotonic() - t1), flush=True)
print("RESULT connections %d responses %d reconnects 0" % (n, 2 * n), flush=True)
for c in conns:
    c.s.close()
PY
}

ng_holdconns() { # N
	local n=$1 held=$TMP_DIR/held go=$TMP_DIR/go est a0 r0
	_ng_holdconns_py
	rm -f "$held" "$go"
	local syn0
	syn0=$(_ng_synretrans)
	ng_status
	a0=$ST_ACCEPTS r0=$ST_REQUESTS
	[ "$ST_ACTIVE" = 1 ] || fail "nginx has $ST_ACTIVE connections before the $n (expected 1: the status request)"
	k_bg hold 40 "$PY" -u "$TMP_DIR/holdconns.py" "$S" "$NG_PORT" "$n" /small.html \
		"$TMP_DIR/www/small.html" "$held" "$go" 30
	local hold=$BG_PID
	wait_until 25 test -e "$held" || {
		bg_wait "$hold" 1
		pl_fail "the client did not get a first response on all $n connections" hold
	}
	log "$(head -n 1 "$TMP_DIR/hold.out")"
	log "(SYNs the kernel's clients retransmitted meanwhile: $(($(_ng_synretrans) - syn0)))"
	# Held: the kernel's view (its end of each connection) and nginx's
	est=$(ip netns exec "$NS" ss -Htn state established "( dport = :$NG_PORT )" | wc -l)
	assert_eq "kernel: established connections to $S:$NG_PORT while held" "$n" "$est"
	ng_status
	assert_eq "nginx: active connections while held ($n + the status request)" $((n + 1)) "$ST_ACTIVE"
	assert_eq "nginx: idle keep-alive connections (waiting) while held" "$n" "$ST_WAITING"
	touch "$go"
	bg_wait "$hold" 30 || pl_fail "the client holding $n connections failed" hold
	sed -n '2,$p' "$TMP_DIR/hold.out" | sed 's/^/    | /'
	assert_contains "the client's result" "$TMP_DIR/hold.out" "^RESULT connections $n responses $((2 * n)) reconnects 0\$"
	ng_status
	# two /status requests besides the client's own
	assert_eq "nginx: connections accepted for the $n-connection client (+2 status)" \
		$((n + 2)) $((ST_ACCEPTS - a0))
	assert_eq "nginx: requests served to it (+2 status)" $((2 * n + 2)) $((ST_REQUESTS - r0))
	wait_until 5 ng_active_is 1 || fail "nginx still has $ST_ACTIVE connections 5 s after the client closed its $n"
	log "ok: all $n connections closed on nginx's side"
}

# _ng_synretrans: the clients' namespace's count of retransmitted SYNs
_ng_synretrans() {
	ip netns exec "$NS" nstat -saz TcpExtTCPSynRetrans 2>/dev/null |
		awk '$1 == "TcpExtTCPSynRetrans" {n = $2} END {print n + 0}'
}

ng_active_is() { ng_status >/dev/null; [ "$ST_ACTIVE" = "$1" ]; }

# A second nginx, SIGTERM while a kept-alive connection is idle on it.
ng_term_idle() {
	ng_start term
	k_bg idle 20 "$PY" -u -c '
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
s.sendall(b"GET /small.html HTTP/1.1\r\nHost: x\r\n\r\n")
d = b""
while b"\r\n\r\n" not in d:
    d += s.recv(65536)
print(d.split(b"\r\n")[0].decode(), flush=True)
open(sys.argv[3], "w").close()
s.settimeout(15)
try:
    r = s.recv(65536)
    while r and len(r) < 2000:
        r = s.recv(65536)
    print("the server closed the idle connection" if not r else "more data", flush=True)
except OSError as e:
    print("the server ended the idle connection: %s" % e, flush=True)
' "$S" "$NG_PORT" "$TMP_DIR/idle.ready"
	local idle=$BG_PID
	wait_until 10 test -e "$TMP_DIR/idle.ready" || pl_fail "the idle client got no response" idle
	ng_status
	assert_eq "nginx: idle keep-alive connections before SIGTERM" 1 "$ST_WAITING"
	ng_stop TERM
	bg_wait "$idle" 10 || pl_fail "the idle client did not end after nginx did" idle
	log "idle client: $(tail -n 1 "$TMP_DIR/idle.out")"
}

# Keep-alive requests one at a time on one connection. nginx (tcp_nopush
# on) answers each with TCP_CORK on, writev(header), sendfile(body),
# TCP_CORK off, and never sets TCP_NODELAY in between: Linux sends the
# short tail at uncork (Minshall's Nagle: no short segment is unacked, the
# full one in flight does not count), so every request takes well under a
# millisecond here. A stack that holds the tail until everything sent is
# acked waits for the client's delayed ACK: ~40 ms per request.
ng_ka_latency() {
	k_run abseq 20 ab -k -n 50 -c 1 "$NG_URL/small.html" ||
		pl_fail "ab -k -n 50 -c 1 exited non-zero" abseq
	local med mean
	med=$(awk '$1 == "50%" {print $2}' "$TMP_DIR/abseq.out")
	mean=$(awk '/^Time per request:/ {print $4; exit}' "$TMP_DIR/abseq.out")
	_num "$med" "median time per request (ab -k -c 1)"
	NG_KA_RESULT="$med $mean"
	log "ab -k -n 50 -c 1: median $med ms, mean $mean ms per request (checked at the end: < $NG_KA_MS ms)"
}

ng_ka_latency_check() {
	[ -n "$NG_KA_RESULT" ] || fail "ng_ka_latency did not run"
	local med=${NG_KA_RESULT% *} mean=${NG_KA_RESULT#* }
	[ "$med" -lt "$NG_KA_MS" ] ||
		fail "keep-alive responses of one full segment plus a short tail are held back:" \
			"ab -k -c 1 median $med ms per request, mean $mean ms (expected < $NG_KA_MS ms;" \
			"the kernel: < 1 ms). nginx uncorks (TCP_CORK 0, no TCP_NODELAY) with a" \
			"full segment unacked; Linux sends the tail then (Minshall's Nagle), the stack" \
			"waits for the client's delayed ACK (~40 ms)"
	log "ok: keep-alive request-response median $med ms (< $NG_KA_MS ms)"
}

# ng_all_checks: every check, in order, on the topology set up before
# (ng_setup_tap or ng_setup_veth).
ng_all_checks() {
	ng_start main
	ng_root_check
	ng_curl_big
	ng_wrk
	ng_ab -k
	ng_ab
	wait_until 5 ng_active_is 1 || fail "nginx still has $ST_ACTIVE connections after ab"
	ng_holdconns 1000
	ng_ka_latency
	ng_stop QUIT
	ng_term_idle
	ng_ka_latency_check
}

#!/usr/bin/env bash
# preload_http: real HTTP programs on microtcp (LD_PRELOAD through
# scripts/mtcp run), a kernel peer in the same namespace over TAP mt0
# (kernel 10.61.50.1, microtcp 10.61.50.2):
#   - curl, wget and python3's urllib download 20 MiB from the kernel's
#     python3 -m http.server: sha256 equal
#   - a python3 asyncio client (epoll, non-blocking connect) downloads 20 MiB
#   - curl fetches two files over one kept-alive connection (HTTP/1.1
#     server), and gets "connection refused" (exit 7) from a closed port
#   - python3 -m http.server runs on microtcp; the kernel's curl downloads
#     20 MiB from it, twice (two connections to one listener), then 4
#     downloads at once: sha256 equal
. "$(dirname "$0")/lib.sh"
. "$LIB_DIR/preload_lib.bash"
need curl wget ss sha256sum

pl_setup h 10.61.50
mkdir -p "$TMP_DIR/www"
mkdata "$TMP_DIR/www/f20" 20
mkdata "$TMP_DIR/www/f2" 2
F=$TMP_DIR/www/f20

# ------------------------------------------------------------ clients
k_bg khttp 50 "$PY" -u -m http.server 8000 --bind "$K" --directory "$TMP_DIR/www" --protocol HTTP/1.1
KHTTP=$BG_PID
wait_until 5 k_listening 8000 || pl_fail "kernel http.server not listening on $K:8000" khttp

mt_run curl 20 curl -sS -f -o "$TMP_DIR/curl.dl" \
	-w "$CURL_W" "http://$K:8000/f20" ||
	pl_fail "curl on microtcp failed" curl khttp
log "curl: $(curl_rate "$TMP_DIR/curl.out")"
same_file "curl http://$K:8000/f20" "$F" "$TMP_DIR/curl.dl" curl khttp

mt_run wget 20 wget -nv -O "$TMP_DIR/wget.dl" "http://$K:8000/f20" ||
	pl_fail "wget on microtcp failed" wget khttp
same_file "wget http://$K:8000/f20" "$F" "$TMP_DIR/wget.dl" wget khttp

mt_run urllib 20 "$PY" -c '
import sys, time, urllib.request
t = time.monotonic()
with urllib.request.urlopen(sys.argv[1], timeout=15) as r, open(sys.argv[2], "wb") as f:
    n = 0
    while True:
        b = r.read(1 << 16)
        if not b:
            break
        n += f.write(b)
print("urllib: status %d, %d bytes in %.2f s" % (r.status, n, time.monotonic() - t))
' "http://$K:8000/f20" "$TMP_DIR/urllib.dl" || pl_fail "python3 urllib on microtcp failed" urllib khttp
log "$(cat "$TMP_DIR/urllib.out")"
same_file "python3 urllib http://$K:8000/f20" "$F" "$TMP_DIR/urllib.dl" urllib khttp
mt_run aio 20 "$PY" -c '
import asyncio, sys
async def main(host, port, out):
    r, w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 10)
    w.write(b"GET /f20 HTTP/1.0\r\nHost: x\r\nConnection: close\r\n\r\n")
    await w.drain()
    data = await asyncio.wait_for(r.read(), 15)
    w.close()
    await w.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    print(head.split(b"\r\n")[0].decode(), len(body))
    open(out, "wb").write(body)
asyncio.run(main(*sys.argv[1:]))
' "$K" 8000 "$TMP_DIR/aio.dl" || pl_fail "python3 asyncio client on microtcp failed" aio khttp
log "asyncio: $(cat "$TMP_DIR/aio.out")"
same_file "python3 asyncio GET http://$K:8000/f20" "$F" "$TMP_DIR/aio.dl" aio khttp

mt_run keep 20 curl -sS -f -o "$TMP_DIR/keep1.dl" -o "$TMP_DIR/keep2.dl" \
	-w '%{num_connects}\n' "http://$K:8000/f2" "http://$K:8000/f20" ||
	pl_fail "curl on microtcp: two files on one connection failed" keep khttp
same_file "curl, 1st of 2 on one connection" "$TMP_DIR/www/f2" "$TMP_DIR/keep1.dl" keep khttp
same_file "curl, 2nd of 2 on one connection" "$F" "$TMP_DIR/keep2.dl" keep khttp
assert_eq "connections curl opened for the two files (-w num_connects)" "1 0" "$(echo $(cat "$TMP_DIR/keep.out"))"
bg_stop "$KHTTP"

mt_run refused 10 curl -sS "http://$K:8999/"
rc=$?
assert_eq "curl on microtcp to a closed port: exit status (7: could not connect)" 7 "$rc"
assert_contains "curl says why" "$TMP_DIR/refused.err" "Connection refused|Couldn't connect"

# ------------------------------------------------------------ server
mt_bg mhttp 40 "$PY" -u -m http.server 8001 --bind "$S" --directory "$TMP_DIR/www"
MHTTP=$BG_PID
wait_grep 10 "$TMP_DIR/mhttp.out" '^Serving HTTP' ||
	pl_fail "python3 http.server on microtcp did not say 'Serving HTTP' within 10 s" mhttp
for i in 1 2; do
	k_run kcurl$i 20 curl -sS -f -o "$TMP_DIR/kcurl$i.dl" \
		-w "$CURL_W" "http://$S:8001/f20" ||
		pl_fail "the kernel's curl from http.server on microtcp failed (fetch $i)" kcurl$i mhttp
	log "kernel curl: $(curl_rate "$TMP_DIR/kcurl$i.out")"
	same_file "kernel curl http://$S:8001/f20 (fetch $i)" "$F" "$TMP_DIR/kcurl$i.dl" kcurl$i mhttp
done
pids=()
for i in 3 4 5 6; do
	k_bg kcurl$i 30 curl -sS -f -o "$TMP_DIR/kcurl$i.dl" "http://$S:8001/f20"
	pids+=($BG_PID)
done
for i in 3 4 5 6; do
	bg_wait "${pids[i - 3]}" 30 || pl_fail "kernel curl $((i - 2)) of 4 at once failed" kcurl$i mhttp
	same_file "kernel curl $((i - 2)) of 4 at once" "$F" "$TMP_DIR/kcurl$i.dl" kcurl$i mhttp
done
kill -0 "$MHTTP" 2>/dev/null || pl_fail "http.server on microtcp ended by itself" mhttp
bg_stop "$MHTTP"
assert_eq "requests logged by http.server on microtcp" 6 \
	"$(grep -c '"GET /f20 HTTP/1.1" 200' "$TMP_DIR/mhttp.err")"
log "PASS"

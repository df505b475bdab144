#!/usr/bin/env bash
# vsftpd: an FTP server that forks per session, on microtcp (issue 13),
# on the kernel first (the test proves itself), then on microtcp over
# AF_PACKET (veth) and over a multi-queue TAP (multiproc_lib.bash; kernel
# 10.61.132.1, microtcp 10.61.132.2).
# Debian's vsftpd, unmodified, standalone (listen=YES, background=NO) on
# S:2121 with a configuration written here: anonymous login, uploads into
# a temp root, and nothing that needs more than this namespace (isolate=NO,
# isolate_network=NO, seccomp_sandbox=NO). In both of its process models:
#   one_process   one_process_model=YES: the listener forks a process per
#                 session, which serves the control connection (inherited
#                 across fork) and makes the data connections itself;
#   privsep       the default: the session's process forks an unprivileged
#                 child that speaks FTP on the inherited control
#                 connection, while the privileged parent makes every data
#                 connection (PASV: listens and accepts; PORT: connects)
#                 and passes it to the child over a unix socket
#                 (SCM_RIGHTS);
# from the kernel (curl): a passive (PASV) and an active (PORT) download
# and a passive and an active upload, 20 MiB each, sha256 equal; vsftpd
# ends on SIGTERM. Every part is tried even when one fails; the test fails
# listing each that did (mp_bad).
MP_DRIVERS_DEFAULT="kernel packet tap"
. "$(dirname "$0")/multiproc_lib.bash"
need vsftpd curl sha256sum
getent passwd ftp >/dev/null ||
	fail "no user 'ftp' (vsftpd's anonymous user; Debian's vsftpd package creates it)"

PORT=2121 MIB=20
MODELS=${VSFTPD_MODELS:-one_process privsep}
mp_setup 10.61.132
test_cleanup() { mp_cleanup; }

D=$TMP_DIR/ftp
mkdir -p "$D/root/up" "$D/empty"
# vsftpd refuses an anonymous root the ftp user can write; uploads go to up/
chmod 755 "$TMP_DIR" "$D" "$D/root" "$D/empty"
chown ftp "$D/root/up"
mkdata "$D/root/f.bin" $MIB
chmod 644 "$D/root/f.bin"
SUM=$(sha256sum <"$D/root/f.bin" | cut -d' ' -f1)

# conf MODEL: vsftpd's configuration for MODEL, in $D/MODEL.conf
conf() {
	local one=NO
	[ "$1" = one_process ] && one=YES
	cat >"$D/$1.conf" <<EOC
listen=YES
listen_ipv6=NO
background=NO
listen_address=$S
listen_port=$PORT
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$D/root
ftp_username=ftp
nopriv_user=nobody
write_enable=YES
anon_upload_enable=YES
secure_chroot_dir=$D/empty
pasv_enable=YES
pasv_min_port=30000
pasv_max_port=30100
port_enable=YES
connect_from_port_20=NO
isolate=NO
isolate_network=NO
seccomp_sandbox=NO
one_process_model=$one
xferlog_enable=YES
vsftpd_log_file=$D/$1.log
log_ftp_protocol=YES
EOC
}

ftp_listening() {
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		[ -n "$(ip netns exec "$NS_STACK" ss -Hltn "sport = :$PORT")" ]
	else
		# nothing of microtcp shows in ss: a connection is accepted (a
		# session that is only a probe, whether or not it works)
		ip netns exec "$NS_PEER" timeout 2 bash -c ": <>/dev/tcp/$S/$PORT" 2>/dev/null
	fi
}

# bad MODEL PART MSG RUN...: a failed part, with the tails of RUN and the
# end of vsftpd's log
bad() {
	local model=$1 part=$2 msg=$3
	shift 3
	tails "$@"
	if [ -s "$D/$model.log" ]; then
		echo "---- last lines of $D/$model.log:" >&2
		tail -n 12 "$D/$model.log" | cut -c 1-300 >&2
	fi
	mp_bad "$model $part" "$msg"
}

# xfer MODEL MODE DIR: one 20 MiB transfer; MODE pasv or port, DIR down or up
xfer() {
	local model=$1 mode=$2 dir=$3 run=$1-$2-$3 got opts=()
	# curl would try EPSV and EPRT first: the PASV and PORT commands
	# themselves are what is tested. --speed-*: a stalled transfer ends
	# in 3 s, not at --max-time.
	if [ "$mode" = pasv ]; then
		opts=(--ftp-pasv --disable-epsv)
	else
		opts=(--ftp-port "$K" --disable-eprt)
	fi
	opts+=(-sS --max-time 10 --connect-timeout 5 --speed-limit 100000 --speed-time 3)
	if [ "$dir" = down ]; then
		rm -f "$TMP_DIR/$run.dl"
		k_run "$run" 15 curl "${opts[@]}" -o "$TMP_DIR/$run.dl" "ftp://$S:$PORT/f.bin" ||
			{ bad "$model" "$mode $dir" "curl ($mode download) exit $?: $(head -c 300 "$TMP_DIR/$run.err")" "$run"; return 1; }
		got=$TMP_DIR/$run.dl
	else
		rm -f "$D/root/up/$run.bin"
		k_run "$run" 15 curl "${opts[@]}" -T "$D/root/f.bin" "ftp://$S:$PORT/up/$run.bin" ||
			{ bad "$model" "$mode $dir" "curl ($mode upload) exit $?: $(head -c 300 "$TMP_DIR/$run.err")" "$run"; return 1; }
		got=$D/root/up/$run.bin
	fi
	local h
	h=$(sha256sum <"$got" 2>/dev/null | cut -d' ' -f1)
	[ "$h" = "$SUM" ] ||
		{ bad "$model" "$mode $dir" "$(stat -c %s "$got" 2>/dev/null || echo no) bytes arrived, sha256 differs" "$run"; return 1; }
	log "ok: $model: $mode ${dir}load, $MIB MiB, sha256 equal"
	rm -f "$got"
}

for model in $MODELS; do
	log "---- vsftpd, $model"
	conf "$model"
	mt_bg "vsftpd-$model" 120 vsftpd "$D/$model.conf"
	vp=$BG_PID
	if ! wait_until 10 ftp_listening; then
		bad "$model" start "vsftpd does not answer on $S:$PORT within 10 s" "vsftpd-$model"
		mp_stop "vsftpd-$model" "$vp"
		continue
	fi
	b0=$(mp_dev_bytes)
	n=0
	for x in "pasv down" "port down" "pasv up" "port up"; do
		xfer "$model" $x && n=$((n + 1))
	done
	if [ "$PL_KERNEL_ONLY" != 1 ] && [ $n -gt 0 ]; then
		moved=$(($(mp_dev_bytes) - b0))
		[ "$moved" -ge $((n * MIB << 20)) ] ||
			mp_bad "$model" "only $moved bytes crossed $MP_PEER_DEV (expected >= $((n * MIB << 20))): not on microtcp"
	fi
	kill -0 "$vp" 2>/dev/null ||
		bad "$model" end "vsftpd (the listener) ended during the transfers" "vsftpd-$model"
	mp_stop "vsftpd-$model" "$vp"
	log "vsftpd ($model) ended on SIGTERM (exit $?)"
done
mp_bad_end
log "PASS"

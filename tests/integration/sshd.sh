#!/usr/bin/env bash
# sshd: OpenSSH's server on microtcp (issue 13), on the kernel first (the
# test proves itself), then on microtcp over AF_PACKET (veth) and over a
# multi-queue TAP (multiproc_lib.bash; kernel 10.61.133.1, microtcp
# 10.61.133.2).
# Debian's sshd, unmodified: `/usr/sbin/sshd -D -e -f CONF` on S:2222 with
# a configuration, host key and client key made here (UsePAM no,
# StrictModes no, PidFile none, key authentication for root). Per
# connection the listener forks, the child re-executes sshd (-R; the
# connection crosses exec as its stdin/stdout) and sends the version
# banner; it forks the unprivileged pre-authentication child, which does
# the key exchange and authentication on the connection; then (root
# logs in: no post-authentication child) the re-executed process does
# the session's I/O itself. So one connection is used by three processes
# in turn, across one fork, one exec and one more fork.
#   - `ssh root@S echo ok` from the kernel prints ok;
#   - scp of 20 MiB to the server and of 20 MiB from it (SFTP, sshd's
#     internal-sftp), sha256 equal;
#   - sshd ends on SIGTERM.
# Every part is tried even when one fails (mp_bad).
# sshd runs in a mount namespace of its own where /etc/shadow is a copy
# with root's password field "*": with UsePAM no, sshd refuses a locked
# account ("!..."), as root is on some machines, even for key logins.
# /run/sshd (its privilege separation directory) is made if missing, as
# Debian's ssh.service does.
MP_DRIVERS_DEFAULT="kernel packet tap"
. "$(dirname "$0")/multiproc_lib.bash"
need ssh scp ssh-keygen unshare sha256sum
SSHD=/usr/sbin/sshd
[ -x "$SSHD" ] || fail "$SSHD not found (scripts/deps installs openssh-server)"

PORT=2222 MIB=20
mp_setup 10.61.133
test_cleanup() { mp_cleanup; }

D=$TMP_DIR/ssh
mkdir -p "$D"
mkdir -p -m 755 /run/sshd || fail "cannot make /run/sshd (sshd's privilege separation directory)"
ssh-keygen -q -t ed25519 -N '' -C mtcpt-host -f "$D/host_key" &&
	ssh-keygen -q -t ed25519 -N '' -C mtcpt-client -f "$D/client_key" ||
	fail "ssh-keygen failed"
cp "$D/client_key.pub" "$D/authorized_keys"
awk -F: 'BEGIN {OFS = ":"} $1 == "root" {$2 = "*"} {print}' /etc/shadow >"$D/shadow" &&
	chmod 600 "$D/shadow" || fail "cannot copy /etc/shadow"
cat >"$D/sshd_config" <<EOC
Port $PORT
ListenAddress $S
HostKey $D/host_key
PidFile none
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AuthorizedKeysFile $D/authorized_keys
Subsystem sftp internal-sftp
UseDNS no
PrintMotd no
PrintLastLog no
LogLevel VERBOSE
EOC
mkdata "$D/f.bin" $MIB
SUM=$(sha256sum <"$D/f.bin" | cut -d' ' -f1)
# the client ignores the user's configuration and known hosts; a dead
# connection ends within about 6 s (ServerAlive*)
SSH_OPTS=(-F /dev/null -i "$D/client_key" -o IdentitiesOnly=yes -o BatchMode=yes
	-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
	-o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5
	-o ServerAliveInterval=2 -o ServerAliveCountMax=3)

ssh_listening() {
	if [ "$PL_KERNEL_ONLY" = 1 ]; then
		[ -n "$(ip netns exec "$NS_STACK" ss -Hltn "sport = :$PORT")" ]
	else
		# nothing of microtcp shows in ss: a connection is accepted
		ip netns exec "$NS_PEER" timeout 2 bash -c ": <>/dev/tcp/$S/$PORT" 2>/dev/null
	fi
}

bad() { # PART MSG RUN...
	local part=$1 msg=$2
	shift 2
	tails "$@" sshd
	mp_bad "$part" "$msg"
}

mt_bg sshd 120 unshare -m --propagation private sh -c \
	'mount --bind "$1" /etc/shadow && exec "$2" -D -e -f "$3"' sh "$D/shadow" "$SSHD" "$D/sshd_config"
SP=$BG_PID
wait_until 10 ssh_listening || pl_fail "sshd does not listen on $S:$PORT within 10 s" sshd
log "sshd listens on $S:$PORT"
b0=$(mp_dev_bytes)

# ssh echo ok (root's shell may print more from its rc files: a line "ok")
if k_run ssh-echo 30 ssh "${SSH_OPTS[@]}" -p $PORT "root@$S" echo ok; then
	if grep -qx ok "$TMP_DIR/ssh-echo.out"; then
		log "ok: ssh root@$S echo ok: printed ok"
	else
		bad echo "ssh root@$S echo ok exited 0 but printed '$(head -c 200 "$TMP_DIR/ssh-echo.out")'" ssh-echo
	fi
else
	bad echo "ssh root@$S echo ok: exit $?: $(head -c 300 "$TMP_DIR/ssh-echo.err")" ssh-echo
fi

# scp_one NAME FROM TO GOT: one 20 MiB copy; GOT the file that must equal f.bin
scp_one() {
	local name=$1 from=$2 to=$3 got=$4 h
	rm -f "$got"
	k_run "$name" 45 scp "${SSH_OPTS[@]}" -P $PORT "$from" "$to" ||
		{ bad "$name" "scp $from $to: exit $?: $(head -c 300 "$TMP_DIR/$name.err")" "$name"; return 1; }
	h=$(sha256sum <"$got" 2>/dev/null | cut -d' ' -f1)
	[ "$h" = "$SUM" ] ||
		{ bad "$name" "scp $from $to: $(stat -c %s "$got" 2>/dev/null || echo no) bytes arrived, sha256 differs" "$name"; return 1; }
	log "ok: $name: $MIB MiB, sha256 equal"
	rm -f "$got"
}
n=0
scp_one scp-up "$D/f.bin" "root@$S:$D/up.bin" "$D/up.bin" && n=$((n + 1))
scp_one scp-down "root@$S:$D/f.bin" "$D/down.bin" "$D/down.bin" && n=$((n + 1))
if [ "$PL_KERNEL_ONLY" != 1 ] && [ $n -gt 0 ]; then
	moved=$(($(mp_dev_bytes) - b0))
	[ "$moved" -ge $((n * MIB << 20)) ] ||
		mp_bad traffic "only $moved bytes crossed $MP_PEER_DEV (expected >= $((n * MIB << 20))): not on microtcp"
fi
kill -0 "$SP" 2>/dev/null || bad end "sshd (the listener) ended during the test" sshd
mp_stop sshd "$SP"
log "sshd ended on SIGTERM (exit $?)"
mp_bad_end
log "PASS"

/* SCM_RIGHTS: the parent forks first (the child inherits no socket),
 * then connects and passes the connection, with a pipe's read end, to
 * the child over a socketpair, and closes its copy; the child echoes
 * through the connection it received, the one socket, now the child's
 * alone (issue 13: vsftpd's privileged process passes each FTP data
 * connection so). */
#include "api.h"

static int child(int sock)
{
	int fds[4], n;
	char buf[32];

	n = recv_fds(sock, fds, MSG_CMSG_CLOEXEC);
	/* The parent has closed its copy and said so. */
	CHECK(read(sock, buf, 1) == 1);
	sayf("child: %d descriptors", n);
	int conn = fds[1];
	sayf("child: FD_CLOEXEC %s", yesno(fcntl(conn, F_GETFD) & FD_CLOEXEC));
	int type = 0;
	socklen_t len = sizeof(type);
	say("child SO_TYPE", getsockopt(conn, SOL_SOCKET, SO_TYPE, &type, &len));
	sayf("child: type %d", type);
	struct sockaddr_in a;
	len = sizeof(a);
	say("child getpeername", getpeername(conn, (struct sockaddr *)&a, &len));
	sayf("child: peer port %d", sin_port(&a));
	say("child send", send(conn, "passed-to-child", 15, 0));
	sayf("child: echo %zu", read_full(conn, buf, 15));
	sayf("child: echo same %s", yesno(memcmp(buf, "passed-to-child", 15) == 0));
	/* The pipe came as it was. */
	say("child pipe read", read(fds[0], buf, sizeof(buf)));
	say("child shutdown", shutdown(conn, SHUT_WR));
	sayf("child: eof %zu", read_to_eof(conn, NULL));
	say("child close", close(conn));
	return 0;
}

int main(void)
{
	int sv[2], p[2];

	api_init();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fork_flushed();
	if (pid == 0) {
		close(sv[0]);
		int rc = child(sv[1]);
		fflush(stdout);
		_exit(rc);
	}
	close(sv[1]);
	int fd = tcp_connect(PORT_ECHO);
	CHECK(pipe(p) == 0 && write(p[1], "pipe", 4) == 4);
	int fds[2] = { p[0], fd };
	say("parent sendmsg", send_fds(sv[0], fds, 2));
	say("parent close", close(fd));
	fflush(stdout);
	CHECK(write(sv[0], "g", 1) == 1);
	close(p[0]);
	close(p[1]);
	say_exit_of(pid, "child");
	return 0;
}

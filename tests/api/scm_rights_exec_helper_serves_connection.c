/* SCM_RIGHTS to an unrelated process: a helper exec'd before the
 * connection existed receives it over a unix socket, with the parent's
 * data already echoed into it, and uses it while the parent still holds
 * its copy; the parent closes last (issue 13). */
#include "api.h"

static int helper(int sock)
{
	int fds[4], n;
	char buf[32];

	n = recv_fds(sock, fds, 0);
	CHECK(read(sock, buf, 1) == 1);         /* the parent's lines are out */
	sayf("helper: %d descriptors", n);
	int conn = fds[0];
	sayf("helper: FD_CLOEXEC %s", yesno(fcntl(conn, F_GETFD) & FD_CLOEXEC));
	/* What the parent sent before passing it came back meanwhile:
	 * the socket's receive queue, read here. */
	sayf("helper: first %zu", read_full(conn, buf, 7));
	sayf("helper: first same %s", yesno(memcmp(buf, "before-", 7) == 0));
	say("helper send", send(conn, "after", 5, 0));
	sayf("helper: echo %zu", read_full(conn, buf, 5));
	sayf("helper: echo same %s", yesno(memcmp(buf, "after", 5) == 0));
	say("helper close", close(conn));
	fflush(stdout);
	CHECK(write(sock, "d", 1) == 1);
	return 0;
}

int main(int argc, char **argv)
{
	int sv[2];
	char b;

	if (argc > 2 && strcmp(argv[1], "--helper") == 0)
		return helper(atoi(argv[2]));
	api_init();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fork_flushed();
	if (pid == 0) {
		char arg[16];
		close(sv[0]);
		snprintf(arg, sizeof(arg), "%d", sv[1]);
		execl("/proc/self/exe", argv[0], "--helper", arg, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	int fd = tcp_connect(PORT_ECHO);
	say("parent send", send(fd, "before-", 7, 0));
	sleep_ms(100);          /* the echo is in the socket's queue */
	say("parent sendmsg", send_fds(sv[0], &fd, 1));
	fflush(stdout);
	CHECK(write(sv[0], "g", 1) == 1);
	say("parent read done", read(sv[0], &b, 1));
	/* The last holder: the connection closes for real. */
	say("parent shutdown", shutdown(fd, SHUT_WR));
	sayf("parent: eof %zu", read_to_eof(fd, NULL));
	say("parent close", close(fd));
	say_exit_of(pid, "helper");
	return 0;
}

/* SCM_RIGHTS both ways: the parent passes its connection to the child
 * and closes its copy; the child, without using it, passes it back and
 * closes its own; the parent uses the socket it got back, the same one
 * (issue 13). */
#include "api.h"

int main(void)
{
	int sv[2], fds[4];
	char buf[32];

	api_init();
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pid_t pid = fork_flushed();
	if (pid == 0) {
		close(sv[0]);
		int ok = recv_fds(sv[1], fds, 0) == 1 && send_fds(sv[1], fds, 1) == 1 &&
			 close(fds[0]) == 0;
		_exit(ok ? 0 : 1);
	}
	close(sv[1]);
	int fd = tcp_connect(PORT_ECHO);
	say("parent send", send(fd, "round-", 6, 0));
	say("parent sendmsg", send_fds(sv[0], &fd, 1));
	say("parent close", close(fd));
	say_exit_of(pid, "child");
	sayf("parent: got back %d", recv_fds(sv[0], fds, MSG_CMSG_CLOEXEC));
	say("parent send again", send(fds[0], "trip", 4, 0));
	sayf("parent: echo %zu", read_full(fds[0], buf, 10));
	sayf("parent: echo same %s", yesno(memcmp(buf, "round-trip", 10) == 0));
	say("parent shutdown", shutdown(fds[0], SHUT_WR));
	sayf("parent: eof %zu", read_to_eof(fds[0], NULL));
	say("parent close again", close(fds[0]));
	return 0;
}

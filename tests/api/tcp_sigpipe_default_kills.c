/* With SIGPIPE at its default action, a send after the peer reset kills
 * the process: a child does it, the parent prints how the child ended. */
#include "api.h"

int main(void)
{
	api_init();
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		int fd = tcp_connect(PORT_CLOSE_NOW);
		char c;
		if (recv(fd, &c, 1, 0) != 0)
			_exit(3);
		send(fd, "x", 1, 0);
		wait_for(fd, POLLHUP, 3000);
		send(fd, "x", 1, 0);
		_exit(4);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	if (WIFSIGNALED(st))
		sayf("child killed by signal %s", WTERMSIG(st) == SIGPIPE ? "SIGPIPE" : "other");
	else
		sayf("child exited with %d", WEXITSTATUS(st));
	return 0;
}

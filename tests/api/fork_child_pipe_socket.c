/* fork: the child writes to a pipe and creates (and closes) a new AF_INET
 * socket, then exits 0; the parent's connection, opened before the fork,
 * still works after the child has exited. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int pp[2];
	CHECK(pipe(pp) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pp[0]);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		char msg[64];
		int n = snprintf(msg, sizeof msg, "child socket: %s\n", s >= 0 ? "ok" : errname(errno));
		if (s >= 0)
			close(s);
		if (write(pp[1], msg, (size_t)n) != n)
			_exit(3);
		_exit(0);
	}
	close(pp[1]);
	char buf[64];
	size_t n = read_full(pp[0], buf, sizeof buf - 1);
	buf[n] = 0;
	printf("from child: %s", buf);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	say("parent send", send(fd, "after-fork", 10, 0));
	sayf("parent echo: %zu", read_full(fd, buf, 10));
	close(fd);
	return 0;
}

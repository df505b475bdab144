/* fork: the child closes its copy of the parent's connected socket and
 * exits; the connection stays open for the parent (it is only closed with
 * the last reference). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		_exit(close(fd) == 0 ? 0 : 1);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	say("parent send", send(fd, "still-open", 10, 0));
	char buf[16];
	sayf("parent echo: %zu", read_full(fd, buf, 10));
	close(fd);
	return 0;
}

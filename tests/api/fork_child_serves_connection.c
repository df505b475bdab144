/* fork: the parent connects, forks and closes its copy at once (a
 * fork-per-connection server's pattern); the child uses the connection:
 * it is the one socket, open while the child holds it, and the child's
 * data goes out and comes back (issue 13). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char buf[32];
		sleep_ms(100);          /* the parent has closed its copy by now */
		int ok = send(fd, "from-the-child", 14, 0) == 14 &&
			 read_full(fd, buf, 14) == 14 && memcmp(buf, "from-the-child", 14) == 0;
		struct sockaddr_in a;
		socklen_t len = sizeof(a);
		ok = ok && getpeername(fd, (struct sockaddr *)&a, &len) == 0 &&
		     ntohs(a.sin_port) == PORT_ECHO;
		_exit(ok && close(fd) == 0 ? 0 : 1);
	}
	say("parent close", close(fd));
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* exec: a connection on a descriptor without FD_CLOEXEC survives exec
 * (inetd style: the new program finds it on fd 0); one with FD_CLOEXEC
 * does not (issue 13). */
#include "api.h"

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--child") == 0) {
		/* The new image: fd 0 is the connection, fd 5 was CLOEXEC. */
		char buf[32];
		int type = 0;
		socklen_t len = sizeof(type);
		sayf("child: fd 0 SO_TYPE %d", getsockopt(0, SOL_SOCKET, SO_TYPE, &type, &len) == 0 ? type : -1);
		say("child: fd 5 fcntl", fcntl(5, F_GETFD));
		say("child send", send(0, "over-exec", 9, 0));
		sayf("child echo: %zu", read_full(0, buf, 9));
		say("child close", close(0));
		return 0;
	}
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int other = tcp_connect(PORT_ECHO);
	CHECK(dup2(other, 5) == 5 && fcntl(5, F_SETFD, FD_CLOEXEC) == 0);
	close(other);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		CHECK(dup2(fd, 0) == 0);
		close(fd);
		execl("/proc/self/exe", argv[0], "--child", (char *)NULL);
		_exit(127);
	}
	say("parent close", close(fd));
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	say("close 5", close(5));
	return 0;
}

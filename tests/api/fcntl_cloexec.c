/* FD_CLOEXEC via fcntl F_SETFD/F_GETFD, and its effect across exec: a
 * child execs /bin/sh which reports which of the two socket fds it still
 * has open. */
#include "api.h"

int main(void)
{
	api_init();
	int keep = tcp_connect(PORT_DISCARD), gone = tcp_connect(PORT_DISCARD);
	sayf("default FD_CLOEXEC: %s", yesno(fcntl(gone, F_GETFD) & FD_CLOEXEC));
	say("F_SETFD FD_CLOEXEC", fcntl(gone, F_SETFD, FD_CLOEXEC));
	sayf("now FD_CLOEXEC: %s", yesno(fcntl(gone, F_GETFD) & FD_CLOEXEC));
	say("F_SETFD 0 on keep", fcntl(keep, F_SETFD, 0));
	int pp[2];
	CHECK(pipe(pp) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char cmd[256];
		snprintf(cmd, sizeof cmd,
			 "[ -e /proc/$$/fd/%d ] && echo keep=open || echo keep=closed; "
			 "[ -e /proc/$$/fd/%d ] && echo cloexec=open || echo cloexec=closed", keep, gone);
		dup2(pp[1], 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pp[1]);
	char out[128];
	size_t n = read_full(pp[0], out, sizeof out - 1);
	out[n] = 0;
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	printf("child says:\n%s", out);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* A forked child that lowers RLIMIT_NOFILE to 0 (vsftpd's pre-login
 * process: no descriptor can be made any more) still serves the
 * connection it inherited: a socket needs no new descriptor (issue 13). */
#include "api.h"
#include <sys/resource.h>

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	pid_t pid = fork_flushed();
	if (pid == 0) {
		struct rlimit rl = { 0, 0 };
		char buf[32];
		sleep_ms(100);          /* the parent has closed its copy */
		int ok = setrlimit(RLIMIT_NOFILE, &rl) == 0 &&
			 send(fd, "no-new-fds", 10, 0) == 10 &&
			 read_full(fd, buf, 10) == 10 && memcmp(buf, "no-new-fds", 10) == 0 &&
			 shutdown(fd, SHUT_WR) == 0 && read_to_eof(fd, NULL) == 0;
		_exit(ok && close(fd) == 0 ? 0 : 1);
	}
	say("parent close", close(fd));
	say_exit_of(pid, "child");
	return 0;
}

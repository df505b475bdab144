/* pselect over a pipe and a socket with a signal mask: a pending blocked
 * SIGUSR1 is delivered during pselect (-1 EINTR, handler ran); then a
 * readable socket is reported; the mask is restored. */
#include "api.h"
#include <sys/select.h>

int main(void)
{
	api_init();
	on_signal(SIGUSR1, count_sig, 0);
	sigset_t block, empty, cur;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	int pp[2];
	CHECK(pipe(pp) == 0);
	int fd = tcp_connect(PORT_ECHO);
	int maxfd = pp[0] > fd ? pp[0] : fd;
	fd_set r;
	FD_ZERO(&r);
	FD_SET(pp[0], &r);
	FD_SET(fd, &r);
	struct timespec ts = { 0, 100000000 };
	say("pselect timeout", pselect(maxfd + 1, &r, NULL, NULL, &ts, &block));
	raise(SIGUSR1);
	FD_ZERO(&r);
	FD_SET(pp[0], &r);
	FD_SET(fd, &r);
	ts.tv_sec = 2;
	say("pselect unblocking SIGUSR1", pselect(maxfd + 1, &r, NULL, NULL, &ts, &empty));
	sayf("handler count: %d", (int)sig_count);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
	sayf("SIGUSR1 blocked again: %s", yesno(sigismember(&cur, SIGUSR1)));
	write_all(fd, "z", 1);
	FD_ZERO(&r);
	FD_SET(pp[0], &r);
	FD_SET(fd, &r);
	ts.tv_sec = 3;
	say("pselect socket readable", pselect(maxfd + 1, &r, NULL, NULL, &ts, &empty));
	sayf("pipe=%d socket=%d", FD_ISSET(pp[0], &r), FD_ISSET(fd, &r));
	close(fd);
	return 0;
}

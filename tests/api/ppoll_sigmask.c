/* ppoll with a signal mask: SIGUSR1 is blocked and pending; ppoll with a
 * mask that unblocks it returns -1 EINTR after running the handler; the
 * signal is blocked again afterwards. ppoll with a 100 ms timespec times
 * out with 0; with a readable socket it returns 1. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGUSR1, count_sig, 0);
	sigset_t block, empty, cur;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigemptyset(&empty);
	CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0);
	int fd = tcp_connect(PORT_ECHO);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { 0, 100000000 };
	say("ppoll timeout, signal blocked", ppoll(&p, 1, &ts, &block));
	raise(SIGUSR1);
	sayf("pending, handler count: %d", (int)sig_count);
	ts.tv_sec = 2;
	say("ppoll unblocking SIGUSR1", ppoll(&p, 1, &ts, &empty));
	sayf("handler count: %d", (int)sig_count);
	CHECK(sigprocmask(SIG_BLOCK, NULL, &cur) == 0);
	sayf("SIGUSR1 blocked again: %s", yesno(sigismember(&cur, SIGUSR1)));
	write_all(fd, "z", 1);
	ts.tv_sec = 3;
	say("ppoll readable", ppoll(&p, 1, &ts, &empty));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}

/* A blocking send on a connection whose buffers are full (the peer never
 * reads), interrupted by SIGALRM without SA_RESTART: a send that has
 * copied nothing yet fails with -1 EINTR (sends that copied part return
 * the short count; a repeating 200 ms timer keeps interrupting until one
 * fails). */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, 0);
	int fd = tcp_connect(PORT_SINK);
	set_nonblock(fd, 1);
	sayf("filled: %s", yesno(fill_sndbuf(fd) > 0));
	set_nonblock(fd, 0);
	static char buf[4096];
	struct itimerval it = { { 0, 200000 }, { 0, 200000 } };
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	ssize_t r;
	long long end = now_ms() + 10000;
	while ((r = send(fd, buf, sizeof buf, 0)) > 0)
		if (now_ms() > end)
			die("send never failed");
	say("send", r);
	memset(&it, 0, sizeof it);
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	sayf("SIGALRM at least once: %s", yesno(sig_count >= 1));
	close(fd);
	return 0;
}

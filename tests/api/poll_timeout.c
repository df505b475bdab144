/* poll with timeout 0 on an idle socket returns 0 at once; with 150 ms it
 * returns 0 after at least that long; with -1 and a readable fd it returns
 * at once. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	long long t0 = now_ms();
	say("poll timeout 0", poll(&p, 1, 0));
	sayf("immediate: %s", yesno(now_ms() - t0 < 100));
	t0 = now_ms();
	say("poll timeout 150", poll(&p, 1, 150));
	long long dt = now_ms() - t0;
	sayf("waited >= 145 ms: %s, < 2 s: %s", yesno(dt >= 145), yesno(dt < 2000));
	p.events = POLLOUT;
	say("poll -1 for POLLOUT", poll(&p, 1, -1));
	sayf("revents: %s", pollbits(p.revents));
	say("poll no fds, 50 ms", poll(NULL, 0, 50));
	close(fd);
	return 0;
}

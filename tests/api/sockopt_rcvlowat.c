/* SO_RCVLOWAT 10 on TCP: with 5 bytes queued poll does not report
 * POLLIN; with 10 it does, and recv returns 10. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int v = 10;
	say("set SO_RCVLOWAT 10", setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v));
	socklen_t l = sizeof v;
	v = -1;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &v, &l) == 0);
	sayf("SO_RCVLOWAT: %d", v);
	write_all(fd, "12345", 5);
	int n = 0;
	long long end = now_ms() + 3000;
	while (n < 5 && now_ms() < end) {
		CHECK(ioctl(fd, FIONREAD, &n) == 0);
		if (n < 5)
			sleep_ms(10);
	}
	struct pollfd p = { .fd = fd, .events = POLLIN };
	say("poll with 5 queued", poll(&p, 1, 100));
	write_all(fd, "67890", 5);
	say("poll after 10", poll(&p, 1, 3000));
	sayf("revents: %s", pollbits(p.revents));
	char buf[32];
	say("recv", recv(fd, buf, sizeof buf, 0));
	close(fd);
	return 0;
}

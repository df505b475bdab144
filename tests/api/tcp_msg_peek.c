/* MSG_PEEK returns data without consuming it: peek, peek again, then a
 * normal recv returns the same bytes; FIONREAD is unchanged by a peek. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	write_all(fd, "peekaboo", 8);
	int avail = 0;
	long long end = now_ms() + 3000;
	while (avail < 8 && now_ms() < end) {
		CHECK(ioctl(fd, FIONREAD, &avail) == 0);
		if (avail < 8)
			sleep_ms(10);
	}
	char a[16] = "", b[16] = "", c[16] = "";
	say("peek 4", recv(fd, a, 4, MSG_PEEK));
	say("peek 16", recv(fd, b, sizeof b, MSG_PEEK));
	CHECK(ioctl(fd, FIONREAD, &avail) == 0);
	sayf("FIONREAD after peeks: %d", avail);
	say("recv", recv(fd, c, sizeof c, 0));
	sayf("a='%.4s' b='%.8s' c='%.8s'", a, b, c);
	say("peek MSG_DONTWAIT empty", recv(fd, a, 4, MSG_PEEK | MSG_DONTWAIT));
	close(fd);
	return 0;
}

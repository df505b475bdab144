/* SIOCOUTQ: 0 on an idle connection; after sending to the discard service
 * and the peer's ACK, 0 again. On a listening socket: EINVAL. */
#include "api.h"
#include <linux/sockios.h>

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	int n = -1;
	say("SIOCOUTQ idle", ioctl(fd, SIOCOUTQ, &n));
	sayf("value: %d", n);
	static char buf[20000];
	write_all(fd, buf, sizeof buf);
	long long end = now_ms() + 3000;
	do {
		CHECK(ioctl(fd, SIOCOUTQ, &n) == 0);
		if (n)
			sleep_ms(10);
	} while (n && now_ms() < end);
	sayf("SIOCOUTQ after the peer acked: %d", n);
	int port;
	int ls = tcp_listener(&port);
	say("SIOCOUTQ on listener", ioctl(ls, SIOCOUTQ, &n));
	close(fd);
	return 0;
}

/* FIONREAD on TCP: 0 with nothing queued, then the count of queued bytes
 * (100) once the echo is in; after reading 40, 60. SIOCINQ agrees. */
#include "api.h"
#include <linux/sockios.h>

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int n = -1;
	say("FIONREAD empty", ioctl(fd, FIONREAD, &n));
	sayf("value: %d", n);
	char buf[100];
	memset(buf, 'r', sizeof buf);
	write_all(fd, buf, sizeof buf);
	long long end = now_ms() + 3000;
	do {
		CHECK(ioctl(fd, FIONREAD, &n) == 0);
		if (n < 100)
			sleep_ms(10);
	} while (n < 100 && now_ms() < end);
	sayf("FIONREAD after echo: %d", n);
	CHECK(read_full(fd, buf, 40) == 40);
	CHECK(ioctl(fd, SIOCINQ, &n) == 0);
	sayf("SIOCINQ after reading 40: %d", n);
	close(fd);
	return 0;
}

/* TCP recv with MSG_TRUNC discards bytes without copying them: 4 of 10
 * queued bytes are dropped, the next recv returns the other 6. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	write_all(fd, "0123456789", 10);
	int n = 0;
	long long end = now_ms() + 3000;
	while (n < 10 && now_ms() < end) {
		CHECK(ioctl(fd, FIONREAD, &n) == 0);
		if (n < 10)
			sleep_ms(10);
	}
	say("recv NULL, 4, MSG_TRUNC", recv(fd, NULL, 4, MSG_TRUNC));
	char buf[16] = "";
	ssize_t r = recv(fd, buf, sizeof buf, 0);
	say("recv", r);
	sayf("data: '%.*s'", r > 0 ? (int)r : 0, buf);
	close(fd);
	return 0;
}

/* MSG_DONTWAIT on a blocking socket: recv with nothing queued is EAGAIN
 * at once, and the socket stays blocking (F_GETFL); later data is
 * received with MSG_DONTWAIT too. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	char buf[16];
	long long t0 = now_ms();
	say("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	sayf("returned within 500 ms: %s", yesno(now_ms() - t0 < 500));
	sayf("O_NONBLOCK: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	write_all(fd, "xyz", 3);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	say("recv MSG_DONTWAIT with data", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	say("send MSG_DONTWAIT", send(fd, "q", 1, MSG_DONTWAIT));
	close(fd);
	return 0;
}

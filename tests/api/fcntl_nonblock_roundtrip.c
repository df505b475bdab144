/* fcntl F_SETFL O_NONBLOCK on a connected socket: F_GETFL shows it,
 * recv is EAGAIN, clearing it makes recv block again (SO_RCVTIMEO 100 ms
 * bounds the wait: EAGAIN after blocking). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	int fl = fcntl(fd, F_GETFL);
	sayf("initial O_NONBLOCK: %s", yesno(fl & O_NONBLOCK));
	say("F_SETFL O_NONBLOCK", fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	sayf("now O_NONBLOCK: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	char c;
	long long t0 = now_ms();
	say("recv", recv(fd, &c, 1, 0));
	sayf("immediate: %s", yesno(now_ms() - t0 < 80));
	say("F_SETFL 0", fcntl(fd, F_SETFL, fl & ~O_NONBLOCK));
	sayf("now O_NONBLOCK: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	struct timeval tv = { 0, 100000 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	t0 = now_ms();
	say("recv", recv(fd, &c, 1, 0));
	sayf("waited at least 90 ms: %s", yesno(now_ms() - t0 >= 90));
	close(fd);
	return 0;
}

/* SO_RCVTIMEO 200 ms, the peer sends only after 1 s: recv fails with
 * EAGAIN after the timeout. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DELAY);
	struct timeval tv = { 0, 200000 };
	say("setsockopt SO_RCVTIMEO", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	char buf[32];
	say("recv", recv(fd, buf, sizeof buf, 0));
	close(fd);
	return 0;
}

/* shutdown(SHUT_RD): recv returns 0 at once (nothing was queued), poll
 * reports POLLIN|POLLRDHUP; writing still works (the echo comes back). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	say("shutdown SHUT_RD", shutdown(fd, SHUT_RD));
	char buf[8];
	say("recv", recv(fd, buf, sizeof buf, 0));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	say("poll", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	say("send", send(fd, "abc", 3, 0));
	close(fd);
	return 0;
}

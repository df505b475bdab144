/* The peer closed and we shut down our side too: once our FIN is acked,
 * poll reports POLLHUP (with POLLIN|POLLOUT|POLLRDHUP as asked). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_CLOSE_NOW);
	char c;
	say("recv (EOF)", recv(fd, &c, 1, 0));
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	int rev = wait_for(fd, POLLHUP, 3000);
	sayf("waited for POLLHUP: %s", pollbits(rev));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP };
	say("poll", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}

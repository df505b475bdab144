/* A connection that the peer already closed before we accepted it is
 * still accepted: its greeting is readable, then EOF. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ctl = connect_back_close(port, 1);
	sleep_ms(300);
	int c = accept(ls, NULL, NULL);
	say("accept", c < 0 ? c : 0);
	CHECK(c >= 0);
	struct pollfd p = { .fd = c, .events = POLLIN | POLLRDHUP };
	say("poll", poll(&p, 1, 1000));
	sayf("revents: %s", pollbits(p.revents));
	char buf[64];
	size_t n = read_full(c, buf, sizeof buf);
	sayf("read %zu bytes then EOF", n);
	say("recv again", recv(c, buf, sizeof buf, 0));
	close(c);
	close(ctl);
	return 0;
}

/* listen + accept: the peer connects in (connect-back service); accept
 * returns a connected fd and the peer's address (AF_INET, length 16, the
 * peer's IP); data flows both ways on the accepted fd. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ctl = connect_back(port, 1);
	struct sockaddr_in pa;
	socklen_t pl = sizeof pa;
	memset(&pa, 0, sizeof pa);
	int c = accept(ls, (struct sockaddr *)&pa, &pl);
	say("accept", c < 0 ? c : 0);
	CHECK(c >= 0);
	sayf("addrlen=%u family_inet=%s addr_is_peer=%s", (unsigned)pl,
	     yesno(pa.sin_family == AF_INET), yesno(sin_ip_is(&pa, peer_ip())));
	char buf[64];
	size_t n = read_full(c, buf, strlen(GREETING));
	sayf("greeting: %zu bytes, match=%s", n, yesno(n == strlen(GREETING) && !memcmp(buf, GREETING, n)));
	say("send", send(c, "ping\n", 5, 0));
	n = read_full(c, buf, 5);
	sayf("echo: %zu bytes, match=%s", n, yesno(n == 5 && !memcmp(buf, "ping\n", 5)));
	struct sockaddr_in la;
	socklen_t ll = sizeof la;
	CHECK(getsockname(c, (struct sockaddr *)&la, &ll) == 0);
	sayf("accepted local port equals listener port: %s; local is self: %s",
	     yesno(sin_port(&la) == port), yesno(sin_ip_is(&la, self_ip())));
	close(c);
	close(ctl);
	close(ls);
	return 0;
}

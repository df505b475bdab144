/* getsockopt SO_TYPE, SO_DOMAIN, SO_PROTOCOL for TCP and UDP sockets
 * (including SOCK_NONBLOCK sockets: the flag is not part of SO_TYPE). */
#include "api.h"

static void show(const char *what, int fd)
{
	int t = -1, d = -1, p = -1;
	socklen_t l = sizeof t;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &l) == 0);
	l = sizeof d;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &d, &l) == 0);
	l = sizeof p;
	CHECK(getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &p, &l) == 0);
	sayf("%s: type=%s domain=%s protocol=%d len=%u", what,
	     t == SOCK_STREAM ? "SOCK_STREAM" : t == SOCK_DGRAM ? "SOCK_DGRAM" : "other",
	     d == AF_INET ? "AF_INET" : "other", p, (unsigned)l);
	close(fd);
}

int main(void)
{
	api_init();
	show("tcp", tcp_socket());
	show("udp", udp_socket());
	show("tcp nonblock", socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
	show("udp explicit proto", socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP));
	show("tcp connected", tcp_connect(PORT_DISCARD));
	return 0;
}

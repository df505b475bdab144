/* TCP_NODELAY: 0 by default, set to 1 reads back 1, set to 5 reads back
 * 1, cleared reads back 0; data still flows with it set. On UDP it is
 * ENOPROTOOPT. */
#include "api.h"

static int get(int fd)
{
	int v = -1;
	socklen_t l = sizeof v;
	int r = getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &l);
	return r < 0 ? -errno : v;
}

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	sayf("default: %d", get(fd));
	int v = 1;
	say("set 1", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	sayf("now: %d", get(fd));
	v = 5;
	say("set 5", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	sayf("now: %d", get(fd));
	write_all(fd, "n", 1);
	char c;
	sayf("echo: %zu", read_full(fd, &c, 1));
	v = 0;
	say("set 0", setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	sayf("now: %d", get(fd));
	int u = udp_socket();
	v = 1;
	say("udp set TCP_NODELAY", setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v));
	close(fd);
	close(u);
	return 0;
}

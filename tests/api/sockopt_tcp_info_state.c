/* TCP_INFO's tcpi_state: CLOSE (7) fresh, LISTEN (10), ESTABLISHED (1),
 * CLOSE_WAIT (8) after the peer's FIN. */
#include "api.h"

static int state(int fd)
{
	struct tcp_info ti;
	socklen_t l = sizeof ti;
	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -errno;
	return ti.tcpi_state;
}

int main(void)
{
	api_init();
	int fd = tcp_socket();
	sayf("fresh: %d", state(fd));
	int port;
	int ls = tcp_listener(&port);
	sayf("listening: %d", state(ls));
	int c = tcp_connect(PORT_ECHO);
	sayf("connected: %d", state(c));
	int h = tcp_connect(PORT_CLOSE_NOW);
	char b;
	CHECK(recv(h, &b, 1, 0) == 0);
	sayf("after peer FIN: %d", state(h));
	return 0;
}

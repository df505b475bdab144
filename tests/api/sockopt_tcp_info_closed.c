/* TCP_INFO after our shutdown(SHUT_WR) to the discard service, once the
 * peer's FIN came back: the socket still open in the process reports
 * CLOSE (7) (the connection went to TIME_WAIT in the kernel's
 * bookkeeping, not in the fd's state). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	CHECK(wait_for(fd, POLLRDHUP, 3000) & POLLRDHUP);
	sleep_ms(50);
	struct tcp_info ti;
	socklen_t l = sizeof ti;
	memset(&ti, 0, sizeof ti);
	CHECK(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) == 0);
	sayf("tcpi_state: %d", ti.tcpi_state);
	char c;
	say("recv", recv(fd, &c, 1, 0));
	close(fd);
	return 0;
}

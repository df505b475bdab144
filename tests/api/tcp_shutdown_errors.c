/* shutdown on an unconnected TCP socket and an unconnected UDP socket:
 * ENOTCONN; with an invalid "how": EINVAL; SHUT_WR on a connected socket
 * 0; once the peer's FIN came back too and the connection is closed,
 * shutdown is ENOTCONN. */
#include "api.h"

int main(void)
{
	api_init();
	int t = tcp_socket(), u = udp_socket();
	say("tcp unconnected SHUT_WR", shutdown(t, SHUT_WR));
	say("udp unconnected SHUT_RDWR", shutdown(u, SHUT_RDWR));
	int c = tcp_connect(PORT_DISCARD);
	say("connected how=7", shutdown(c, 7));
	say("connected SHUT_WR", shutdown(c, SHUT_WR));
	CHECK(wait_for(c, POLLRDHUP, 3000) & POLLRDHUP);
	sleep_ms(50);
	say("SHUT_WR after both FINs", shutdown(c, SHUT_WR));
	say("SHUT_RDWR after both FINs", shutdown(c, SHUT_RDWR));
	close(t);
	close(u);
	close(c);
	return 0;
}

/* select on a TCP socket that was never connected: it is both readable
 * and writable (POLLHUP counts as readable); a fresh UDP socket is only
 * writable. */
#include "api.h"
#include <sys/select.h>

int main(void)
{
	api_init();
	int t = tcp_socket(), u = udp_socket();
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(t, &r);
	FD_SET(t, &w);
	FD_SET(u, &r);
	FD_SET(u, &w);
	struct timeval tv = { 0, 0 };
	int m = t > u ? t : u;
	say("select", select(m + 1, &r, &w, NULL, &tv));
	sayf("tcp r=%d w=%d udp r=%d w=%d", FD_ISSET(t, &r), FD_ISSET(t, &w), FD_ISSET(u, &r), FD_ISSET(u, &w));
	return 0;
}

/* SO_ACCEPTCONN: 0 on a fresh and on a connected socket, 1 after listen;
 * SO_ERROR on a fresh socket: 0. */
#include "api.h"

static int get(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof v;
	CHECK(getsockopt(fd, SOL_SOCKET, opt, &v, &l) == 0);
	return v;
}

int main(void)
{
	api_init();
	int fd = tcp_socket();
	sayf("fresh: SO_ACCEPTCONN=%d SO_ERROR=%d", get(fd, SO_ACCEPTCONN), get(fd, SO_ERROR));
	struct sockaddr_in a = self_sin(0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	sayf("bound: SO_ACCEPTCONN=%d", get(fd, SO_ACCEPTCONN));
	CHECK(listen(fd, 4) == 0);
	sayf("listening: SO_ACCEPTCONN=%d", get(fd, SO_ACCEPTCONN));
	int c = tcp_connect(PORT_DISCARD);
	sayf("connected: SO_ACCEPTCONN=%d", get(c, SO_ACCEPTCONN));
	int u = udp_socket();
	sayf("udp: SO_ACCEPTCONN=%d", get(u, SO_ACCEPTCONN));
	say("setsockopt SO_ACCEPTCONN", setsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &(int){ 1 }, sizeof(int)));
	return 0;
}

/* An accepted socket inherits options set on the listener: SO_RCVBUF,
 * SO_KEEPALIVE, TCP_NODELAY (but not O_NONBLOCK). */
#include "api.h"

static int get(int fd, int level, int opt)
{
	int v = -1;
	socklen_t l = sizeof v;
	CHECK(getsockopt(fd, level, opt, &v, &l) == 0);
	return v;
}

int main(void)
{
	api_init();
	int ls = tcp_socket();
	int v = 65536, one = 1;
	CHECK(setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) == 0);
	CHECK(setsockopt(ls, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0);
	CHECK(setsockopt(ls, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
	struct sockaddr_in a = self_sin(0);
	socklen_t l = sizeof a;
	CHECK(bind(ls, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(ls, 4) == 0);
	CHECK(getsockname(ls, (struct sockaddr *)&a, &l) == 0);
	set_nonblock(ls, 1);
	int ctl = connect_back(sin_port(&a), 1);
	CHECK(wait_for(ls, POLLIN, 3000) & POLLIN);
	int c = accept(ls, NULL, NULL);
	CHECK(c >= 0);
	sayf("accepted: SO_RCVBUF=%d SO_KEEPALIVE=%d TCP_NODELAY=%d O_NONBLOCK=%s", get(c, SOL_SOCKET, SO_RCVBUF),
	     get(c, SOL_SOCKET, SO_KEEPALIVE), get(c, IPPROTO_TCP, TCP_NODELAY), yesno(fcntl(c, F_GETFL) & O_NONBLOCK));
	close(c);
	close(ctl);
	return 0;
}

/* SO_RCVBUF / SO_SNDBUF: the value set is doubled on read-back (64 KiB ->
 * 128 KiB), TCP and UDP; the defaults are positive. */
#include "api.h"

static int get(int fd, int opt)
{
	int v = -1;
	socklen_t l = sizeof v;
	CHECK(getsockopt(fd, SOL_SOCKET, opt, &v, &l) == 0);
	return v;
}

static void run(const char *what, int fd)
{
	int v = 65536;
	sayf("%s default positive: rcv=%s snd=%s", what, yesno(get(fd, SO_RCVBUF) > 0), yesno(get(fd, SO_SNDBUF) > 0));
	say("set SO_RCVBUF 65536", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	say("set SO_SNDBUF 65536", setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	sayf("%s: SO_RCVBUF=%d SO_SNDBUF=%d", what, get(fd, SO_RCVBUF), get(fd, SO_SNDBUF));
	v = 100000;
	say("set SO_RCVBUF 100000", setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	sayf("%s: SO_RCVBUF=%d", what, get(fd, SO_RCVBUF));
	close(fd);
}

int main(void)
{
	api_init();
	run("tcp", tcp_socket());
	run("udp", udp_socket());
	run("tcp connected", tcp_connect(PORT_DISCARD));
	return 0;
}

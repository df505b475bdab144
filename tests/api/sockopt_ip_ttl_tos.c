/* IP-level options round-trip: IP_TTL (default 64, set 5), IP_TOS (set
 * 0x10); IP_TTL 0 and 256 are EINVAL. TCP and UDP. */
#include "api.h"

static void run(const char *what, int fd)
{
	int v = -1;
	socklen_t l = sizeof v;
	CHECK(getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &l) == 0);
	sayf("%s IP_TTL default: %d", what, v);
	v = 5;
	say("set IP_TTL 5", setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof v));
	l = sizeof v;
	CHECK(getsockopt(fd, IPPROTO_IP, IP_TTL, &v, &l) == 0);
	sayf("%s IP_TTL: %d", what, v);
	v = 0;
	say("set IP_TTL 0", setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof v));
	v = 256;
	say("set IP_TTL 256", setsockopt(fd, IPPROTO_IP, IP_TTL, &v, sizeof v));
	v = 0x10;
	say("set IP_TOS 0x10", setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof v));
	l = sizeof v;
	CHECK(getsockopt(fd, IPPROTO_IP, IP_TOS, &v, &l) == 0);
	sayf("%s IP_TOS: 0x%x", what, v);
	close(fd);
}

int main(void)
{
	api_init();
	run("tcp", tcp_socket());
	run("udp", udp_socket());
	return 0;
}

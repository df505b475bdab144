/* bind to port 0: getsockname reports a nonzero port and the bound
 * address; before bind, getsockname reports 0.0.0.0:0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	struct sockaddr_in sa;
	socklen_t l = sizeof sa;
	memset(&sa, 0xff, sizeof sa);
	say("getsockname unbound", getsockname(fd, (struct sockaddr *)&sa, &l));
	sayf("unbound: len=%u family_inet=%s port=%d any=%s", (unsigned)l,
	     yesno(sa.sin_family == AF_INET), sin_port(&sa), yesno(sa.sin_addr.s_addr == htonl(INADDR_ANY)));
	sa = self_sin(0);
	say("bind port 0", bind(fd, (struct sockaddr *)&sa, sizeof sa));
	l = sizeof sa;
	memset(&sa, 0, sizeof sa);
	say("getsockname", getsockname(fd, (struct sockaddr *)&sa, &l));
	sayf("bound: len=%u port=%s addr_is_self=%s", (unsigned)l, sin_port(&sa) ? "nonzero" : "zero",
	     yesno(sin_ip_is(&sa, self_ip())));
	int u = udp_socket();
	sa = sin_of("0.0.0.0", 0);
	say("udp bind any:0", bind(u, (struct sockaddr *)&sa, sizeof sa));
	l = sizeof sa;
	say("udp getsockname", getsockname(u, (struct sockaddr *)&sa, &l));
	sayf("udp bound: port=%s any=%s", sin_port(&sa) ? "nonzero" : "zero",
	     yesno(sa.sin_addr.s_addr == htonl(INADDR_ANY)));
	return 0;
}

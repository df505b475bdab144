/* connect on a UDP socket binds it implicitly: getsockname gives this
 * host's address and a nonzero port; a TCP socket bound to INADDR_ANY
 * shows the real local address after connect. */
#include "api.h"

int main(void)
{
	api_init();
	int u = udp_socket();
	struct sockaddr_in a = peer_sin(PORT_ECHO), me;
	socklen_t l = sizeof me;
	CHECK(getsockname(u, (struct sockaddr *)&me, &l) == 0);
	sayf("udp before connect: any=%s port=%d", yesno(me.sin_addr.s_addr == 0), sin_port(&me));
	say("udp connect", connect(u, (struct sockaddr *)&a, sizeof a));
	l = sizeof me;
	CHECK(getsockname(u, (struct sockaddr *)&me, &l) == 0);
	sayf("udp after connect: is_self=%s port=%s", yesno(sin_ip_is(&me, self_ip())), sin_port(&me) ? "nonzero" : "zero");
	int t = tcp_socket();
	struct sockaddr_in any = sin_of("0.0.0.0", 0);
	CHECK(bind(t, (struct sockaddr *)&any, sizeof any) == 0);
	l = sizeof me;
	CHECK(getsockname(t, (struct sockaddr *)&me, &l) == 0);
	sayf("tcp bound any: any=%s port=%s", yesno(me.sin_addr.s_addr == 0), sin_port(&me) ? "nonzero" : "zero");
	say("tcp connect", connect(t, (struct sockaddr *)&a, sizeof a));
	l = sizeof me;
	CHECK(getsockname(t, (struct sockaddr *)&me, &l) == 0);
	sayf("tcp after connect: is_self=%s", yesno(sin_ip_is(&me, self_ip())));
	return 0;
}

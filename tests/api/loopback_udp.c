/* UDP over 127.0.0.1: two sockets exchange a datagram; the source address
 * is 127.0.0.1 and the sender's port. */
#include "api.h"

int main(void)
{
	api_init();
	int a = udp_socket(), b = udp_socket();
	struct sockaddr_in sa = sin_of("127.0.0.1", 0), sb, from;
	socklen_t l = sizeof sb;
	CHECK(bind(b, (struct sockaddr *)&sa, sizeof sa) == 0);
	CHECK(getsockname(b, (struct sockaddr *)&sb, &l) == 0);
	say("sendto", sendto(a, "loop", 4, 0, (struct sockaddr *)&sb, sizeof sb));
	char buf[8];
	socklen_t fl = sizeof from;
	say("recvfrom", recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
	struct sockaddr_in am;
	socklen_t aml = sizeof am;
	CHECK(getsockname(a, (struct sockaddr *)&am, &aml) == 0);
	sayf("from loopback: %s, from a's port: %s", yesno(sin_ip_is(&from, "127.0.0.1")), yesno(from.sin_port == am.sin_port));
	return 0;
}

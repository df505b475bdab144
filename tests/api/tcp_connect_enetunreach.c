/* connect / sendto to an address with no route (no gateway configured):
 * ENETUNREACH at once, TCP and UDP. */
#include "api.h"

int main(void)
{
	api_init();
	int t = tcp_socket(), u = udp_socket();
	struct sockaddr_in a = sin_of("10.99.0.1", 80);
	say("tcp connect", connect(t, (struct sockaddr *)&a, sizeof a));
	say("udp sendto", sendto(u, "x", 1, 0, (struct sockaddr *)&a, sizeof a));
	say("udp connect", connect(u, (struct sockaddr *)&a, sizeof a));
	close(t);
	close(u);
	return 0;
}

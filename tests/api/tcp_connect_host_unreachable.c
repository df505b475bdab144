/* A blocking connect to an address on the link that nobody answers ARP
 * for fails with EHOSTUNREACH once address resolution gives up (a few
 * seconds). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	struct sockaddr_in a = sin_of(nohost_ip(), 80);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	close(fd);
	return 0;
}

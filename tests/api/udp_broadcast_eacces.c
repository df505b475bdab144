/* sendto the subnet broadcast address without SO_BROADCAST: EACCES; with
 * it the datagram is sent. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in b = sin_of("10.61.40.255", 5998);
	say("sendto broadcast", sendto(fd, "x", 1, 0, (struct sockaddr *)&b, sizeof b));
	int one = 1;
	say("set SO_BROADCAST", setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one));
	say("sendto broadcast", sendto(fd, "x", 1, 0, (struct sockaddr *)&b, sizeof b));
	close(fd);
	return 0;
}

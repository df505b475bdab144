/* A second connect on a connected socket: EISCONN (same and another
 * destination). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	struct sockaddr_in a = peer_sin(PORT_ECHO), b = peer_sin(PORT_DISCARD);
	say("connect same", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("connect other", connect(fd, (struct sockaddr *)&b, sizeof b));
	close(fd);
	return 0;
}

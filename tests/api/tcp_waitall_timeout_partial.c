/* MSG_WAITALL with SO_RCVTIMEO 1.5 s: the peer sends 13 bytes after 1 s
 * and nothing more; recv of 100 returns the 13 at the timeout. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DELAY);
	struct timeval tv = { 1, 500000 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	char buf[100];
	say("recv 100 MSG_WAITALL", recv(fd, buf, sizeof buf, MSG_WAITALL));
	say("recv again", recv(fd, buf, sizeof buf, MSG_WAITALL));
	close(fd);
	return 0;
}

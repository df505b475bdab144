/* A blocking connect with SO_SNDTIMEO 300 ms to a host that does not
 * answer: when the timeout expires connect fails with EINPROGRESS (the
 * attempt continues: connect again is EALREADY). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_socket();
	struct timeval tv = { 0, 300000 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == 0);
	struct sockaddr_in a = sin_of(nohost_ip(), 80);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	say("connect again", connect(fd, (struct sockaddr *)&a, sizeof a));
	close(fd);
	return 0;
}

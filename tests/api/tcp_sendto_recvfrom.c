/* sendto/recvfrom on a connected TCP socket: sendto with no address works;
 * with an address it is ignored on a connected TCP socket (the bytes go
 * to the connection); recvfrom's address length comes back as 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	say("sendto NULL", sendto(fd, "abc", 3, 0, NULL, 0));
	struct sockaddr_in other = peer_sin(PORT_DISCARD);
	say("sendto with address", sendto(fd, "def", 3, 0, (struct sockaddr *)&other, sizeof other));
	char buf[16];
	size_t got = 0;
	socklen_t al = 0;
	while (got < 6) {
		struct sockaddr_in from;
		al = sizeof from;
		memset(&from, 0xaa, sizeof from);
		ssize_t r = recvfrom(fd, buf + got, sizeof buf - got, 0, (struct sockaddr *)&from, &al);
		if (r <= 0)
			die("recvfrom %zd", r);
		got += (size_t)r;
	}
	sayf("got %zu bytes '%.6s' addrlen=%u", got, buf, (unsigned)al);
	close(fd);
	return 0;
}

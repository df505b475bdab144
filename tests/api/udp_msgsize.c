/* A UDP datagram larger than 65507 bytes is EMSGSIZE; 1472 bytes (one
 * Ethernet frame) and 4000 bytes (fragmented) come back from the echo
 * intact. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	struct timeval tv = { 3, 0 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	static char out[70000], in[70000];
	fill_pattern(out, sizeof out, 1);
	say("send 65508", send(fd, out, 65508, 0));
	size_t sizes[2] = { 1472, 4000 };
	for (int i = 0; i < 2; i++) {
		char l[32];
		snprintf(l, sizeof l, "send %zu", sizes[i]);
		say(l, send(fd, out, sizes[i], 0));
		ssize_t r = recv(fd, in, sizeof in, 0);
		say("recv", r);
		sayf("match: %s", yesno(r == (ssize_t)sizes[i] && !memcmp(in, out, sizes[i])));
	}
	close(fd);
	return 0;
}

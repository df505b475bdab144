/* send/recv round trip through the echo service: 3000 bytes of the
 * pattern come back intact (byte count and CRC-32). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	char out[3000], in[3000];
	fill_pattern(out, sizeof out, 0);
	say("send", send(fd, out, sizeof out, 0));
	size_t got = 0;
	while (got < sizeof in) {
		ssize_t r = recv(fd, in + got, sizeof in - got, 0);
		if (r <= 0)
			die("recv %zd", r);
		got += (size_t)r;
	}
	sayf("received %zu bytes crc=%08x sent crc=%08x", got, crc32_of(in, got), crc32_of(out, sizeof out));
	close(fd);
	return 0;
}

/* shutdown(SHUT_WR) half-closes: the half-close service sees EOF after our
 * 5000 bytes and only then replies; we can still read the reply and then
 * EOF. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_HALF_CLOSE);
	char out[5000];
	fill_pattern(out, sizeof out, 3);
	write_all(fd, out, sizeof out);
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	char line[64];
	read_line(fd, line, sizeof line);
	sayf("reply: %s", line);
	sayf("expected: n=5000 crc=%08x", crc32_of(out, sizeof out));
	char c;
	say("recv after reply", recv(fd, &c, 1, 0));
	close(fd);
	return 0;
}

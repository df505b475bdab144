/* dup: send on the dup, close the original, the dup still works (the
 * connection stays open until the last fd is closed): the half-close
 * service counts the bytes sent through both. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_HALF_CLOSE);
	int d = dup(fd);
	say("dup ok", d >= 0 ? 0 : -1);
	CHECK(d >= 0);
	write_all(d, "first", 5);
	say("close original", close(fd));
	say("send on dup", send(d, "second", 6, 0));
	say("send on closed original", send(fd, "x", 1, 0));
	CHECK(shutdown(d, SHUT_WR) == 0);
	char line[64];
	read_line(d, line, sizeof line);
	sayf("peer got: %s", line);
	sayf("expected: n=11 crc=%08x", crc32_of("firstsecond", 11));
	close(d);
	return 0;
}

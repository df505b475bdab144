/* sendfile from a regular temp file (200000 bytes of the pattern) to a TCP
 * socket: the half-close service reports the byte count and CRC-32; the
 * file offset argument advances. */
#include "api.h"
#include <sys/sendfile.h>

int main(void)
{
	api_init();
	char path[] = "/tmp/api-sendfile.XXXXXX";
	int f = mkstemp(path);
	CHECK(f >= 0);
	unlink(path);
	static char data[200000];
	fill_pattern(data, sizeof data, 5);
	write_all(f, data, sizeof data);
	int fd = tcp_connect(PORT_HALF_CLOSE);
	off_t off = 0;
	long total = 0;
	while (total < (long)sizeof data) {
		ssize_t r = sendfile(fd, f, &off, sizeof data - (size_t)total);
		if (r <= 0)
			die("sendfile %zd", r);
		total += r;
	}
	sayf("sendfile total %ld, offset now %ld", total, (long)off);
	say("sendfile at EOF", sendfile(fd, f, &off, 100));
	CHECK(shutdown(fd, SHUT_WR) == 0);
	char line[64];
	read_line(fd, line, sizeof line);
	sayf("peer got: %s", line);
	sayf("expected: n=200000 crc=%08x", crc32_of(data, sizeof data));
	say("sendfile to fd -1", sendfile(-1, f, NULL, 10));
	close(fd);
	close(f);
	return 0;
}

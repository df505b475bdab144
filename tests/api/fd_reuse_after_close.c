/* A socket fd is closed and its number reused by open() of a file: the
 * file reads correctly through that number, socket calls on it are
 * ENOTSOCK, poll sees the file. */
#include "api.h"

int main(void)
{
	api_init();
	char path[] = "/tmp/api-reuse.XXXXXX";
	int t = mkstemp(path);
	CHECK(t >= 0);
	write_all(t, "file-contents\n", 14);
	close(t);
	int fd = tcp_connect(PORT_HALF_CLOSE);
	write_all(fd, "abc", 3);
	int num = fd;
	say("close socket", close(fd));
	int f = open(path, O_RDONLY);
	unlink(path);
	sayf("open reused the number: %s", yesno(f == num));
	char buf[32];
	ssize_t r = read(f, buf, sizeof buf);
	say("read", r);
	sayf("content: '%.*s'", r > 0 ? (int)r - 1 : 0, buf);
	say("send on it", send(f, "x", 1, 0));
	int v;
	socklen_t vl = sizeof v;
	say("getsockopt on it", getsockopt(f, SOL_SOCKET, SO_TYPE, &v, &vl));
	struct pollfd p = { .fd = f, .events = POLLIN };
	say("poll on it", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(f);
	return 0;
}

/* read/write on a TCP socket behave as recv/send: a round trip through
 * echo, then write after shutdown(SHUT_WR) is EPIPE (SIGPIPE ignored). */
#include "api.h"

int main(void)
{
	api_init();
	signal(SIGPIPE, SIG_IGN);
	int fd = tcp_connect(PORT_ECHO);
	char out[500], in[500];
	fill_pattern(out, sizeof out, 11);
	say("write", write(fd, out, sizeof out));
	size_t n = read_full(fd, in, sizeof in);
	sayf("read back %zu bytes, match=%s", n, yesno(n == sizeof in && !memcmp(in, out, n)));
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	say("read after echo closes", read(fd, in, sizeof in));
	say("write after SHUT_WR", write(fd, out, 1));
	close(fd);
	return 0;
}

/* The peer sends a line and closes: recv returns the data, then 0, and 0
 * again on every later call (read too). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_HELLO_CLOSE);
	char buf[64];
	size_t n = read_full(fd, buf, sizeof buf);
	sayf("data: %zu bytes '%.*s'", n, n ? (int)n - 1 : 0, buf);
	say("recv after EOF", recv(fd, buf, sizeof buf, 0));
	say("recv again", recv(fd, buf, sizeof buf, 0));
	say("read", read(fd, buf, sizeof buf));
	say("recv MSG_DONTWAIT", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	close(fd);
	return 0;
}

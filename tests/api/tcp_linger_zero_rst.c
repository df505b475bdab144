/* close with SO_LINGER {1, 0} (abortive close, RST to the peer) returns
 * 0 at once after the data was exchanged, and the fd is gone (EBADF). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	write_all(fd, "abc", 3);
	char buf[4];
	CHECK(read_full(fd, buf, 3) == 3);
	struct linger lg = { 1, 0 };
	say("set SO_LINGER {1,0}", setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
	long long t0 = now_ms();
	say("close", close(fd));
	sayf("close immediate: %s", yesno(now_ms() - t0 < 500));
	say("send on closed fd", send(fd, "x", 1, 0));
	return 0;
}

/* The peer closes after its line: poll for POLLIN|POLLRDHUP reports both;
 * the data is still readable, then EOF. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_HELLO_CLOSE);
	int rev = wait_for(fd, POLLRDHUP, 3000);
	sayf("revents (asked POLLRDHUP): %s", pollbits(rev));
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDHUP };
	say("poll", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	char buf[64];
	size_t n = read_full(fd, buf, sizeof buf);
	sayf("read %zu bytes then EOF", n);
	say("poll after EOF", poll(&p, 1, 0));
	sayf("revents: %s", pollbits(p.revents));
	close(fd);
	return 0;
}

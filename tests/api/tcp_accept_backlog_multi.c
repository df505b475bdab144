/* Three connections arrive before the first accept: the listener is
 * readable, and three accepts each return a distinct connection carrying
 * the greeting. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ctl = connect_back(port, 3);
	sayf("listener readable: %s", pollbits(wait_for(ls, POLLIN, 3000)));
	int fds[3];
	for (int i = 0; i < 3; i++) {
		fds[i] = accept(ls, NULL, NULL);
		CHECK(fds[i] >= 0);
		char buf[64];
		size_t n = read_full(fds[i], buf, strlen(GREETING));
		sayf("conn %d: greeting %zu bytes", i, n);
	}
	set_nonblock(ls, 1);
	say("fourth accept", accept(ls, NULL, NULL));
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(ctl);
	return 0;
}

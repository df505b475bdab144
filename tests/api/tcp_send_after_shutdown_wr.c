/* send after our own shutdown(SHUT_WR): EPIPE and SIGPIPE. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int fd = tcp_connect(PORT_DISCARD);
	say("shutdown SHUT_WR", shutdown(fd, SHUT_WR));
	say("send", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(fd);
	return 0;
}

/* send on a TCP socket that never connected: -1 EPIPE with SIGPIPE
 * (kernel behaviour); with MSG_NOSIGNAL no signal. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int fd = tcp_socket();
	say("send", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("send MSG_NOSIGNAL", send(fd, "x", 1, MSG_NOSIGNAL));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("write", write(fd, "x", 1));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(fd);
	return 0;
}

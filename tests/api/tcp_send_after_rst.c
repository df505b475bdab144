/* After the peer's RST has arrived (no read in between): the first send
 * reports ECONNRESET (no SIGPIPE), the next one EPIPE with SIGPIPE. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int fd = tcp_connect(PORT_RESET);
	int rev = wait_for(fd, POLLERR, 3000);
	sayf("poll after RST: %s", pollbits(rev));
	say("send", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("send again", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(fd);
	return 0;
}

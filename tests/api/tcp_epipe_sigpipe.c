/* The peer closes (FIN) at once. Our first send still succeeds (the peer
 * answers it with RST); once the RST is in, send fails with EPIPE and
 * SIGPIPE is delivered (handler counts it), once per failing send. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int fd = tcp_connect(PORT_CLOSE_NOW);
	char c;
	say("recv (peer's FIN)", recv(fd, &c, 1, 0));
	say("first send", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	int rev = wait_for(fd, POLLHUP, 3000);
	sayf("RST arrived (POLLHUP): %s", yesno(rev & POLLHUP));
	say("send after RST", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("send again", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("write", write(fd, "x", 1));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(fd);
	return 0;
}

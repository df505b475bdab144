/* As tcp_epipe_sigpipe, but with MSG_NOSIGNAL: EPIPE and no SIGPIPE;
 * a later send without the flag does raise it. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int fd = tcp_connect(PORT_CLOSE_NOW);
	char c;
	say("recv (peer's FIN)", recv(fd, &c, 1, 0));
	say("first send", send(fd, "x", 1, MSG_NOSIGNAL));
	sayf("RST arrived (POLLHUP): %s", yesno(wait_for(fd, POLLHUP, 3000) & POLLHUP));
	say("send MSG_NOSIGNAL", send(fd, "x", 1, MSG_NOSIGNAL));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("sendto MSG_NOSIGNAL", sendto(fd, "x", 1, MSG_NOSIGNAL, NULL, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	say("send without flag", send(fd, "x", 1, 0));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(fd);
	return 0;
}

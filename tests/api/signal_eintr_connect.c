/* A blocking connect to a host that never answers, interrupted by SIGALRM
 * (no SA_RESTART): -1 EINTR; the connection attempt goes on in the
 * background: connect again is EALREADY. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, 0);
	int fd = tcp_socket();
	struct sockaddr_in a = sin_of(nohost_ip(), 80);
	alarm_ms(200);
	say("connect", connect(fd, (struct sockaddr *)&a, sizeof a));
	sayf("SIGALRM count: %d", (int)sig_count);
	set_nonblock(fd, 1);
	say("connect again (non-blocking)", connect(fd, (struct sockaddr *)&a, sizeof a));
	close(fd);
	return 0;
}

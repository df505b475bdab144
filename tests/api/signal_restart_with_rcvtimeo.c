/* A blocking recv with SO_RCVTIMEO set is not restarted after a SA_RESTART
 * handler: it fails with EINTR (the kernel restarts only calls without a
 * timeout). */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, SA_RESTART);
	int fd = tcp_connect(PORT_DELAY);
	struct timeval tv = { 5, 0 };
	CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	alarm_ms(200);
	char buf[32];
	say("recv", recv(fd, buf, sizeof buf, 0));
	sayf("SIGALRM count: %d", (int)sig_count);
	close(fd);
	return 0;
}

/* The same blocking recv with the SIGALRM handler installed with
 * SA_RESTART: the call continues after the handler and returns the data. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, SA_RESTART);
	int fd = tcp_connect(PORT_DELAY);
	alarm_ms(200);
	char buf[32];
	ssize_t r = recv(fd, buf, sizeof buf, 0);
	say("recv", r);
	sayf("data: '%.*s'", r > 0 ? (int)r - 1 : 0, buf);
	sayf("SIGALRM count: %d", (int)sig_count);
	close(fd);
	return 0;
}

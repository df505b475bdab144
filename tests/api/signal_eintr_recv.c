/* A blocking recv (the peer sends after 1 s) interrupted by SIGALRM whose
 * handler was installed without SA_RESTART: -1 EINTR, handler ran once;
 * the data is still read afterwards. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, 0);
	int fd = tcp_connect(PORT_DELAY);
	alarm_ms(200);
	char buf[32];
	say("recv", recv(fd, buf, sizeof buf, 0));
	sayf("SIGALRM count: %d", (int)sig_count);
	size_t n = read_full(fd, buf, strlen(DELAY_MSG));
	sayf("then read %zu bytes: '%.12s'", n, buf);
	close(fd);
	return 0;
}

/* A blocking accept with nobody connecting, interrupted by SIGALRM (no
 * SA_RESTART): -1 EINTR. */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGALRM, count_sig, 0);
	int port;
	int ls = tcp_listener(&port);
	alarm_ms(200);
	say("accept", accept(ls, NULL, NULL));
	sayf("SIGALRM count: %d", (int)sig_count);
	close(ls);
	return 0;
}

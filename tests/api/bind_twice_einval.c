/* Binding an already bound socket again fails with EINVAL (TCP and UDP). */
#include "api.h"

static void run(const char *what, int fd)
{
	struct sockaddr_in sa = self_sin(0);
	char l[64];
	snprintf(l, sizeof l, "%s first bind", what);
	say(l, bind(fd, (struct sockaddr *)&sa, sizeof sa));
	snprintf(l, sizeof l, "%s second bind", what);
	say(l, bind(fd, (struct sockaddr *)&sa, sizeof sa));
	close(fd);
}

int main(void)
{
	api_init();
	run("tcp", tcp_socket());
	run("udp", udp_socket());
	return 0;
}

/* accept on a non-blocking listener with nothing pending: EAGAIN; accept
 * on a socket that is not listening: EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	set_nonblock(ls, 1);
	say("accept nothing pending", accept(ls, NULL, NULL));
	say("accept4 nothing pending", accept4(ls, NULL, NULL, SOCK_CLOEXEC));
	int s = tcp_socket();
	say("accept on unlistened socket", accept(s, NULL, NULL));
	return 0;
}

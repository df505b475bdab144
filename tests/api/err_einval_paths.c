/* EINVAL and friends: bind with a short address length, listen on UDP
 * (EOPNOTSUPP), getsockopt with an unknown option (ENOPROTOOPT),
 * setsockopt with optlen 0 (EINVAL), bind to a foreign address
 * (EADDRNOTAVAIL), connect with a bad family (EAFNOSUPPORT), accept on
 * UDP (EOPNOTSUPP). */
#include "api.h"

int main(void)
{
	api_init();
	int t = tcp_socket(), u = udp_socket();
	struct sockaddr_in a = self_sin(0);
	say("bind addrlen 3", bind(t, (struct sockaddr *)&a, 3));
	say("listen on udp", listen(u, 1));
	say("accept on udp", accept(u, NULL, NULL));
	int v = 1;
	socklen_t vl = sizeof v;
	say("getsockopt SOL_SOCKET 9999", getsockopt(t, SOL_SOCKET, 9999, &v, &vl));
	say("setsockopt SO_RCVBUF optlen 0", setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, 0));
	say("getsockopt unknown level", getsockopt(t, 12345, 1, &v, &vl));
	struct sockaddr_in foreign = sin_of("10.99.99.99", 0);
	say("bind foreign address", bind(t, (struct sockaddr *)&foreign, sizeof foreign));
	struct sockaddr_in bad = peer_sin(PORT_ECHO);
	bad.sin_family = AF_INET6;
	say("connect family AF_INET6", connect(t, (struct sockaddr *)&bad, sizeof bad));
	say("connect addrlen 4", connect(t, (struct sockaddr *)&a, 4));
	bad.sin_family = AF_UNIX;
	say("bind family AF_UNIX", bind(u, (struct sockaddr *)&bad, sizeof bad));
	return 0;
}

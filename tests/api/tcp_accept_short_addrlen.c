/* accept with an address buffer shorter than sockaddr_in: the address is
 * truncated to the buffer and addrlen reports the full length (16); with
 * addrlen 0 nothing is written. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ctl = connect_back(port, 2);
	unsigned char buf[16];
	memset(buf, 0xee, sizeof buf);
	socklen_t l = 4;
	int c = accept(ls, (struct sockaddr *)buf, &l);
	say("accept addrlen 4", c < 0 ? c : 0);
	sayf("addrlen now %u, family_inet=%s, byte 4 untouched=%s", (unsigned)l,
	     yesno((buf[0] | buf[1] << 8) == AF_INET), yesno(buf[4] == 0xee));
	memset(buf, 0xee, sizeof buf);
	l = 0;
	int d = accept(ls, (struct sockaddr *)buf, &l);
	say("accept addrlen 0", d < 0 ? d : 0);
	sayf("addrlen now %u, untouched=%s", (unsigned)l, yesno(buf[0] == 0xee && buf[1] == 0xee));
	close(c);
	close(d);
	close(ctl);
	return 0;
}

/* sendmsg with a two-part iovec, recvmsg back: byte count, msg_flags 0,
 * msg_namelen 0 for TCP (no address), msg_controllen 0. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	char p1[] = "hello ", p2[] = "sendmsg\n";
	struct iovec iv[2] = { { p1, 6 }, { p2, 8 } };
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = iv;
	m.msg_iovlen = 2;
	say("sendmsg", sendmsg(fd, &m, 0));
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	char buf[64];
	struct sockaddr_in from;
	char cbuf[64];
	struct iovec riv = { buf, sizeof buf };
	memset(&m, 0, sizeof m);
	m.msg_name = &from;
	m.msg_namelen = sizeof from;
	m.msg_iov = &riv;
	m.msg_iovlen = 1;
	m.msg_control = cbuf;
	m.msg_controllen = sizeof cbuf;
	ssize_t r = recvmsg(fd, &m, 0);
	say("recvmsg", r);
	sayf("namelen=%u controllen=%zu flags=0x%x data='%.*s'", (unsigned)m.msg_namelen,
	     (size_t)m.msg_controllen, m.msg_flags, r > 0 ? (int)r - 1 : 0, buf);
	close(fd);
	return 0;
}

/* UDP truncation: a 100-byte datagram read into 10 bytes. recv with
 * MSG_TRUNC returns the real length (100); recvmsg without it returns 10
 * and sets MSG_TRUNC in msg_flags; the rest of the datagram is gone. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	char out[100], buf[10];
	fill_pattern(out, sizeof out, 0);
	write_all(fd, out, sizeof out);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	say("recv 10 MSG_TRUNC", recv(fd, buf, sizeof buf, MSG_TRUNC));
	write_all(fd, out, sizeof out);
	CHECK(wait_for(fd, POLLIN, 3000) & POLLIN);
	struct iovec iv = { buf, sizeof buf };
	struct msghdr m;
	memset(&m, 0, sizeof m);
	m.msg_iov = &iv;
	m.msg_iovlen = 1;
	say("recvmsg 10", recvmsg(fd, &m, 0));
	sayf("msg_flags MSG_TRUNC: %s", yesno(m.msg_flags & MSG_TRUNC));
	sayf("data match: %s", yesno(!memcmp(buf, out, 10)));
	say("nothing left (MSG_DONTWAIT)", recv(fd, buf, sizeof buf, MSG_DONTWAIT));
	close(fd);
	return 0;
}

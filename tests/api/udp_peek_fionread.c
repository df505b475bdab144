/* UDP with two datagrams queued (7 and 3 bytes): FIONREAD is the size of
 * the first; MSG_PEEK returns it without consuming; two recvs return 7
 * then 3. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	write_all(fd, "seven!!", 7);
	write_all(fd, "333", 3);
	sleep_ms(200);
	int n = -1;
	say("FIONREAD", ioctl(fd, FIONREAD, &n));
	sayf("value: %d", n);
	char buf[32];
	say("peek", recv(fd, buf, sizeof buf, MSG_PEEK));
	say("recv", recv(fd, buf, sizeof buf, 0));
	CHECK(ioctl(fd, FIONREAD, &n) == 0);
	sayf("FIONREAD now: %d", n);
	say("recv", recv(fd, buf, sizeof buf, 0));
	CHECK(ioctl(fd, FIONREAD, &n) == 0);
	sayf("FIONREAD empty: %d", n);
	close(fd);
	return 0;
}

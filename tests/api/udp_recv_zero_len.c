/* recv of 0 bytes on UDP consumes the whole next datagram (returns 0, with
 * MSG_TRUNC the datagram's length); the following datagram is intact. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	CHECK(connect(fd, (struct sockaddr *)&to, sizeof to) == 0);
	write_all(fd, "first", 5);
	write_all(fd, "second", 6);
	write_all(fd, "third!!", 7);
	sleep_ms(200);
	char buf[16];
	say("recv 0", recv(fd, buf, 0, 0));
	say("recv 0 MSG_TRUNC", recv(fd, buf, 0, MSG_TRUNC));
	say("recv", recv(fd, buf, sizeof buf, 0));
	close(fd);
	return 0;
}

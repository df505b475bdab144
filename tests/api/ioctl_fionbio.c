/* ioctl FIONBIO switches O_NONBLOCK on and off (visible in F_GETFL);
 * with it on, recv is EAGAIN. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	int on = 1;
	say("FIONBIO 1", ioctl(fd, FIONBIO, &on));
	sayf("O_NONBLOCK: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	char c;
	say("recv", recv(fd, &c, 1, 0));
	on = 0;
	say("FIONBIO 0", ioctl(fd, FIONBIO, &on));
	sayf("O_NONBLOCK: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	close(fd);
	return 0;
}

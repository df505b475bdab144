/* socket(SOCK_NONBLOCK|SOCK_CLOEXEC): the flags are visible through fcntl
 * F_GETFL / F_GETFD; a plain socket() has neither. TCP and UDP. */
#include "api.h"

static void show(const char *what, int type)
{
	int fd = socket(AF_INET, type, 0);
	CHECK(fd >= 0);
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	CHECK(fl >= 0 && fdfl >= 0);
	sayf("%s: O_NONBLOCK=%s FD_CLOEXEC=%s O_RDWR=%s", what, yesno(fl & O_NONBLOCK),
	     yesno(fdfl & FD_CLOEXEC), yesno((fl & O_ACCMODE) == O_RDWR));
	close(fd);
}

int main(void)
{
	api_init();
	show("tcp plain", SOCK_STREAM);
	show("tcp nonblock", SOCK_STREAM | SOCK_NONBLOCK);
	show("tcp cloexec", SOCK_STREAM | SOCK_CLOEXEC);
	show("tcp both", SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	show("udp plain", SOCK_DGRAM);
	show("udp both", SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	return 0;
}

/* F_DUPFD(fd, 100) returns the lowest free fd >= 100 without FD_CLOEXEC;
 * F_DUPFD_CLOEXEC sets it (the original keeps its flags); both dups reach
 * the same connection: send on one, receive on the other. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int d1 = fcntl(fd, F_DUPFD, 100);
	sayf("F_DUPFD 100: %s", d1 == 100 ? "100" : d1 > 100 ? ">100" : errname(errno));
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	sayf("F_DUPFD_CLOEXEC 100: %s", d2 == 101 ? "101" : d2 >= 100 ? ">=100 other" : errname(errno));
	CHECK(d1 >= 0 && d2 >= 0);
	sayf("cloexec: orig=%s dupfd=%s dupfd_cloexec=%s", yesno(fcntl(fd, F_GETFD) & FD_CLOEXEC),
	     yesno(fcntl(d1, F_GETFD) & FD_CLOEXEC), yesno(fcntl(d2, F_GETFD) & FD_CLOEXEC));
	say("send on F_DUPFD copy", send(d1, "dup", 3, 0));
	char buf[8];
	sayf("read on F_DUPFD_CLOEXEC copy: %zu", read_full(d2, buf, 3));
	set_nonblock(d1, 1);
	sayf("O_NONBLOCK shared with original: %s", yesno(fcntl(fd, F_GETFL) & O_NONBLOCK));
	say("F_DUPFD negative", fcntl(fd, F_DUPFD, -1));
	close(fd);
	close(d1);
	close(d2);
	return 0;
}

/* select with a closed fd in the read set: -1 EBADF; with only live fds
 * it works; nfds -1 is EINVAL. */
#include "api.h"
#include <sys/select.h>

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_DISCARD);
	int dead = tcp_socket();
	close(dead);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(dead, &r);
	FD_SET(fd, &w);
	struct timeval tv = { 0, 0 };
	int maxfd = dead > fd ? dead : fd;
	say("select with closed fd", select(maxfd + 1, &r, &w, NULL, &tv));
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(fd, &w);
	tv.tv_usec = 0;
	say("select live socket writable", select(fd + 1, NULL, &w, NULL, &tv));
	sayf("bit: %d", FD_ISSET(fd, &w));
	say("select nfds -1", select(-1, NULL, NULL, NULL, &tv));
	close(fd);
	return 0;
}

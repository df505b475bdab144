/* epoll_ctl errors: ADD twice EEXIST, MOD/DEL of an unregistered fd
 * ENOENT, the epoll fd itself EINVAL, a closed fd EBADF, a regular file
 * EPERM, a non-epoll epfd EINVAL, a bad op EINVAL. */
#include "api.h"

int main(void)
{
	api_init();
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	int fd = tcp_connect(PORT_DISCARD), other = tcp_socket();
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
	say("ADD", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	say("ADD again", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	say("MOD unregistered", epoll_ctl(ep, EPOLL_CTL_MOD, other, &ev));
	say("DEL unregistered", epoll_ctl(ep, EPOLL_CTL_DEL, other, &ev));
	say("ADD epfd to itself", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
	int dead = tcp_socket();
	close(dead);
	say("ADD closed fd", epoll_ctl(ep, EPOLL_CTL_ADD, dead, &ev));
	char path[] = "/tmp/api-epoll.XXXXXX";
	int f = mkstemp(path);
	CHECK(f >= 0);
	unlink(path);
	say("ADD regular file", epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
	say("socket as epfd", epoll_ctl(other, EPOLL_CTL_ADD, fd, &ev));
	say("bad op", epoll_ctl(ep, 99, fd, &ev));
	say("DEL", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
	say("DEL again", epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL));
	say("epoll_create1 bad flag", epoll_create1(0x1));
	say("epoll_create(0)", epoll_create(0));
	struct epoll_event out[1];
	say("epoll_wait maxevents 0", epoll_wait(ep, out, 0, 0));
	say("epoll_wait on a socket", epoll_wait(fd, out, 1, 0));
	return 0;
}

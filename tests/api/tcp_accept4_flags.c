/* accept4(SOCK_NONBLOCK|SOCK_CLOEXEC) sets the flags on the new fd; plain
 * accept() on a non-blocking listener gives a blocking fd without
 * FD_CLOEXEC (flags are not inherited); accept4 with a bad flag: EINVAL. */
#include "api.h"

static void show(const char *what, int fd)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	CHECK(fl >= 0 && fdfl >= 0);
	sayf("%s: O_NONBLOCK=%s FD_CLOEXEC=%s", what, yesno(fl & O_NONBLOCK), yesno(fdfl & FD_CLOEXEC));
}

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int ctl = connect_back(port, 2);
	say("accept4 bad flags", accept4(ls, NULL, NULL, 0x1234));
	int a = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	CHECK(a >= 0);
	show("accept4 nonblock|cloexec", a);
	set_nonblock(ls, 1);
	CHECK(wait_for(ls, POLLIN, 3000) & POLLIN);
	int b = accept(ls, NULL, NULL);
	CHECK(b >= 0);
	show("accept on nonblocking listener", b);
	char buf[64];
	sayf("greeting on plain accept: %zu bytes", read_full(b, buf, strlen(GREETING)));
	close(a);
	close(b);
	close(ctl);
	close(ls);
	return 0;
}

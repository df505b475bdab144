/* dup3(a, b, O_CLOEXEC) sets FD_CLOEXEC on b only; dup3(a, a, 0) is
 * EINVAL; dup3 with a bad flag is EINVAL; b works on a's connection. */
#include "api.h"

int main(void)
{
	api_init();
	int a = tcp_connect(PORT_ECHO);
	int b = 60;
	say("dup3(a, 60, O_CLOEXEC) == 60", dup3(a, b, O_CLOEXEC) == b ? 0 : -1);
	sayf("FD_CLOEXEC: a=%s b=%s", yesno(fcntl(a, F_GETFD) & FD_CLOEXEC), yesno(fcntl(b, F_GETFD) & FD_CLOEXEC));
	say("dup3(a, a, 0)", dup3(a, a, 0));
	say("dup3 bad flag", dup3(a, 61, 0x4));
	say("send on b", send(b, "d3", 2, 0));
	char buf[4];
	sayf("read on a: %zu", read_full(a, buf, 2));
	close(a);
	close(b);
	return 0;
}

/* SO_RCVTIMEO / SO_SNDTIMEO: default 0; set 1.5 s and read it back; a
 * negative tv_usec is EDOM; optlen too small is EINVAL. */
#include "api.h"

static void get(int fd, int opt, const char *name)
{
	struct timeval tv = { -1, -1 };
	socklen_t l = sizeof tv;
	int r = getsockopt(fd, SOL_SOCKET, opt, &tv, &l);
	sayf("%s: ret=%d len=%u %ld.%06ld", name, r, (unsigned)l, (long)tv.tv_sec, (long)tv.tv_usec);
}

int main(void)
{
	api_init();
	int fd = tcp_socket();
	get(fd, SO_RCVTIMEO, "RCVTIMEO default");
	get(fd, SO_SNDTIMEO, "SNDTIMEO default");
	struct timeval tv = { 1, 500000 };
	say("set RCVTIMEO", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	say("set SNDTIMEO", setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
	get(fd, SO_RCVTIMEO, "RCVTIMEO");
	get(fd, SO_SNDTIMEO, "SNDTIMEO");
	struct timeval bad = { 0, -5 };
	say("set RCVTIMEO usec=-5", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &bad, sizeof bad));
	say("set RCVTIMEO optlen 4", setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, 4));
	close(fd);
	return 0;
}

/* SO_SNDTIMEO on a blocking socket whose peer never reads: once the
 * buffers are full, send waits for the timeout and fails with EAGAIN. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_SINK);
	struct timeval tv = { 0, 200000 };
	say("setsockopt SO_SNDTIMEO", setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv));
	static char buf[65536];
	long total = 0;
	ssize_t r;
	long long end = now_ms() + 15000;
	while ((r = send(fd, buf, sizeof buf, 0)) > 0) {
		total += r;
		if (now_ms() > end)
			die("send never timed out");
	}
	say("last send", r);
	sayf("wrote a positive amount first: %s", yesno(total > 0));
	close(fd);
	return 0;
}

/* Zero-length I/O on a connected TCP socket: send of 0 bytes returns 0;
 * recv of 0 bytes with MSG_DONTWAIT and nothing queued is EAGAIN, but
 * read of 0 bytes returns 0 at once; with data queued both return 0 and
 * leave the data (FIONREAD unchanged). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	say("send 0", send(fd, "", 0, 0));
	say("write 0", write(fd, "", 0));
	char c;
	say("recv 0 MSG_DONTWAIT, nothing queued", recv(fd, &c, 0, MSG_DONTWAIT));
	long long t0 = now_ms();
	say("read 0, nothing queued", read(fd, &c, 0));
	sayf("immediate: %s", yesno(now_ms() - t0 < 500));
	write_all(fd, "abc", 3);
	int n = 0;
	long long end = now_ms() + 3000;
	while (n < 3 && now_ms() < end) {
		CHECK(ioctl(fd, FIONREAD, &n) == 0);
		if (n < 3)
			sleep_ms(10);
	}
	say("recv 0 with data queued", recv(fd, &c, 0, 0));
	say("read 0 with data queued", read(fd, &c, 0));
	CHECK(ioctl(fd, FIONREAD, &n) == 0);
	sayf("FIONREAD still: %d", n);
	close(fd);
	return 0;
}

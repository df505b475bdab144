/* writev with IOV_MAX (1024) one-byte iovecs writes 1024 bytes (echoed
 * back intact); with 1025 iovecs it is EINVAL. */
#include "api.h"
#include <limits.h>

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	static char data[1025];
	static struct iovec iv[1025];
	fill_pattern(data, sizeof data, 0);
	for (int i = 0; i < 1025; i++) {
		iv[i].iov_base = data + i;
		iv[i].iov_len = 1;
	}
	volatile int many = 1025;
	say("writev 1025", writev(fd, iv, many));
	say("writev 1024", writev(fd, iv, 1024));
	char in[1024];
	size_t n = read_full(fd, in, sizeof in);
	sayf("echo %zu bytes, match=%s", n, yesno(n == 1024 && !memcmp(in, data, 1024)));
	close(fd);
	return 0;
}

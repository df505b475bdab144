/* sendmmsg on TCP: three messages, return value 3, msg_len of each; the
 * echo brings back all bytes in order. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	char *parts[3] = { "one,", "two,", "three\n" };
	struct iovec iv[3];
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = parts[i];
		iv[i].iov_len = strlen(parts[i]);
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	say("sendmmsg", sendmmsg(fd, mm, 3, 0));
	sayf("msg_len: %u %u %u", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
	char buf[32];
	size_t n = read_full(fd, buf, 14);
	sayf("echo: %zu '%.13s'", n, buf);
	close(fd);
	return 0;
}

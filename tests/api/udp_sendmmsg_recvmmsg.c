/* sendmmsg three datagrams to UDP echo, recvmmsg them back in one call
 * (MSG_WAITFORONE after the first): lengths and source of each. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = udp_socket();
	struct sockaddr_in to = peer_sin(PORT_ECHO);
	char *parts[3] = { "a", "bb", "cccc" };
	struct iovec iv[3];
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		iv[i].iov_base = parts[i];
		iv[i].iov_len = strlen(parts[i]);
		mm[i].msg_hdr.msg_iov = &iv[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to;
		mm[i].msg_hdr.msg_namelen = sizeof to;
	}
	say("sendmmsg", sendmmsg(fd, mm, 3, 0));
	/* let all three echoes arrive before receiving */
	sleep_ms(200);
	char bufs[4][16];
	struct sockaddr_in from[4];
	struct iovec riv[4];
	struct mmsghdr rm[4];
	memset(rm, 0, sizeof rm);
	for (int i = 0; i < 4; i++) {
		riv[i].iov_base = bufs[i];
		riv[i].iov_len = sizeof bufs[i];
		rm[i].msg_hdr.msg_iov = &riv[i];
		rm[i].msg_hdr.msg_iovlen = 1;
		rm[i].msg_hdr.msg_name = &from[i];
		rm[i].msg_hdr.msg_namelen = sizeof from[i];
	}
	int r = recvmmsg(fd, rm, 4, MSG_WAITFORONE, NULL);
	say("recvmmsg", r);
	for (int i = 0; i < r; i++)
		sayf("msg %d: len=%u '%.*s' namelen=%u from_peer=%s port=%d", i, rm[i].msg_len,
		     (int)rm[i].msg_len, bufs[i], (unsigned)rm[i].msg_hdr.msg_namelen,
		     yesno(sin_ip_is(&from[i], peer_ip())), sin_port(&from[i]));
	say("recvmmsg nothing left (MSG_DONTWAIT)", recvmmsg(fd, rm, 4, MSG_DONTWAIT, NULL));
	close(fd);
	return 0;
}

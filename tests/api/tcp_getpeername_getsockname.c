/* After connect: getsockname is API_SELF with a nonzero port, getpeername
 * is API_PEER port 7; both AF_INET, length 16; a too-short buffer gets a
 * truncated address and the full length. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	struct sockaddr_in a;
	socklen_t l = sizeof a;
	memset(&a, 0, sizeof a);
	say("getsockname", getsockname(fd, (struct sockaddr *)&a, &l));
	sayf("self: len=%u family_inet=%s is_self=%s port=%s", (unsigned)l,
	     yesno(a.sin_family == AF_INET), yesno(sin_ip_is(&a, self_ip())), sin_port(&a) ? "nonzero" : "zero");
	l = sizeof a;
	memset(&a, 0, sizeof a);
	say("getpeername", getpeername(fd, (struct sockaddr *)&a, &l));
	sayf("peer: len=%u family_inet=%s is_peer=%s port=%d", (unsigned)l,
	     yesno(a.sin_family == AF_INET), yesno(sin_ip_is(&a, peer_ip())), sin_port(&a));
	unsigned char small[4];
	memset(small, 0xee, sizeof small);
	l = sizeof small;
	say("getpeername 4-byte buffer", getpeername(fd, (struct sockaddr *)small, &l));
	sayf("returned len=%u first bytes: family_inet=%s port=%d", (unsigned)l,
	     yesno((small[0] | small[1] << 8) == AF_INET), (small[2] << 8) | small[3]);
	close(fd);
	return 0;
}

/* MSG_WAITALL: recv of 256 KiB from the bulk service returns exactly
 * 262144 bytes (the pattern); a MSG_WAITALL recv larger than what is left
 * returns the rest at EOF. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_BULK);
	static char buf[BULK_SIZE];
	static char want[BULK_SIZE];
	fill_pattern(want, sizeof want, 0);
	ssize_t r = recv(fd, buf, 262144, MSG_WAITALL);
	say("recv 262144 MSG_WAITALL", r);
	sayf("match=%s", yesno(r == 262144 && !memcmp(buf, want, 262144)));
	r = recv(fd, buf, BULK_SIZE, MSG_WAITALL);
	say("recv 1 MiB MSG_WAITALL (786432 left)", r);
	sayf("match=%s", yesno(r == 786432 && !memcmp(buf, want + 262144, 786432)));
	say("recv at EOF", recv(fd, buf, 10, MSG_WAITALL));
	close(fd);
	return 0;
}

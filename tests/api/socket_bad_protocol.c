/* socket() with a protocol that does not fit the type: EPROTONOSUPPORT;
 * the matching explicit protocols succeed; an invalid type is EINVAL. */
#include "api.h"

static void try(const char *label, int type, int proto)
{
	int fd = socket(AF_INET, type, proto);
	say(label, fd < 0 ? fd : 0);
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	api_init();
	try("stream/tcp", SOCK_STREAM, IPPROTO_TCP);
	try("dgram/udp", SOCK_DGRAM, IPPROTO_UDP);
	try("stream/udp", SOCK_STREAM, IPPROTO_UDP);
	try("dgram/tcp", SOCK_DGRAM, IPPROTO_TCP);
	try("stream/253", SOCK_STREAM, 253);
	try("type 99", 99, 0);
	try("bad flag bits", SOCK_STREAM | 0x40000000, 0);
	return 0;
}

/* 1 MiB from the bulk service, read with recv in 64 KiB calls until EOF:
 * count and CRC-32 of the pattern. */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_BULK);
	uint32_t crc;
	size_t n = read_to_eof(fd, &crc);
	static char want[BULK_SIZE];
	fill_pattern(want, sizeof want, 0);
	sayf("received %zu bytes, crc=%08x, expected crc=%08x", n, crc, crc32_of(want, sizeof want));
	close(fd);
	return 0;
}

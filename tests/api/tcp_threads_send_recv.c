/* One connection, two threads: one sends 2 MiB of the pattern to the echo
 * service while the main thread receives it all back (count and CRC). */
#include "api.h"
#include <pthread.h>

#define TOTAL (2 * 1024 * 1024)
static char out[TOTAL];

static void *sender(void *arg)
{
	int fd = *(int *)arg;
	write_all(fd, out, sizeof out);
	return NULL;
}

int main(void)
{
	api_init();
	fill_pattern(out, sizeof out, 17);
	int fd = tcp_connect(PORT_ECHO);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, sender, &fd) == 0);
	static char in[65536];
	size_t got = 0;
	uint32_t crc = 0;
	while (got < TOTAL) {
		ssize_t r = recv(fd, in, sizeof in, 0);
		if (r <= 0)
			die("recv %zd", r);
		crc = crc32_update(crc, in, (size_t)r);
		got += (size_t)r;
	}
	CHECK(pthread_join(th, NULL) == 0);
	sayf("received %zu crc=%08x expected=%08x", got, crc, crc32_of(out, sizeof out));
	close(fd);
	return 0;
}

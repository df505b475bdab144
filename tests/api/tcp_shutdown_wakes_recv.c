/* A thread blocked in recv is woken by shutdown(SHUT_RD) from another
 * thread: recv returns 0. */
#include "api.h"
#include <pthread.h>

static int fd;

static void *closer(void *arg)
{
	(void)arg;
	sleep_ms(200);
	shutdown(fd, SHUT_RD);
	return NULL;
}

int main(void)
{
	api_init();
	fd = tcp_connect(PORT_DISCARD);
	pthread_t th;
	CHECK(pthread_create(&th, NULL, closer, NULL) == 0);
	char c;
	say("recv", recv(fd, &c, 1, 0));
	CHECK(pthread_join(th, NULL) == 0);
	close(fd);
	return 0;
}

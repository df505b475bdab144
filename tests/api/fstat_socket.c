/* fstat on sockets reports S_IFSOCK (TCP, UDP, listening); on a pipe
 * S_IFIFO, on a regular file S_IFREG. */
#include "api.h"
#include <sys/stat.h>

static void show(const char *what, int fd)
{
	struct stat st;
	int r = fstat(fd, &st);
	sayf("%s: ret=%d sock=%s fifo=%s reg=%s", what, r, yesno(S_ISSOCK(st.st_mode)),
	     yesno(S_ISFIFO(st.st_mode)), yesno(S_ISREG(st.st_mode)));
}

int main(void)
{
	api_init();
	int port;
	show("tcp", tcp_socket());
	show("tcp connected", tcp_connect(PORT_DISCARD));
	show("tcp listening", tcp_listener(&port));
	show("udp", udp_socket());
	int pp[2];
	CHECK(pipe(pp) == 0);
	show("pipe", pp[0]);
	char path[] = "/tmp/api-fstat.XXXXXX";
	int f = mkstemp(path);
	CHECK(f >= 0);
	unlink(path);
	show("file", f);
	return 0;
}

/* A pipe used next to open sockets behaves normally: write/read, a
 * non-blocking read on the empty pipe is EAGAIN, EOF after the write end
 * is closed, writing to a pipe with no reader is EPIPE (SIGPIPE counted). */
#include "api.h"

int main(void)
{
	api_init();
	on_signal(SIGPIPE, count_sig, 0);
	int s1 = tcp_connect(PORT_DISCARD), s2 = udp_socket();
	int pp[2];
	CHECK(pipe2(pp, O_NONBLOCK) == 0);
	char buf[16];
	say("read empty pipe", read(pp[0], buf, sizeof buf));
	say("write pipe", write(pp[1], "pipe-data", 9));
	say("read pipe", read(pp[0], buf, sizeof buf));
	say("send on socket", send(s1, "sock", 4, 0));
	close(pp[1]);
	say("read at EOF", read(pp[0], buf, sizeof buf));
	int q[2];
	CHECK(pipe(q) == 0);
	close(q[0]);
	say("write with no reader", write(q[1], "x", 1));
	sayf("SIGPIPE count: %d", (int)sig_count);
	close(s1);
	close(s2);
	return 0;
}

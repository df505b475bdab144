/* fork: a bound UDP socket inherited by a child is the same socket. The
 * child polls it, then blocks in recvfrom; the parent sends a datagram to
 * the peer's UDP echo through the socket: the echo reaches the child. The
 * child then sends and receives on it itself. Afterwards nothing is left
 * for the parent (EAGAIN). */
#include "api.h"

int main(void)
{
	api_init();
	int u = udp_socket();
	struct sockaddr_in me = self_sin(0);
	socklen_t ml = sizeof me;
	CHECK(bind(u, (struct sockaddr *)&me, sizeof me) == 0);
	CHECK(getsockname(u, (struct sockaddr *)&me, &ml) == 0);
	struct sockaddr_in echo = peer_sin(PORT_ECHO);
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		struct timeval tv = { 5, 0 };
		say("child SO_RCVTIMEO", setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
		struct pollfd p = { .fd = u, .events = POLLIN };
		sayf("child: poll before anything was sent: %d", poll(&p, 1, 0));
		CHECK(write(pfd[1], "r", 1) == 1);
		char buf[64];
		struct sockaddr_in from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		say("child recvfrom", n);
		sayf("child: from the peer's echo port: %s; payload: %s",
		     yesno(n > 0 && sin_ip_is(&from, peer_ip()) && sin_port(&from) == PORT_ECHO),
		     n == 11 && !memcmp(buf, "from-parent", 11) ? "the parent's" : "other");
		say("child sendto", sendto(u, "from-child", 10, 0, (struct sockaddr *)&echo, sizeof echo));
		fl = sizeof from;
		n = recvfrom(u, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
		say("child recvfrom", n);
		sayf("child: payload: %s", n == 10 && !memcmp(buf, "from-child", 10) ? "its own" : "other");
		fflush(stdout);
		_exit(0);
	}
	close(pfd[1]);
	char x;
	int ready = read(pfd[0], &x, 1) == 1;
	/* printed after the child's lines: the order of two processes'
	 * output is not the behaviour under test */
	ssize_t sent = sendto(u, "from-parent", 11, 0, (struct sockaddr *)&echo, sizeof echo);
	int e = errno;
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	errno = e;
	sayf("child was ready: %s", yesno(ready));
	say("parent sendto", sent);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	char buf[64];
	say("parent recv, nothing left", recv(u, buf, sizeof buf, MSG_DONTWAIT));
	close(u);
	return 0;
}

/* fork: a listening socket inherited by a child is the same socket; the
 * child polls and accepts on it, the parent (which only holds it, like
 * nginx's master) never does. A connection made by a third process (the
 * peer's connect-back service) reaches the child: accept succeeds, the
 * greeting arrives intact, data echoes both ways; the parent's listener
 * has nothing pending afterwards. */
#include "api.h"

int main(void)
{
	api_init();
	int port;
	int ls = tcp_listener(&port);
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		struct pollfd p = { .fd = ls, .events = POLLIN };
		sayf("child: poll the listener before the connection: %d", poll(&p, 1, 0));
		CHECK(write(pfd[1], "r", 1) == 1);
		int r = wait_for(ls, POLLIN, 10000);
		sayf("child: listener readable: %s", pollbits(r));
		struct sockaddr_in pa;
		socklen_t pl = sizeof pa;
		int c = accept(ls, (struct sockaddr *)&pa, &pl);
		say("child accept", c < 0 ? c : 0);
		if (c >= 0) {
			char buf[64];
			sayf("child: the peer's address: %s", yesno(sin_ip_is(&pa, peer_ip())));
			size_t n = read_full(c, buf, strlen(GREETING));
			sayf("child greeting: %zu bytes, match=%s", n,
			     yesno(n == strlen(GREETING) && !memcmp(buf, GREETING, n)));
			say("child send", send(c, "from-the-child\n", 15, 0));
			n = read_full(c, buf, 15);
			sayf("child echo: %zu bytes, match=%s", n,
			     yesno(n == 15 && !memcmp(buf, "from-the-child\n", 15)));
			close(c);
		}
		fflush(stdout);
		_exit(0);
	}
	close(pfd[1]);
	char x;
	CHECK(read(pfd[0], &x, 1) == 1);
	int ctl = connect_back(port, 1);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	struct pollfd p = { .fd = ls, .events = POLLIN };
	int n = poll(&p, 1, 0);
	sayf("parent: listener after the child accepted: %d %s", n, pollbits(n > 0 ? p.revents : 0));
	close(ctl);
	close(ls);
	return 0;
}

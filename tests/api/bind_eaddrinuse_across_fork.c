/* One port space for the processes of a host, across fork: a port the
 * parent holds is in use for a child's new socket too (EADDRINUSE, also
 * with SO_REUSEADDR against a listener, and for UDP), even after the child
 * closed its inherited copy; SO_REUSEPORT on both lets parent and child
 * bind and listen on one port; once the parent closes its last copy, a
 * child binds the port; port 0 in parent and child gives different ports. */
#include "api.h"

/* fork; CHILD runs in the child, whose exit status is printed */
static void in_child(void (*child)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		child(arg);
		fflush(stdout);
		_exit(0);
	}
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static struct sockaddr_in sa;
static int inherited = -1;

static void child_plain(void *arg)
{
	(void)arg;
	int one = 1;
	say("child closes its copy of the listener", close(inherited));
	int b = tcp_socket();
	say("child bind same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	int c = tcp_socket();
	say("child SO_REUSEADDR", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	say("child bind same port with SO_REUSEADDR", bind(c, (struct sockaddr *)&sa, sizeof sa));
	int d = tcp_socket();
	struct sockaddr_in any = sa;
	any.sin_addr.s_addr = htonl(INADDR_ANY);
	say("child bind same port, wildcard address", bind(d, (struct sockaddr *)&any, sizeof any));
}

static void child_reuseport(void *arg)
{
	(void)arg;
	int one = 1;
	int b = tcp_socket();
	say("child SO_REUSEPORT", setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
	say("child bind same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	say("child listen", listen(b, 4));
	int c = tcp_socket();
	say("child bind same port without SO_REUSEPORT", bind(c, (struct sockaddr *)&sa, sizeof sa));
}

static void child_after_close(void *arg)
{
	(void)arg;
	int b = tcp_socket();
	say("child bind the port the parent closed", bind(b, (struct sockaddr *)&sa, sizeof sa));
	say("child listen", listen(b, 4));
}

static void child_port0(void *arg)
{
	int parent_port = *(int *)arg;
	int b = tcp_socket();
	struct sockaddr_in z = self_sin(0);
	socklen_t l = sizeof z;
	say("child bind port 0", bind(b, (struct sockaddr *)&z, sizeof z));
	CHECK(getsockname(b, (struct sockaddr *)&z, &l) == 0);
	sayf("child's port differs from the parent's: %s", yesno(sin_port(&z) != parent_port));
}

static void child_udp(void *arg)
{
	(void)arg;
	int one = 1;
	int b = udp_socket();
	say("child udp bind same port", bind(b, (struct sockaddr *)&sa, sizeof sa));
	int c = udp_socket();
	say("child udp SO_REUSEADDR", setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
	say("child udp bind same port with SO_REUSEADDR (parent without)",
	    bind(c, (struct sockaddr *)&sa, sizeof sa));
}

static int acceptconn(int fd)
{
	int v = 0;
	socklen_t vl = sizeof v;
	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) < 0 ? -1 : v;
}

int main(void)
{
	api_init();
	int one = 1;
	socklen_t l = sizeof sa;

	sayf("-- a listener in the parent");
	int a = tcp_socket();
	sa = self_sin(0);
	say("parent bind", bind(a, (struct sockaddr *)&sa, sizeof sa));
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("parent listen", listen(a, 4));
	inherited = a;
	in_child(child_plain, NULL);
	say("parent's listener still listens (SO_ACCEPTCONN)", acceptconn(a));

	sayf("-- SO_REUSEPORT in parent and child");
	int r = tcp_socket();
	struct sockaddr_in rs = self_sin(0);
	say("parent SO_REUSEPORT", setsockopt(r, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one));
	say("parent bind", bind(r, (struct sockaddr *)&rs, sizeof rs));
	l = sizeof rs;
	CHECK(getsockname(r, (struct sockaddr *)&rs, &l) == 0);
	say("parent listen", listen(r, 4));
	sa = rs;
	in_child(child_reuseport, NULL);
	close(r);

	sayf("-- the parent closes its listener");
	l = sizeof sa;
	CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0);
	say("parent close", close(a));
	in_child(child_after_close, NULL);

	sayf("-- port 0 in parent and child");
	int z = tcp_socket();
	struct sockaddr_in zs = self_sin(0);
	say("parent bind port 0", bind(z, (struct sockaddr *)&zs, sizeof zs));
	l = sizeof zs;
	CHECK(getsockname(z, (struct sockaddr *)&zs, &l) == 0);
	int zp = sin_port(&zs);
	in_child(child_port0, &zp);
	close(z);

	sayf("-- UDP");
	int u = udp_socket();
	sa = self_sin(0);
	say("parent udp bind", bind(u, (struct sockaddr *)&sa, sizeof sa));
	l = sizeof sa;
	CHECK(getsockname(u, (struct sockaddr *)&sa, &l) == 0);
	in_child(child_udp, NULL);
	close(u);
	return 0;
}

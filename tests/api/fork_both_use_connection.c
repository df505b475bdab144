/* fork: parent and child take turns on one connection (each send's echo
 * read back by the same process), then the child exits and the parent
 * goes on with it: on the kernel it is one socket, whichever process
 * calls (issue 13: the connection follows the caller). */
#include "api.h"

int main(void)
{
	api_init();
	int fd = tcp_connect(PORT_ECHO);
	int go[2], done[2];
	CHECK(pipe(go) == 0 && pipe(done) == 0);
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char c, buf[16];
		int ok = 1;
		for (int i = 0; i < 5 && ok; i++) {
			ok = read(go[0], &c, 1) == 1 && send(fd, "child-turn", 10, 0) == 10 &&
			     read_full(fd, buf, 10) == 10 && memcmp(buf, "child-turn", 10) == 0;
			ok = ok && write(done[1], "d", 1) == 1;
		}
		_exit(ok ? 0 : 1);
	}
	int good = 0;
	for (int i = 0; i < 5; i++) {
		char c, buf[16];
		good += send(fd, "parent-turn", 11, 0) == 11 && read_full(fd, buf, 11) == 11 &&
			memcmp(buf, "parent-turn", 11) == 0;
		CHECK(write(go[1], "g", 1) == 1);
		CHECK(read(done[0], &c, 1) == 1);
	}
	sayf("parent turns ok: %d", good);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("child exit: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	char buf[8];
	say("parent send after", send(fd, "after", 5, 0));
	sayf("parent echo after: %zu", read_full(fd, buf, 5));
	say("close", close(fd));
	return 0;
}

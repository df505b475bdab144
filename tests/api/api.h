/* api.h - shared helpers of the differential API suite (tests/api/).
 *
 * Every tests/api/NAME.c exercises one behaviour of the socket API and prints
 * deterministic results on stdout: return values, errno names, byte counts,
 * revents by name, CRC-32 of data; never ports, pointers, timings or
 * addresses that differ between a kernel run and a run under libmtcp.so.
 * tests/api/run runs each program on the kernel and under the preload and
 * compares the two outputs.
 *
 * Setup failures (anything that is not the behaviour under test) print a
 * line on stderr and exit with status 2 (die / CHECK).
 *
 * Environment: API_PEER (the kernel peer running peer.py, 10.61.40.1),
 * API_SELF (this host's address, 10.61.40.2), API_NOHOST (an address on the
 * link nobody answers for, 10.61.40.3).
 */
#ifndef API_H
#define API_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The peer's services (tests/api/peer.py documents them). */
enum {
	PORT_ECHO = 7,
	PORT_DISCARD = 9,
	PORT_BULK = 2000,       /* 1 MiB of the pattern, then FIN */
	PORT_CLOSE_NOW = 2001,  /* FIN at once */
	PORT_RESET = 2002,      /* RST 0.2 s after accept */
	PORT_DELAY = 2003,      /* 1.0 s, then "delayed-data\n", then read to EOF */
	PORT_HALF_CLOSE = 2004, /* read to EOF, reply "n=N crc=X\n", close */
	PORT_SINK = 2005,       /* never reads */
	PORT_HELLO_CLOSE = 2006,/* "hello-then-close\n", then FIN */
	PORT_CONNECT_BACK = 2010,
	PORT_CLOSED = 5999,     /* nothing listens, TCP nor UDP */
};
#define BULK_SIZE (1024 * 1024)
#define DELAY_MSG "delayed-data\n"
#define HELLO_CLOSE_MSG "hello-then-close\n"
#define GREETING "hello-from-peer\n"

/* ------------------------------------------------------------- output */

static inline const char *errname(int e)
{
	switch (e) {
#define E(x) case x: return #x;
	E(EPERM) E(ENOENT) E(ESRCH) E(EINTR) E(EIO) E(ENXIO) E(E2BIG)
	E(ENOEXEC) E(EBADF) E(ECHILD) E(EAGAIN) E(ENOMEM) E(EACCES) E(EFAULT)
	E(EBUSY) E(EEXIST) E(EXDEV) E(ENODEV) E(ENOTDIR) E(EISDIR) E(EINVAL)
	E(ENFILE) E(EMFILE) E(ENOTTY) E(EFBIG) E(ENOSPC) E(ESPIPE) E(EROFS)
	E(EMLINK) E(EPIPE) E(EDOM) E(ERANGE) E(EDEADLK) E(ENAMETOOLONG)
	E(ENOLCK) E(ENOSYS) E(ENOTEMPTY) E(ELOOP) E(ENOMSG) E(EIDRM)
	E(ENOSTR) E(ENODATA) E(ETIME) E(ENOSR) E(EPROTO) E(EBADMSG)
	E(EOVERFLOW) E(EILSEQ) E(EUSERS) E(ENOTSOCK) E(EDESTADDRREQ)
	E(EMSGSIZE) E(EPROTOTYPE) E(ENOPROTOOPT) E(EPROTONOSUPPORT)
	E(ESOCKTNOSUPPORT) E(EOPNOTSUPP) E(EPFNOSUPPORT) E(EAFNOSUPPORT)
	E(EADDRINUSE) E(EADDRNOTAVAIL) E(ENETDOWN) E(ENETUNREACH)
	E(ENETRESET) E(ECONNABORTED) E(ECONNRESET) E(ENOBUFS) E(EISCONN)
	E(ENOTCONN) E(ESHUTDOWN) E(ETOOMANYREFS) E(ETIMEDOUT)
	E(ECONNREFUSED) E(EHOSTDOWN) E(EHOSTUNREACH) E(EALREADY)
	E(EINPROGRESS) E(ESTALE) E(EDQUOT) E(ECANCELED) E(EOWNERDEAD)
	E(ENOTRECOVERABLE) E(ERFKILL) E(EHWPOISON) E(EBADFD)
#undef E
	case 0: return "0";
	}
	static char buf[32];
	snprintf(buf, sizeof buf, "errno%d", e);
	return buf;
}

/* say LABEL RET: "LABEL: RET" or "LABEL: -1 ENAME" (errno read at once). */
static inline void say(const char *label, long r)
{
	int e = errno;
	if (r < 0)
		printf("%s: %ld %s\n", label, r, errname(e));
	else
		printf("%s: %ld\n", label, r);
	errno = e;
}

static inline void sayf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void sayf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static inline void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static inline void die(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	fflush(stdout);
	fprintf(stderr, "SETUP FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (errno %s)\n", errname(e));
	exit(2);
}

#define CHECK(expr) do { if (!(expr)) die("%s:%d: %s", __FILE__, __LINE__, #expr); } while (0)

/* The names of revents bits ("POLLIN|POLLOUT", "0"); the result stays valid
 * for the next 7 calls (several in one printf are fine). */
static inline const char *pollbits(int ev)
{
	static char ring[8][256];
	static unsigned next;
	char *buf = ring[next++ % 8];
	static const struct { int bit; const char *name; } b[] = {
		{ POLLIN, "POLLIN" }, { POLLPRI, "POLLPRI" }, { POLLOUT, "POLLOUT" },
		{ POLLERR, "POLLERR" }, { POLLHUP, "POLLHUP" }, { POLLNVAL, "POLLNVAL" },
		{ POLLRDNORM, "POLLRDNORM" }, { POLLRDBAND, "POLLRDBAND" },
		{ POLLWRNORM, "POLLWRNORM" }, { POLLWRBAND, "POLLWRBAND" },
		{ POLLMSG, "POLLMSG" }, { POLLRDHUP, "POLLRDHUP" },
	};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
		if (ev & b[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, b[i].name);
			ev &= ~b[i].bit;
		}
	if (ev)
		snprintf(buf + strlen(buf), 256 - strlen(buf), "%s0x%x", buf[0] ? "|" : "", ev);
	if (!buf[0])
		strcpy(buf, "0");
	return buf;
}

static inline const char *epollbits(uint32_t ev)
{
	static char ring[8][256];
	static unsigned next;
	char *buf = ring[next++ % 8];
	static const struct { uint32_t bit; const char *name; } b[] = {
		{ EPOLLIN, "EPOLLIN" }, { EPOLLPRI, "EPOLLPRI" }, { EPOLLOUT, "EPOLLOUT" },
		{ EPOLLERR, "EPOLLERR" }, { EPOLLHUP, "EPOLLHUP" },
		{ EPOLLRDNORM, "EPOLLRDNORM" }, { EPOLLRDBAND, "EPOLLRDBAND" },
		{ EPOLLWRNORM, "EPOLLWRNORM" }, { EPOLLWRBAND, "EPOLLWRBAND" },
		{ EPOLLMSG, "EPOLLMSG" }, { EPOLLRDHUP, "EPOLLRDHUP" },
	};
	buf[0] = 0;
	for (size_t i = 0; i < sizeof b / sizeof b[0]; i++)
		if (ev & b[i].bit) {
			if (buf[0])
				strcat(buf, "|");
			strcat(buf, b[i].name);
			ev &= ~b[i].bit;
		}
	if (ev)
		snprintf(buf + strlen(buf), 256 - strlen(buf), "%s0x%x", buf[0] ? "|" : "", ev);
	if (!buf[0])
		strcpy(buf, "0");
	return buf;
}

static inline const char *yesno(int b) { return b ? "yes" : "no"; }

/* ------------------------------------------------------------- data */

static inline uint32_t crc32_update(uint32_t crc, const void *data, size_t n)
{
	static uint32_t table[256];
	static int ready;
	const unsigned char *p = data;
	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		ready = 1;
	}
	crc = ~crc;
	while (n--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static inline uint32_t crc32_of(const void *data, size_t n)
{
	return crc32_update(0, data, n);
}

/* The peer's bulk pattern: byte i = (i * 131 + 7) & 0xff. */
static inline void fill_pattern(void *buf, size_t n, size_t offset)
{
	unsigned char *p = buf;
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)((offset + i) * 131 + 7);
}

/* ------------------------------------------------------------- time */

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------- addresses */

static inline const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}
static inline const char *peer_ip(void) { return env_or("API_PEER", "10.61.40.1"); }
static inline const char *self_ip(void) { return env_or("API_SELF", "10.61.40.2"); }
static inline const char *nohost_ip(void) { return env_or("API_NOHOST", "10.61.40.3"); }

static inline struct sockaddr_in sin_of(const char *ip, int port)
{
	struct sockaddr_in a;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		die("bad address %s", ip);
	return a;
}
static inline struct sockaddr_in peer_sin(int port) { return sin_of(peer_ip(), port); }
static inline struct sockaddr_in self_sin(int port) { return sin_of(self_ip(), port); }

static inline int sin_ip_is(const struct sockaddr_in *a, const char *ip)
{
	struct sockaddr_in b = sin_of(ip, 0);
	return a->sin_family == AF_INET && a->sin_addr.s_addr == b.sin_addr.s_addr;
}

static inline int sin_port(const struct sockaddr_in *a) { return ntohs(a->sin_port); }

/* ------------------------------------------------------------- start-up */

static inline void api_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ------------------------------------------------------------- sockets */

static inline int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	return fd;
}

static inline int udp_socket(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	CHECK(fd >= 0);
	return fd;
}

/* A blocking TCP connection to the peer's PORT (setup: dies on failure). */
static inline int tcp_connect(int port)
{
	int fd = tcp_socket();
	struct sockaddr_in a = peer_sin(port);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect to %s:%d", peer_ip(), port);
	return fd;
}

static inline void set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);
	CHECK(fl >= 0);
	CHECK(fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) == 0);
}

/* Write all N bytes (blocking fd); dies on error. */
static inline void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("write_all: %zd", r);
		p += r;
		n -= (size_t)r;
	}
}

/* Read exactly N bytes (blocking fd); returns what it got (less at EOF);
 * dies on error. */
static inline size_t read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read_full");
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return got;
}

/* Read until EOF; returns the byte count and the CRC-32 in *crc. */
static inline size_t read_to_eof(int fd, uint32_t *crc)
{
	static char buf[65536];
	size_t got = 0;
	uint32_t c = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read_to_eof");
		if (r == 0)
			break;
		c = crc32_update(c, buf, (size_t)r);
		got += (size_t)r;
	}
	if (crc)
		*crc = c;
	return got;
}

/* Read one line (up to '\n') into BUF without the '\n'; returns its
 * length. */
static inline size_t read_line(int fd, char *buf, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("read_line");
		if (r == 0)
			break;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return n;
}

/* Wait until FD shows one of EVENTS in poll (up to MS); returns revents. */
static inline int wait_for(int fd, int events, int ms)
{
	struct pollfd p = { .fd = fd, .events = (short)events };
	long long end = now_ms() + ms;
	for (;;) {
		long long left = end - now_ms();
		if (left < 0)
			left = 0;
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return p.revents;
		if (r < 0 && errno != EINTR)
			die("poll");
		if (r == 0)
			return 0;
	}
}

/* fork() with this process's output written first (the child would
 * write what is buffered again); a failure is a setup failure. */
static inline pid_t fork_flushed(void)
{
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	return pid;
}

/* Wait for child PID and print "WHO exit: STATUS" (-1: killed). */
static inline void say_exit_of(pid_t pid, const char *who)
{
	int st;

	CHECK(waitpid(pid, &st, 0) == pid);
	sayf("%s exit: %d", who, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* SCM_RIGHTS over unix socket SOCK: one byte of data with the N (at most
 * 4) descriptors in FDS; sendmsg's result. */
static inline ssize_t send_fds(int sock, const int *fds, int n)
{
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec v = { (void *)"x", 1 };
	struct msghdr m = {
		.msg_iov = &v, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = CMSG_SPACE((size_t)n * sizeof(int)),
	};
	CHECK(n > 0 && n <= 4);
	memset(&ctl, 0, sizeof(ctl));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN((size_t)n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, (size_t)n * sizeof(int));
	return sendmsg(sock, &m, 0);
}

/* The descriptors of one message on SOCK (at most 4) into FDS: how many
 * (-1: no byte came); FLAGS for recvmsg (MSG_CMSG_CLOEXEC). */
static inline int recv_fds(int sock, int *fds, int flags)
{
	union { char buf[CMSG_SPACE(4 * sizeof(int))]; struct cmsghdr align; } ctl;
	char b;
	struct iovec v = { &b, 1 };
	struct msghdr m = {
		.msg_iov = &v, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	if (recvmsg(sock, &m, flags) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
		return 0;
	int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	memcpy(fds, CMSG_DATA(c), (size_t)n * sizeof(int));
	return n;
}

/* A listening TCP socket on API_SELF, ephemeral port (returned in *port). */
static inline int tcp_listener(int *port)
{
	int fd = tcp_socket();
	struct sockaddr_in a = self_sin(0);
	socklen_t l = sizeof a;
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(listen(fd, 16) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	*port = sin_port(&a);
	return fd;
}

/* Ask the peer to open COUNT connections to API_SELF:PORT; returns the
 * control connection (keep it open while using the data connections) once
 * the peer answered "ok COUNT". Each data connection carries GREETING, then
 * echoes; with connect_back_close the peer closes it after the greeting. */
static inline int connect_back_mode(int port, int count, const char *mode)
{
	char line[64];
	int c = tcp_connect(PORT_CONNECT_BACK);
	int n = snprintf(line, sizeof line, "%d %d %s\n", port, count, mode);
	write_all(c, line, (size_t)n);
	read_line(c, line, sizeof line);
	if (strncmp(line, "ok ", 3) != 0)
		die("connect-back to port %d: peer said '%s'", port, line);
	return c;
}
static inline int connect_back(int port, int count)
{
	return connect_back_mode(port, count, "echo");
}
static inline int connect_back_close(int port, int count)
{
	return connect_back_mode(port, count, "close");
}

/* SIGnal helpers */
static volatile sig_atomic_t sig_count;
static inline void count_sig(int s) { (void)s; sig_count++; }

static inline void on_signal(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(sig, &sa, NULL) == 0);
}

/* Arm a one-shot ITIMER_REAL of MS milliseconds (SIGALRM). */
static inline void alarm_ms(int ms)
{
	struct itimerval it;
	memset(&it, 0, sizeof it);
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
}

/* Fill the send buffer of a connection to the sink (non-blocking fd):
 * returns the byte count written before EAGAIN (errno left as the last
 * error). */
static inline long fill_sndbuf(int fd)
{
	static char buf[65536];
	long total = 0;
	long long end = now_ms() + 10000;
	for (;;) {
		ssize_t r = send(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EAGAIN && wait_for(fd, POLLOUT, 300) == 0)
				return total;
			if (errno != EAGAIN)
				return total;
			continue;
		}
		total += r;
		if (now_ms() > end)
			die("fill_sndbuf: still writable after 10 s");
	}
}

#endif

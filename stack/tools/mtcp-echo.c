/*
 * mtcp-echo - run the stack alone and serve the classic test services on
 * it: echo (RFC 862, port 7), discard (RFC 863, port 9) and chargen
 * (RFC 864, port 19) over UDP.
 *
 *   MTCP_IFACE=mt0 MTCP_ADDR=10.61.0.2/24 build/mtcp-echo
 *
 * Configuration is the MTCP_* environment (stack/config.h). Prints one
 * "mtcp-echo: ready ..." line once serving. SIGUSR1 prints the stack's
 * counters to stderr; SIGINT/SIGTERM print them and exit 0. An invalid
 * configuration exits 2 with a message naming the variable; a device that
 * cannot be opened exits 1.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "mtcp.h"
#include "wire/ipv4.h"

enum service { ECHO, DISCARD, CHARGEN, NSERVICES };

static const struct {
	const char *name;
	uint16_t port;
} services[NSERVICES] = {
	[ECHO] = { "echo", 7 },
	[DISCARD] = { "discard", 9 },
	[CHARGEN] = { "chargen", 19 },
};

#define CHARGEN_LINE    72
#define CHARGEN_MAX     512

static uint64_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* RFC 864: lines of 72 characters from the 95 printable ASCII characters,
 * each line starting one character further on, ending in CR LF. */
static size_t chargen_fill(uint8_t *buf, size_t len, unsigned *line)
{
	size_t n = 0;

	while (n < len) {
		for (unsigned i = 0; i < CHARGEN_LINE && n < len; i++)
			buf[n++] = (uint8_t)(' ' + (*line + i) % 95);
		if (n < len)
			buf[n++] = '\r';
		if (n < len)
			buf[n++] = '\n';
		++*line;
	}
	return n;
}

static void notify(struct mtcp_sock *s, void *ctx)
{
	uint64_t one = 1;
	ssize_t r = write(*(int *)ctx, &one, sizeof(one));

	(void)s;
	(void)r;
}

static void serve_udp(struct mtcp_sock *s, enum service svc, unsigned *line)
{
	static uint8_t buf[65536];
	struct sockaddr_in from;

	for (int budget = 0; budget < 256; budget++) {
		ssize_t n = mtcp_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, &from);
		if (n == -EAGAIN)
			return;
		if (n < 0) {
			fprintf(stderr, "mtcp-echo: %s: recv: %s\n", services[svc].name,
				strerror((int)-n));
			return;
		}
		ssize_t r = 0;
		switch (svc) {
		case ECHO:
			r = mtcp_sendto(s, buf, (size_t)n, 0, &from);
			break;
		case CHARGEN: {
			size_t len = chargen_fill(buf, rng() % (CHARGEN_MAX + 1), line);
			r = mtcp_sendto(s, buf, len, 0, &from);
			break;
		}
		default:
			break;
		}
		if (r < 0)
			fprintf(stderr, "mtcp-echo: %s: send: %s\n", services[svc].name,
				strerror((int)-r));
	}
}

int main(void)
{
	struct mtcp_config cfg;
	struct stack *st;
	struct mtcp_sock *socks[NSERVICES] = { 0 };
	char err[512];
	int rc, status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (config_from_env(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mtcp: %s\n", err);
		return 2;
	}

	/* Signals arrive through a signalfd: block them before any thread. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sfd < 0 || efd < 0) {
		perror("mtcp-echo: signalfd/eventfd");
		return 1;
	}
	rng_state = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL | 1;

	if ((rc = mtcp_stack_open(&cfg, &st, err, sizeof(err))) < 0) {
		fprintf(stderr, "mtcp: %s\n", err);
		return 1;
	}
	for (int i = 0; i < NSERVICES; i++) {
		struct sockaddr_in a = {
			.sin_family = AF_INET,
			.sin_port = htons(services[i].port),
		};
		if ((rc = mtcp_socket(st, SOCK_DGRAM, &socks[i])) < 0 ||
		    (rc = mtcp_bind(socks[i], &a)) < 0) {
			fprintf(stderr, "mtcp-echo: udp %s: %s\n", services[i].name,
				strerror(-rc));
			status = 1;
			goto out;
		}
		mtcp_set_nonblock(socks[i], true);
		mtcp_set_notify(socks[i], notify, &efd);
	}
	if ((rc = mtcp_stack_start(st)) < 0) {
		fprintf(stderr, "mtcp-echo: cannot start the stack thread: %s\n", strerror(-rc));
		status = 1;
		goto out;
	}

	char a[16];
	printf("mtcp-echo: ready %s/%u on %s (%s)\n", ipv4_ntoa(cfg.addr, a), cfg.prefix,
	       cfg.iface, cfg.driver == MTCP_DRIVER_TAP ? "tap" : "packet");

	unsigned line = 0;
	for (;;) {
		struct pollfd pfd[2] = { { sfd, POLLIN, 0 }, { efd, POLLIN, 0 } };
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("mtcp-echo: poll");
			status = 1;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				struct stack_stats stats;
				mtcp_stack_stats(st, &stats);
				mtcp_stats_print(&stats, stderr);
				if (si.ssi_signo != SIGUSR1)
					break;
			}
		}
		if (pfd[1].revents & POLLIN) {
			uint64_t v;
			ssize_t r = read(efd, &v, sizeof(v));
			(void)r;
			for (int i = 0; i < NSERVICES; i++)
				serve_udp(socks[i], (enum service)i, &line);
		}
	}
out:
	mtcp_stack_stop(st);
	for (int i = 0; i < NSERVICES; i++)
		if (socks[i])
			mtcp_close(socks[i]);
	mtcp_stack_destroy(st);
	return status;
}

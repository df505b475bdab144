/*
 * stream.h - what the stream programs share (move_stream, exit_fast,
 * stream_sink): the one byte stream they send, and small helpers. Byte i of
 * the stream is a function of i alone, so the kernel's checker knows what
 * each byte must be wherever in the stream it arrives and whichever
 * process wrote it: a byte lost, doubled or out of order shows at its
 * offset. Plain C, header only.
 */
#ifndef TESTS_PROG_STREAM_H
#define TESTS_PROG_STREAM_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The 8 bytes at stream offset 8 * w, little-endian: a 64-bit mix of w
 * (xor-shift-multiply rounds, so neighbouring words share nothing). */
static inline uint64_t stream_word(uint64_t w)
{
	uint64_t x = w * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* buf[0..len) = the stream's bytes at [off, off + len). */
static inline void stream_fill(uint8_t *buf, uint64_t off, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint64_t o = off + i, x = stream_word(o >> 3);
		unsigned b = (unsigned)(o & 7);

		for (; b < 8 && i < len; b++, i++)
			buf[i] = (uint8_t)(x >> (8 * b));
	}
}

/* FNV-1a, 64 bits, continued from h (start with STREAM_HASH0): a short
 * name for what went by, printed on both sides. */
#define STREAM_HASH0 0xcbf29ce484222325ull
static inline uint64_t stream_hash(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static inline int64_t stream_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ADDR PORT as a sockaddr_in, or exit 2 saying which is wrong. */
static inline struct sockaddr_in stream_addr(const char *prog, const char *ip,
					     const char *port)
{
	struct sockaddr_in a;
	char *end;
	long p = strtol(port, &end, 10);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	if (*end || p <= 0 || p > 65535 || inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "%s: bad address %s port %s\n", prog, ip, port);
		exit(2);
	}
	a.sin_port = htons((uint16_t)p);
	return a;
}

/* A decimal count with an optional K/M suffix (KiB, MiB), or exit 2. */
static inline uint64_t stream_size(const char *prog, const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'K')
		v <<= 10, end++;
	else if (*end == 'M')
		v <<= 20, end++;
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: bad size '%s'\n", prog, s);
		exit(2);
	}
	return v;
}

#endif

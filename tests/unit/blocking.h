/*
 * blocking.h - blocking forms of the stack's socket calls, for the tests
 * that run a stack thread (tests/unit/test_stack_thread.c) or time a
 * socket timeout. The stack's calls never sleep (mtcp.h): these try, and
 * on -EAGAIN / -EINPROGRESS wait until mtcp_poll shows what they need,
 * woken by a notify hook of their own (bw_hang replaces whatever hook the
 * socket had), as a blocking socket behaves: SO_RCVTIMEO / SO_SNDTIMEO
 * bound a call in real time whatever the stack's clock (-EAGAIN; a
 * connect -EINPROGRESS), and a stopped stack ends a wait with -ESHUTDOWN.
 * Results are the stack's: 0 / a byte count or -errno.
 */
#ifndef MTCP_TEST_BLOCKING_H
#define MTCP_TEST_BLOCKING_H

#include <stdint.h>
#include <sys/types.h>

#include "mtcp.h"

/* Wait until mtcp_poll(s) shows one of events (or EPOLLERR / EPOLLHUP),
 * or the absolute CLOCK_MONOTONIC deadline (µs, 0: none) passes.
 * 0, -ETIMEDOUT, or -ESHUTDOWN once the stack is stopping. */
int bw_wait(struct mtcp_sock *s, unsigned events, uint64_t deadline);
/* accept(2) on a blocking listener. */
int bw_accept(struct mtcp_sock *l, struct sockaddr_in *peer, struct mtcp_sock **out);
/* connect(2) on a blocking TCP socket: the handshake's result. */
int bw_connect(struct mtcp_sock *s, const struct sockaddr_in *to);
/* send(2) on a blocking socket: every byte goes, unless an error or the
 * timeout stops it (then what went). */
ssize_t bw_sendto(struct mtcp_sock *s, const void *buf, size_t len, int flags,
		  const struct sockaddr_in *to);
/* recv(2) on a blocking socket: some data, EOF or an error; with
 * MSG_WAITALL (a stream) all len bytes unless EOF, an error or the
 * timeout comes first. */
ssize_t bw_recvfrom(struct mtcp_sock *s, void *buf, size_t len, int flags,
		    struct sockaddr_in *from);
/* close(2): mtcp_close, then, with SO_LINGER on and a time, the wait for
 * the closing to be done (the FIN acknowledged) or the time to pass. */
void bw_close(struct mtcp_sock *s);

#endif

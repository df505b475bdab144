/*
 * iov.h - scatter/gather arrays (struct iovec): what the socket calls of
 * the stack and of the preload share.
 */
#ifndef MTCP_IOV_H
#define MTCP_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* The bytes an iovec array of n entries describes. */
static inline size_t iov_total(const struct iovec *iov, size_t n)
{
	size_t t = 0;

	for (size_t i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

#endif

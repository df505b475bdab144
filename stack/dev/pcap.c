/*
 * pcap.c - a capture file writer in the classic libpcap format.
 *
 * Global header then one record per frame, all in host byte order (readers
 * tell the order from the magic), microsecond timestamps, LINKTYPE_ETHERNET.
 * Writes go through a stdio buffer and reach the file when it fills, on
 * pcap_flush() and on pcap_close().
 *
 * Locking: pw_mtx serializes writers, so frames from two threads never
 * interleave inside a record. After the first failed write the file is left
 * as it is (a torn record would make the rest unreadable) and every later
 * frame only counts as an error.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dev.h"

#define PCAP_MAGIC_US		0xa1b2c3d4u
#define PCAP_VERSION_MAJOR	2
#define PCAP_VERSION_MINOR	4
#define PCAP_SNAPLEN		262144u
#define LINKTYPE_ETHERNET	1
#define PCAP_BUFSIZE		(64 * 1024)

struct pcap_hdr {
	uint32_t	magic;
	uint16_t	version_major, version_minor;
	int32_t		thiszone;
	uint32_t	sigfigs;
	uint32_t	snaplen;
	uint32_t	linktype;
};

struct pcap_rec {
	uint32_t	ts_sec, ts_usec;
	uint32_t	incl_len, orig_len;
};

struct pcap_writer {
	pthread_mutex_t	 pw_mtx;
	FILE		*pw_f;
	bool		 pw_broken;	/* a write failed; write no more */
	uint64_t	 pw_errors;	/* frames not written */
};

struct pcap_writer *
pcap_open(const char *path, int *err)
{
	struct pcap_writer *w;
	struct pcap_hdr h = {
		.magic = PCAP_MAGIC_US,
		.version_major = PCAP_VERSION_MAJOR,
		.version_minor = PCAP_VERSION_MINOR,
		.snaplen = PCAP_SNAPLEN,
		.linktype = LINKTYPE_ETHERNET,
	};
	int error;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		error = -ENOMEM;
		goto fail;
	}
	if ((w->pw_f = fopen(path, "wbe")) == NULL) {
		error = -errno;
		goto fail;
	}
	(void)setvbuf(w->pw_f, NULL, _IOFBF, PCAP_BUFSIZE);
	/* The header goes out now: a bad path or a full disk shows here. */
	errno = 0;
	if (fwrite(&h, sizeof(h), 1, w->pw_f) != 1 || fflush(w->pw_f) != 0) {
		error = errno ? -errno : -EIO;
		goto fail;
	}
	if ((error = pthread_mutex_init(&w->pw_mtx, NULL)) != 0) {
		error = -error;
		goto fail;
	}
	return w;

fail:
	if (w != NULL && w->pw_f != NULL)
		fclose(w->pw_f);
	free(w);
	if (err != NULL)
		*err = error;
	return NULL;
}

void
pcap_write(struct pcap_writer *w, uint64_t ts_us, const uint8_t *frame,
    size_t len)
{
	struct pcap_rec r;

	if (w == NULL)
		return;
	r.ts_sec = (uint32_t)(ts_us / 1000000);
	r.ts_usec = (uint32_t)(ts_us % 1000000);
	r.incl_len = len < PCAP_SNAPLEN ? (uint32_t)len : PCAP_SNAPLEN;
	r.orig_len = len < UINT32_MAX ? (uint32_t)len : UINT32_MAX;

	pthread_mutex_lock(&w->pw_mtx);
	if (w->pw_broken ||
	    fwrite(&r, sizeof(r), 1, w->pw_f) != 1 ||
	    (r.incl_len > 0 &&
	    fwrite(frame, r.incl_len, 1, w->pw_f) != 1)) {
		w->pw_broken = true;
		w->pw_errors++;
	}
	pthread_mutex_unlock(&w->pw_mtx);
}

int
pcap_flush(struct pcap_writer *w)
{
	int error = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->pw_mtx);
	if (w->pw_broken)
		error = -EIO;
	else if ((errno = 0, fflush(w->pw_f)) != 0) {
		error = errno ? -errno : -EIO;
		w->pw_broken = true;
		w->pw_errors++;
	}
	pthread_mutex_unlock(&w->pw_mtx);
	return error;
}

uint64_t
pcap_errors(struct pcap_writer *w)
{
	uint64_t n;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->pw_mtx);
	n = w->pw_errors;
	pthread_mutex_unlock(&w->pw_mtx);
	return n;
}

void
pcap_close(struct pcap_writer *w)
{
	if (w == NULL)
		return;
	(void)fclose(w->pw_f);
	pthread_mutex_destroy(&w->pw_mtx);
	free(w);
}

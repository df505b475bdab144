/*
 * test_dev_pcap.c - the pcap writer: exact bytes on disk, a real reader
 * (tshark) agrees, two writing threads, errors counted.
 */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "dev.h"

#ifndef TSHARK
#define TSHARK		"/usr/bin/tshark"
#endif
#define SNAPLEN		262144u

static char path[64];

static void
setup(void)
{
	int fd;

	strcpy(path, "/tmp/mtcp-test-pcap-XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
}

static void
teardown(void)
{
	unlink(path);
}

static uint8_t *
slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	uint8_t *buf;
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
put32(uint8_t **p, uint32_t v)
{
	memcpy(*p, &v, 4);
	*p += 4;
}

static void
put16(uint8_t **p, uint16_t v)
{
	memcpy(*p, &v, 2);
	*p += 2;
}

/* An Ethernet frame carrying an experimental ethertype, tagged with seq. */
static void
mkframe(uint8_t *f, size_t len, uint32_t seq)
{
	size_t i;

	for (i = 0; i < len; i++)
		f[i] = (uint8_t)(i + seq);
	memcpy(f, "\xff\xff\xff\xff\xff\xff\x02\x00\x00\x00\x00\x01", 12);
	f[12] = 0x88;
	f[13] = 0xb5;
	if (len >= 18)
		memcpy(f + 14, &seq, 4);
}

static const struct {
	uint64_t	ts;
	size_t		len;
} frames[] = {
	{ 1700000000123456ULL,	60 },
	{ 1700000000999999ULL,	1514 },
	{ 1700000001000000ULL,	SNAPLEN + 100 },  /* cut to snaplen */
	{ 5ULL,			14 },
	{ 4102444800000001ULL,	9014 },
};
#define NFRAMES	(sizeof(frames) / sizeof(frames[0]))

static void
write_frames(void)
{
	struct pcap_writer *w;
	uint8_t *f = malloc(SNAPLEN + 100);
	int err = 0;
	size_t i;

	ck_assert_ptr_nonnull(f);
	w = pcap_open(path, &err);
	ck_assert_msg(w != NULL, "pcap_open(%s): %s", path, strerror(-err));
	for (i = 0; i < NFRAMES; i++) {
		mkframe(f, frames[i].len, (uint32_t)i);
		pcap_write(w, frames[i].ts, f, frames[i].len);
	}
	ck_assert_uint_eq(pcap_errors(w), 0);
	pcap_close(w);
	free(f);
}

START_TEST(test_header_and_records_match_byte_for_byte)
{
	uint8_t *file, *want, *p, *f;
	size_t flen, wlen = 24, i, incl;

	write_frames();
	for (i = 0; i < NFRAMES; i++)
		wlen += 16 + (frames[i].len < SNAPLEN ? frames[i].len : SNAPLEN);
	want = malloc(wlen);
	f = malloc(SNAPLEN + 100);
	ck_assert(want != NULL && f != NULL);
	p = want;
	put32(&p, 0xa1b2c3d4);
	put16(&p, 2);
	put16(&p, 4);
	put32(&p, 0);           /* thiszone */
	put32(&p, 0);           /* sigfigs */
	put32(&p, SNAPLEN);
	put32(&p, 1);           /* LINKTYPE_ETHERNET */
	for (i = 0; i < NFRAMES; i++) {
		incl = frames[i].len < SNAPLEN ? frames[i].len : SNAPLEN;
		put32(&p, (uint32_t)(frames[i].ts / 1000000));
		put32(&p, (uint32_t)(frames[i].ts % 1000000));
		put32(&p, (uint32_t)incl);
		put32(&p, (uint32_t)frames[i].len);
		mkframe(f, frames[i].len, (uint32_t)i);
		memcpy(p, f, incl);
		p += incl;
	}
	file = slurp(path, &flen);
	ck_assert_msg(flen == wlen, "file is %zu bytes, want %zu", flen, wlen);
	for (i = 0; i < wlen; i++)     /* (ck_assert per byte is slow) */
		if (file[i] != want[i])
			ck_abort_msg("byte %zu: %02x, want %02x", i, file[i],
			    want[i]);
	free(file);
	free(want);
	free(f);
}
END_TEST

START_TEST(test_tshark_reads_every_frame)
{
	char cmd[256], line[256], errpath[80];
	unsigned long len, caplen;
	char epoch[64];
	size_t n = 0;
	FILE *in;
	int st;

	ck_assert_msg(access(TSHARK, X_OK) == 0, TSHARK " is missing: this "
	    "test reads the capture back with it; install tshark "
	    "(apt-get install tshark, or scripts/deps)");
	write_frames();
	snprintf(errpath, sizeof(errpath), "%s.err", path);
	snprintf(cmd, sizeof(cmd), TSHARK " -n -r %s -T fields -e frame.len "
	    "-e frame.cap_len -e frame.time_epoch 2>%s", path, errpath);
	in = popen(cmd, "r");
	ck_assert_ptr_nonnull(in);
	while (fgets(line, sizeof(line), in) != NULL) {
		ck_assert_msg(sscanf(line, "%lu %lu %63s", &len, &caplen,
		    epoch) == 3, "tshark printed \"%s\"", line);
		ck_assert_msg(n < NFRAMES, "tshark saw more than %zu frames",
		    NFRAMES);
		ck_assert_msg(len == frames[n].len, "frame %zu: tshark says "
		    "%lu bytes, want %zu", n, len, frames[n].len);
		ck_assert_msg(caplen == (frames[n].len < SNAPLEN ?
		    frames[n].len : SNAPLEN), "frame %zu: cap_len %lu", n,
		    caplen);
		n++;
	}
	st = pclose(in);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		size_t elen;
		uint8_t *e = slurp(errpath, &elen);

		e[elen] = '\0';
		unlink(errpath);
		ck_abort_msg("tshark failed (status %d): %s", st, (char *)e);
	}
	unlink(errpath);
	ck_assert_msg(n == NFRAMES, "tshark read %zu frames, want %zu", n,
	    NFRAMES);
	/* The last frame's timestamp, in microseconds, as tshark sees it. */
	ck_assert_msg(strncmp(epoch, "4102444800.000001", 17) == 0,
	    "last timestamp %s", epoch);
}
END_TEST

#define PER_THREAD	5000

struct tw {
	struct pcap_writer	*w;
	uint8_t			 id;
};

static void *
writer(void *arg)
{
	struct tw *t = arg;
	uint8_t f[200];
	uint32_t i;
	size_t len;

	for (i = 0; i < PER_THREAD; i++) {
		len = 60 + (i % 140);
		memset(f, t->id, len);
		memcpy(f + 1, &i, 4);
		pcap_write(t->w, i, f, len);
	}
	return NULL;
}

START_TEST(test_two_threads_never_interleave_records)
{
	struct tw t[2];
	pthread_t th[2];
	uint8_t *file, *p, *end;
	uint32_t incl, orig, seq, next[2] = { 0, 0 };
	int err, i;
	size_t flen, k;

	t[0].w = t[1].w = pcap_open(path, &err);
	ck_assert_ptr_nonnull(t[0].w);
	for (i = 0; i < 2; i++) {
		t[i].id = (uint8_t)(0xa0 + i);
		ck_assert_int_eq(pthread_create(&th[i], NULL, writer, &t[i]), 0);
	}
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	ck_assert_int_eq(pcap_flush(t[0].w), 0);
	pcap_close(t[0].w);

	file = slurp(path, &flen);
	end = file + flen;
	for (p = file + 24; p < end; p += 16 + incl) {
		ck_assert_msg(end - p >= 16, "torn record header");
		memcpy(&incl, p + 8, 4);
		memcpy(&orig, p + 12, 4);
		ck_assert_uint_eq(incl, orig);
		ck_assert_msg((size_t)(end - p) >= 16 + incl, "torn record");
		i = p[16] - 0xa0;
		ck_assert_msg(i == 0 || i == 1, "record of unknown thread");
		memcpy(&seq, p + 17, 4);
		ck_assert_msg(seq == next[i], "thread %d: record %u, want %u",
		    i, seq, next[i]);
		ck_assert_uint_eq(incl, 60 + seq % 140);
		for (k = 5; k < incl; k++)
			if (p[16 + k] != 0xa0 + i)
				ck_abort_msg("record %u of thread %d mixed up",
				    seq, i);
		next[i]++;
	}
	ck_assert_uint_eq(next[0], PER_THREAD);
	ck_assert_uint_eq(next[1], PER_THREAD);
	free(file);
}
END_TEST

START_TEST(test_open_reports_errno)
{
	int err = 0;

	ck_assert_ptr_null(pcap_open("/nonexistent-dir/x.pcap", &err));
	ck_assert_int_eq(err, -ENOENT);
	err = 0;
	ck_assert_ptr_null(pcap_open("/dev/full", &err));
	ck_assert_int_eq(err, -ENOSPC);
}
END_TEST

START_TEST(test_write_errors_counted_not_fatal)
{
	struct rlimit old, lim = { 1024, 1024 };
	struct pcap_writer *w;
	void (*oldsig)(int);
	uint8_t f[100];
	struct stat sb;
	int err, i;

	memset(f, 0x42, sizeof(f));
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	lim.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);

	w = pcap_open(path, &err);
	ck_assert_ptr_nonnull(w);
	for (i = 0; i < 20; i++)        /* 2320 bytes: beyond the limit */
		pcap_write(w, (uint64_t)i, f, sizeof(f));
	ck_assert_uint_eq(pcap_errors(w), 0);   /* still buffered */
	ck_assert_int_eq(pcap_flush(w), -EFBIG);
	ck_assert_uint_eq(pcap_errors(w), 1);
	pcap_write(w, 99, f, sizeof(f));
	pcap_write(w, 100, f, sizeof(f));
	ck_assert_uint_eq(pcap_errors(w), 3);
	ck_assert_int_eq(pcap_flush(w), -EIO);
	pcap_close(w);

	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_le(sb.st_size, 1024);
	/* NULL is harmless everywhere. */
	pcap_write(NULL, 0, f, sizeof(f));
	ck_assert_int_eq(pcap_flush(NULL), 0);
	ck_assert_uint_eq(pcap_errors(NULL), 0);
	pcap_close(NULL);
}
END_TEST

static Suite *
pcap_suite(void)
{
	Suite *s = suite_create("dev_pcap");
	TCase *tc = tcase_create("pcap");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);      /* tshark takes a second to start */
	tcase_add_test(tc, test_header_and_records_match_byte_for_byte);
	tcase_add_test(tc, test_tshark_reads_every_frame);
	tcase_add_test(tc, test_two_threads_never_interleave_records);
	tcase_add_test(tc, test_open_reports_errno);
	tcase_add_test(tc, test_write_errors_counted_not_fatal);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pcap_suite)

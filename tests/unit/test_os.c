/*
 * test_os.c - the stack's operating-system calls go through mtcp_os: a
 * counting table installed with mtcp_os_set sees the device's and the
 * log's calls, and the defaults are libc's.
 */

#include <fcntl.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "check_main.h"
#include "dev.h"
#include "log.h"
#include "os.h"

static struct mtcp_os libc_os;
static unsigned n_eventfd, n_write, n_read, n_close;

static int
count_eventfd(unsigned init, int flags)
{
	n_eventfd++;
	return libc_os.eventfd(init, flags);
}

static ssize_t
count_write(int fd, const void *buf, size_t len)
{
	n_write++;
	return libc_os.write(fd, buf, len);
}

static ssize_t
count_read(int fd, void *buf, size_t len)
{
	n_read++;
	return libc_os.read(fd, buf, len);
}

static int
count_close(int fd)
{
	n_close++;
	return libc_os.close(fd);
}

/* libc's table with eventfd, write, read and close counted. */
static void
install_counting(void)
{
	struct mtcp_os os;

	libc_os = mtcp_os;
	os = libc_os;
	os.eventfd = count_eventfd;
	os.write = count_write;
	os.read = count_read;
	os.close = count_close;
	n_eventfd = n_write = n_read = n_close = 0;
	mtcp_os_set(&os);
}

START_TEST(test_defaults_are_libc_functions)
{
	/* Linked without the preload, the names are libc's. */
	ck_assert_ptr_eq((void *)mtcp_os.write, (void *)write);
	ck_assert_ptr_eq((void *)mtcp_os.writev, (void *)writev);
	ck_assert_ptr_eq((void *)mtcp_os.sendmsg, (void *)sendmsg);
	ck_assert_ptr_eq((void *)mtcp_os.poll, (void *)poll);
	ck_assert_ptr_eq((void *)mtcp_os.socket, (void *)socket);
	ck_assert_ptr_eq((void *)mtcp_os.ioctl, (void *)ioctl);
	ck_assert_ptr_eq((void *)mtcp_os.eventfd, (void *)eventfd);
}
END_TEST

START_TEST(test_memlink_io_goes_through_the_table)
{
	struct netdev *a, *b;
	uint8_t f[100], g[1514];

	install_counting();
	ck_assert_int_eq(memlink_pair(&a, &b, 1500, 8), 0);
	ck_assert_msg(n_eventfd == 2, "memlink_pair made %u eventfds through the "
		      "table, expected 2 (one per receive queue)", n_eventfd);
	memset(f, 0x5a, sizeof(f));
	ck_assert_int_eq(netdev_send(a, f, sizeof(f), 0), 0);
	ck_assert_msg(n_write >= 1, "a send signalled the peer's eventfd %u times "
		      "through the table, expected at least once", n_write);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), (ssize_t)sizeof(f));
	ck_assert_int_eq(memcmp(f, g, sizeof(f)), 0);
	ck_assert_int_eq(netdev_recv(b, g, sizeof(g), 0), -EAGAIN);
	ck_assert_msg(n_read >= 1, "draining the queue read its eventfd %u times "
		      "through the table, expected at least once", n_read);
	netdev_destroy(a);
	netdev_destroy(b);
	ck_assert_msg(n_close == 2, "destroying both ends closed %u fds through "
		      "the table, expected 2", n_close);
	mtcp_os_set(&libc_os);
}
END_TEST

START_TEST(test_log_line_is_written_through_the_table)
{
	install_counting();
	mtcp_log(LOGM_core, LOG_ERROR, "test_os: an expected line, written through mtcp_os.write");
	ck_assert_uint_eq(n_write, 1);
	mtcp_os_set(&libc_os);
}
END_TEST

static Suite *
os_suite(void)
{
	Suite *s = suite_create("os");
	TCase *tc = tcase_create("os");

	tcase_add_test(tc, test_defaults_are_libc_functions);
	tcase_add_test(tc, test_memlink_io_goes_through_the_table);
	tcase_add_test(tc, test_log_line_is_written_through_the_table);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(os_suite)

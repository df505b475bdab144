/*
 * test_pbuf.c - packet buffers (stack/base/pbuf.[ch]): what a fresh pbuf
 * looks like, headroom for every header the stack pushes, appending at the
 * tail, the accounting of headroom + len + tailroom, chains and freeing.
 *
 * pbuf.c keeps no allocation count, so the leak oracle here is the
 * sanitizer build (make check-asan): every test frees what it allocates.
 */
#include <check.h>
#include <string.h>

#include "check_main.h"
#include "pbuf.h"

/* Ethernet, IPv4 with the longest options, TCP with the longest options. */
#define ETH_HDR         14
#define IP_HDR_MAX      60
#define TCP_HDR_MAX     60

static void assert_accounting(const struct pbuf *p, const char *when)
{
	size_t head = pbuf_headroom(p), tail = pbuf_tailroom(p);

	ck_assert_msg(head + p->len + tail == p->size, "%s: headroom %zu + len %zu + tailroom "
		      "%zu != size %zu", when, head, p->len, tail, p->size);
	ck_assert_msg(p->data >= p->buf && p->data + p->len <= p->buf + p->size,
		      "%s: data [%td, %td) outside the buffer of %zu", when, p->data - p->buf,
		      p->data - p->buf + (ptrdiff_t)p->len, p->size);
}

START_TEST(test_alloc_gives_empty_pbuf_after_full_headroom)
{
	struct pbuf *p = pbuf_alloc(1000);

	ck_assert_ptr_nonnull(p);
	ck_assert_msg(p->len == 0, "fresh pbuf has len %zu, expected 0", p->len);
	ck_assert_msg(pbuf_headroom(p) == PBUF_HEADROOM, "headroom %zu, expected PBUF_HEADROOM "
		      "%d", pbuf_headroom(p), PBUF_HEADROOM);
	ck_assert_msg(pbuf_tailroom(p) == 1000, "tailroom %zu, expected the 1000 asked for",
		      pbuf_tailroom(p));
	ck_assert_ptr_null(p->next);
	ck_assert_msg(p->stamp == 0 && p->addr == 0 && p->port == 0,
		      "queue-owner fields not zero on a fresh pbuf");
	ck_assert_msg(p->l4_pos == 0 && p->csum_offset == 0 && p->gso_size == 0 &&
		      p->payload_pos == 0, "offload fields not zero on a fresh pbuf (a "
		      "device would finish a checksum nobody asked for)");
	assert_accounting(p, "fresh");
	pbuf_free(p);
}
END_TEST

START_TEST(test_small_payload_still_has_room_for_a_minimum_frame)
{
	for (size_t n = 0; n <= 64; n += 16) {
		struct pbuf *p = pbuf_alloc(n);

		ck_assert_ptr_nonnull(p);
		ck_assert_msg(pbuf_tailroom(p) >= 64, "pbuf_alloc(%zu): tailroom %zu, less than "
			      "the 64 bytes Ethernet padding may need", n, pbuf_tailroom(p));
		assert_accounting(p, "small");
		pbuf_free(p);
	}
}
END_TEST

START_TEST(test_headroom_takes_every_header_the_stack_pushes)
{
	struct pbuf *p = pbuf_alloc(10);
	uint8_t *pay = pbuf_put(p, 10);

	memset(pay, 'd', 10);
	uint8_t *tcp = pbuf_push(p, TCP_HDR_MAX);
	memset(tcp, 't', TCP_HDR_MAX);
	uint8_t *ip = pbuf_push(p, IP_HDR_MAX);
	memset(ip, 'i', IP_HDR_MAX);
	uint8_t *eth = pbuf_push(p, ETH_HDR);
	memset(eth, 'e', ETH_HDR);

	ck_assert_msg(pbuf_headroom(p) == PBUF_HEADROOM - ETH_HDR - IP_HDR_MAX - TCP_HDR_MAX,
		      "headroom %zu after the three longest headers", pbuf_headroom(p));
	ck_assert_msg(eth == p->data && ip == eth + ETH_HDR && tcp == ip + IP_HDR_MAX &&
		      pay == tcp + TCP_HDR_MAX, "pushed headers are not contiguous in front of "
		      "the payload");
	ck_assert_uint_eq(p->len, ETH_HDR + IP_HDR_MAX + TCP_HDR_MAX + 10);
	ck_assert_msg(p->data[0] == 'e' && p->data[ETH_HDR] == 'i' &&
		      p->data[ETH_HDR + IP_HDR_MAX] == 't' &&
		      p->data[p->len - 1] == 'd', "the frame's bytes are out of order");
	/* What is left stays word-aligned in front of the Ethernet header. */
	ck_assert_msg(pbuf_headroom(p) % 2 == 0, "headroom left %zu is odd", pbuf_headroom(p));
	assert_accounting(p, "after pushing every header");
	pbuf_free(p);
}
END_TEST

START_TEST(test_put_appends_at_the_tail_up_to_the_size)
{
	struct pbuf *p = pbuf_alloc(1500);
	uint8_t *a = pbuf_put(p, 100);

	ck_assert_msg(a == p->data, "the first put is not at data");
	memset(a, 1, 100);
	uint8_t *b = pbuf_put(p, 1400);
	ck_assert_msg(b == a + 100, "the second put is %td bytes after the first, expected 100",
		      b - a);
	memset(b, 2, 1400);             /* the whole payload room: ASan checks the bound */
	ck_assert_uint_eq(p->len, 1500);
	ck_assert_msg(pbuf_tailroom(p) == 0, "tailroom %zu after filling 1500 of 1500",
		      pbuf_tailroom(p));
	assert_accounting(p, "full");
	pbuf_free(p);
}
END_TEST

START_TEST(test_jumbo_payload_fits)
{
	struct pbuf *p = pbuf_alloc(9000 + 14);

	ck_assert_ptr_nonnull(p);
	memset(pbuf_put(p, 9014), 0xa5, 9014);
	ck_assert_uint_eq(pbuf_tailroom(p), 0);
	assert_accounting(p, "jumbo");
	pbuf_free(p);
}
END_TEST

START_TEST(test_push_and_put_keep_the_accounting)
{
	struct pbuf *p = pbuf_alloc(256);

	for (unsigned i = 0; i < 8; i++) {
		pbuf_put(p, 32);
		pbuf_push(p, 8);
		assert_accounting(p, "alternating push and put");
	}
	ck_assert_uint_eq(p->len, 8 * 40);
	ck_assert_uint_eq(pbuf_headroom(p), PBUF_HEADROOM - 64);
	ck_assert_uint_eq(pbuf_tailroom(p), 0);
	pbuf_free(p);
}
END_TEST

START_TEST(test_free_chain_frees_every_linked_pbuf)
{
	struct pbuf *head = NULL;

	/* A queue of five, as a transport links them (ASan: no leak). */
	for (int i = 0; i < 5; i++) {
		struct pbuf *p = pbuf_alloc((size_t)(100 * i));
		ck_assert_ptr_nonnull(p);
		p->next = head;
		head = p;
	}
	pbuf_free_chain(head);
	pbuf_free_chain(NULL);          /* an empty queue: nothing */
	pbuf_free(NULL);
}
END_TEST

START_TEST(test_pbufs_are_independent)
{
	struct pbuf *a = pbuf_alloc(64), *b = pbuf_alloc(64);

	memset(pbuf_put(a, 64), 'a', 64);
	memset(pbuf_put(b, 64), 'b', 64);
	for (size_t i = 0; i < 64; i++)
		ck_assert_msg(a->data[i] == 'a' && b->data[i] == 'b',
			      "byte %zu of two pbufs overlaps", i);
	pbuf_free(a);
	pbuf_free(b);
}
END_TEST

static Suite *pbuf_suite(void)
{
	Suite *s = suite_create("pbuf");
	TCase *tc = tcase_create("pbuf");

	tcase_add_test(tc, test_alloc_gives_empty_pbuf_after_full_headroom);
	tcase_add_test(tc, test_small_payload_still_has_room_for_a_minimum_frame);
	tcase_add_test(tc, test_headroom_takes_every_header_the_stack_pushes);
	tcase_add_test(tc, test_put_appends_at_the_tail_up_to_the_size);
	tcase_add_test(tc, test_jumbo_payload_fits);
	tcase_add_test(tc, test_push_and_put_keep_the_accounting);
	tcase_add_test(tc, test_free_chain_frees_every_linked_pbuf);
	tcase_add_test(tc, test_pbufs_are_independent);
	suite_add_tcase(s, tc);
	return s;
}

CHECK_MAIN(pbuf_suite)

/*
 * fuzz_wire.c - libFuzzer target for the wire layer.
 *
 * Every parser sees the input as-is; ipv4/icmp/udp/tcp also see a copy with
 * the checksum fixed up, so the fuzzer reaches the option walkers instead
 * of stopping at WIRE_ECSUM. Whatever parses is emitted and parsed again,
 * and the two reprs must agree. Any crash, sanitizer report or abort() is
 * a bug.
 *
 * Build and run (from the top of the tree; do not commit the corpus):
 *
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE \
 *       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *       -Istack/wire tests/fuzz/fuzz_wire.c stack/wire/[a-z]*.c -o /tmp/fuzz_wire
 *   mkdir -p /tmp/fuzz_wire_corpus
 *   /tmp/fuzz_wire -max_total_time=60 /tmp/fuzz_wire_corpus
 */
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "checksum.h"
#include "ether.h"
#include "icmp.h"
#include "ipv4.h"
#include "tcp.h"
#include "udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SRC     0x0a000002
#define DST     0x0a000001

#define CHECK(c) do { if (!(c)) abort(); } while (0)

/*
 * Every buffer a parser reads is a heap block of exactly the length passed,
 * as libFuzzer's own input is, so ASan reports a read one byte past it.
 */
static uint8_t *
xmalloc(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p == NULL)
		abort();
	return p;
}

static void
fuzz_eth(const uint8_t *p, size_t len)
{
	struct eth_repr r, back;
	char s[18];
	uint8_t mac[ETH_ALEN];

	uint8_t *out;

	if (eth_parse(p, len, &r) != WIRE_OK)
		return;
	out = xmalloc(ETH_HLEN);
	eth_emit(&r, out);
	CHECK(memcmp(out, p, ETH_HLEN) == 0);
	CHECK(eth_parse(out, ETH_HLEN, &back) == WIRE_OK);
	CHECK(memcmp(&r, &back, sizeof(r)) == 0);
	CHECK(eth_aton(eth_ntoa(r.src, s), mac) == 0);
	CHECK(memcmp(mac, r.src, ETH_ALEN) == 0);
	free(out);
}

static void
fuzz_arp(const uint8_t *p, size_t len)
{
	struct arp_repr r, back;
	uint8_t *out;

	if (arp_parse(p, len, &r) != WIRE_OK)
		return;
	out = xmalloc(ARP_LEN);
	arp_emit(&r, out);
	CHECK(memcmp(out, p, ARP_LEN) == 0);
	CHECK(arp_parse(out, ARP_LEN, &back) == WIRE_OK);
	CHECK(back.op == r.op && back.spa == r.spa && back.tpa == r.tpa);
	free(out);
}

static void
fuzz_ipv4(const uint8_t *p, size_t len)
{
	struct ipv4_repr r, back;
	size_t plen;
	char s[16];
	uint8_t *out;

	if (ipv4_parse(p, len, &r) != WIRE_OK)
		return;
	CHECK(r.hlen >= IPV4_HLEN && r.hlen <= r.total_len && r.total_len <= len);
	/* Emit drops the options: same payload behind a 20-byte header. */
	plen = r.total_len - r.hlen;
	r.total_len = (uint16_t)(IPV4_HLEN + plen);
	out = xmalloc(IPV4_HLEN + plen);
	ipv4_emit(&r, out);
	memcpy(out + IPV4_HLEN, p + r.hlen, plen);
	CHECK(ipv4_parse(out, IPV4_HLEN + plen, &back) == WIRE_OK);
	CHECK(back.hlen == IPV4_HLEN && back.total_len == r.total_len &&
	    back.tos == r.tos && back.id == r.id && back.df == r.df &&
	    back.mf == r.mf && back.frag_off == r.frag_off &&
	    back.ttl == r.ttl && back.proto == r.proto &&
	    back.src == r.src && back.dst == r.dst);
	CHECK(strlen(ipv4_ntoa(r.src, s)) < sizeof(s));
	free(out);
}

static void
fuzz_icmp(const uint8_t *p, size_t len)
{
	struct icmp_repr r, back;
	uint8_t *out;

	if (icmp_parse(p, len, &r) != WIRE_OK)
		return;
	out = xmalloc(len);
	memcpy(out + ICMP_HLEN, p + ICMP_HLEN, len - ICMP_HLEN);
	icmp_emit(&r, out, len - ICMP_HLEN);
	/* Only the checksum may differ (0x0000 and 0xffff can both verify). */
	CHECK(out[0] == p[0] && out[1] == p[1] && memcmp(out + 4, p + 4, 4) == 0);
	CHECK(icmp_parse(out, len, &back) == WIRE_OK);
	CHECK(back.type == r.type && back.code == r.code);
	free(out);
}

static void
fuzz_udp(const uint8_t *p, size_t len)
{
	struct udp_repr r, back;
	uint8_t *out;

	if (udp_parse(p, len, SRC, DST, &r) != WIRE_OK)
		return;
	CHECK(r.len >= UDP_HLEN && r.len <= len);
	out = xmalloc(r.len);
	memcpy(out, p, r.len);
	udp_emit(&r, out, SRC, DST);
	CHECK(out[6] != 0 || out[7] != 0);
	CHECK(udp_parse(out, r.len, SRC, DST, &back) == WIRE_OK);
	CHECK(back.sport == r.sport && back.dport == r.dport &&
	    back.len == r.len);
	free(out);
}

static void
fuzz_tcp(const uint8_t *p, size_t len)
{
	struct tcp_repr r, back;
	size_t hlen, plen, k;
	uint8_t *out;

	if (tcp_parse(p, len, SRC, DST, &r) != WIRE_OK)
		return;
	CHECK(r.hlen >= TCP_HLEN && r.hlen <= len && r.opt.nsack <= TCP_MAX_SACK);
	plen = len - r.hlen;
	hlen = tcp_header_len(&r);
	CHECK(hlen >= TCP_HLEN && hlen <= TCP_HLEN_MAX && hlen % 4 == 0);
	if (hlen + plen > IPV4_MAXLEN)
		return;
	out = xmalloc(hlen + plen);
	memcpy(out + hlen, p + r.hlen, plen);
	CHECK(tcp_emit(&r, out, plen, SRC, DST) == hlen);
	CHECK(tcp_parse(out, hlen + plen, SRC, DST, &back) == WIRE_OK);
	CHECK(back.sport == r.sport && back.dport == r.dport &&
	    back.seq == r.seq && back.ack == r.ack && back.flags == r.flags &&
	    back.win == r.win && back.urp == r.urp && back.hlen == hlen);
	CHECK(back.opt.has_mss == r.opt.has_mss &&
	    back.opt.has_wscale == r.opt.has_wscale &&
	    back.opt.sack_permitted == r.opt.sack_permitted &&
	    back.opt.has_ts == r.opt.has_ts);
	CHECK(!r.opt.has_mss || back.opt.mss == r.opt.mss);
	CHECK(!r.opt.has_wscale || back.opt.wscale == r.opt.wscale);
	CHECK(!r.opt.has_ts || (back.opt.ts_val == r.opt.ts_val &&
	    back.opt.ts_ecr == r.opt.ts_ecr));
	/* Blocks that do not fit the emitted layout are dropped from the end. */
	CHECK(back.opt.nsack <= r.opt.nsack);
	CHECK(r.opt.nsack == 0 || back.opt.nsack >= 1);
	for (k = 0; k < back.opt.nsack; k++)
		CHECK(back.opt.sack[k].left == r.opt.sack[k].left &&
		    back.opt.sack[k].right == r.opt.sack[k].right);
	free(out);
}

/* Parse a copy of p with a valid checksum stored at csum_off over the
 * first cover bytes (plus a pseudo-header sum), if they are there. */
static void
with_csum(void (*fn)(const uint8_t *, size_t), const uint8_t *p, size_t len,
    size_t csum_off, size_t cover, uint32_t pseudo)
{
	uint8_t *c;

	if (csum_off + 2 > len || cover > len)
		return;
	c = xmalloc(len);
	memcpy(c, p, len);
	wr16(c + csum_off, 0);
	wr16(c + csum_off, csum_finish(csum_add(pseudo, c, cover)));
	fn(c, len);
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char str[32];
	uint8_t mac[ETH_ALEN];
	size_t ihl, ulen;

	if (size > IPV4_MAXLEN)
		return 0;

	fuzz_eth(data, size);
	fuzz_arp(data, size);
	fuzz_ipv4(data, size);
	fuzz_icmp(data, size);
	fuzz_udp(data, size);
	fuzz_tcp(data, size);

	if (size >= 1) {
		ihl = (size_t)(data[0] & 0xf) * 4;
		with_csum(fuzz_ipv4, data, size, 10, ihl, 0);
	}
	with_csum(fuzz_icmp, data, size, 2, size, 0);
	if (size >= UDP_HLEN) {
		ulen = rd16(data + 4);
		with_csum(fuzz_udp, data, size, 6, ulen,
		    csum_pseudo_ipv4(SRC, DST, IPPROTO_UDP_, (uint16_t)ulen));
	}
	with_csum(fuzz_tcp, data, size, 16, size,
	    csum_pseudo_ipv4(SRC, DST, IPPROTO_TCP_, (uint16_t)size));

	/* The MAC text parser on a NUL-terminated prefix. */
	memcpy(str, data, size < sizeof(str) - 1 ? size : sizeof(str) - 1);
	str[size < sizeof(str) - 1 ? size : sizeof(str) - 1] = '\0';
	if (eth_aton(str, mac) == 0)
		CHECK(strlen(str) >= 11 && strlen(str) <= 17);
	(void)wire_strerror((enum wire_err)(size % 12));
	return 0;
}

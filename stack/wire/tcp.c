/* tcp.c - TCP headers and options (RFC 9293 3.1, RFC 7323, RFC 2018). */
#include <string.h>

#include "checksum.h"
#include "ipv4.h"
#include "tcp.h"

#define TCPOLEN_MSS             4
#define TCPOLEN_WSCALE          3
#define TCPOLEN_SACK_PERMITTED  2
#define TCPOLEN_TIMESTAMP       10
#define TCPOLEN_SACK_BASE       2
#define TCPOLEN_SACK_PERBLOCK   8

#define TCP_OPTSPACE            (TCP_HLEN_MAX - TCP_HLEN)

/*
 * RFC 9293 3.1 "Options": EOL ends the list, NOP is one octet, every other
 * option is kind, length (counting both), data. RFC 9293 3.2 / RFC 1122
 * 4.2.2.5: options we do not know are skipped by their length.
 */
static enum wire_err
tcp_parse_opts(const uint8_t *p, size_t len, struct tcp_opts *o)
{
	size_t pos = 0, olen, n, k;
	const uint8_t *v;
	uint8_t kind;
	int r;

	memset(o, 0, sizeof(*o));
	while ((r = wire_opt_next(p, len, &pos, &kind, &v, &olen)) > 0) {
		olen += 2;      /* the TCPOLEN_* constants count kind and length */
		switch (kind) {
		case TCPOPT_MSS:
			if (olen != TCPOLEN_MSS)
				return WIRE_EOPT;
			o->has_mss = true;
			o->mss = rd16(v);
			break;
		case TCPOPT_WSCALE:
			/* RFC 7323 2.2; the shift is clamped by the caller. */
			if (olen != TCPOLEN_WSCALE)
				return WIRE_EOPT;
			o->has_wscale = true;
			o->wscale = v[0];
			break;
		case TCPOPT_SACK_PERMITTED:
			/* RFC 2018 2. */
			if (olen != TCPOLEN_SACK_PERMITTED)
				return WIRE_EOPT;
			o->sack_permitted = true;
			break;
		case TCPOPT_SACK:
			/* RFC 2018 3: length 2 + 8n, at most 4 blocks. */
			if (olen < TCPOLEN_SACK_BASE + TCPOLEN_SACK_PERBLOCK ||
			    (olen - TCPOLEN_SACK_BASE) % TCPOLEN_SACK_PERBLOCK)
				return WIRE_EOPT;
			n = (olen - TCPOLEN_SACK_BASE) / TCPOLEN_SACK_PERBLOCK;
			if (n > TCP_MAX_SACK)
				return WIRE_EOPT;
			for (k = 0; k < n; k++) {
				o->sack[k].left = rd32(v + 8 * k);
				o->sack[k].right = rd32(v + 4 + 8 * k);
			}
			o->nsack = (uint8_t)n;
			break;
		case TCPOPT_TIMESTAMP:
			/* RFC 7323 3.2. */
			if (olen != TCPOLEN_TIMESTAMP)
				return WIRE_EOPT;
			o->has_ts = true;
			o->ts_val = rd32(v);
			o->ts_ecr = rd32(v + 4);
			break;
		default:
			break;
		}
	}
	return r < 0 ? WIRE_EOPT : WIRE_OK;
}

static enum wire_err
parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, bool verify,
    struct tcp_repr *out)
{
	struct tcp_opts opt;
	size_t hlen;
	uint32_t sum;
	enum wire_err err;

	if (len < TCP_HLEN)
		return WIRE_ETRUNC;
	/* The pseudo-header's TCP length is 16 bits (RFC 9293 3.1). */
	if (len > IPV4_MAXLEN)
		return WIRE_ELEN;
	hlen = (size_t)(buf[12] >> 4) * 4;
	if (hlen < TCP_HLEN || hlen > len)
		return WIRE_EHLEN;
	/* RFC 9293 3.1 "Checksum": pseudo-header, header, options, data. */
	sum = csum_pseudo_ipv4(src, dst, IPPROTO_TCP_, (uint16_t)len);
	if (verify && csum_finish(csum_add(sum, buf, len)) != 0)
		return WIRE_ECSUM;
	err = tcp_parse_opts(buf + TCP_HLEN, hlen - TCP_HLEN, &opt);
	if (err != WIRE_OK)
		return err;

	out->sport = rd16(buf);
	out->dport = rd16(buf + 2);
	out->seq = rd32(buf + 4);
	out->ack = rd32(buf + 8);
	out->hlen = (uint8_t)hlen;
	out->flags = buf[13];
	out->win = rd16(buf + 14);
	out->urp = rd16(buf + 18);
	out->opt = opt;
	return WIRE_OK;
}

enum wire_err
tcp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
    struct tcp_repr *out)
{
	return parse(buf, len, src, dst, true, out);
}

enum wire_err
tcp_parse_verified(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
    struct tcp_repr *out)
{
	return parse(buf, len, src, dst, false, out);
}

/* Bytes of everything but the SACK blocks, each already 4-aligned. */
static size_t
tcp_opts_fixed_len(const struct tcp_opts *o)
{
	size_t n = 0;

	if (o->has_mss)
		n += 4;                 /* MSS */
	if (o->has_ts)
		n += 12;                /* SACK_PERMITTED or NOP NOP, TS */
	else if (o->sack_permitted)
		n += 4;                 /* NOP NOP SACK_PERMITTED */
	if (o->has_wscale)
		n += 4;                 /* NOP WSCALE */
	return n;
}

/*
 * SACK blocks that fit in the 40-byte option space after the others
 * (NOP NOP SACK header + 8 per block). RFC 2018 4: the first block is the
 * most recent, so trailing blocks are the ones dropped; with timestamps at
 * most 3 fit, as in Linux.
 */
static size_t
tcp_opts_nsack(const struct tcp_opts *o, size_t fixed)
{
	size_t n = o->nsack > TCP_MAX_SACK ? TCP_MAX_SACK : o->nsack;
	size_t room;

	if (n == 0 || fixed + 4 + TCPOLEN_SACK_PERBLOCK > TCP_OPTSPACE)
		return 0;
	room = (TCP_OPTSPACE - fixed - 4) / TCPOLEN_SACK_PERBLOCK;
	return n < room ? n : room;
}

size_t
tcp_opts_len(const struct tcp_opts *o)
{
	size_t fixed = tcp_opts_fixed_len(o);
	size_t nsack = tcp_opts_nsack(o, fixed);

	return fixed + (nsack ? 4 + nsack * TCPOLEN_SACK_PERBLOCK : 0);
}

static size_t
emit(const struct tcp_repr *r, uint8_t *buf, size_t payload_len,
    uint32_t src, uint32_t dst, bool partial)
{
	const struct tcp_opts *o = &r->opt;
	size_t hlen = tcp_header_len(r);
	size_t nsack = tcp_opts_nsack(o, tcp_opts_fixed_len(o));
	uint8_t *p = buf + TCP_HLEN;
	uint32_t sum;
	size_t k;

	wr16(buf, r->sport);
	wr16(buf + 2, r->dport);
	wr32(buf + 4, r->seq);
	wr32(buf + 8, r->ack);
	buf[12] = (uint8_t)(hlen / 4 << 4);
	buf[13] = r->flags;
	wr16(buf + 14, r->win);
	wr16(buf + 16, 0);
	wr16(buf + 18, r->urp);

	/* Linux's layout: every option group is 4-aligned by NOPs. */
	if (o->has_mss) {
		*p++ = TCPOPT_MSS;
		*p++ = TCPOLEN_MSS;
		wr16(p, o->mss);
		p += 2;
	}
	if (o->has_ts) {
		if (o->sack_permitted) {
			*p++ = TCPOPT_SACK_PERMITTED;
			*p++ = TCPOLEN_SACK_PERMITTED;
		} else {
			*p++ = TCPOPT_NOP;
			*p++ = TCPOPT_NOP;
		}
		*p++ = TCPOPT_TIMESTAMP;
		*p++ = TCPOLEN_TIMESTAMP;
		wr32(p, o->ts_val);
		wr32(p + 4, o->ts_ecr);
		p += 8;
	} else if (o->sack_permitted) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_SACK_PERMITTED;
		*p++ = TCPOLEN_SACK_PERMITTED;
	}
	if (o->has_wscale) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_WSCALE;
		*p++ = TCPOLEN_WSCALE;
		*p++ = o->wscale;
	}
	if (nsack) {
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_NOP;
		*p++ = TCPOPT_SACK;
		*p++ = (uint8_t)(TCPOLEN_SACK_BASE + nsack * TCPOLEN_SACK_PERBLOCK);
		for (k = 0; k < nsack; k++) {
			wr32(p, o->sack[k].left);
			wr32(p + 4, o->sack[k].right);
			p += 8;
		}
	}

	sum = csum_pseudo_ipv4(src, dst, IPPROTO_TCP_,
	    (uint16_t)(hlen + payload_len));
	if (partial)
		wr16(buf + 16, (uint16_t)~csum_finish(sum));
	else
		wr16(buf + 16, csum_finish(csum_add(sum, buf, hlen + payload_len)));
	return hlen;
}

size_t
tcp_emit(const struct tcp_repr *r, uint8_t *buf, size_t payload_len,
    uint32_t src, uint32_t dst)
{
	return emit(r, buf, payload_len, src, dst, false);
}

size_t
tcp_emit_partial(const struct tcp_repr *r, uint8_t *buf, size_t payload_len,
    uint32_t src, uint32_t dst)
{
	return emit(r, buf, payload_len, src, dst, true);
}

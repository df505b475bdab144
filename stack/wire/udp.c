/* udp.c - UDP headers (RFC 768, RFC 1122 4.1.3.4). */
#include "checksum.h"
#include "ipv4.h"
#include "udp.h"

static enum wire_err
parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst, bool verify,
    struct udp_repr *out)
{
	uint16_t ulen;
	uint32_t sum;

	if (len < UDP_HLEN)
		return WIRE_ETRUNC;
	ulen = rd16(buf + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return WIRE_ELEN;
	/* RFC 768: an all-zero checksum field means none was computed. */
	if (verify && rd16(buf + 6) != 0) {
		sum = csum_pseudo_ipv4(src, dst, IPPROTO_UDP_, ulen);
		/* RFC 1122 4.1.3.4: silently discard a bad checksum. */
		if (csum_finish(csum_add(sum, buf, ulen)) != 0)
			return WIRE_ECSUM;
	}
	out->sport = rd16(buf);
	out->dport = rd16(buf + 2);
	out->len = ulen;
	return WIRE_OK;
}

enum wire_err
udp_parse(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
    struct udp_repr *out)
{
	return parse(buf, len, src, dst, true, out);
}

enum wire_err
udp_parse_verified(const uint8_t *buf, size_t len, uint32_t src, uint32_t dst,
    struct udp_repr *out)
{
	return parse(buf, len, src, dst, false, out);
}

void
udp_emit(const struct udp_repr *r, uint8_t *buf, uint32_t src, uint32_t dst)
{
	uint32_t sum;
	uint16_t csum;

	wr16(buf, r->sport);
	wr16(buf + 2, r->dport);
	wr16(buf + 4, r->len);
	wr16(buf + 6, 0);
	sum = csum_pseudo_ipv4(src, dst, IPPROTO_UDP_, r->len);
	csum = csum_finish(csum_add(sum, buf, r->len));
	/* RFC 768: a computed zero is transmitted as all ones. */
	wr16(buf + 6, csum == 0 ? 0xffff : csum);
}

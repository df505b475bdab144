/* icmp.c - ICMPv4 messages (RFC 792). */
#include "checksum.h"
#include "icmp.h"

/* The union in struct icmp_repr holds echo for these types, rest for others. */
static bool
icmp_uses_echo(uint8_t type)
{
	return type == ICMP_ECHO || type == ICMP_ECHOREPLY;
}

enum wire_err
icmp_parse(const uint8_t *buf, size_t len, struct icmp_repr *out)
{
	if (len < ICMP_HLEN)
		return WIRE_ETRUNC;
	/* RFC 792: the checksum covers the ICMP message from the type on. */
	if (inet_checksum(buf, len) != 0)
		return WIRE_ECSUM;
	out->type = buf[0];
	out->code = buf[1];
	if (icmp_uses_echo(out->type)) {
		out->echo.id = rd16(buf + 4);
		out->echo.seq = rd16(buf + 6);
	} else {
		out->rest = rd32(buf + 4);
	}
	return WIRE_OK;
}

void
icmp_emit(const struct icmp_repr *r, uint8_t *buf, size_t body_len)
{
	buf[0] = r->type;
	buf[1] = r->code;
	wr16(buf + 2, 0);
	if (icmp_uses_echo(r->type)) {
		wr16(buf + 4, r->echo.id);
		wr16(buf + 6, r->echo.seq);
	} else {
		wr32(buf + 4, r->rest);
	}
	wr16(buf + 2, inet_checksum(buf, ICMP_HLEN + body_len));
}

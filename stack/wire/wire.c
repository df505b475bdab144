/* wire.c - common helpers of the packet-format layer. */
#include "wire.h"

const char *
wire_strerror(enum wire_err e)
{
	switch (e) {
	case WIRE_OK:
		return "ok";
	case WIRE_ETRUNC:
		return "truncated";
	case WIRE_ECSUM:
		return "bad checksum";
	case WIRE_ELEN:
		return "bad length field";
	case WIRE_EVERSION:
		return "bad version";
	case WIRE_EHLEN:
		return "bad header length";
	case WIRE_EOPT:
		return "malformed options";
	case WIRE_EUNSUPP:
		return "unsupported";
	case WIRE_EFIELD:
		return "forbidden field value";
	}
	return "unknown wire error";
}

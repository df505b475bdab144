/* config.c - the MTCP_* environment. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "wire/ether.h"

int config_parse_ipv4(const char *v, uint32_t *addr)
{
	struct in_addr a;

	/* inet_pton accepts only the strict dotted quad. */
	if (inet_pton(AF_INET, v, &a) != 1)
		return -EINVAL;
	*addr = ntohl(a.s_addr);
	return 0;
}

int config_parse_addr(const char *v, uint32_t *addr, uint8_t *prefix, char *err, size_t errlen)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(v, '/');
	char *end;
	long p;

	if (!slash || (size_t)(slash - v) >= sizeof(ip))
		goto bad;
	memcpy(ip, v, (size_t)(slash - v));
	ip[slash - v] = 0;
	if (config_parse_ipv4(ip, addr) < 0)
		goto bad;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || p < 1 || p > 30)
		goto bad;
	*prefix = (uint8_t)p;
	uint32_t mask = ~0u << (32 - p);
	if ((*addr & ~mask) == 0 || (*addr & ~mask) == ~mask || (*addr >> 24) == 0 ||
	    (*addr >> 24) == 127 || (*addr >> 28) >= 0xe)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen, "MTCP_ADDR: invalid value \"%s\" (expected A.B.C.D/PREFIX, "
		 "a unicast host address with a prefix of 1..30)", v);
	return -EINVAL;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int config_from_env(struct mtcp_config *c, char *err, size_t errlen)
{
	const char *v;
	int rc;

	memset(c, 0, sizeof(*c));

	if ((v = env("MTCP_LOG"))) {
		char lerr[256];
		if (log_configure(v, lerr, sizeof(lerr)) < 0) {
			snprintf(err, errlen, "MTCP_LOG: %s", lerr);
			return -EINVAL;
		}
	}

	if (!(v = env("MTCP_IFACE"))) {
		snprintf(err, errlen, "MTCP_IFACE: not set (expected the name of a TAP "
			 "device or, with MTCP_DRIVER=packet, of an interface)");
		return -EINVAL;
	}
	if (strlen(v) >= IFNAMSIZ || strpbrk(v, "/ \t:")) {
		snprintf(err, errlen, "MTCP_IFACE: invalid value \"%s\" (expected an "
			 "interface name of at most %d characters)", v, IFNAMSIZ - 1);
		return -EINVAL;
	}
	strcpy(c->iface, v);

	if ((v = env("MTCP_DRIVER"))) {
		if (strcmp(v, "tap") == 0) {
			c->driver = MTCP_DRIVER_TAP;
		} else if (strcmp(v, "packet") == 0) {
			c->driver = MTCP_DRIVER_PACKET;
		} else {
			snprintf(err, errlen, "MTCP_DRIVER: invalid value \"%s\" (expected "
				 "tap or packet)", v);
			return -EINVAL;
		}
	}

	if (!(v = env("MTCP_ADDR"))) {
		snprintf(err, errlen, "MTCP_ADDR: not set (expected A.B.C.D/PREFIX, "
			 "e.g. 10.61.0.2/24)");
		return -EINVAL;
	}
	if ((rc = config_parse_addr(v, &c->addr, &c->prefix, err, errlen)) < 0)
		return rc;

	if ((v = env("MTCP_GATEWAY"))) {
		uint32_t mask = ~0u << (32 - c->prefix);
		if (config_parse_ipv4(v, &c->gateway) < 0 ||
		    (c->gateway & mask) != (c->addr & mask) || c->gateway == c->addr ||
		    (c->gateway & ~mask) == 0 || (c->gateway & ~mask) == ~mask) {
			snprintf(err, errlen, "MTCP_GATEWAY: invalid value \"%s\" (expected "
				 "A.B.C.D, a host inside the MTCP_ADDR subnet)", v);
			return -EINVAL;
		}
	}

	if ((v = env("MTCP_MAC"))) {
		if (eth_aton(v, c->mac) < 0 || eth_is_multicast(c->mac) ||
		    memcmp(c->mac, "\0\0\0\0\0\0", 6) == 0) {
			snprintf(err, errlen, "MTCP_MAC: invalid value \"%s\" (expected a "
				 "unicast aa:bb:cc:dd:ee:ff)", v);
			return -EINVAL;
		}
		c->has_mac = true;
	}

	if ((v = env("MTCP_MTU"))) {
		char *end;
		errno = 0;
		long m = strtol(v, &end, 10);
		if (errno || *end || m < 68 || m > ETH_MTU_MAX) {
			snprintf(err, errlen, "MTCP_MTU: invalid value \"%s\" (expected "
				 "68..%d)", v, ETH_MTU_MAX);
			return -EINVAL;
		}
		c->mtu = (unsigned)m;
	}

	if ((v = env("MTCP_PCAP"))) {
		if (strlen(v) >= sizeof(c->pcap)) {
			snprintf(err, errlen, "MTCP_PCAP: path too long");
			return -EINVAL;
		}
		strcpy(c->pcap, v);
	}

	if ((v = env("MTCP_STATS"))) {
		if (strlen(v) >= sizeof(c->stats)) {
			snprintf(err, errlen, "MTCP_STATS: path too long");
			return -EINVAL;
		}
		strcpy(c->stats, v);
	}

	if ((v = env("MTCP_OFFLOAD"))) {
		if (strcmp(v, "on") && strcmp(v, "off")) {
			snprintf(err, errlen, "MTCP_OFFLOAD: invalid value \"%s\" (expected "
				 "on or off)", v);
			return -EINVAL;
		}
		c->no_offload = !strcmp(v, "off");
	}

	if ((v = env("MTCP_SHARE"))) {
		if (!strcmp(v, "auto"))
			c->share = MTCP_SHARE_AUTO;
		else if (!strcmp(v, "on"))
			c->share = MTCP_SHARE_ON;
		else if (!strcmp(v, "off"))
			c->share = MTCP_SHARE_OFF;
		else {
			snprintf(err, errlen, "MTCP_SHARE: invalid value \"%s\" (expected "
				 "auto, on or off)", v);
			return -EINVAL;
		}
	}

	if ((v = env("MTCP_RUNDIR"))) {
		if (v[0] != '/' || strlen(v) >= sizeof(c->rundir)) {
			snprintf(err, errlen, "MTCP_RUNDIR: invalid value \"%s\" (expected "
				 "an absolute path shorter than %zu bytes)", v, sizeof(c->rundir));
			return -EINVAL;
		}
		strcpy(c->rundir, v);
	}

	if ((v = env("MTCP_TCP_MSL"))) {
		char *end;
		errno = 0;
		double sec = strtod(v, &end);
		if (errno || *end || end == v || !(sec >= 0.001 && sec <= 3600)) {
			snprintf(err, errlen, "MTCP_TCP_MSL: invalid value \"%s\" (expected "
				 "seconds, 0.001..3600; TIME-WAIT lasts twice this)", v);
			return -EINVAL;
		}
		c->msl_us = (uint64_t)(sec * 1e6);
	}

	if ((v = env("MTCP_IMPAIR"))) {
		char ierr[200];
		if (impair_parse(v, &c->impair, ierr, sizeof(ierr)) < 0) {
			snprintf(err, errlen, "MTCP_IMPAIR: invalid value \"%s\" (%s)", v, ierr);
			return -EINVAL;
		}
		c->has_impair = true;
	}
	return 0;
}

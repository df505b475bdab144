/*
 * config.h - a stack's configuration, from the MTCP_* environment or built
 * by hand (unit tests).
 *
 *   MTCP_IFACE     interface name (required for a real device)
 *   MTCP_DRIVER    tap | packet                        (default tap)
 *   MTCP_ADDR      A.B.C.D/P                           (required)
 *   MTCP_GATEWAY   A.B.C.D, inside the MTCP_ADDR subnet (optional)
 *   MTCP_MAC       aa:bb:cc:dd:ee:ff, unicast          (default: locally
 *                  administered, a hash of MTCP_IFACE and MTCP_ADDR)
 *   MTCP_MTU       68..9000                            (default: the device's)
 *   MTCP_PCAP      file to write every frame to        (optional)
 *   MTCP_LOG       LEVEL or MODULE:LEVEL,...            (default warn)
 *   MTCP_IMPAIR    loss=P,dup=P,reorder=P,corrupt=P,seed=N (optional)
 *   MTCP_OFFLOAD   on | off: use the device's checksum and segmentation
 *                  offloads where it has them             (default on); off:
 *                  the stack computes and checks every checksum and sends
 *                  MTU-sized segments (merged frames are still taken)
 *   MTCP_TCP_MSL   TCP's maximum segment lifetime, seconds (default 30:
 *                  TIME-WAIT lasts 2*MSL = 60 s, as on Linux)
 *
 * An invalid value is reported as "MTCP_X: invalid value "..." (expected
 * ...)": the variable is always named.
 */
#ifndef MTCP_CONFIG_H
#define MTCP_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <net/if.h>
#include <limits.h>

#include "dev/dev.h"

enum mtcp_driver { MTCP_DRIVER_TAP, MTCP_DRIVER_PACKET };

struct mtcp_config {
	char iface[IFNAMSIZ];
	enum mtcp_driver driver;
	uint32_t addr;          /* host order */
	uint8_t prefix;
	uint32_t gateway;       /* 0: none */
	uint8_t mac[6];
	bool has_mac;
	unsigned mtu;           /* 0: the device's */
	char pcap[PATH_MAX];    /* "": none */
	char stats[PATH_MAX];   /* counters at exit (the preload); "": none, "-": stderr */
	bool has_impair;
	struct impair_cfg impair;
	uint64_t seed;          /* for the stack's PRNG; 0: from getrandom() */
	uint64_t msl_us;        /* TCP MSL, microseconds; 0: the default */
	bool no_offload;        /* MTCP_OFFLOAD=off */
	/* MTCP_SHARE: share the address with the other processes on it
	 * (stack/host). auto: share, or run alone with a warning where the
	 * registry or the steering cannot be set up; on: that is an error;
	 * off: alone, as if the address were this process's only. */
	enum mtcp_share { MTCP_SHARE_AUTO, MTCP_SHARE_ON, MTCP_SHARE_OFF } share;
	char rundir[PATH_MAX];  /* MTCP_RUNDIR: the registries; "": /run/microtcp */
};

/* Fill c from the environment. 0, or -EINVAL with "MTCP_X: ..." in err. */
int config_from_env(struct mtcp_config *c, char *err, size_t errlen);

/* Parse one variable's value (exposed for tests). Each returns 0 or -EINVAL
 * with the message in err. */
int config_parse_addr(const char *v, uint32_t *addr, uint8_t *prefix, char *err, size_t errlen);
int config_parse_ipv4(const char *v, uint32_t *addr);

#endif

/*
 * steer_hash.h - what steer.c (user space) and steer.bpf.c (the filter)
 * must compute alike: the ports map's key and the pick among a port's
 * active members.
 *
 * Included by both sides: plain C on 32-bit integers, no libc, no kernel
 * header (the filter is built with clang -target bpf -ffreestanding). Part
 * of the layout processes share: a change here changes STEER_ABI.
 */
#ifndef MTCP_STEER_HASH_H
#define MTCP_STEER_HASH_H

#include <stdint.h>

/* The ports map's key: the protocol above the port, the port as a number
 * (host order: TCP port 80 is 0x00060050). */
static inline uint32_t steer_port_key(uint8_t proto, uint16_t port_host)
{
	return (uint32_t)proto << 16 | port_host;
}

/* A remote end, raddr and rport exactly as in the frame (network order,
 * read as integers on this machine: every member runs on it), mixed
 * (MurmurHash3's finaliser) so that ports one apart land far apart. */
static inline uint32_t steer_hash(uint32_t raddr, uint16_t rport)
{
	uint32_t h = raddr ^ ((uint32_t)rport * 0x9e3779b1u);

	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

/* Which of n (1..STEER_HOLDERS) active members takes hash h: the high
 * bits of h times n (no division, and the result is below n by
 * construction, which the verifier can see). */
static inline uint32_t steer_hash_index(uint32_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

#endif

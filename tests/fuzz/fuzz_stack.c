/*
 * fuzz_stack.c - libFuzzer target: every input is a frame from the peer to
 * a live stack (ARP, IPv4, reassembly, ICMP, UDP with a socket on port 7).
 * The first input byte, when it has bit 7 set, advances the virtual clock
 * by (byte & 0x7f) seconds first, so timers (ARP retries, reassembly
 * timeouts) run too. Built by `make fuzz`; run:
 *   build/fuzz/fuzz_stack -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtcp.h"
#include "stack.h"
#include "dev/dev.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t now = 1000000000;
static struct stack *st;
static struct netdev *peer;
static struct mtcp_sock *sock;

static void init(void)
{
	struct netdev *ours;
	struct mtcp_config cfg = { .addr = 0x0a3d0002, .prefix = 24, .has_mac = true,
				   .seed = 1, .gateway = 0x0a3d00fe };
	struct mtcp_clock clk = mtcp_virtual_clock(&now);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(7) };

	memcpy(cfg.mac, (uint8_t[6]){ 2, 0, 0, 0, 0, 2 }, 6);
	strcpy(cfg.iface, "fuzz");
	if (memlink_pair(&ours, &peer, 1500, 4096) < 0 ||
	    mtcp_stack_create(&cfg, ours, &clk, &st) < 0 ||
	    mtcp_socket(st, SOCK_DGRAM, &sock) < 0 || mtcp_bind(sock, &a) < 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[10000];

	if (!st)
		init();
	if (size && (data[0] & 0x80)) {
		now += (uint64_t)(data[0] & 0x7f) * 1000000;
		data++;
		size--;
	}
	if (size)
		netdev_send(peer, data, size, now);
	while (mtcp_stack_poll(st))
		;
	/* Drain what the stack sent and what the socket received. */
	while (netdev_recv(peer, buf, sizeof(buf), now) > 0)
		;
	while (mtcp_recvfrom(sock, buf, sizeof(buf), 0, NULL) >= 0)
		;
	return 0;
}

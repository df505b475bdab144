/*
 * steer_int.h - steer.c's insides that its tests (tests/unit/test_steer.c)
 * and the benchmark's tests/prog/steer_cost.c use; nothing of the stack
 * includes this.
 */
#ifndef MTCP_STEER_INT_H
#define MTCP_STEER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "steer.h"

/* The embedded object (steer_obj.S). */
extern const unsigned char mtcp_steer_bpf_obj[] __attribute__((visibility("hidden")));
extern const unsigned char mtcp_steer_bpf_obj_end[] __attribute__((visibility("hidden")));

/* Load the filter for member (steer_attach's first half) without attaching
 * it: the program's fd, owned by s (valid until the next load or
 * steer_close), or -errno. A test runs it with BPF_PROG_TEST_RUN. */
int steer_load(struct steer *s, uint16_t member, bool outgoing);

/* The maps' fds, for inspection. */
int steer_map_fd(struct steer *s, int which);
#define STEER_MAP_PORTS 0
#define STEER_MAP_FLOWS 1
#define STEER_MAP_CONF  2

#endif

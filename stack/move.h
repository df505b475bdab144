/* TEMPORARY (lead): replaced by the move helper's header at merge. */
#ifndef MTCP_MOVE_H
#define MTCP_MOVE_H
#include <stddef.h>
#include <stdint.h>
struct mtcp_sock;
struct stack;
struct host;
struct move_buf { uint8_t *p; size_t len, cap; };
void move_buf_free(struct move_buf *b);
int sock_export(struct mtcp_sock *s, struct move_buf *b);
int sock_import(struct stack *st, const uint8_t *p, size_t len, size_t *used,
		struct mtcp_sock **out);
void sock_moved_away(struct mtcp_sock *s, uint16_t to_member);
/* TEMPORARY host decls */
int host_handle_new(struct host *h, uint64_t *id);
int host_handle_pend(struct host *h, uint64_t id);
void host_handle_unpend(struct host *h, uint64_t id);
int host_handle_join(struct host *h, uint64_t id);
int host_handle_hold(struct host *h, uint64_t id, uint64_t grace_us);
int host_handle_drop(struct host *h, uint64_t id);
int host_handle_holders(struct host *h, uint64_t id);
uint16_t host_handle_owner(struct host *h, uint64_t id);
int host_handle_set_owner(struct host *h, uint64_t id, uint16_t member);
uint16_t host_handle_pick_holder(struct host *h, uint64_t id);
size_t host_handle_orphans(struct host *h, uint64_t *out, size_t n);
int host_mail_send_fd(struct host *h, uint16_t member, const void *msg, size_t len, int fd);
ssize_t host_mail_recv_fd(struct host *h, void *buf, size_t cap, int *fd);
#endif

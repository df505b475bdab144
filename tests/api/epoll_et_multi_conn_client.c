/* An event-driven client (as servers like nginx are built): four
 * non-blocking connections to the echo service driven by one
 * edge-triggered epoll loop, each sending 256 KiB and reading it back with
 * partial writes and reads until EAGAIN. Totals and CRCs per connection. */
#include "api.h"

#define NCONN 4
#define SIZE (256 * 1024)

struct conn {
	int fd;
	size_t sent, got;
	uint32_t crc;
};

static char out[SIZE];

static void drive(struct conn *c)
{
	static char buf[65536];
	for (;;) {
		int progress = 0;
		if (c->sent < SIZE) {
			ssize_t r = send(c->fd, out + c->sent, SIZE - c->sent, 0);
			if (r > 0) {
				c->sent += (size_t)r;
				progress = 1;
			} else if (r < 0 && errno != EAGAIN) {
				die("send");
			}
			if (c->sent == SIZE)
				CHECK(shutdown(c->fd, SHUT_WR) == 0);
		}
		ssize_t r = recv(c->fd, buf, sizeof buf, 0);
		if (r > 0) {
			c->crc = crc32_update(c->crc, buf, (size_t)r);
			c->got += (size_t)r;
			progress = 1;
		} else if (r < 0 && errno != EAGAIN) {
			die("recv");
		}
		if (!progress || r == 0)
			return;
	}
}

int main(void)
{
	api_init();
	fill_pattern(out, sizeof out, 77);
	int ep = epoll_create1(0);
	CHECK(ep >= 0);
	struct conn cs[NCONN];
	for (int i = 0; i < NCONN; i++) {
		cs[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		CHECK(cs[i].fd >= 0);
		cs[i].sent = cs[i].got = 0;
		cs[i].crc = 0;
		struct sockaddr_in a = peer_sin(PORT_ECHO);
		int r = connect(cs[i].fd, (struct sockaddr *)&a, sizeof a);
		CHECK(r == 0 || errno == EINPROGRESS);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = (uint32_t)i };
		CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev) == 0);
	}
	int done = 0;
	long long end = now_ms() + 15000;
	while (done < NCONN && now_ms() < end) {
		struct epoll_event evs[NCONN];
		int n = epoll_wait(ep, evs, NCONN, 1000);
		CHECK(n >= 0);
		for (int k = 0; k < n; k++) {
			struct conn *c = &cs[evs[k].data.u32];
			if (c->fd < 0)
				continue;
			drive(c);
			if (c->got == SIZE && (evs[k].events & EPOLLRDHUP)) {
				char b;
				if (recv(c->fd, &b, 1, 0) == 0) {
					CHECK(epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL) == 0);
					close(c->fd);
					c->fd = -1;
					done++;
				}
			}
		}
	}
	for (int i = 0; i < NCONN; i++)
		sayf("conn %d: sent %zu got %zu crc=%08x closed=%s", i, cs[i].sent, cs[i].got, cs[i].crc, yesno(cs[i].fd < 0));
	sayf("expected crc=%08x", crc32_of(out, sizeof out));
	return 0;
}

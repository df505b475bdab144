/*
 * os.h - the operating-system calls the stack makes, in one table.
 *
 * Every call of the stack (drivers, the stack thread, logging) whose name
 * libmtcp.so also exports goes through mtcp_os. Inside libmtcp.so a plain
 * call to write() or poll() would bind to the preload's own wrapper (the
 * library defines those names), so every frame sent from an application
 * thread would first be looked up in the fd table as a possible socket of
 * ours. The preload instead fills this table with libc's functions
 * (real.h), and no path of the stack can reach a wrapper.
 *
 * The defaults are the functions these names bind to: libc's in a program
 * linked with libmtcpstack.a (mtcp-echo, the unit tests); in libmtcp.so the
 * preload's wrappers, which is why the preload replaces the table before
 * it runs any code of the stack.
 *
 * Protection: set once (mtcp_os_set) before any stack is opened and before
 * any thread other than the setter can use the stack; read-only, without
 * locks, afterwards.
 */
#ifndef MTCP_OS_H
#define MTCP_OS_H

#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

struct mtcp_os {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	/* ioctl and open take their optional argument as libc's do. */
	int (*ioctl)(int, unsigned long, ...);
	int (*open)(const char *, int, ...);
	int (*close)(int);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*send)(int, const void *, size_t, int);
	ssize_t (*recv)(int, void *, size_t, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*eventfd)(unsigned, int);
	int (*fstat)(int, struct stat *);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_wait)(int, struct epoll_event *, int, int);
	/* The stack keeps fd for its own (a device, its registry, a steering
	 * map, its wake-up eventfd): the descriptor to keep it under. The
	 * preload moves it out of the program's way (a high number, guarded
	 * against the program's close, closefrom and close_range: programs
	 * close every descriptor they do not know, and dup2 onto fixed low
	 * numbers); by default, fd itself. */
	int (*own)(int fd);
};

/* The table the stack calls through (read-only once a stack exists). */
extern struct mtcp_os mtcp_os;

/* mtcp_os.own for the result of a call that made a descriptor: -1 (and
 * errno) passes through. */
static inline int os_own(int fd)
{
	return fd < 0 ? fd : mtcp_os.own(fd);
}

/* Replace the whole table; every member must be set. Call before the
 * first stack is opened, from one thread. */
void mtcp_os_set(const struct mtcp_os *os);

#endif

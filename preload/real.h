/*
 * real.h - libc's own functions, behind the ones libmtcp.so interposes.
 *
 * REAL(fn) is the next definition of fn after ours (dlsym(RTLD_NEXT)),
 * resolved on first use: calls can arrive before any constructor has run
 * (another library's constructor, the dynamic loader's own init order).
 * Resolution is recursion-safe: a call that arrives while this thread is
 * resolving returns at once with what is resolved so far, and the
 * functions dlsym could need (write, read, close, fstat, fcntl, open) are
 * resolved first. A function this libc lacks (epoll_pwait2 before glibc
 * 2.35, close_range before 2.34) stays NULL: its wrapper says ENOSYS.
 */
#ifndef MTCP_REAL_H
#define MTCP_REAL_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* X(name, return type, parameter list) for every function we wrap and
 * call through. Varargs functions (fcntl, ioctl, open) are called with
 * their optional argument as one word, as the ABI passes it. */
#define REAL_FUNCS(X)                                                             \
	X(socket, int, (int, int, int))                                           \
	X(socketpair, int, (int, int, int, int *))                                \
	X(bind, int, (int, const struct sockaddr *, socklen_t))                   \
	X(listen, int, (int, int))                                                \
	X(accept, int, (int, struct sockaddr *, socklen_t *))                     \
	X(accept4, int, (int, struct sockaddr *, socklen_t *, int))               \
	X(connect, int, (int, const struct sockaddr *, socklen_t))                \
	X(shutdown, int, (int, int))                                              \
	X(close, int, (int))                                                      \
	X(getsockname, int, (int, struct sockaddr *, socklen_t *))                \
	X(getpeername, int, (int, struct sockaddr *, socklen_t *))                \
	X(getsockopt, int, (int, int, int, void *, socklen_t *))                  \
	X(setsockopt, int, (int, int, int, const void *, socklen_t))              \
	X(send, ssize_t, (int, const void *, size_t, int))                        \
	X(sendto, ssize_t, (int, const void *, size_t, int,                      \
			    const struct sockaddr *, socklen_t))                  \
	X(sendmsg, ssize_t, (int, const struct msghdr *, int))                    \
	X(sendmmsg, int, (int, struct mmsghdr *, unsigned, int))                  \
	X(recv, ssize_t, (int, void *, size_t, int))                              \
	X(recvfrom, ssize_t, (int, void *, size_t, int, struct sockaddr *,       \
			      socklen_t *))                                       \
	X(recvmsg, ssize_t, (int, struct msghdr *, int))                          \
	X(recvmmsg, int, (int, struct mmsghdr *, unsigned, int, struct timespec *)) \
	X(read, ssize_t, (int, void *, size_t))                                   \
	X(write, ssize_t, (int, const void *, size_t))                            \
	X(readv, ssize_t, (int, const struct iovec *, int))                       \
	X(writev, ssize_t, (int, const struct iovec *, int))                      \
	X(sendfile, ssize_t, (int, int, off_t *, size_t))                         \
	X(poll, int, (struct pollfd *, nfds_t, int))                              \
	X(ppoll, int, (struct pollfd *, nfds_t, const struct timespec *,         \
		       const sigset_t *))                                         \
	X(select, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *))     \
	X(pselect, int, (int, fd_set *, fd_set *, fd_set *,                      \
			 const struct timespec *, const sigset_t *))              \
	X(epoll_create, int, (int))                                               \
	X(epoll_create1, int, (int))                                              \
	X(epoll_ctl, int, (int, int, int, struct epoll_event *))                  \
	X(epoll_wait, int, (int, struct epoll_event *, int, int))                 \
	X(epoll_pwait, int, (int, struct epoll_event *, int, int, const sigset_t *)) \
	X(epoll_pwait2, int, (int, struct epoll_event *, int,                    \
			      const struct timespec *, const sigset_t *))         \
	X(fcntl, int, (int, int, ...))                                            \
	X(ioctl, int, (int, unsigned long, ...))                                  \
	X(dup, int, (int))                                                        \
	X(dup2, int, (int, int))                                                  \
	X(dup3, int, (int, int, int))                                             \
	X(close_range, int, (unsigned, unsigned, int))                            \
	X(closefrom, void, (int))                                                 \
	X(fork, pid_t, (void))                                                    \
	X(_exit, void, (int))                                                     \
	X(prctl, int, (int, ...))                                                 \
	X(execve, int, (const char *, char *const[], char *const[]))              \
	X(execvpe, int, (const char *, char *const[], char *const[]))             \
	X(fexecve, int, (int, char *const[], char *const[]))                      \
	X(sigaction, int, (int, const struct sigaction *, struct sigaction *))   \
	X(eventfd, int, (unsigned, int))                                          \
	X(fstat, int, (int, struct stat *))                                       \
	X(open, int, (const char *, int, ...))                                    \
	X(openat, int, (int, const char *, int, ...))                             \
	X(pipe, int, (int *))                                                     \
	X(pipe2, int, (int *, int))                                               \
	X(prlimit, int, (pid_t, int, const struct rlimit *, struct rlimit *))

#define REAL_PTR_TYPEDEF(name, ret, args) typedef ret (*real_##name##_t) args;
REAL_FUNCS(REAL_PTR_TYPEDEF)
#undef REAL_PTR_TYPEDEF

struct real_fns {
#define REAL_PTR_FIELD(name, ret, args) real_##name##_t name;
	REAL_FUNCS(REAL_PTR_FIELD)
#undef REAL_PTR_FIELD
};

/* Filled by real_resolve(); read without locks (pointers are written once,
 * each with the same value by whichever thread resolves). */
extern struct real_fns real_fns;
extern int real_ready;

/* Resolve every pointer (once per process; a re-entrant call returns at
 * once). */
void real_resolve(void);

#define REAL(name)                                                         \
	(__builtin_expect(__atomic_load_n(&real_ready, __ATOMIC_ACQUIRE), 1) ? \
	 real_fns.name : (real_resolve(), real_fns.name))

#endif

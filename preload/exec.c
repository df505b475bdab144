/*
 * exec.c - sockets that survive exec().
 *
 * On the kernel a descriptor without FD_CLOEXEC keeps its socket across
 * exec: inetd's children, `socat ... EXEC:`, sshd's re-execution of itself
 * for every connection. The stack of the process that execs dies with its
 * image, so:
 *
 *   1. each surviving connection is shared (stack/handoff.c) and held for
 *      the new image until it takes it up, at most EXEC_GRACE_US; a surviving listener or bound UDP
 *      socket is described, to be re-created there as a fork()ed child
 *      re-creates one; every other socket closes, as at exit;
 *   2. the stack, with the connections in it, goes to a keeper process
 *      (init.c, as at exit), which serves them until someone asks;
 *   3. the descriptions go in a memfd the new image inherits, named by
 *      MTCP_EXEC in its environment;
 *   4. the new image's library reads it at start (pl_exec_adopt) and puts
 *      a socket behind each descriptor again: for a connection a shell
 *      that takes the connection from the keeper at its first use.
 *
 * An image that will not load libmtcp.so (no LD_PRELOAD naming it in the
 * environment it gets) keeps bare eventfds, and this process's sockets
 * close as at exit. A vfork()ed child, which shares its parent's memory,
 * execs untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"

#define EXEC_ENV        "MTCP_EXEC"
#define EXEC_MAGIC      0x4d544558u     /* "MTEX" */
#define EXEC_VERSION    1
/* How long a connection waits for the new image to take it up. */
#define EXEC_GRACE_US   (60ull * 1000 * 1000)

struct exec_hdr {
	uint32_t magic, version, count, pad;
};

/* One per descriptor; a socket behind several (dup) appears once each. */
struct exec_ent {
	int32_t fd, type;
	uint64_t handle;                /* a connection's; 0: re-create */
	uint8_t nonblock, listening, has_local, pad;
	int32_t backlog;
	struct sockaddr_in local;
	uint32_t optlen;                /* option records that follow */
	uint32_t pad2;
};

/* An option record: level, name, len, then len bytes padded to 8. */
struct exec_opt {
	int32_t level, name;
	uint32_t len, pad;
};

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

struct exec_pass {
	int memfd;
	bool carry;
	unsigned count;
	int err;
};

static int put(struct exec_pass *xp, const void *p, size_t len)
{
	static const uint8_t zero[8];

	if (REAL(write)(xp->memfd, p, len) != (ssize_t)len ||
	    (ALIGN8(len) > len &&
	     REAL(write)(xp->memfd, zero, ALIGN8(len) - len) != (ssize_t)(ALIGN8(len) - len)))
		return -EIO;
	return 0;
}

static bool survives(int fd)
{
	int fl = REAL(fcntl)(fd, F_GETFD, 0);

	return fl >= 0 && !(fl & FD_CLOEXEC);
}

/* Describe the socket at fd for the new image (carry), then let go of
 * it here: a shared connection stays in the stack for its holders. */
static int describe_each(int fd, struct fdobj *o, void *arg)
{
	struct exec_pass *xp = arg;
	struct psock *ps = (struct psock *)o;

	if (o->ops != &psock_ops)
		return 0;
	if (xp->carry && !ps->dead && ps->s && survives(fd) && !xp->err) {
		struct exec_ent e = {
			.fd = fd,
			.type = ps->type,
			.nonblock = ps->nonblock,
			.listening = ps->listening,
			.has_local = ps->has_local,
			.backlog = ps->backlog,
			.local = ps->local,
		};
		uint64_t id = 0;
		bool conn = ps->type == SOCK_STREAM && !ps->listening;

		if (conn && mtcp_share(ps->s, false, &id) == 0 &&
		    mtcp_exec_hold(ps->s, EXEC_GRACE_US) == 0) {
			ps->handle = e.handle = id;
		} else if (conn) {
			log_warn(pre, "exec: fd %d: its connection cannot be kept for the "
				 "new program: it closes", fd);
			goto drop;
		} else if (!ps->has_local) {
			goto drop;      /* never bound: nothing to re-create */
		}
		pthread_mutex_lock(&pl_lock);
		for (struct sockopt_rec *r = ps->opts; r; r = r->next)
			e.optlen += (uint32_t)(sizeof(struct exec_opt) + ALIGN8(r->len));
		pthread_mutex_unlock(&pl_lock);
		xp->err = put(xp, &e, sizeof(e));
		pthread_mutex_lock(&pl_lock);
		for (struct sockopt_rec *r = ps->opts; r && !xp->err; r = r->next) {
			struct exec_opt eo = { r->level, r->name, r->len, 0 };
			xp->err = put(xp, &eo, sizeof(eo));
			if (!xp->err)
				xp->err = put(xp, r->val, r->len);
		}
		pthread_mutex_unlock(&pl_lock);
		xp->count++;
	}
drop:;
	/* This image's object goes (the descriptor stays open for the next
	 * one); a shared connection stays with its holders. */
	struct fdobj *mine = fdt_remove(fd);
	if (mine)
		fdt_put(mine);
	return 0;
}

static bool env_preloads_us(char *const envp[])
{
	for (size_t i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "LD_PRELOAD=", 11) == 0 && strstr(envp[i], "libmtcp"))
			return true;
	return false;
}

/* envp with MTCP_EXEC=memfd in place of any MTCP_EXEC it had: malloc'd. */
static char **env_with(char *const envp[], int memfd, char *slot, size_t slotlen)
{
	size_t n = 0;

	while (envp && envp[n])
		n++;
	char **out = malloc((n + 2) * sizeof(*out));
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], EXEC_ENV "=", sizeof(EXEC_ENV)) != 0)
			out[k++] = envp[i];
	snprintf(slot, slotlen, EXEC_ENV "=%d", memfd);
	out[k++] = slot;
	out[k] = NULL;
	return out;
}

static void adopt(int memfd);

/*
 * Before an exec of an image that gets envp: hand this process's sockets
 * over (the top). Returns the environment to exec with (envp itself when
 * there is nothing to carry), *memfd the descriptions' (-1: none).
 */
static char **exec_prepare(char *const envp[], int *memfd, char *slot, size_t slotlen)
{
	struct stack *st = pl_stack_if_running();
	struct exec_pass xp = { .memfd = -1 };
	struct exec_hdr h = { EXEC_MAGIC, EXEC_VERSION, 0, 0 };

	*memfd = -1;
	if (!st)
		return (char **)envp;
	xp.carry = env_preloads_us(envp);
	if (xp.carry) {
		xp.memfd = memfd_create("mtcp-exec", 0);
		if (xp.memfd < 0 || put(&xp, &h, sizeof(h)) < 0) {
			log_warn(pre, "exec: no memfd for the sockets the new program "
				 "inherits (%s): they close", strerror(errno));
			if (xp.memfd >= 0)
				REAL(close)(xp.memfd);
			xp.memfd = -1;
			xp.carry = false;
		}
	}
	fdt_each(0, fdt_max(), describe_each, &xp);
	pl_leave_stack(st);
	if (!xp.carry)
		return (char **)envp;
	h.count = xp.count;
	if (xp.err || pwrite(xp.memfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h)) {
		log_warn(pre, "exec: writing the sockets' descriptions failed: the new "
			 "program's inherited sockets do not work");
		REAL(close)(xp.memfd);
		return (char **)envp;
	}
	char **env = env_with(envp, xp.memfd, slot, slotlen);
	if (!env) {
		REAL(close)(xp.memfd);
		return (char **)envp;
	}
	*memfd = xp.memfd;
	return env;
}

/* The exec failed: this image goes on, with its sockets taken up again
 * as the new image would have. */
static void exec_failed(char **env, char *const envp[], int memfd)
{
	int e = errno;

	if (memfd >= 0)
		adopt(memfd);
	if (env != envp)
		free(env);
	errno = e;
}

#define EXEC_WRAP(call, envp)                                           \
	do {                                                            \
		char slot_[32];                                         \
		int memfd_;                                             \
		PL_SECTION();                                           \
		char **env_ = exec_prepare(envp, &memfd_, slot_, sizeof(slot_)); \
		int rc_ = call;                                         \
		exec_failed(env_, envp, memfd_);                        \
		return rc_;                                             \
	} while (0)

extern char **environ;

PL_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_WRAP(REAL(execve)(path, argv, env_), envp);
}

PL_EXPORT int execv(const char *path, char *const argv[])
{
	EXEC_WRAP(REAL(execve)(path, argv, env_), environ);
}

PL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_WRAP(REAL(execvpe)(file, argv, env_), envp);
}

PL_EXPORT int execvp(const char *file, char *const argv[])
{
	EXEC_WRAP(REAL(execvpe)(file, argv, env_), environ);
}

PL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_WRAP(REAL(fexecve)(fd, argv, env_), envp);
}

/* execl, execlp, execle: their arguments as an array (malloc'd: freed
 * when the exec fails), then as above. with_env: execle's envp follows
 * the NULL. */
static char **args_from(const char *first, va_list ap, bool with_env, char ***envp)
{
	va_list cp;
	size_t n = 1;

	va_copy(cp, ap);
	while (va_arg(cp, char *))
		n++;
	va_end(cp);
	char **argv = malloc((n + 1) * sizeof(*argv));
	if (!argv)
		return NULL;
	argv[0] = (char *)first;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *);
	if (with_env)
		*envp = va_arg(ap, char **);
	return argv;
}

#define EXECL(first, with_env, call)                                    \
	do {                                                            \
		char **argv, **envp = NULL;                             \
		va_list ap;                                             \
		va_start(ap, first);                                    \
		argv = args_from(first, ap, with_env, &envp);           \
		va_end(ap);                                             \
		if (!argv) {                                            \
			errno = ENOMEM;                                 \
			return -1;                                      \
		}                                                       \
		(void)envp;                                             \
		int rc_ = call;                                         \
		free(argv);                                             \
		return rc_;                                             \
	} while (0)

PL_LOCAL(execv);
PL_LOCAL(execvp);
PL_LOCAL(execve);

PL_EXPORT int execl(const char *path, const char *arg, ...)
{
	EXECL(arg, false, pl_execv(path, argv));
}

PL_EXPORT int execlp(const char *file, const char *arg, ...)
{
	EXECL(arg, false, pl_execvp(file, argv));
}

PL_EXPORT int execle(const char *path, const char *arg, ...)
{
	EXECL(arg, true, pl_execve(path, argv, envp));
}

/* ------------------------------------------------------------ the new image */

/* A descriptor the old image described must still be its eventfd. */
static bool is_our_eventfd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

static struct psock *adopt_one(struct stack *st, const struct exec_ent *e,
			       const uint8_t *opts, size_t optlen, struct psock **seen,
			       uint64_t *seen_id, size_t *nseen)
{
	struct psock *ps;
	struct mtcp_sock *s;
	int rc;

	if (e->handle) {
		/* A dup of one adopted already: the same object. */
		for (size_t i = 0; i < *nseen; i++)
			if (seen_id[i] == e->handle) {
				fdobj_hold(&seen[i]->fo);
				return seen[i];
			}
		if (!(ps = psock_new_inherited(e->type, e->nonblock, e->handle)))
			return NULL;
		seen[*nseen] = ps;
		seen_id[(*nseen)++] = e->handle;
		return ps;
	}
	if ((rc = mtcp_socket(st, e->type, &s)) < 0 || !(ps = psock_new(s, e->type, e->nonblock))) {
		if (rc == 0)
			mtcp_close(s);
		return NULL;
	}
	ps->local = e->local;
	ps->has_local = e->has_local;
	ps->listening = e->listening;
	ps->backlog = e->backlog;
	for (size_t off = 0; off + sizeof(struct exec_opt) <= optlen;) {
		const struct exec_opt *eo = (const void *)(opts + off);
		size_t rec = sizeof(*eo) + ALIGN8(eo->len);
		if (off + rec > optlen)
			break;
		psock_record_opt(ps, eo->level, eo->name, opts + off + sizeof(*eo), eo->len);
		off += rec;
	}
	/* The same as a fork()ed child's copy: bound with the port the old
	 * image held, listening again. */
	if ((rc = psock_rebuild_in(ps, st)) < 0) {
		log_warn(pre, "exec: fd %d: the socket cannot be re-created (%s)",
			 e->fd, strerror(-rc));
		psock_put(ps);
		return NULL;
	}
	return ps;
}

static void adopt(int memfd)
{
	struct stat sb;
	uint8_t *p = MAP_FAILED;
	struct exec_hdr h;
	int err = 0;

	if (REAL(fstat)(memfd, &sb) < 0 || (size_t)sb.st_size < sizeof(h) ||
	    (p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, memfd, 0)) == MAP_FAILED)
		goto out;
	memcpy(&h, p, sizeof(h));
	if (h.magic != EXEC_MAGIC || h.version != EXEC_VERSION) {
		log_warn(pre, "exec: %s names no description of ours: ignored", EXEC_ENV);
		goto out;
	}
	/* A stack now only for what must hold its port again at once (a
	 * listener, a bound UDP socket); a connection waits for its first
	 * use (psock_adopt_late). */
	struct stack *st = NULL;
	for (size_t off = sizeof(h), k = 0; k < h.count; k++) {
		struct exec_ent e;
		if (off + sizeof(e) > (size_t)sb.st_size)
			break;
		memcpy(&e, p + off, sizeof(e));
		off += sizeof(e) + e.optlen;
		if (!e.handle && !st && !(st = pl_stack(&err)))
			goto out;
	}
	struct psock **seen = calloc(h.count ? h.count : 1, sizeof(*seen));
	uint64_t *seen_id = calloc(h.count ? h.count : 1, sizeof(*seen_id));
	size_t nseen = 0, off = sizeof(h), size = (size_t)sb.st_size;
	unsigned adopted = 0;
	for (uint32_t i = 0; seen && seen_id && i < h.count; i++) {
		struct exec_ent e;
		if (off + sizeof(e) > size)
			break;
		memcpy(&e, p + off, sizeof(e));
		off += sizeof(e);
		if (off + e.optlen > size)
			break;
		const uint8_t *opts = p + off;
		off += e.optlen;
		if (!is_our_eventfd(e.fd)) {
			log_warn(pre, "exec: fd %d is no longer the socket's descriptor: "
				 "left alone", e.fd);
			continue;
		}
		struct psock *ps = adopt_one(st, &e, opts, e.optlen, seen, seen_id, &nseen);
		if (!ps)
			continue;
		if (fdt_install(e.fd, &ps->fo) == 0)
			adopted++;
		psock_put(ps);
	}
	free(seen);
	free(seen_id);
	log_debug(pre, "exec: %u inherited socket descriptor(s) taken up", adopted);
out:
	if (p != MAP_FAILED)
		munmap(p, (size_t)sb.st_size);
	REAL(close)(memfd);
}

void pl_exec_adopt(void)
{
	const char *v = getenv(EXEC_ENV);
	char *end;

	if (!v)
		return;
	long fd = strtol(v, &end, 10);
	unsetenv(EXEC_ENV);
	if (*end || fd < 0 || fd > INT32_MAX) {
		log_warn(pre, "exec: %s=\"%s\" is not a descriptor: ignored", EXEC_ENV, v);
		return;
	}
	adopt((int)fd);
}

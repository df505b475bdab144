/*
 * real.c - resolve libc's functions behind ours (real.h).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "real.h"
#include "signals.h"

struct real_fns real_fns;
int real_ready;

static __thread int resolving __attribute__((tls_model("initial-exec")));

static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

void real_resolve(void)
{
	if (resolving || __atomic_load_n(&real_ready, __ATOMIC_ACQUIRE))
		return;
	resolving = 1;
	pl_enter();     /* a handler here would find the table half filled */
	pthread_mutex_lock(&resolve_lock);
	if (real_ready)
		goto out;
	/* What dlsym's own paths may call, first. */
	real_fns.write = (real_write_t)dlsym(RTLD_NEXT, "write");
	real_fns.read = (real_read_t)dlsym(RTLD_NEXT, "read");
	real_fns.close = (real_close_t)dlsym(RTLD_NEXT, "close");
	real_fns.fstat = (real_fstat_t)dlsym(RTLD_NEXT, "fstat");
	real_fns.fcntl = (real_fcntl_t)dlsym(RTLD_NEXT, "fcntl");
	real_fns.open = (real_open_t)dlsym(RTLD_NEXT, "open");
#define RESOLVE(name, ret, args) \
	real_fns.name = (real_##name##_t)dlsym(RTLD_NEXT, #name);
	REAL_FUNCS(RESOLVE)
#undef RESOLVE
	__atomic_store_n(&real_ready, 1, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&resolve_lock);
	resolving = 0;
	pl_exit();
}

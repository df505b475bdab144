/*
 * log.h - per-module logging with levels, to stderr.
 *
 * MTCP_LOG sets the levels: "debug" for every module, or a list such as
 * "warn,arp:debug,ip:info" (a bare level sets the default, module:level
 * overrides one module). The macros test the level before any argument is
 * formatted, so a disabled debug line costs one load and one compare.
 * Levels are process-wide (all stack instances of a process share them).
 */
#ifndef MTCP_LOG_H
#define MTCP_LOG_H

#include <stddef.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

#define LOG_MODULES(X) \
	X(core) X(dev) X(eth) X(arp) X(ip) X(icmp) X(udp) X(tcp) X(sock) X(pre) \
	X(host)

enum log_module {
#define LOG_MOD_ENUM(name) LOGM_##name,
	LOG_MODULES(LOG_MOD_ENUM)
#undef LOG_MOD_ENUM
	LOGM__COUNT
};

extern unsigned char mtcp_log_levels[LOGM__COUNT];

/* Parse an MTCP_LOG value and apply it. 0, or -EINVAL with a message in err. */
int log_configure(const char *spec, char *err, size_t errlen);
void log_set_all(enum log_level l);

void mtcp_log(enum log_module m, enum log_level l, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define MTCP_LOG(mod, lvl, ...) do {                                    \
		if ((lvl) <= mtcp_log_levels[LOGM_##mod])               \
			mtcp_log(LOGM_##mod, (lvl), __VA_ARGS__);       \
	} while (0)

#define log_error(mod, ...)  MTCP_LOG(mod, LOG_ERROR, __VA_ARGS__)
#define log_warn(mod, ...)   MTCP_LOG(mod, LOG_WARN, __VA_ARGS__)
#define log_info(mod, ...)   MTCP_LOG(mod, LOG_INFO, __VA_ARGS__)
#define log_debug(mod, ...)  MTCP_LOG(mod, LOG_DEBUG, __VA_ARGS__)

#define log_enabled(mod, lvl) ((lvl) <= mtcp_log_levels[LOGM_##mod])

#endif

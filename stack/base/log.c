/* log.c - per-module logging. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "os.h"

unsigned char mtcp_log_levels[LOGM__COUNT] = {
#define LOG_MOD_INIT(name) [LOGM_##name] = LOG_WARN,
	LOG_MODULES(LOG_MOD_INIT)
#undef LOG_MOD_INIT
};

static const char *const module_names[LOGM__COUNT] = {
#define LOG_MOD_NAME(name) [LOGM_##name] = #name,
	LOG_MODULES(LOG_MOD_NAME)
#undef LOG_MOD_NAME
};

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static int parse_level(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strlen(level_names[i]) == n && strncmp(s, level_names[i], n) == 0)
			return (int)i;
	return -1;
}

static int parse_module(const char *s, size_t n)
{
	for (int i = 0; i < LOGM__COUNT; i++)
		if (strlen(module_names[i]) == n && strncmp(s, module_names[i], n) == 0)
			return i;
	return -1;
}

void log_set_all(enum log_level l)
{
	for (int i = 0; i < LOGM__COUNT; i++)
		mtcp_log_levels[i] = (unsigned char)l;
}

int log_configure(const char *spec, char *err, size_t errlen)
{
	unsigned char levels[LOGM__COUNT];
	const char *p = spec;

	memcpy(levels, mtcp_log_levels, sizeof(levels));
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *colon = memchr(p, ':', n);
		int lvl, mod = -1;

		if (colon) {
			mod = parse_module(p, (size_t)(colon - p));
			lvl = parse_level(colon + 1, n - (size_t)(colon - p) - 1);
		} else {
			lvl = parse_level(p, n);
		}
		if (lvl < 0 || (colon && mod < 0)) {
			snprintf(err, errlen, "invalid value \"%s\" (expected LEVEL or "
				 "MODULE:LEVEL[,...]; levels error|warn|info|debug; modules "
				 "core|dev|eth|arp|ip|icmp|udp|tcp|sock|pre|host)", spec);
			return -EINVAL;
		}
		if (mod >= 0) {
			levels[mod] = (unsigned char)lvl;
		} else {
			for (int i = 0; i < LOGM__COUNT; i++)
				levels[i] = (unsigned char)lvl;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	memcpy(mtcp_log_levels, levels, sizeof(levels));
	return 0;
}

void mtcp_log(enum log_module m, enum log_level l, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "mtcp[%d] %s %s: ", (int)getpid(),
		     level_names[l], module_names[m]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write: lines from several threads do not interleave. */
	ssize_t r = mtcp_os.write(STDERR_FILENO, line, (size_t)n);
	(void)r;
}

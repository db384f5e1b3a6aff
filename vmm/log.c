/*
 * The VMM's log sink: one line per message on stderr, written with a single
 * write so lines from different vCPU threads do not interleave.
 */
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum log_level log_level = LOG_WARNING;

static const char *const log_prefix[] = {
	[LOG_ERR] = "",
	[LOG_WARNING] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

static void log_vprintf(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n, m;

	n = snprintf(line, sizeof(line), "numavm: %s", log_prefix[level]);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += min_t(int, m, (int)sizeof(line) - n - 2);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, n) < 0) {
		/* nothing sensible left to report to */
	}
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > READ_ONCE(log_level))
		return;
	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(LOG_ERR, fmt, ap);
	va_end(ap);
	exit(status);
}

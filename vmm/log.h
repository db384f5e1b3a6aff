/*
 * Logging for the VMM: pr_err/pr_warning/pr_info/pr_debug print one line to
 * stderr prefixed with "numavm: ", and die() reports a fatal setup error and
 * exits.  Only vmm/ logs; mm/ and numa/ return errors to their callers.  The
 * vCPU exit paths count events instead of logging (STYLE 7), except for the
 * once-per-event reports of guest misbehaviour.
 */
#ifndef NUMAVM_VMM_LOG_H
#define NUMAVM_VMM_LOG_H

#include "compiler.h"

enum log_level {
	LOG_ERR = 0,
	LOG_WARNING,
	LOG_INFO,
	LOG_DEBUG,
};

/* Messages above this level are dropped; LOG_WARNING by default. */
extern enum log_level log_level;

void log_printf(enum log_level level, const char *fmt, ...) __printf(2, 3);

#define pr_err(fmt, ...)	log_printf(LOG_ERR, fmt, ##__VA_ARGS__)
#define pr_warning(fmt, ...)	log_printf(LOG_WARNING, fmt, ##__VA_ARGS__)
#define pr_info(fmt, ...)	log_printf(LOG_INFO, fmt, ##__VA_ARGS__)
#define pr_debug(fmt, ...)	log_printf(LOG_DEBUG, fmt, ##__VA_ARGS__)

/* Print "numavm: <message>" and exit with @status; for fatal setup errors. */
void die(int status, const char *fmt, ...) __printf(2, 3) __noreturn;

#endif /* NUMAVM_VMM_LOG_H */

/*
 * errmsg() is how mm-free layers (numa/, the configs) say what was wrong
 * without printing: the message goes into the caller's buffer (which may be
 * NULL or empty) and the caller returns -EINVAL in the same statement.
 */
#ifndef NUMAVM_ERRMSG_H
#define NUMAVM_ERRMSG_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "compiler.h"

/* Format into @err (@len bytes, may be 0); always returns -EINVAL. */
static inline int __printf(3, 4) errmsg(char *err, size_t len,
					const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#endif /* NUMAVM_ERRMSG_H */

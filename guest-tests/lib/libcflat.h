/*
 * The guest runtime's core API, as in kvm-unit-tests' libcflat.h: formatted
 * output on the serial port, test reporting, exit through the debug-exit
 * port, the few string functions the compiler may call, and the boot
 * arguments.  Every test includes this header and defines
 * int main(int argc, char **argv); its return value is the exit code.
 */
#ifndef GUEST_LIBCFLAT_H
#define GUEST_LIBCFLAT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

#define KiB		(1UL << 10)
#define MiB		(1UL << 20)
#define GiB		(1UL << 30)
#define PAGE_SIZE	4096UL
#define ALIGN_UP(x, a)	(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))

/* Exit codes of report_summary() (the guest value; status = (v << 1) | 1) */
#define EXIT_PASS	0	/* every test passed: status 1 */
#define EXIT_FAIL	1	/* at least one failure: status 3 */
#define EXIT_SKIP	77	/* every test skipped: status 155 */

int main(int argc, char **argv);

/* printf.c: %d %i %u %x %X %p %s %c %%, flags '-' '0', width, l/ll/z. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
/* Whole lines are printed under a lock, so CPUs do not interleave. */
int printf(const char *fmt, ...) __printf(1, 2);
void puts(const char *s);

/* serial.c: the 16550 at NV_SERIAL_PORT, transmit only. */
void serial_init(void);
void serial_write(const char *s, size_t len);

/* report.c: the kvm-unit-tests report API. */
void report(bool pass, const char *fmt, ...) __printf(2, 3);
void report_skip(const char *fmt, ...) __printf(1, 2);
void report_info(const char *fmt, ...) __printf(1, 2);
/* Prints the SUMMARY line, returns EXIT_PASS, EXIT_FAIL or EXIT_SKIP. */
int report_summary(void);

/*
 * setup.c: end the run with @code (0..127): isa-debug-exit port first
 * (status (code << 1) | 1), then the numavm exit hypercall, then halt.
 */
void exit(int code) __noreturn;
void abort(void) __noreturn;

#define assert(cond)							\
	do {								\
		if (!(cond)) {						\
			printf("%s:%d: assert failed: %s\n",		\
			       __FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/*
 * The multiboot command line, split at spaces into argv (under QEMU the
 * first word is the image path).  boot_arg() returns the value of the
 * first "key=value" word, or NULL; boot_flag() tells whether the bare word
 * is present.
 */
const char *boot_arg(const char *key);
bool boot_flag(const char *word);
/* The value of boot_arg(@key) as a number (decimal or 0x hex), else @def. */
uint64_t boot_arg_u64(const char *key, uint64_t def);

/* string.c */
void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Parses decimal or 0x hex; stops at the first other character. */
uint64_t strtou64(const char *s, const char **end);

#endif /* GUEST_LIBCFLAT_H */

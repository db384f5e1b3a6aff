/*
 * The kvm-unit-tests reporting API: one "PASS: ", "FAIL: ", "SKIP: " or
 * "INFO: " line per call, counted, and a SUMMARY line whose result becomes
 * the exit code (EXIT_PASS, EXIT_FAIL, or EXIT_SKIP when every test was
 * skipped).  Callable from every CPU.
 */
#include "libcflat.h"
#include "smp.h"

static struct spinlock report_lock;
static unsigned int nr_tests, nr_failed, nr_skipped;

static void report_line(const char *tag, const char *fmt, va_list ap)
{
	char msg[400];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	printf("%s: %s\n", tag, msg);
}

void report(bool pass, const char *fmt, ...)
{
	va_list ap;

	spin_lock(&report_lock);
	nr_tests++;
	if (!pass)
		nr_failed++;
	spin_unlock(&report_lock);
	va_start(ap, fmt);
	report_line(pass ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
}

void report_skip(const char *fmt, ...)
{
	va_list ap;

	spin_lock(&report_lock);
	nr_tests++;
	nr_skipped++;
	spin_unlock(&report_lock);
	va_start(ap, fmt);
	report_line("SKIP", fmt, ap);
	va_end(ap);
}

void report_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_line("INFO", fmt, ap);
	va_end(ap);
}

int report_summary(void)
{
	spin_lock(&report_lock);
	printf("SUMMARY: %u tests, %u unexpected failures, %u skipped\n",
	       nr_tests, nr_failed, nr_skipped);
	spin_unlock(&report_lock);
	if (nr_failed)
		return EXIT_FAIL;
	if (nr_tests && nr_tests == nr_skipped)
		return EXIT_SKIP;
	return EXIT_PASS;
}

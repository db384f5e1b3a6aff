/*
 * Touch N pages of RAM and read them back: the access pattern numavm's
 * fault path is measured with.  Over a range above the image (2 MiB
 * aligned), write one byte per 4 KiB page, then verify every byte, and
 * check that the rest of each page still reads as zero (fresh guest RAM is
 * zeroed: under numavm every first touch is a fault served by the host).
 * Prints pages/s for both passes from the TSC.
 *
 * Boot arguments: pages=N (default 16384, i.e. 64 MiB; clamped to the RAM
 * there is), parallel (split the range across all CPUs: each CPU touches
 * its own contiguous slice).
 */
#include "bootinfo.h"
#include "libcflat.h"
#include "smp.h"
#include "timing.h"

#define DEFAULT_PAGES	16384
#define ZERO_PROBE	2048	/* offset checked for zero in every page */

struct slice {
	volatile uint8_t *base;
	unsigned long pages;
	unsigned long bad_value;
	unsigned long bad_zero;
	uint64_t write_cycles;
	uint64_t read_cycles;
};

static struct slice slices[SMP_MAX_CPUS];

static inline uint8_t pattern(unsigned long page)
{
	return (uint8_t)(page * 131 + 17) | 1;	/* never zero */
}

static void touch_slice(struct slice *s, unsigned long first)
{
	volatile uint8_t *p = s->base;
	unsigned long i;
	uint64_t t0, t1, t2;

	t0 = rdtsc();
	for (i = 0; i < s->pages; i++)
		p[i * PAGE_SIZE] = pattern(first + i);
	t1 = rdtsc();
	for (i = 0; i < s->pages; i++) {
		if (p[i * PAGE_SIZE] != pattern(first + i))
			s->bad_value++;
		if (p[i * PAGE_SIZE + ZERO_PROBE])
			s->bad_zero++;
	}
	t2 = rdtsc();
	s->write_cycles = t1 - t0;
	s->read_cycles = t2 - t1;
}

static unsigned long total_pages, per_cpu_pages;
static volatile uint8_t *range_base;

static void touch_mine(void *arg)
{
	int id = smp_id();
	struct slice *s = &slices[id];
	unsigned long first = id * per_cpu_pages;

	s->base = range_base + first * PAGE_SIZE;
	s->pages = first >= total_pages ? 0 :
		   min_t(unsigned long, per_cpu_pages, total_pages - first);
	touch_slice(s, first);
}

static void print_rate(const char *what, unsigned long pages, uint64_t cycles)
{
	uint64_t rate = per_second(pages, cycles);

	if (rate)
		report_info("%s: %lu pages in %lu us, %lu pages/s, %lu ns/page",
			    what, pages, cycles_to_ns(cycles) / 1000, rate,
			    cycles_to_ns(cycles) / (pages ? pages : 1));
	else
		report_info("%s: %lu pages in %lu cycles (TSC rate unknown)",
			    what, pages, cycles);
}

int main(int argc, char **argv)
{
	unsigned long want = boot_arg_u64("pages", DEFAULT_PAGES);
	bool parallel = boot_flag("parallel");
	int cpus = parallel ? cpu_count() : 1, i;
	unsigned long bad_value = 0, bad_zero = 0;
	uint64_t start, end, t0, t1, wmax = 0, rmax = 0;

	if (!mem_range_from(ALIGN_UP(alloc_top(), 2 * MiB), &start, &end) ||
	    end - start < PAGE_SIZE) {
		report(false, "no RAM above the image to touch");
		return report_summary();
	}
	total_pages = min_t(unsigned long, want, (end - start) / PAGE_SIZE);
	per_cpu_pages = (total_pages + cpus - 1) / cpus;
	range_base = (volatile uint8_t *)(uintptr_t)start;
	report_info("touching %lu pages (%lu MiB) at [0x%lx-0x%lx) on %d CPU%s, TSC %lu kHz (%s)",
		    total_pages, total_pages * PAGE_SIZE / MiB, start,
		    start + total_pages * PAGE_SIZE, cpus, cpus > 1 ? "s" : "",
		    tsc_khz(), tsc_khz_source());
	if (total_pages < want)
		report_info("asked for %lu pages, RAM holds %lu", want,
			    total_pages);

	t0 = rdtsc();
	if (parallel)
		on_cpus(touch_mine, NULL);
	else
		touch_mine(NULL);
	t1 = rdtsc();

	for (i = 0; i < cpus; i++) {
		bad_value += slices[i].bad_value;
		bad_zero += slices[i].bad_zero;
		wmax = max_t(uint64_t, wmax, slices[i].write_cycles);
		rmax = max_t(uint64_t, rmax, slices[i].read_cycles);
	}
	report(!bad_value, "%lu pages read back what was written (%lu wrong)",
	       total_pages, bad_value);
	report(!bad_zero, "untouched bytes of every page read zero (%lu not)",
	       bad_zero);
	print_rate("first touch (write)", total_pages, wmax);
	print_rate("read back", total_pages, rmax);
	if (parallel)
		print_rate("whole run", total_pages, t1 - t0);
	return report_summary();
}

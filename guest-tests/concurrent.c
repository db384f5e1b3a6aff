/*
 * Concurrent faulting: every vCPU touches the same fresh pages at the same
 * moment (after a barrier), each writing its own word of every page.  Each
 * page must be backed exactly once: a second placement over a page another
 * vCPU already wrote would lose that write, so every page must hold every
 * vCPU's word (and zeros elsewhere); NV_HC_GET_NODE must give every vCPU
 * the same node for a page, and that node must be the home node of one of
 * the vCPUs (the default local policy: whoever faulted first).  Two
 * rounds: all vCPUs in the same order (maximum collisions), then every
 * other vCPU backwards.
 *
 * Boot argument pages=N (default 512 under numavm, 128 otherwise).
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

#define MAX_PAGES	4096

static unsigned long pages;
static uint64_t base;
static bool backwards;
static int8_t node0[MAX_PAGES];
static unsigned long disagree[SMP_MAX_CPUS];

static void touch_all(void *arg)
{
	unsigned int id = smp_id();
	unsigned long i, k;
	uint64_t gpa;

	smp_barrier();
	for (k = 0; k < pages; k++) {
		i = backwards && (id & 1) ? pages - 1 - k : k;
		gpa = base + i * PAGE_SIZE;
		*place_p64(gpa + 8 * id) =
			place_pattern(gpa, (uint32_t)(uintptr_t)arg);
	}
}

static void compare_nodes(void *arg)
{
	unsigned long i, bad = 0;

	for (i = 0; i < pages; i++)
		if (place_node(base + i * PAGE_SIZE) != node0[i])
			bad++;
	disagree[smp_id()] = bad;
}

static void run(const char *what, bool back, uint32_t seed)
{
	unsigned long bad = 0, foreign = 0, i;
	uint64_t homes = 0;
	int c, x;

	base = place_alloc(pages * PAGE_SIZE, 2 * MiB);
	if (!base) {
		report(false, "%s: room for %lu pages", what, pages);
		return;
	}
	backwards = back;
	on_cpus(touch_all, (void *)(uintptr_t)seed);
	for (c = 0; c < place.nr_cpus; c++)
		bad += place_check(base, pages, c, seed);
	report(!bad, "%s: %lu pages hold the words of all %d CPUs, rest zero (%lu missing)",
	       what, pages, place.nr_cpus, bad);
	if (!place_need(what))
		return;

	for (c = 0; c < place.nr_cpus; c++)
		if (place.cpu_node[c] >= 0)
			homes |= 1ULL << place.cpu_node[c];
	for (i = 0; i < pages; i++) {
		x = place_node(base + i * PAGE_SIZE);
		node0[i] = (int8_t)(x < 0 ? -1 : x);
		if (x < 0 || !((homes >> x) & 1))
			foreign++;
	}
	report(!foreign, "%s: every page backed on some vCPU's home node (%lu not)",
	       what, foreign);
	on_cpus(compare_nodes, NULL);
	for (bad = 0, c = 0; c < place.nr_cpus; c++)
		bad += disagree[c];
	report(!bad, "%s: every vCPU sees the same node for every page (%lu differ)",
	       what, bad);
}

int main(int argc, char **argv)
{
	if (!place_init())
		return report_summary();
	pages = boot_arg_u64("pages", place.numavm ? 512 : 128);
	if (pages > MAX_PAGES)
		pages = MAX_PAGES;
	report_info("%d CPUs fault the same %lu pages", place.nr_cpus, pages);
	run("same order", false, 0xc1);
	run("opposite orders", true, 0xc2);
	return report_summary();
}

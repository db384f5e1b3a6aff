/*
 * oom=wait: a vCPU that runs out of memory is parked, not stopped, and
 * carries on once the policy changes.  vCPU 1 binds itself to the smallest
 * node S (NV_HC_SET_POLICY) and touches 5/4 of S in order, counting its
 * progress; numavm (--oom wait) parks it at some page p.  vCPU 0 notices
 * that the count stopped moving (a heuristic wait, not an assertion), gives
 * the rest of the region from the count on a bind policy to another node B
 * (NV_HC_MBIND), which retries parked faults, and waits for vCPU 1 to
 * finish.  Checks: vCPU 1 finished, every page holds its data, pages before
 * p are on S, and the rest are on S then B in one switch (vCPU 1 may have
 * got a few more pages on S if it was not parked yet).
 *
 * Needs two vCPUs and two nodes with memory; under QEMU the touching runs
 * (nothing parks) and the placement checks are skipped.  Boot argument
 * pages=N under QEMU (default 256).
 */
#include "libcflat.h"
#include "place.h"
#include "processor.h"
#include "smp.h"

#define STALL_SPINS	2000000	/* pauses between two looks at the count */
#define STALL_LOOKS	3	/* unchanged looks that mean "parked" */

static uint64_t base;
static unsigned long pages;
static volatile unsigned long progress;
static volatile bool done;
static int small, other;
static int32_t bind_ret, mbind_ret;
static unsigned long parked_at;

static void toucher(void)
{
	unsigned long i;

	if (place.numavm)
		bind_ret = nv_set_policy(MPOL_BIND, 1ULL << small, NULL);
	for (i = 0; i < pages; i++) {
		*place_p64(base + i * PAGE_SIZE) =
			place_pattern(base + i * PAGE_SIZE, 0x0a1);
		progress = i + 1;
	}
	done = true;
}

static void watcher(void)
{
	unsigned long last = ~0UL, now, k;
	int same = 0;

	while (!done && same < STALL_LOOKS) {
		for (k = 0; k < STALL_SPINS && !done; k++)
			cpu_relax();
		now = progress;
		same = now == last ? same + 1 : 0;
		last = now;
	}
	if (done)
		return;
	parked_at = last;
	mbind_ret = nv_mbind(base + last * PAGE_SIZE,
			     (pages - last) * PAGE_SIZE, MPOL_BIND,
			     1ULL << other, NULL);
	while (!done)
		cpu_relax();
}

static void run(void *arg)
{
	if (smp_id() == 1)
		toucher();
	else if (smp_id() == 0 && place.numavm)
		watcher();
}

int main(int argc, char **argv)
{
	unsigned long i, off_small = 0, switches = 0;
	int node, prev;
	char buf[32];

	if (!place_init())
		return report_summary();
	if (place.nr_cpus < 2) {
		report(false, "needs 2 CPUs (has %d)", place.nr_cpus);
		return report_summary();
	}
	pages = boot_arg_u64("pages", 256);
	if (place.numavm) {
		small = other = -1;
		for (i = 0; i < place.topo.nr_nodes; i++)
			if ((place.mem_nodes >> i) & 1 &&
			    (small < 0 || place.topo.node_mem[i] <
					  place.topo.node_mem[small]))
				small = (int)i;
		other = place_nth_node(place.mem_nodes & ~(1ULL << small), 0);
		if (other < 0) {
			report(false, "two nodes with memory (has %s)",
			       place_nodes_str(place.mem_nodes, buf,
					       sizeof(buf)));
			return report_summary();
		}
		pages = place.topo.node_mem[small] / PAGE_SIZE * 5 / 4;
		report_info("vCPU 1 bound to node %d (%lu MiB) touches %lu pages; node %d takes the rest once it is parked",
			    small, place.topo.node_mem[small] / MiB, pages,
			    other);
	}
	base = place_alloc(pages * PAGE_SIZE, 2 * MiB);
	if (!base) {
		report(false, "room for %lu pages", pages);
		return report_summary();
	}
	on_cpus(run, NULL);
	report(done, "vCPU 1 touched all %lu pages", pages);
	report(!place_check(base, pages, 0, 0x0a1),
	       "every page holds its data, rest zero");
	if (!place_need("oom=wait parking"))
		return report_summary();

	report(bind_ret == 0, "vCPU 1 binds to node %d", small);
	report(parked_at > 0 && parked_at < pages,
	       "vCPU 1 stopped at page %lu of %lu (parked)", parked_at, pages);
	report(mbind_ret == 0, "the rest of the region bound to node %d",
	       other);
	for (i = 0; i < parked_at; i++)
		off_small += place_node(base + i * PAGE_SIZE) != small;
	report(!off_small, "pages before the stop on node %d (%lu not)", small,
	       off_small);
	prev = small;
	for (i = parked_at; i < pages; i++) {
		node = place_node(base + i * PAGE_SIZE);
		if (node != prev)
			switches++;
		if (node != small && node != other)
			switches += 2;
		prev = node;
	}
	report(switches == 1,
	       "pages from the stop on: node %d, then node %d (%lu switches)",
	       small, other, switches);
	return report_summary();
}

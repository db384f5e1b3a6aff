/*
 * Per-vCPU local placement: every vCPU touches its own fresh pages, all at
 * once, and NV_HC_GET_NODE must show each page on that vCPU's home node
 * (NV_HC_TOPOLOGY).  Two rounds: first with the policy the VM was started
 * with (configs/two-node-local.ini sets local; the default policy is local
 * too), then after each vCPU sets MPOL_LOCAL itself with NV_HC_SET_POLICY.
 * Also: a page nobody touched is unbacked (NV_ENOENT), and every page reads
 * back what its vCPU wrote with the rest still zero.
 *
 * Boot arguments: pages=N per vCPU and round (default 1024 under numavm,
 * 64 otherwise); around=N: the VM runs with an N-page fault-around window
 * (configs/fault-around.ini): touch one page per aligned window and expect
 * the whole window backed on the home node and zero.
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

static unsigned long pages, around;
static uint64_t region[SMP_MAX_CPUS];
static int32_t set_ret[SMP_MAX_CPUS];

static void touch_own(void *arg)
{
	int id = smp_id();

	place_fill(region[id], pages, id, (uint32_t)(uintptr_t)arg);
}

static void set_local(void *arg)
{
	set_ret[smp_id()] = nv_set_policy(MPOL_LOCAL, 0, NULL);
}

/* Pages of CPU @id's region that are not on its home node. */
static unsigned long off_node(int id, unsigned long n, unsigned long step)
{
	unsigned long i, bad = 0;
	int node;

	for (i = 0; i < n; i += step) {
		node = place_node(region[id] + i * PAGE_SIZE);
		if (node != place.cpu_node[id]) {
			if (!bad)
				report_info("CPU %d page %lu at 0x%lx: node %d (%s), home node %d",
					    id, i, region[id] + i * PAGE_SIZE,
					    node, node < 0 ? nv_strerror(node) : "",
					    place.cpu_node[id]);
			bad++;
		}
	}
	return bad;
}

static void round_run(const char *what, uint32_t seed)
{
	unsigned long bad_data = 0, bad_node = 0;
	int i;

	for (i = 0; i < place.nr_cpus; i++) {
		region[i] = place_alloc(pages * PAGE_SIZE, 2 * MiB);
		if (!region[i]) {
			report(false, "%s: room for %lu pages per CPU", what,
			       pages);
			return;
		}
	}
	on_cpus(touch_own, (void *)(uintptr_t)seed);
	for (i = 0; i < place.nr_cpus; i++)
		bad_data += place_check(region[i], pages, i, seed);
	report(!bad_data, "%s: %d CPUs x %lu pages read back, rest zero (%lu bad)",
	       what, place.nr_cpus, pages, bad_data);
	if (!place_need(what))
		return;
	for (i = 0; i < place.nr_cpus; i++)
		bad_node += off_node(i, pages, 1);
	report(!bad_node, "%s: every page on its vCPU's home node (%lu not)",
	       what, bad_node);
}

/* Touch one page per @around-page window; the window must come along. */
static void around_run(void)
{
	unsigned long i, n = pages - pages % around, bad_node, zero;
	uint64_t base = place_alloc(n * PAGE_SIZE, 2 * MiB);

	if (!base || !n) {
		report(false, "fault-around: room for %lu pages", n);
		return;
	}
	for (i = 0; i < n; i += around)
		*place_p8(base + i * PAGE_SIZE +
						 PLACE_PROBE + 1) = 1;
	zero = place_count_zero(base, n, 0);
	report(zero == n, "fault-around: %lu of %lu pages read zero where untouched",
	       zero, n);
	if (!place_need("fault-around"))
		return;
	region[0] = base;
	bad_node = off_node(0, n, 1);
	report(!bad_node, "fault-around: touching 1 page in %lu backed all %lu on the home node (%lu not)",
	       around, n, bad_node);
}

int main(int argc, char **argv)
{
	uint64_t untouched;
	int i, bad;

	if (!place_init())
		return report_summary();
	pages = boot_arg_u64("pages", place.numavm ? 1024 : 64);
	around = boot_arg_u64("around", 0);

	untouched = place_alloc(PAGE_SIZE, PAGE_SIZE);
	round_run("start-up policy", 0x10ca1);

	if (place_need("NV_HC_SET_POLICY(MPOL_LOCAL)")) {
		on_cpus(set_local, NULL);
		for (bad = 0, i = 0; i < place.nr_cpus; i++)
			bad += set_ret[i] != 0;
		report(!bad, "every vCPU sets MPOL_LOCAL (%d failed, CPU 0: %s)",
		       bad, set_ret[0] ? nv_strerror(set_ret[0]) : "ok");
		round_run("MPOL_LOCAL by hypercall", 0x10ca2);
	}

	if (around > 1)
		around_run();

	if (place_need("untouched page unbacked") && !around)
		report(place_node(untouched) == NV_ENOENT,
		       "a page nobody touched is unbacked (NV_ENOENT)");
	return report_summary();
}

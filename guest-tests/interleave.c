/*
 * Interleave placement.  A vCPU interleave policy is round robin per vCPU
 * (Linux's interleave_nodes(), il_prev): the pages of a fresh region that
 * a vCPU touches in order land on nodes[(k0 + i) % n] for some start k0,
 * independently of what the other vCPUs touch at the same time.  A range
 * interleave policy (NV_HC_MBIND, or a config [range]) places by offset
 * (offset_il_node()): page k of the range on nodes[k % n], whoever touches
 * it and in whatever order.
 *
 * Rounds: (1) with vcpu-nodes=LIST, the policy the VM was started with
 * (configs/two-node-interleave.ini: interleave 0-1 on every vCPU); (2) each
 * vCPU sets interleave over every node with memory by NV_HC_SET_POLICY;
 * (3) with range=START+SIZE and range-nodes=LIST, the config's interleaved
 * range, touched backwards by all CPUs; (4) a fresh region given an
 * interleave range policy by NV_HC_MBIND, touched the same way.
 *
 * Boot arguments: pages=N per CPU and round (default 256 under numavm, 64
 * otherwise), vcpu-nodes=, range=, range-nodes= as above.
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

static unsigned long pages;
static uint64_t region[SMP_MAX_CPUS];
static uint64_t il_mask;
static int32_t set_ret[SMP_MAX_CPUS];

static void touch_own(void *arg)
{
	int id = smp_id();

	place_fill(region[id], pages, 0, (uint32_t)(uintptr_t)arg);
}

/* CPU c touches pages c, c + ncpu, ... of region[0], from the top down. */
static void touch_shared(void *arg)
{
	unsigned long n = pages * place.nr_cpus, i;
	int id = smp_id();

	for (i = n; i-- > 0;)
		if ((int)(i % place.nr_cpus) == id) {
			uint64_t gpa = region[0] + i * PAGE_SIZE;

			*place_p64(gpa) =
				place_pattern(gpa, (uint32_t)(uintptr_t)arg);
		}
}

static void set_interleave(void *arg)
{
	set_ret[smp_id()] = nv_set_policy(MPOL_INTERLEAVE, il_mask, NULL);
}

/*
 * Pages of [base, base + n pages) off the round robin over @mask: page i
 * must be on nodes[(k0 + i) % nr], k0 taken from page 0 (@by_offset: k0
 * must be 0).
 */
static unsigned long off_pattern(uint64_t base, unsigned long n,
				 uint64_t mask, bool by_offset)
{
	unsigned int nr = place_nr_nodes(mask), k0;
	unsigned long i, bad = 0;
	int node, want;

	node = place_node(base);
	for (k0 = 0; k0 < nr && place_nth_node(mask, k0) != node; k0++)
		;
	if (k0 == nr || (by_offset && k0)) {
		report_info("page 0 at 0x%lx on node %d: not %s", base, node,
			    by_offset ? "the range's first node" : "in the set");
		return n;
	}
	for (i = 0; i < n; i++) {
		want = place_nth_node(mask, (k0 + i) % nr);
		node = place_node(base + i * PAGE_SIZE);
		if (node != want) {
			if (!bad)
				report_info("page %lu at 0x%lx: node %d, expected %d",
					    i, base + i * PAGE_SIZE, node, want);
			bad++;
		}
	}
	return bad;
}

static void vcpu_round(const char *what, uint64_t mask, uint32_t seed)
{
	unsigned long bad = 0;
	char buf[32];
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
		bad += place_check(region[i], pages, 0, seed);
	report(!bad, "%s: %d CPUs x %lu pages read back, rest zero (%lu bad)",
	       what, place.nr_cpus, pages, bad);
	if (!place_need(what))
		return;
	for (bad = 0, i = 0; i < place.nr_cpus; i++)
		bad += off_pattern(region[i], pages, mask, false);
	report(!bad, "%s: each vCPU's pages round robin over nodes %s (%lu off)",
	       what, place_nodes_str(mask, buf, sizeof(buf)), bad);
}

static void range_round(const char *what, uint64_t base, uint64_t mask,
			uint32_t seed)
{
	unsigned long n = pages * place.nr_cpus, bad;
	char buf[32];

	region[0] = base;
	on_cpus(touch_shared, (void *)(uintptr_t)seed);
	bad = place_check(base, n, 0, seed);
	report(!bad, "%s: %lu pages touched backwards by %d CPUs read back (%lu bad)",
	       what, n, place.nr_cpus, bad);
	if (!place_need(what))
		return;
	bad = off_pattern(base, n, mask, true);
	report(!bad, "%s: page k on node %s[k %% %u] (%lu off)", what,
	       place_nodes_str(mask, buf, sizeof(buf)), place_nr_nodes(mask),
	       bad);
}

int main(int argc, char **argv)
{
	uint64_t cfg_mask = 0, range_mask = 0, rstart = 0, rlen = 0, base;
	const char *s = boot_arg("range"), *e;
	bool have_vcpu, have_range = false;
	int i, bad;

	have_vcpu = place_arg_nodes("vcpu-nodes", &cfg_mask);
	if (s) {
		have_range = place_parse_range(s, &e, &rstart, &rlen) && !*e &&
			     place_arg_nodes("range-nodes", &range_mask);
		report(have_range, "boot arguments range=%s range-nodes=LIST",
		       s);
	}
	if (!place_init())
		return report_summary();
	pages = boot_arg_u64("pages", place.numavm ? 256 : 64);
	if (have_range)
		place_reserve(rstart, rlen);

	if (have_vcpu)
		vcpu_round("start-up vCPU interleave", cfg_mask, 0x11e1);

	il_mask = place.numavm ? place.mem_nodes : 1;
	if (place_need("NV_HC_SET_POLICY(MPOL_INTERLEAVE)")) {
		on_cpus(set_interleave, NULL);
		for (bad = 0, i = 0; i < place.nr_cpus; i++)
			bad += set_ret[i] != 0;
		report(!bad, "every vCPU sets interleave (%d failed, CPU 0: %s)",
		       bad, set_ret[0] ? nv_strerror(set_ret[0]) : "ok");
		vcpu_round("vCPU interleave by hypercall", il_mask, 0x11e2);
	}

	if (have_range) {
		if (rlen < pages * place.nr_cpus * PAGE_SIZE)
			pages = rlen / PAGE_SIZE / place.nr_cpus;
		range_round("start-up range interleave", rstart, range_mask,
			    0x11e3);
	}

	base = place_alloc(pages * place.nr_cpus * PAGE_SIZE, 2 * MiB);
	if (!base) {
		report(false, "room for the mbind region");
		return report_summary();
	}
	if (place_need("NV_HC_MBIND(MPOL_INTERLEAVE)"))
		report(nv_mbind(base, pages * place.nr_cpus * PAGE_SIZE,
				MPOL_INTERLEAVE, il_mask, NULL) == 0,
		       "mbind interleave over the region");
	range_round("range interleave by hypercall", base, il_mask, 0x11e4);
	return report_summary();
}

/*
 * Free a range and touch it again (NV_HC_FREE_RANGE, like MADV_DONTNEED or
 * free page reporting): the freed pages leave the guest (NV_HC_GET_NODE
 * says NV_ENOENT), the pages around them keep their data, and the next
 * touch - a read - faults in fresh zeroed pages placed by the policy in
 * force then: bound to node A while first touched, bound to node B (another
 * node with memory, if any) when touched again, so GET_NODE shows the
 * re-placement.  Then the whole range is freed and refilled a few times.
 * That the frames went back to the buddy allocators and coalesced is
 * checked host-side (tests/check_fault.c); here, what the guest sees.
 *
 * Boot argument pages=N (default 256 under numavm, 64 otherwise; a
 * multiple of 4).  Under QEMU only the touching and data checks run.
 */
#include "libcflat.h"
#include "place.h"

#define CHURN_ROUNDS	4

/* Pages of [base, +n) not on @node (@node NV_ENOENT: not unbacked). */
static unsigned long not_on(uint64_t base, unsigned long n, int node)
{
	unsigned long i, bad = 0;
	int x;

	for (i = 0; i < n; i++) {
		x = place_node(base + i * PAGE_SIZE);
		if (x != node) {
			if (!bad)
				report_info("page at 0x%lx: node %d (%s), expected %d",
					    base + i * PAGE_SIZE, x,
					    x < 0 ? nv_strerror(x) : "", node);
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long pages, q, zero, r;
	uint64_t base, mid;
	bool nv;
	int a = 0, b = 0;

	if (!place_init())
		return report_summary();
	nv = place.numavm;
	pages = boot_arg_u64("pages", nv ? 256 : 64) & ~3UL;
	q = pages / 4;
	base = place_alloc(pages * PAGE_SIZE, 2 * MiB);
	if (!base || !q) {
		report(false, "room for %lu pages", pages);
		return report_summary();
	}
	mid = base + q * PAGE_SIZE;	/* the freed middle half: [q, 3q) */

	if (nv) {
		a = place.cpu_node[0];
		b = place_nth_node(place.mem_nodes & ~(1ULL << a), 0);
		if (b < 0)
			b = a;
		report_info("first touch bound to node %d, re-touch bound to node %d",
			    a, b);
		report(nv_set_policy(MPOL_BIND, 1ULL << a, NULL) == 0,
		       "bind to node %d", a);
	}
	place_fill(base, pages, 0, 0xf1);
	report(!place_check(base, pages, 0, 0xf1),
	       "%lu pages written, read back, rest zero", pages);
	if (!place_need("free range and re-placement"))
		return report_summary();

	report(!not_on(base, pages, a), "every page on node %d", a);
	report(nv_free_range(mid, 2 * q * PAGE_SIZE) == 0,
	       "free the middle %lu pages", 2 * q);
	report(!not_on(mid, 2 * q, NV_ENOENT),
	       "freed pages are unbacked (NV_ENOENT)");
	report(!not_on(base, q, a) && !not_on(mid + 2 * q * PAGE_SIZE, q, a),
	       "pages around the freed range stay on node %d", a);
	report(!place_check(base, q, 0, 0xf1) &&
	       !place_check(mid + 2 * q * PAGE_SIZE, q, 0, 0xf1),
	       "pages around the freed range keep their data");

	report(nv_set_policy(MPOL_BIND, 1ULL << b, NULL) == 0,
	       "bind to node %d", b);
	zero = place_count_zero(mid, 2 * q, 0);
	report(zero == 2 * q, "freed pages read zero when touched again (%lu of %lu)",
	       zero, 2 * q);
	report(!not_on(mid, 2 * q, b),
	       "re-touched pages placed anew on node %d", b);
	place_fill(mid, 2 * q, 1, 0xf2);
	report(!place_check(mid, 2 * q, 1, 0xf2),
	       "re-touched pages hold new data");

	for (r = 0; r < CHURN_ROUNDS; r++) {
		if (nv_free_range(base, pages * PAGE_SIZE))
			break;
		if (not_on(base, pages, NV_ENOENT))
			break;
		if (place_count_zero(base, pages, 0) != pages)
			break;
		place_fill(base, pages, 0, 0xf3 + r);
		if (place_check(base, pages, 0, 0xf3 + r) ||
		    not_on(base, pages, b))
			break;
	}
	report(r == CHURN_ROUNDS,
	       "%d rounds of free whole range, read zeros, refill (%lu done)",
	       CHURN_ROUNDS, r);
	return report_summary();
}

/*
 * Weighted interleave (Linux 6.9's MPOL_WEIGHTED_INTERLEAVE): node n takes
 * weight[n] consecutive allocations per round, nodes in ascending order.
 * For a vCPU policy the round starts wherever the vCPU's cursor is, so the
 * pages of a fresh region touched in order follow the expanded sequence
 * (3:1 over nodes 0,1 -> 0 0 0 1) from some phase; over a whole number of
 * rounds the counts per node are exact.  For a range policy (NV_HC_MBIND)
 * page k takes the sequence's element k % total: phase 0.
 *
 * Rounds: (1) with vcpu-weights=N:W,... the policy the VM was started with
 * (configs/weighted-interleave.ini: 0:3,1:1); (2) weights 3:1 over the
 * first two nodes with memory set by NV_HC_SET_POLICY; (3) weights 1:2 on
 * a fresh region by NV_HC_MBIND.  Boot argument pages=N (rounded down to
 * whole rounds; default 400 under numavm, 64 otherwise).
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

#define MAX_SEQ		(NV_MAX_NODES * 255)

static unsigned long pages;
static uint8_t seq[MAX_SEQ];

/* "0:3,1:1" -> @mask and @w (unlisted nodes of the set weigh 1) */
static bool parse_weights(const char *s, uint64_t *mask, uint8_t *w)
{
	uint64_t n, v;
	const char *e;

	*mask = 0;
	memset(w, 0, NV_MAX_NODES);
	for (;;) {
		n = strtou64(s, &e);
		if (e == s || *e != ':' || n >= NV_MAX_NODES)
			return false;
		s = e + 1;
		v = strtou64(s, &e);
		if (e == s || !v || v > 255)
			return false;
		*mask |= 1ULL << n;
		w[n] = (uint8_t)v;
		if (!*e)
			return true;
		if (*e != ',')
			return false;
		s = e + 1;
	}
}

/* Expand @w over @mask into seq[]; returns its length (the round). */
static unsigned int expand(uint64_t mask, const uint8_t *w)
{
	unsigned int len = 0, n, k;

	for (n = 0; n < NV_MAX_NODES; n++)
		if ((mask >> n) & 1)
			for (k = 0; k < (w[n] ? w[n] : 1u); k++)
				seq[len++] = (uint8_t)n;
	return len;
}

static void describe(char *buf, size_t len, uint64_t mask, const uint8_t *w)
{
	size_t off = 0;
	unsigned int n;

	buf[0] = 0;
	for (n = 0; n < NV_MAX_NODES && off < len; n++)
		if ((mask >> n) & 1)
			off += snprintf(buf + off, len - off, "%s%u:%u",
					off ? "," : "", n, w[n] ? w[n] : 1u);
}

/*
 * Check @n pages at @base against the weights: exact count per node, and
 * page i on seq[(p + i) % total] for one phase p (0 if @by_offset).
 */
static void check_round(const char *what, uint64_t base, unsigned long n,
			uint64_t mask, const uint8_t *w, bool by_offset)
{
	unsigned int total = expand(mask, w), p, best_p = 0;
	unsigned long count[NV_MAX_NODES] = { 0 }, i, bad, best = ~0UL;
	static int8_t node[4096];
	bool counts_ok = true;
	char buf[96];

	if (n > ARRAY_SIZE(node))
		n = ARRAY_SIZE(node);
	for (i = 0; i < n; i++) {
		int x = place_node(base + i * PAGE_SIZE);

		node[i] = (int8_t)(x < 0 ? -1 : x);
		if (x >= 0 && x < NV_MAX_NODES)
			count[x]++;
	}
	for (p = 0; p < (by_offset ? 1 : total); p++) {
		for (bad = 0, i = 0; i < n; i++)
			bad += node[i] != seq[(p + i) % total];
		if (bad < best) {
			best = bad;
			best_p = p;
		}
	}
	describe(buf, sizeof(buf), mask, w);
	for (i = 0; i < NV_MAX_NODES; i++) {
		unsigned long want = (mask >> i) & 1 ?
			n / total * (w[i] ? w[i] : 1u) : 0;

		if (count[i] != want) {
			report_info("%s: node %lu has %lu pages, expected %lu",
				    what, i, count[i], want);
			counts_ok = false;
		}
	}
	report(counts_ok, "%s: %lu pages split exactly by weights %s", what, n,
	       buf);
	report(!best, "%s: pages follow the %u-page round from phase %u (%lu off)",
	       what, total, best_p, best);
}

static void vcpu_round(const char *what, uint64_t mask, const uint8_t *w,
		       uint32_t seed)
{
	uint64_t base = place_alloc(pages * PAGE_SIZE, 2 * MiB);

	if (!base) {
		report(false, "%s: room for %lu pages", what, pages);
		return;
	}
	place_fill(base, pages, 0, seed);
	report(!place_check(base, pages, 0, seed),
	       "%s: %lu pages read back, rest zero", what, pages);
	if (place_need(what))
		check_round(what, base, pages, mask, w, false);
}

int main(int argc, char **argv)
{
	const char *s = boot_arg("vcpu-weights");
	uint8_t w[NV_MAX_NODES] __aligned(8), total;
	uint64_t mask = 0, base;
	unsigned long round = 4;
	int a, b;

	if (s && !parse_weights(s, &mask, w)) {
		report(false, "boot argument vcpu-weights=%s: expected N:W,...",
		       s);
		s = NULL;
	}
	if (!place_init())
		return report_summary();
	pages = boot_arg_u64("pages", place.numavm ? 400 : 64);
	if (s) {
		round = expand(mask, w);
		pages -= pages % round;
		vcpu_round("start-up weighted interleave", mask, w, 0x3e1);
	}

	/* 3:1 over the first two nodes with memory (or one node) */
	a = place_nth_node(place.mem_nodes, 0);
	b = place_nth_node(place.mem_nodes, 1);
	if (a < 0)
		a = 0;
	memset(w, 0, sizeof(w));
	w[a] = 3;
	mask = 1ULL << a;
	if (b >= 0) {
		w[b] = 1;
		mask |= 1ULL << b;
	}
	total = (uint8_t)expand(mask, w);
	pages -= pages % total;
	if (place_need("NV_HC_SET_POLICY(MPOL_WEIGHTED_INTERLEAVE)")) {
		report(nv_set_policy(MPOL_WEIGHTED_INTERLEAVE, mask, w) == 0,
		       "set weighted interleave 3:1 on the vCPU");
		vcpu_round("vCPU weighted interleave by hypercall", mask, w,
			   0x3e2);
	} else {
		vcpu_round("weighted interleave", mask, w, 0x3e2);
	}

	/* 1:2 by offset on a range */
	if (b >= 0) {
		w[a] = 1;
		w[b] = 2;
	}
	total = (uint8_t)expand(mask, w);
	pages -= pages % total;
	base = place_alloc(pages * PAGE_SIZE, 2 * MiB);
	if (!base) {
		report(false, "room for the mbind region");
		return report_summary();
	}
	if (place_need("NV_HC_MBIND(MPOL_WEIGHTED_INTERLEAVE)")) {
		report(nv_mbind(base, pages * PAGE_SIZE,
				MPOL_WEIGHTED_INTERLEAVE, mask, w) == 0,
		       "mbind weighted interleave 1:2 on a region");
		/* touch backwards: the node depends on the offset only */
		for (round = pages; round-- > 0;)
			*place_p64(base + round * PAGE_SIZE) =
				place_pattern(base + round * PAGE_SIZE, 0x3e3);
		report(!place_check(base, pages, 0, 0x3e3),
		       "range: %lu pages touched backwards read back", pages);
		check_round("range weighted interleave by hypercall", base,
			    pages, mask, w, true);
	}
	return report_summary();
}

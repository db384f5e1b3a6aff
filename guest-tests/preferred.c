/*
 * Preferred placement with fallback.  vCPU 0 prefers node P; it touches
 * more fresh pages than P holds, so P fills (down to its watermark) and the
 * following pages fall back along P's zonelist: the other nodes in
 * distance order from P, as Linux's build_zonelists() orders them
 * (find_next_best_node(), recomputed here from NV_HC_TOPOLOGY).  The
 * sequence of nodes of the pages, in touch order, must be runs following
 * that zonelist (at the low watermark, then once more from P at the min
 * watermark), the first run on P covering most of P.
 *
 * P: boot argument pref=N (the VM was started with vCPU 0 preferring N,
 * configs/four-node-asym.ini), else the node farthest from vCPU 0's home,
 * set with NV_HC_SET_POLICY.  Also checked first, a few pages each:
 * vcpuV=LIST (vCPU V's start-up policy places its pages in LIST) and
 * range=START+SIZE with range-nodes=LIST (a config range policy; the range
 * is kept out of the fill region).  pages=N overrides the fill size
 * (default: P + the next node + a quarter of the one after under numavm,
 * 256 pages otherwise).
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

#define SAMPLE_PAGES	16
#define MAX_RUNS	64

static uint64_t vcpu_want[SMP_MAX_CPUS];
static uint64_t sample[SMP_MAX_CPUS];

/* Linux's build_all_zonelists() -> the zonelist of @local (numa/zonelist.c) */
static unsigned int zonelist(unsigned int local, uint8_t *zl)
{
	const struct nv_topology *t = &place.topo;
	uint64_t mem = place.mem_nodes, cpus = 0;
	int node_load[NV_MAX_NODES] = { 0 };
	unsigned int l, n, nr = 0, prev;
	uint8_t tmp[NV_MAX_NODES];

	for (n = 0; n < t->nr_vcpus && n < NV_MAX_VCPUS; n++)
		cpus |= 1ULL << t->vcpu_node[n];
	/* node_load[] carries over from one node's list to the next */
	for (l = 0; l <= local; l++) {
		uint64_t used = 0;
		uint8_t *out = l == local ? zl : tmp;

		nr = 0;
		prev = l;
		for (;;) {
			int best = -1, min = 0x7fffffff, val;

			if (!((used >> l) & 1) && ((mem >> l) & 1)) {
				best = (int)l;
			} else {
				for (n = 0; n < t->nr_nodes; n++) {
					if (!((mem >> n) & 1) || ((used >> n) & 1))
						continue;
					val = t->distance[l][n];
					val += n < l;
					if ((cpus >> n) & 1)
						val += 1;
					val = val * 1024 + node_load[n];
					if (val < min) {
						min = val;
						best = (int)n;
					}
				}
			}
			if (best < 0)
				break;
			used |= 1ULL << best;
			if (t->distance[l][best] != t->distance[l][prev])
				node_load[best]++;
			out[nr++] = (uint8_t)best;
			prev = (unsigned int)best;
		}
	}
	return nr;
}

static void touch_sample(void *arg)
{
	int id = smp_id();

	if (sample[id])
		place_fill(sample[id], SAMPLE_PAGES, 0, 0x9e1);
}

/* Pages of [base, +n) whose node is not in @mask. */
static unsigned long outside(uint64_t base, unsigned long n, uint64_t mask)
{
	unsigned long i, bad = 0;
	int node;

	for (i = 0; i < n; i++) {
		node = place_node(base + i * PAGE_SIZE);
		if (node < 0 || !((mask >> node) & 1)) {
			if (!bad)
				report_info("page at 0x%lx on node %d",
					    base + i * PAGE_SIZE, node);
			bad++;
		}
	}
	return bad;
}

/* The vcpuV= and range= promises of the start-up config, a few pages each */
static void startup_checks(bool have_range, uint64_t rstart, uint64_t rmask)
{
	char key[16], buf[32];
	bool any = false;
	int i, v;

	for (i = 0; i < place.nr_cpus; i++) {
		v = place.cpu_vcpu[i];
		snprintf(key, sizeof(key), "vcpu%d", v < 0 ? i : v);
		if (place_arg_nodes(key, &vcpu_want[i])) {
			sample[i] = place_alloc(SAMPLE_PAGES * PAGE_SIZE,
						PAGE_SIZE);
			any = true;
		}
	}
	if (any) {
		on_cpus(touch_sample, NULL);
		for (i = 0; i < place.nr_cpus; i++) {
			if (!sample[i])
				continue;
			report(!place_check(sample[i], SAMPLE_PAGES, 0, 0x9e1),
			       "CPU %d: %d pages read back", i, SAMPLE_PAGES);
			if (place_need("start-up vCPU policy"))
				report(!outside(sample[i], SAMPLE_PAGES,
						vcpu_want[i]),
				       "vCPU %d's start-up policy places its pages on %s",
				       place.cpu_vcpu[i],
				       place_nodes_str(vcpu_want[i], buf,
						       sizeof(buf)));
		}
	}
	if (have_range) {
		place_fill(rstart, SAMPLE_PAGES, 0, 0x9e2);
		report(!place_check(rstart, SAMPLE_PAGES, 0, 0x9e2),
		       "range at 0x%lx: %d pages read back", rstart,
		       SAMPLE_PAGES);
		if (place_need("start-up range policy"))
			report(!outside(rstart, SAMPLE_PAGES, rmask),
			       "range at 0x%lx: pages on nodes %s", rstart,
			       place_nodes_str(rmask, buf, sizeof(buf)));
	}
}

/*
 * The fill: runs of the nodes of @n pages at @base must follow @zl twice
 * (low, then min watermark), the first run on zl[0] covering 3/4 of it.
 */
static void check_fill(uint64_t base, unsigned long n, const uint8_t *zl,
		       unsigned int nr)
{
	int run_node[MAX_RUNS];
	unsigned long run_len[MAX_RUNS], i, unbacked = 0, pref_pages;
	unsigned int runs = 0, r, pos = 0, k;
	bool order_ok = true;
	int node;

	for (i = 0; i < n; i++) {
		node = place_node(base + i * PAGE_SIZE);
		if (node < 0) {
			unbacked++;
			continue;
		}
		if (runs && run_node[runs - 1] == node) {
			run_len[runs - 1]++;
		} else if (runs < MAX_RUNS) {
			run_node[runs] = node;
			run_len[runs++] = 1;
		} else {
			order_ok = false;
		}
	}
	report(!unbacked, "fill: all %lu pages backed (%lu not)", n, unbacked);
	for (r = 0; r < runs; r++) {
		report_info("fill run %u: %lu pages on node %d", r, run_len[r],
			    run_node[r]);
		for (k = pos; k < 2 * nr && zl[k % nr] != run_node[r]; k++)
			;
		if (k == 2 * nr)
			order_ok = false;
		pos = k + 1;
	}
	report(order_ok && runs >= 2,
	       "fill: %u runs of nodes follow node %u's fallback order", runs,
	       zl[0]);
	pref_pages = place.topo.node_mem[zl[0]] / PAGE_SIZE;
	report(runs && run_node[0] == zl[0] && run_len[0] >= pref_pages * 3 / 4,
	       "fill: the preferred node %u took %lu pages first (holds %lu)",
	       zl[0], runs ? run_len[0] : 0, pref_pages);
}

int main(int argc, char **argv)
{
	uint64_t rstart = 0, rlen = 0, rmask = 0, base = 0, fill;
	const char *s = boot_arg("range"), *e;
	bool have_range = false, have_pref;
	uint8_t zl[NV_MAX_NODES];
	unsigned int nr = 0, k;
	char buf[48];
	int pref = -1, home;

	if (s) {
		have_range = place_parse_range(s, &e, &rstart, &rlen) && !*e &&
			     place_arg_nodes("range-nodes", &rmask);
		report(have_range, "boot arguments range=%s range-nodes=LIST",
		       s);
	}
	have_pref = boot_arg("pref") != NULL;
	if (!place_init())
		return report_summary();
	if (have_range)
		place_reserve(rstart, rlen);
	startup_checks(have_range, rstart, rmask);

	fill = boot_arg_u64("pages", 256);
	if (place.numavm) {
		home = place.cpu_node[0];
		pref = (int)boot_arg_u64("pref", 0);
		if (!have_pref) {
			/* the node farthest from home with memory */
			for (k = 0; k < place.topo.nr_nodes; k++)
				if ((place.mem_nodes >> k) & 1 &&
				    (pref < 0 || !((place.mem_nodes >> pref) & 1) ||
				     place.topo.distance[home][k] >=
				     place.topo.distance[home][pref]))
					pref = (int)k;
			report(nv_set_policy(MPOL_PREFERRED, 1ULL << pref,
					     NULL) == 0,
			       "vCPU 0 sets preferred node %d", pref);
		}
		nr = zonelist((unsigned int)pref, zl);
		for (k = 0, buf[0] = 0; k < nr; k++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
				 "%s%u", k ? " " : "", zl[k]);
		report_info("preferred node %d, fallback order %s", pref, buf);
		if (!boot_arg("pages")) {
			fill = 0;
			for (k = 0; k < nr && k < 3; k++)
				fill += place.topo.node_mem[zl[k]] /
					(k == 2 ? 4 : 1);
			fill /= PAGE_SIZE;
		}
	}
	while (fill >= 16 && !(base = place_alloc(fill * PAGE_SIZE, 2 * MiB)))
		fill -= fill / 8;
	if (!base) {
		report(false, "room for the fill region");
		return report_summary();
	}
	report_info("fill: %lu pages (%lu MiB) at 0x%lx", fill,
		    fill * PAGE_SIZE / MiB, base);
	place_fill(base, fill, 0, 0x9e3);
	report(!place_check(base, fill, 0, 0x9e3),
	       "fill: %lu pages read back, rest zero", fill);
	if (place_need("preferred fill and fallback order")) {
		if (nr < 2)
			report_skip("fallback order: one node with memory");
		else
			check_fill(base, fill, zl, nr);
	}
	return report_summary();
}

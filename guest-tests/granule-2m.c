/*
 * 2 MiB fault granularity (numavm --granule 2M, configs/huge-2m.ini): one
 * touch places the whole aligned 2 MiB block, from one node.  Each vCPU
 * touches a single page in each of its own blocks; every one of the 512
 * pages of a block must then be backed (NV_HC_GET_NODE), all on the same
 * node, the toucher's home node, and read zero except the touched word.
 * Then vCPU 0 interleaves (NV_HC_SET_POLICY) over the nodes with memory:
 * interleave goes by granule, so consecutive blocks touched in order take
 * the nodes round robin, each block whole on one node.
 *
 * Boot argument blocks=N per vCPU (default 8 under numavm, 2 otherwise).
 */
#include "libcflat.h"
#include "place.h"
#include "smp.h"

#define BLOCK		(2 * MiB)
#define BLOCK_PAGES	(BLOCK / PAGE_SIZE)
#define TOUCH_PAGE	100	/* the page of each block that is written */
#define MAX_BLOCKS	256

static unsigned long blocks;
static uint64_t base;
static int owner[MAX_BLOCKS];

/* CPU c writes one word in blocks c, c + ncpu, ... */
static void touch_blocks(void *arg)
{
	unsigned long j, n = blocks * place.nr_cpus;
	int id = smp_id();
	uint64_t gpa;

	for (j = id; j < n; j += place.nr_cpus) {
		gpa = base + j * BLOCK + TOUCH_PAGE * PAGE_SIZE;
		*place_p64(gpa) =
			place_pattern(gpa, (uint32_t)(uintptr_t)arg);
		owner[j] = id;
	}
}

/* Zero everywhere but the touched word, which holds its pattern */
static unsigned long bad_block_data(uint64_t b, uint32_t seed)
{
	uint64_t gpa = b + TOUCH_PAGE * PAGE_SIZE;
	unsigned long zero;

	zero = place_count_zero(b, TOUCH_PAGE, 0) +
	       place_count_zero(gpa + PAGE_SIZE, BLOCK_PAGES - TOUCH_PAGE - 1,
				0);
	return (BLOCK_PAGES - 1 - zero) +
	       (*place_p64(gpa) != place_pattern(gpa, seed));
}

/* The node of every page of block @b if they agree, else -1 (or an NV_E*) */
static int block_node(uint64_t b)
{
	int node = place_node(b), x;
	unsigned long i;

	for (i = 1; i < BLOCK_PAGES; i++) {
		x = place_node(b + i * PAGE_SIZE);
		if (x != node) {
			report_info("block 0x%lx: page 0 on node %d, page %lu on %d",
				    b, node, i, x);
			return node < 0 ? node : -1;
		}
	}
	return node;
}

static int32_t il_ret;

int main(int argc, char **argv)
{
	unsigned long j, n, bad = 0, split = 0, off_home = 0, off_rr = 0;
	unsigned int nr, k0 = 0;
	int node, want;

	if (!place_init())
		return report_summary();
	blocks = boot_arg_u64("blocks", place.numavm ? 8 : 2);
	if (blocks * place.nr_cpus > MAX_BLOCKS)
		blocks = MAX_BLOCKS / place.nr_cpus;
	n = blocks * place.nr_cpus;
	base = place_alloc(n * BLOCK, BLOCK);
	if (!base) {
		report(false, "room for %lu blocks of 2 MiB", n);
		return report_summary();
	}
	on_cpus(touch_blocks, (void *)(uintptr_t)0x2a1);
	for (j = 0; j < n; j++)
		bad += bad_block_data(base + j * BLOCK, 0x2a1);
	report(!bad, "%lu blocks: one word touched each, the rest of every block reads zero (%lu bad pages)",
	       n, bad);

	if (place_need("2 MiB granules")) {
		for (j = 0; j < n; j++) {
			node = block_node(base + j * BLOCK);
			if (node < 0)
				split++;
			else if (node != place.cpu_node[owner[j]])
				off_home++;
		}
		report(!split, "every page of each touched 2 MiB block backed on one node (%lu blocks not)",
		       split);
		report(!off_home, "each block on its toucher's home node (%lu not)",
		       off_home);
	}

	/* interleave by granule, vCPU 0 alone */
	base = place_alloc(4 * place_nr_nodes(place.numavm ?
					      place.mem_nodes : 1) * BLOCK,
			   BLOCK);
	n = 4 * place_nr_nodes(place.numavm ? place.mem_nodes : 1);
	if (!base) {
		report(false, "room for %lu more blocks", n);
		return report_summary();
	}
	if (place.numavm) {
		il_ret = nv_set_policy(MPOL_INTERLEAVE, place.mem_nodes, NULL);
		report(il_ret == 0, "vCPU 0 interleaves over every node (%s)",
		       il_ret ? nv_strerror(il_ret) : "ok");
	}
	for (j = 0; j < n; j++) {
		uint64_t gpa = base + j * BLOCK + TOUCH_PAGE * PAGE_SIZE;

		*place_p64(gpa) = place_pattern(gpa, 0x2a2);
	}
	for (bad = 0, j = 0; j < n; j++)
		bad += bad_block_data(base + j * BLOCK, 0x2a2);
	report(!bad, "interleave: %lu blocks read back (%lu bad pages)", n,
	       bad);
	if (!place_need("interleave by 2 MiB granule"))
		return report_summary();
	nr = place_nr_nodes(place.mem_nodes);
	node = block_node(base);
	while (k0 < nr && place_nth_node(place.mem_nodes, k0) != node)
		k0++;
	for (split = 0, j = 0; j < n; j++) {
		node = block_node(base + j * BLOCK);
		want = place_nth_node(place.mem_nodes, (k0 + j) % nr);
		if (node < 0)
			split++;
		else if (node != want)
			off_rr++;
	}
	report(!split && !off_rr && k0 < nr,
	       "interleave: %lu blocks whole, round robin over %u nodes (%lu split, %lu off)",
	       n, nr, split, off_rr);
	return report_summary();
}

/*
 * Check suite of numa/, through its public headers: topology validation,
 * fallback order (zonelists) on symmetric and asymmetric matrices, the node
 * sequence every policy mode produces on 2- and 4-node VMs, exhaustion per
 * mode with the exact numastat counters afterwards, range policies (split,
 * merge, override, removal), every bad input with the state unchanged, and
 * a threaded test that changes policies while a vCPU faults.
 *
 * Pools are tiny (64 pages per node) with watermarks min 4 / low 8 / high 12
 * and a per-vCPU cache batch of 1, so that exhaustion points are exact:
 * a node serves 56 order-0 pages at the low watermark and 4 more at min.
 */
#include "numa/numa.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_PAGES 64
#define WM_MIN 4
#define WM_LOW 8
#define AT_LOW (POOL_PAGES - WM_LOW) /* 56 */
#define AT_MIN (WM_LOW - WM_MIN) /* 4 */

#define NODES(...) nodes_of((const int[]){ __VA_ARGS__, -1 })
#define STAT(...) ((struct want_stat){ __VA_ARGS__ })
#define SPEC(...) ((struct mpol_spec){ __VA_ARGS__ })
#define ERR err, sizeof(err)

static nodemask_t nodes_of(const int *n)
{
	nodemask_t m = 0;

	for (; *n >= 0; n++)
		m |= 1U << *n;
	return m;
}

/* The asymmetric 4-node example of docs/numa.md (node 3 has no vCPU) */
static const uint8_t asym4[4][4] = {
	{ 10, 20, 20, 30 },
	{ 20, 10, 30, 21 },
	{ 20, 30, 10, 20 },
	{ 30, 20, 20, 10 },
};

static void mk_topo(struct numa_topology *t, unsigned int nr_nodes,
		    unsigned int nr_vcpus)
{
	char err[128];
	unsigned int n, v;

	ck_assert_int_eq(topo_init(t, nr_nodes, nr_vcpus, ERR), 0);
	for (n = 0; n < nr_nodes; n++)
		t->node_mem[n] = POOL_PAGES * PAGE_SIZE;
	/* vCPU v lives on node v % nr_nodes */
	for (v = 0; v < nr_vcpus; v++)
		t->vcpu_node[v] = (uint8_t)(v % nr_nodes);
}

static void mk_asym4(struct numa_topology *t)
{
	unsigned int a, b;

	mk_topo(t, 4, 3); /* vCPUs 0, 1, 2 on nodes 0, 1, 2 */
	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++)
			t->distance[a][b] = asym4[a][b];
}

static struct numa_vm *mk_vm(const struct numa_topology *t)
{
	char err[256] = "";
	struct numa_vm *nv = numa_vm_create(t, NULL, ERR);
	unsigned int n;

	ck_assert_msg(nv != NULL, "numa_vm_create: %s", err);
	for (n = 0; n < t->nr_nodes; n++) {
		struct buddy *b = numa_node_buddy(nv, n);

		if (!b)
			continue;
		ck_assert_int_eq(buddy_set_watermarks(b, WM_MIN, WM_LOW, 12),
				 0);
		ck_assert_int_eq(buddy_set_pcp(b, 1, 1), 0);
	}
	return nv;
}

static struct numa_vm *mk_vm_n(unsigned int nr_nodes, unsigned int nr_vcpus)
{
	struct numa_topology t;

	mk_topo(&t, nr_nodes, nr_vcpus);
	return mk_vm(&t);
}

/* Node of one allocation, or -errno */
static int alloc_node(struct numa_vm *nv, int vcpu, gpa_t gpa,
		      unsigned int order, unsigned int gfp)
{
	struct numa_page pg;
	int ret = numa_alloc(nv, vcpu, gpa, order, gfp, &pg);

	return ret ? ret : (int)pg.node;
}

/* @n allocations by @vcpu at gpa, gpa + step, ...: the nodes they got */
static void alloc_seq(struct numa_vm *nv, int vcpu, gpa_t gpa, uint64_t step,
		      unsigned int order, int n, int *out)
{
	int i;

	for (i = 0; i < n; i++)
		out[i] = alloc_node(nv, vcpu, gpa + (uint64_t)i * step, order,
				    0);
}

static void assert_seq(const int *got, const int *want, int n)
{
	int i;

	for (i = 0; i < n; i++)
		ck_assert_msg(got[i] == want[i],
			      "allocation %d: node %d, want %d", i, got[i],
			      want[i]);
}

static void set_vcpu(struct numa_vm *nv, int vcpu, enum mpol_mode mode,
		     unsigned int flags, nodemask_t nodes)
{
	struct mpol_spec s = { .mode = mode, .flags = flags, .nodes = nodes };
	char err[256] = "";

	ck_assert_msg(numa_set_vcpu_policy(nv, vcpu, &s, ERR) == 0,
		      "set_vcpu_policy: %s", err);
}

static void set_range(struct numa_vm *nv, gpa_t start, uint64_t len,
		      enum mpol_mode mode, nodemask_t nodes)
{
	struct mpol_spec s = { .mode = mode, .nodes = nodes };
	char err[256] = "";

	ck_assert_msg(numa_set_range_policy(nv, start, len, &s, err,
					    sizeof(err)) == 0,
		      "set_range_policy: %s", err);
}

struct want_stat {
	uint64_t hit, miss, foreign, il_hit, local, other;
};

static void assert_numastat(struct numa_vm *nv, unsigned int node,
			    struct want_stat w)
{
	struct numastat st;

	ck_assert_int_eq(numa_get_numastat(nv, node, &st), 0);
	ck_assert_msg(
		st.numa_hit == w.hit && st.numa_miss == w.miss &&
			st.numa_foreign == w.foreign &&
			st.interleave_hit == w.il_hit &&
			st.local_node == w.local && st.other_node == w.other,
		"node %u: hit %lu miss %lu foreign %lu il %lu local %lu "
		"other %lu; want %lu %lu %lu %lu %lu %lu",
		node, (unsigned long)st.numa_hit, (unsigned long)st.numa_miss,
		(unsigned long)st.numa_foreign,
		(unsigned long)st.interleave_hit, (unsigned long)st.local_node,
		(unsigned long)st.other_node, (unsigned long)w.hit,
		(unsigned long)w.miss, (unsigned long)w.foreign,
		(unsigned long)w.il_hit, (unsigned long)w.local,
		(unsigned long)w.other);
}

/* ---------------------------------------------------------------------- */
/* Topology */

START_TEST(test_topo_valid_defaults)
{
	struct numa_topology t;
	char err[128];
	unsigned int a, b;

	mk_topo(&t, 4, 8);
	ck_assert_int_eq(topo_validate(&t, ERR), 0);
	for (a = 0; a < 4; a++)
		for (b = 0; b < 4; b++)
			ck_assert_uint_eq(t.distance[a][b], a == b ? 10 : 20);
	ck_assert_uint_eq(topo_mem_nodes(&t), 0xf);
	ck_assert_uint_eq(topo_cpu_nodes(&t), 0xf);

	/* memoryless node 2 is valid */
	t.node_mem[2] = 0;
	ck_assert_int_eq(topo_validate(&t, ERR), 0);
	ck_assert_uint_eq(topo_mem_nodes(&t), 0xb);

	/* set_distance: one direction, then both */
	ck_assert_int_eq(topo_set_distance(&t, 0, 1, 40, false, ERR), 0);
	ck_assert_uint_eq(t.distance[0][1], 40);
	ck_assert_uint_eq(t.distance[1][0], 20);
	ck_assert_int_eq(topo_set_distance(&t, 2, 3, 254, true, ERR), 0);
	ck_assert_uint_eq(t.distance[2][3], 254);
	ck_assert_uint_eq(t.distance[3][2], 254);
	ck_assert_int_eq(topo_set_distance(&t, 1, 1, 10, true, ERR), 0);
	ck_assert_int_eq(topo_validate(&t, ERR), 0);
}
END_TEST

static void expect_topo_err(const struct numa_topology *t, const char *what)
{
	char err[256] = "";

	ck_assert_int_eq(topo_validate(t, ERR), -EINVAL);
	ck_assert_msg(strstr(err, what), "message \"%s\" lacks \"%s\"", err,
		      what);
}

START_TEST(test_topo_errors)
{
	struct numa_topology t, saved;
	char err[256] = "";

	ck_assert_int_eq(topo_init(&t, 0, 1, ERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0 nodes"));
	ck_assert_int_eq(topo_init(&t, NUMA_MAX_NODES + 1, 1, ERR), -EINVAL);
	ck_assert_int_eq(topo_init(&t, 1, 0, ERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "0 vCPUs"));
	ck_assert_int_eq(topo_init(&t, 1, NUMA_MAX_VCPUS + 1, ERR), -EINVAL);

	mk_topo(&t, 3, 3);
	t.nr_nodes = 0;
	expect_topo_err(&t, "0 nodes");
	t.nr_nodes = 17;
	expect_topo_err(&t, "17 nodes");
	mk_topo(&t, 3, 3);
	t.nr_vcpus = 0;
	expect_topo_err(&t, "0 vCPUs");
	t.nr_vcpus = 65;
	expect_topo_err(&t, "65 vCPUs");
	mk_topo(&t, 3, 3);
	t.node_mem[1] = PAGE_SIZE + 1;
	expect_topo_err(&t, "node 1 memory");
	mk_topo(&t, 3, 3);
	t.node_mem[0] = t.node_mem[1] = t.node_mem[2] = 0;
	expect_topo_err(&t, "no node has memory");
	mk_topo(&t, 3, 3);
	t.distance[1][1] = 11;
	expect_topo_err(&t, "distance 1->1 is 11");
	mk_topo(&t, 3, 3);
	t.distance[0][2] = 10;
	expect_topo_err(&t, "distance 0->2 is 10");
	mk_topo(&t, 3, 3);
	t.distance[2][0] = 255;
	expect_topo_err(&t, "distance 2->0 is 255");
	mk_topo(&t, 3, 3);
	t.vcpu_node[2] = 3;
	expect_topo_err(&t, "vCPU 2: home node 3");

	/* set_distance errors leave the matrix alone */
	mk_topo(&t, 3, 3);
	saved = t;
	ck_assert_int_eq(topo_set_distance(&t, 0, 3, 20, true, ERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "does not exist"));
	ck_assert_int_eq(topo_set_distance(&t, 0, 1, 10, true, ERR), -EINVAL);
	ck_assert_int_eq(topo_set_distance(&t, 0, 1, 255, true, ERR), -EINVAL);
	ck_assert_int_eq(topo_set_distance(&t, 0, 1, 5, false, ERR), -EINVAL);
	ck_assert_int_eq(topo_set_distance(&t, 2, 2, 20, false, ERR), -EINVAL);
	ck_assert_int_eq(memcmp(&t, &saved, sizeof(t)), 0);

	/* numa_vm_create refuses an invalid topology with the same message */
	t.vcpu_node[0] = 9;
	ck_assert_ptr_null(numa_vm_create(&t, NULL, ERR));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "vCPU 0: home node 9"));
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Zonelists */

static void assert_zonelist(struct numa_vm *nv, unsigned int node,
			    const int *want, unsigned int nr)
{
	const struct zonelist *zl = numa_get_zonelist(nv, node);
	unsigned int i;

	ck_assert_ptr_nonnull(zl);
	ck_assert_msg(zl->nr == nr, "node %u: %u nodes, want %u", node, zl->nr,
		      nr);
	for (i = 0; i < nr; i++)
		ck_assert_msg(zl->node[i] == want[i],
			      "node %u position %u: %u, want %d", node, i,
			      zl->node[i], want[i]);
}

START_TEST(test_zonelist_asym4)
{
	static const int want[4][4] = {
		{ 0, 1, 2, 3 },
		{ 1, 3, 0, 2 },
		{ 2, 3, 0, 1 },
		{ 3, 2, 1, 0 },
	};
	struct numa_topology t;
	struct numa_vm *nv;
	unsigned int n;

	mk_asym4(&t);
	nv = mk_vm(&t);
	for (n = 0; n < 4; n++)
		assert_zonelist(nv, n, want[n], 4);
	ck_assert_ptr_null(numa_get_zonelist(nv, 4));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_zonelist_equal_distances)
{
	/* node_load spreads the second choice round-robin (Linux's intent) */
	static const int want[4][4] = {
		{ 0, 1, 2, 3 },
		{ 1, 2, 3, 0 },
		{ 2, 3, 0, 1 },
		{ 3, 0, 1, 2 },
	};
	struct numa_vm *nv = mk_vm_n(4, 4);
	unsigned int n;

	for (n = 0; n < 4; n++)
		assert_zonelist(nv, n, want[n], 4);
	numa_vm_destroy(nv);

	nv = mk_vm_n(2, 2);
	assert_zonelist(nv, 0, (const int[]){ 0, 1 }, 2);
	assert_zonelist(nv, 1, (const int[]){ 1, 0 }, 2);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_zonelist_memoryless)
{
	struct numa_topology t;
	struct numa_vm *nv;

	mk_topo(&t, 3, 3);
	t.node_mem[1] = 0;
	t.distance[1][2] = t.distance[2][1] = 15;
	nv = mk_vm(&t);
	ck_assert_ptr_null(numa_node_buddy(nv, 1));
	assert_zonelist(nv, 0, (const int[]){ 0, 2 }, 2);
	assert_zonelist(nv, 1, (const int[]){ 2, 0 }, 2);
	assert_zonelist(nv, 2, (const int[]){ 2, 0 }, 2);
	/* vCPU 1 lives on memoryless node 1: default goes to node 2 */
	ck_assert_int_eq(alloc_node(nv, 1, 0, 0, 0), 2);
	assert_numastat(nv, 2, STAT(.hit = 1, .other = 1));
	assert_numastat(nv, 1, STAT(0));
	numa_vm_destroy(nv);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Node sequences per mode */

START_TEST(test_mode_default_local)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	struct range_policy r;
	struct mpol_spec back;
	int got[4];

	/* vCPU 1 (node 1), default */
	alloc_seq(nv, 1, 0, PAGE_SIZE, 0, 4, got);
	assert_seq(got, (const int[]){ 1, 1, 1, 1 }, 4);
	/* the host context is local to node 0 */
	alloc_seq(nv, NUMA_HOST, 0, PAGE_SIZE, 0, 2, got);
	assert_seq(got, (const int[]){ 0, 0 }, 2);
	ck_assert_int_eq(numa_vcpu_node(nv, NUMA_HOST), 0);
	/* local, on vCPU 0 */
	set_vcpu(nv, 0, MPOL_LOCAL, 0, 0);
	alloc_seq(nv, 0, 0, PAGE_SIZE, 2, 3, got);
	assert_seq(got, (const int[]){ 0, 0, 0 }, 3);
	/* preferred with no node is local, and reads back as local */
	set_vcpu(nv, 1, MPOL_PREFERRED, 0, 0);
	ck_assert_int_eq(alloc_node(nv, 1, 0, 0, 0), 1);
	ck_assert_int_eq(numa_get_vcpu_policy(nv, 1, &back), 0);
	ck_assert_int_eq(back.mode, MPOL_LOCAL);
	ck_assert_uint_eq(back.nodes, 0);
	set_range(nv, 0, PAGE_SIZE, MPOL_PREFERRED, 0);
	ck_assert_uint_eq(numa_get_range_policies(nv, &r, 1), 1);
	ck_assert_int_eq(r.pol.spec.mode, MPOL_LOCAL);
	ck_assert_int_eq(r.pol.mode, MPOL_LOCAL);

	assert_numastat(nv, 0, STAT(.hit = 5, .local = 5));
	assert_numastat(nv, 1, STAT(.hit = 5, .local = 5));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_preferred_bind_4)
{
	struct numa_topology t;
	struct numa_vm *nv;
	int got[3];

	mk_asym4(&t);
	nv = mk_vm(&t);
	/* preferred {2,3} from vCPU 0: the first node, 2 */
	set_vcpu(nv, 0, MPOL_PREFERRED, 0, NODES(2, 3));
	alloc_seq(nv, 0, 0, PAGE_SIZE, 0, 3, got);
	assert_seq(got, (const int[]){ 2, 2, 2 }, 3);
	/* bind {0,3} from vCPU 1: node 1's zonelist is 1 3 0 2 -> 3 */
	set_vcpu(nv, 1, MPOL_BIND, 0, NODES(0, 3));
	alloc_seq(nv, 1, 0, PAGE_SIZE, 0, 3, got);
	assert_seq(got, (const int[]){ 3, 3, 3 }, 3);
	/* bind {0,1} from vCPU 2: zonelist 2 3 0 1 -> 0 */
	set_vcpu(nv, 2, MPOL_BIND, 0, NODES(0, 1));
	alloc_seq(nv, 2, 0, PAGE_SIZE, 0, 3, got);
	assert_seq(got, (const int[]){ 0, 0, 0 }, 3);
	/* preferred-many {0,2} from vCPU 1: zonelist 1 3 0 2 -> 0 */
	set_vcpu(nv, 1, MPOL_PREFERRED_MANY, 0, NODES(0, 2));
	alloc_seq(nv, 1, 0, PAGE_SIZE, 0, 3, got);
	assert_seq(got, (const int[]){ 0, 0, 0 }, 3);

	assert_numastat(nv, 0, STAT(.hit = 6, .other = 6));
	assert_numastat(nv, 1, STAT(0));
	assert_numastat(nv, 2, STAT(.hit = 3, .other = 3));
	assert_numastat(nv, 3, STAT(.hit = 3, .other = 3));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_interleave_per_vcpu)
{
	struct numa_vm *nv = mk_vm_n(4, 4);
	struct numa_vcpu_stats vs;
	int got[8];

	set_vcpu(nv, 0, MPOL_INTERLEAVE, 0, NODES(0, 1, 3));
	set_vcpu(nv, 1, MPOL_INTERLEAVE, 0, NODES(1, 2));
	/* round-robin per vCPU, independent cursors, gpa irrelevant */
	alloc_seq(nv, 0, 0, 0, 0, 4, got);
	assert_seq(got, (const int[]){ 0, 1, 3, 0 }, 4);
	alloc_seq(nv, 1, 0, PAGE_SIZE, 0, 3, got);
	assert_seq(got, (const int[]){ 1, 2, 1 }, 3);
	alloc_seq(nv, 0, 0, 0, 3, 3, got);
	assert_seq(got, (const int[]){ 1, 3, 0 }, 3);
	/* a new policy restarts the cursor (set_mempolicy resets il_prev) */
	set_vcpu(nv, 0, MPOL_INTERLEAVE, 0, NODES(0, 1, 3));
	alloc_seq(nv, 0, 0, 0, 0, 2, got);
	assert_seq(got, (const int[]){ 0, 1 }, 2);

	/* every pick hit its target: interleave_hit == numa_hit */
	assert_numastat(nv, 0, STAT(.hit = 4, .il_hit = 4, .local = 4));
	assert_numastat(nv, 1,
			STAT(.hit = 5, .il_hit = 5, .local = 2, .other = 3));
	assert_numastat(nv, 2, STAT(.hit = 1, .il_hit = 1, .other = 1));
	assert_numastat(nv, 3, STAT(.hit = 2, .il_hit = 2, .other = 2));
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 0, &vs), 0);
	ck_assert_uint_eq(vs.faults, 9);
	ck_assert_uint_eq(vs.alloc[0], 4);
	ck_assert_uint_eq(vs.alloc[1], 3);
	ck_assert_uint_eq(vs.alloc[3], 2);
	ck_assert_uint_eq(vs.alloc_pages[0], 1 + 1 + 8 + 1);
	ck_assert_uint_eq(vs.alloc_pages[1], 1 + 8 + 1);
	ck_assert_uint_eq(vs.alloc_pages[3], 1 + 8);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_range_interleave_offset)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	const gpa_t base = 0x100000;
	int got[8], i;

	set_range(nv, base, 16 * PAGE_SIZE, MPOL_INTERLEAVE, NODES(0, 1));
	/* faulting in any order: node = page offset % 2 */
	for (i = 7; i >= 0; i--)
		got[7 - i] = alloc_node(nv, i % 2, base + i * PAGE_SIZE, 0, 0);
	assert_seq(got, (const int[]){ 1, 0, 1, 0, 1, 0, 1, 0 }, 8);
	/* order 1: the index counts 2-page granules */
	alloc_seq(nv, 0, base + 8 * PAGE_SIZE, 2 * PAGE_SIZE, 1, 4, got);
	assert_seq(got, (const int[]){ 0, 1, 0, 1 }, 4);
	/* outside the range the vCPU (default) policy applies */
	ck_assert_int_eq(alloc_node(nv, 1, base + 16 * PAGE_SIZE, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 1, base - PAGE_SIZE, 0, 0), 1);
	assert_numastat(nv, 0, STAT(.hit = 6, .il_hit = 6, .local = 6));
	assert_numastat(nv, 1,
			STAT(.hit = 8, .il_hit = 6, .local = 6, .other = 2));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_weighted_interleave)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	struct mpol_spec s = { .mode = MPOL_WEIGHTED_INTERLEAVE,
			       .nodes = NODES(0, 1),
			       .weights = { [0] = 3, [1] = 1 } };
	struct mpol_spec back;
	char err[256];
	int got[8];

	ck_assert_int_eq(numa_set_vcpu_policy(nv, 1, &s, ERR), 0);
	alloc_seq(nv, 1, 0, 0, 0, 8, got);
	assert_seq(got, (const int[]){ 0, 0, 0, 1, 0, 0, 0, 1 }, 8);
	ck_assert_int_eq(numa_get_vcpu_policy(nv, 1, &back), 0);
	ck_assert_int_eq(memcmp(&back, &s, sizeof(s)), 0);

	/* as a range policy: by offset, 3:1 */
	ck_assert_int_eq(
		numa_set_range_policy(nv, 0x200000, 8 * PAGE_SIZE, &s, ERR), 0);
	alloc_seq(nv, 0, 0x200000 + 7 * PAGE_SIZE, -PAGE_SIZE, 0, 8, got);
	assert_seq(got, (const int[]){ 1, 0, 0, 0, 1, 0, 0, 0 }, 8);

	/* weight 0 means 1: plain round robin */
	memset(s.weights, 0, sizeof(s.weights));
	s.nodes = NODES(0, 1);
	ck_assert_int_eq(numa_set_vcpu_policy(nv, 0, &s, ERR), 0);
	alloc_seq(nv, 0, 0, 0, 0, 4, got);
	assert_seq(got, (const int[]){ 0, 1, 0, 1 }, 4);
	assert_numastat(nv, 0,
			STAT(.hit = 14, .il_hit = 14, .local = 8, .other = 6));
	assert_numastat(nv, 1,
			STAT(.hit = 6, .il_hit = 6, .local = 2, .other = 4));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_flags)
{
	struct numa_topology t;
	struct numa_vm *nv;
	int got[6];

	/* 4 nodes, node 1 memoryless: allowed = {0, 2, 3} */
	mk_topo(&t, 4, 4);
	t.node_mem[1] = 0;
	nv = mk_vm(&t);
	/* relative: bit i = i-th allowed node; bits 0,1 -> nodes 0,2 */
	set_vcpu(nv, 0, MPOL_INTERLEAVE, MPOL_F_RELATIVE_NODES, NODES(0, 1));
	alloc_seq(nv, 0, 0, 0, 0, 4, got);
	assert_seq(got, (const int[]){ 0, 2, 0, 2 }, 4);
	/* relative bits fold past the 3 allowed nodes: bit 5 -> 2 -> node 3 */
	set_vcpu(nv, 0, MPOL_BIND, MPOL_F_RELATIVE_NODES, NODES(5));
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, 0), 3);
	/* static: {1,2} without the memoryless node 1 is {2} */
	set_vcpu(nv, 0, MPOL_INTERLEAVE, MPOL_F_STATIC_NODES, NODES(1, 2));
	alloc_seq(nv, 0, 0, 0, 0, 2, got);
	assert_seq(got, (const int[]){ 2, 2 }, 2);
	/* plain sets are intersected the same way */
	set_vcpu(nv, 0, MPOL_PREFERRED, 0, NODES(1, 3));
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, 0), 3);

	assert_numastat(nv, 0, STAT(.hit = 2, .il_hit = 2, .local = 2));
	assert_numastat(nv, 1, STAT(0));
	assert_numastat(nv, 2, STAT(.hit = 4, .il_hit = 4, .other = 4));
	assert_numastat(nv, 3, STAT(.hit = 2, .other = 2));

	ck_assert_uint_eq(mpol_relative_nodemask(NODES(0, 1), NODES(0, 2, 3)),
			  NODES(0, 2));
	ck_assert_uint_eq(mpol_relative_nodemask(NODES(3), NODES(0, 2, 3)),
			  NODES(0));
	ck_assert_uint_eq(
		mpol_relative_nodemask(NODES(0, 1, 2, 3, 4), NODES(5, 9)),
		NODES(5, 9));
	ck_assert_uint_eq(mpol_relative_nodemask(NODES(1), 0), 0);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * Every mode on a 2- and a 4-node VM (equal distances), as a vCPU policy and
 * as a range policy: vCPU 1 (home node 1) faults 8 consecutive pages.
 * Zonelists: 2 nodes 0:[0 1] 1:[1 0]; 4 nodes 1:[1 2 3 0].
 */
static const struct mode_row {
	unsigned int nr_nodes;
	struct mpol_spec spec;
	int want[8];
} mode_rows[] = {
	{ 2, { .mode = MPOL_DEFAULT }, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ 2, { .mode = MPOL_LOCAL }, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ 2,
	  { .mode = MPOL_PREFERRED, .nodes = 1 },
	  { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ 2,
	  { .mode = MPOL_PREFERRED_MANY, .nodes = 1 },
	  { 0, 0, 0, 0, 0, 0, 0, 0 } },
	{ 2, { .mode = MPOL_BIND, .nodes = 3 }, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ 2,
	  { .mode = MPOL_INTERLEAVE, .nodes = 3 },
	  { 0, 1, 0, 1, 0, 1, 0, 1 } },
	{ 2,
	  { .mode = MPOL_WEIGHTED_INTERLEAVE, .nodes = 3, .weights = { 1, 3 } },
	  { 0, 1, 1, 1, 0, 1, 1, 1 } },
	{ 4, { .mode = MPOL_DEFAULT }, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ 4, { .mode = MPOL_LOCAL }, { 1, 1, 1, 1, 1, 1, 1, 1 } },
	{ 4,
	  { .mode = MPOL_PREFERRED, .nodes = 8 },
	  { 3, 3, 3, 3, 3, 3, 3, 3 } },
	{ 4,
	  { .mode = MPOL_PREFERRED_MANY, .nodes = 9 },
	  { 3, 3, 3, 3, 3, 3, 3, 3 } },
	{ 4, { .mode = MPOL_BIND, .nodes = 5 }, { 2, 2, 2, 2, 2, 2, 2, 2 } },
	{ 4,
	  { .mode = MPOL_INTERLEAVE, .nodes = 13 },
	  { 0, 2, 3, 0, 2, 3, 0, 2 } },
	{ 4,
	  { .mode = MPOL_WEIGHTED_INTERLEAVE,
	    .nodes = 13,
	    .weights = { [0] = 2, [2] = 1, [3] = 1 } },
	  { 0, 0, 2, 3, 0, 0, 2, 3 } },
};

START_TEST(test_mode_table)
{
	const struct mode_row *row = &mode_rows[_i / 2];
	bool range = _i & 1;
	struct numa_vm *nv = mk_vm_n(row->nr_nodes, row->nr_nodes);
	struct numa_vcpu_stats vs;
	const gpa_t base = 0x400000;
	char err[256] = "";
	int got[8];

	if (range)
		ck_assert_msg(numa_set_range_policy(nv, base, 8 * PAGE_SIZE,
						    &row->spec, ERR) == 0,
			      "%s", err);
	else
		ck_assert_msg(numa_set_vcpu_policy(nv, 1, &row->spec, ERR) == 0,
			      "%s", err);
	alloc_seq(nv, 1, base, PAGE_SIZE, 0, 8, got);
	ck_assert_msg(memcmp(got, row->want, sizeof(got)) == 0,
		      "%s %s on %u nodes: %d %d %d %d %d %d %d %d",
		      range ? "range" : "vcpu", mpol_mode_name(row->spec.mode),
		      row->nr_nodes, got[0], got[1], got[2], got[3], got[4],
		      got[5], got[6], got[7]);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 1, &vs), 0);
	ck_assert_uint_eq(vs.faults, 8);
	for (int i = 0; i < 8; i++) {
		unsigned int n = (unsigned int)row->want[i];
		bool il = row->spec.mode == MPOL_INTERLEAVE ||
			  row->spec.mode == MPOL_WEIGHTED_INTERLEAVE;

		/* undo the counts as we go: all must end at zero */
		vs.alloc[n]--;
		vs.node[n].numa_hit--;
		if (il)
			vs.node[n].interleave_hit--;
		if (n == 1)
			vs.node[n].local_node--;
		else
			vs.node[n].other_node--;
	}
	for (unsigned int n = 0; n < row->nr_nodes; n++)
		ck_assert_msg(!vs.alloc[n] && !vs.node[n].numa_hit &&
				      !vs.node[n].numa_miss &&
				      !vs.node[n].numa_foreign &&
				      !vs.node[n].interleave_hit &&
				      !vs.node[n].local_node &&
				      !vs.node[n].other_node,
			      "node %u counters off", n);
	numa_vm_destroy(nv);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Exhaustion */

/* Allocate until failure; returns how many succeeded, nodes in @out */
static int alloc_until_fail(struct numa_vm *nv, int vcpu, int *out, int max)
{
	int i, node;

	for (i = 0; i < max; i++) {
		node = alloc_node(nv, vcpu, 0, 0, 0);
		if (node < 0) {
			ck_assert_int_eq(node, -ENOMEM);
			return i;
		}
		if (out)
			out[i] = node;
	}
	ck_abort_msg("no failure after %d allocations", max);
	return -1;
}

/* out[from..from+n) all == node */
static void assert_run(const int *out, int from, int n, int node)
{
	int i;

	for (i = from; i < from + n; i++)
		ck_assert_msg(out[i] == node,
			      "allocation %d on node %d, want %d", i, out[i],
			      node);
}

START_TEST(test_exhaust_bind)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	struct numa_vcpu_stats vs;
	int out[256];

	set_vcpu(nv, 0, MPOL_BIND, 0, NODES(1));
	ck_assert_int_eq(alloc_until_fail(nv, 0, out, 256), AT_LOW + AT_MIN);
	assert_run(out, 0, AT_LOW + AT_MIN, 1);
	/* node 0 is untouched: bind never leaves its set */
	ck_assert(buddy_watermark_ok(numa_node_buddy(nv, 0), 0,
				     BUDDY_WMARK_HIGH));
	/* another failure is counted again */
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, 0), -ENOMEM);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 0, &vs), 0);
	ck_assert_uint_eq(vs.faults, AT_LOW + AT_MIN + 2);
	ck_assert_uint_eq(vs.alloc_fail, 2);
	ck_assert_uint_eq(vs.alloc[1], AT_LOW + AT_MIN);
	assert_numastat(nv, 0, STAT(0));
	assert_numastat(nv, 1, STAT(.hit = 60, .other = 60));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_exhaust_default)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	int out[256];

	/* low on node 0, low on node 1 (fast path), then min on each */
	ck_assert_int_eq(alloc_until_fail(nv, 0, out, 256),
			 2 * (AT_LOW + AT_MIN));
	assert_run(out, 0, AT_LOW, 0);
	assert_run(out, AT_LOW, AT_LOW, 1);
	assert_run(out, 2 * AT_LOW, AT_MIN, 0);
	assert_run(out, 2 * AT_LOW + AT_MIN, AT_MIN, 1);
	assert_numastat(nv, 0, STAT(.hit = 60, .foreign = 60, .local = 60));
	assert_numastat(nv, 1, STAT(.miss = 60, .other = 60));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_exhaust_preferred_thisnode)
{
	struct numa_topology t;
	struct numa_vm *nv;
	int out[512];

	mk_asym4(&t);
	nv = mk_vm(&t);
	/* THISNODE: only the policy's node, no fallback */
	set_vcpu(nv, 0, MPOL_PREFERRED, 0, NODES(1));
	ck_assert_int_eq(numa_alloc(nv, 0, 0, 0, 7, &(struct numa_page){ 0 }),
			 -EINVAL);
	for (int i = 0; i < AT_LOW + AT_MIN; i++)
		ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), -ENOMEM);
	/* without it, preferred 1 falls back along node 1's list: 3 0 2 */
	ck_assert_int_eq(alloc_until_fail(nv, 0, out, 512),
			 3 * (AT_LOW + AT_MIN));
	assert_run(out, 0, AT_LOW, 3);
	assert_run(out, AT_LOW, AT_LOW, 0);
	assert_run(out, 2 * AT_LOW, AT_LOW, 2);
	assert_run(out, 3 * AT_LOW, AT_MIN, 3);
	assert_run(out, 3 * AT_LOW + AT_MIN, AT_MIN, 0);
	assert_run(out, 3 * AT_LOW + 2 * AT_MIN, AT_MIN, 2);
	/* vCPU 0 lives on node 0 */
	assert_numastat(nv, 0, STAT(.miss = 60, .local = 60));
	assert_numastat(nv, 1, STAT(.hit = 60, .foreign = 180, .other = 60));
	assert_numastat(nv, 2, STAT(.miss = 60, .other = 60));
	assert_numastat(nv, 3, STAT(.miss = 60, .other = 60));
	numa_vm_destroy(nv);
}
END_TEST

/*
 * NUMA_GFP_THISNODE is the node the policy chose and nothing else: not the
 * first node with memory of that node's zonelist, not another node of a
 * bind set.
 */
START_TEST(test_thisnode_chosen_node)
{
	struct numa_vcpu_stats vs;
	struct numa_topology t;
	struct numa_vm *nv;

	/* vCPU 2 lives on memoryless node 2: default chooses node 2 */
	mk_topo(&t, 3, 3);
	t.node_mem[2] = 0;
	nv = mk_vm(&t);
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, NUMA_GFP_THISNODE), -ENOMEM);
	ck_assert_int_eq(alloc_node(nv, 2, 0, 3, NUMA_GFP_THISNODE), -ENOMEM);
	/* without the flag it falls back to the nearest node with memory */
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, 0), 0);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 2, &vs), 0);
	ck_assert_uint_eq(vs.alloc_fail, 2);
	ck_assert_uint_eq(vs.faults, 3);
	/* preferred {1} chooses node 1 wherever the vCPU lives */
	set_vcpu(nv, 2, MPOL_PREFERRED, 0, NODES(1));
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, NUMA_GFP_THISNODE), 1);
	numa_vm_destroy(nv);

	/* bind {1}: the chosen node is the home node, if it is in the set */
	nv = mk_vm_n(3, 3);
	set_vcpu(nv, 2, MPOL_BIND, 0, NODES(1));
	set_vcpu(nv, 1, MPOL_BIND, 0, NODES(1));
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, NUMA_GFP_THISNODE), -ENOMEM);
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 1, 0, 0, NUMA_GFP_THISNODE), 1);
	/* preferred-many {1,2}: home 0 is outside, home 2 inside */
	set_vcpu(nv, 0, MPOL_PREFERRED_MANY, 0, NODES(1, 2));
	set_vcpu(nv, 2, MPOL_PREFERRED_MANY, 0, NODES(1, 2));
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), -ENOMEM);
	ck_assert_int_eq(alloc_node(nv, 2, 0, 0, NUMA_GFP_THISNODE), 2);
	/* a range policy chooses too: interleave {0,1} by page offset */
	set_range(nv, 0, 4 * PAGE_SIZE, MPOL_INTERLEAVE, NODES(0, 1));
	ck_assert_int_eq(alloc_node(nv, 2, PAGE_SIZE, 0, NUMA_GFP_THISNODE), 1);
	ck_assert_int_eq(alloc_node(nv, 2, 2 * PAGE_SIZE, 0, NUMA_GFP_THISNODE),
			 0);
	assert_numastat(nv, 2, STAT(.hit = 1, .local = 1));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_exhaust_preferred_many)
{
	struct numa_topology t;
	struct numa_vm *nv;
	int out[512];

	mk_asym4(&t);
	nv = mk_vm(&t);
	/* vCPU 0 (zonelist 0 1 2 3), preferred-many {1,2} */
	set_vcpu(nv, 0, MPOL_PREFERRED_MANY, 0, NODES(1, 2));
	ck_assert_int_eq(alloc_until_fail(nv, 0, out, 512),
			 4 * (AT_LOW + AT_MIN));
	/* pass 1 inside {1,2}: low, then min */
	assert_run(out, 0, AT_LOW, 1);
	assert_run(out, AT_LOW, AT_LOW, 2);
	assert_run(out, 2 * AT_LOW, AT_MIN, 1);
	assert_run(out, 2 * AT_LOW + AT_MIN, AT_MIN, 2);
	/* pass 2, every node: 0 and 3 remain */
	assert_run(out, 2 * AT_LOW + 2 * AT_MIN, AT_LOW, 0);
	assert_run(out, 3 * AT_LOW + 2 * AT_MIN, AT_LOW, 3);
	assert_run(out, 4 * AT_LOW + 2 * AT_MIN, AT_MIN, 0);
	assert_run(out, 4 * AT_LOW + 3 * AT_MIN, AT_MIN, 3);
	/* pass 1 prefers node 1, pass 2 node 0 */
	assert_numastat(nv, 0, STAT(.hit = 60, .foreign = 60, .local = 60));
	assert_numastat(nv, 1, STAT(.hit = 60, .foreign = 60, .other = 60));
	assert_numastat(nv, 2, STAT(.miss = 60, .other = 60));
	assert_numastat(nv, 3, STAT(.miss = 60, .other = 60));
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_exhaust_interleave)
{
	struct numa_topology t;
	struct numa_vm *nv;
	struct numa_vcpu_stats vs;
	int got[6];

	mk_asym4(&t);
	nv = mk_vm(&t);
	/* fill node 2 below its low watermark from vCPU 2 (local) */
	for (int i = 0; i < AT_LOW; i++)
		ck_assert_int_eq(alloc_node(nv, 2, 0, 0, 0), 2);
	/* vCPU 0 interleaves {0,2}: node 2's turns go down node 2's list,
	 * 2 3 0 1, to node 3 -- outside the set, as in Linux */
	set_vcpu(nv, 0, MPOL_INTERLEAVE, 0, NODES(0, 2));
	alloc_seq(nv, 0, 0, 0, 0, 6, got);
	assert_seq(got, (const int[]){ 0, 3, 0, 3, 0, 3 }, 6);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 0, &vs), 0);
	ck_assert_uint_eq(vs.node[0].interleave_hit, 3);
	ck_assert_uint_eq(vs.node[3].interleave_hit, 0);
	ck_assert_uint_eq(vs.node[2].numa_foreign, 3);
	assert_numastat(nv, 0, STAT(.hit = 3, .il_hit = 3, .local = 3));
	assert_numastat(nv, 2,
			STAT(.hit = AT_LOW, .foreign = 3, .local = AT_LOW));
	assert_numastat(nv, 3, STAT(.miss = 3, .other = 3));
	/* with THISNODE the full node fails instead */
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), 0);
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), 2);
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, NUMA_GFP_THISNODE), 0);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * Pages parked in per-vCPU caches are not free (they do not count against
 * the watermarks); before failing, numa_alloc() drains the caches and
 * retries once, as Linux's slow path calls drain_all_pages().  A cache
 * limit of 16 with batch 1 keeps the counts exact.
 */
static struct numa_vm *mk_vm_cached(pfn_t pfn[10])
{
	struct numa_vm *nv = mk_vm_n(1, 2);
	struct buddy *b = numa_node_buddy(nv, 0);
	struct buddy_info info;
	struct numa_page pg;
	int i;

	ck_assert_int_eq(buddy_set_pcp(b, 16, 1), 0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(numa_alloc(nv, 0, 0, 0, 0, &pg), 0);
		pfn[i] = pg.pfn;
	}
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(numa_free(nv, 0, pfn[i], 0, 0), 0);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 10);
	ck_assert_uint_eq(info.free_pages, POOL_PAGES - 10);
	return nv;
}

START_TEST(test_exhaust_pcp_drain)
{
	struct buddy_info info;
	struct numa_vm *nv;
	pfn_t pfn[10];
	int i;

	/* vCPU 0 caches 10 pages; vCPU 1 gets them too (remote drain) */
	nv = mk_vm_cached(pfn);
	ck_assert_int_eq(alloc_until_fail(nv, 1, NULL, 256), AT_LOW + AT_MIN);
	buddy_get_info(numa_node_buddy(nv, 0), &info);
	ck_assert_uint_eq(info.pcp_pages, 0);
	ck_assert_uint_eq(info.free_pages, WM_MIN);
	numa_vm_destroy(nv);

	/* vCPU 1 takes the node down to min; vCPU 0 still has its 10 */
	nv = mk_vm_cached(pfn);
	for (i = 0; i < AT_LOW + AT_MIN - 10; i++)
		ck_assert_int_eq(alloc_node(nv, 1, 0, 0, 0), 0);
	ck_assert_int_eq(alloc_until_fail(nv, 0, NULL, 256), 10);
	buddy_get_info(numa_node_buddy(nv, 0), &info);
	ck_assert_uint_eq(info.pcp_pages, 0);
	ck_assert_uint_eq(info.free_pages, WM_MIN);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * Watermarks of a VM: min_free_kbytes from the VM's whole memory, split
 * over the nodes by size (Linux's __setup_per_zone_wmarks()), not each node
 * sized as if it were a machine of its own.  1 GiB + 256 MiB + a
 * memoryless node: min_free_kbytes 4579, 1144 pages, 915 and 228 (the same
 * figures as check_mm's test_wmark_calc).
 */
START_TEST(test_vm_watermarks)
{
	struct numa_topology t;
	struct buddy_info info;
	struct numa_vm *nv;
	char err[256] = "";

	mk_topo(&t, 3, 1);
	t.node_mem[0] = 1ULL << 30;
	t.node_mem[1] = 256ULL << 20;
	t.node_mem[2] = 0;
	nv = numa_vm_create(&t, NULL, ERR);
	ck_assert_msg(nv != NULL, "numa_vm_create: %s", err);
	buddy_get_info(numa_node_buddy(nv, 0), &info);
	ck_assert_uint_eq(info.wmark_min, 915);
	ck_assert_uint_eq(info.wmark_low, 1177);
	ck_assert_uint_eq(info.wmark_high, 1439);
	buddy_get_info(numa_node_buddy(nv, 1), &info);
	ck_assert_uint_eq(info.wmark_min, 228);
	ck_assert_uint_eq(info.wmark_low, 293);
	ck_assert_uint_eq(info.wmark_high, 358);
	ck_assert_ptr_null(numa_node_buddy(nv, 2));
	numa_vm_destroy(nv);

	/* one node: the whole share, as buddy_create() alone gives */
	mk_topo(&t, 1, 1);
	t.node_mem[0] = 1ULL << 30;
	nv = numa_vm_create(&t, NULL, ERR);
	ck_assert_msg(nv != NULL, "numa_vm_create: %s", err);
	buddy_get_info(numa_node_buddy(nv, 0), &info);
	ck_assert_uint_eq(info.wmark_min, 1024);
	ck_assert_uint_eq(info.wmark_low, 1286);
	ck_assert_uint_eq(info.wmark_high, 1548);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_free)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	struct numa_vcpu_stats vs;
	struct numa_page pg;

	ck_assert_int_eq(numa_alloc(nv, 1, 0, 3, 0, &pg), 0);
	ck_assert_uint_eq(pg.node, 1);
	ck_assert(buddy_pfn_allocated(numa_node_buddy(nv, 1), pg.pfn));
	ck_assert_int_eq(numa_free(nv, 1, pg.pfn, 2, 1), -EINVAL);
	ck_assert_int_eq(numa_free(nv, 0, pg.pfn, 3, 1), -EINVAL);
	ck_assert_int_eq(numa_free(nv, 2, pg.pfn, 3, 1), -EINVAL);
	ck_assert_int_eq(numa_free(nv, 1, pg.pfn, 3, 2), -EINVAL);
	ck_assert_int_eq(numa_free(nv, 1, pg.pfn, 3, 1), 0);
	ck_assert_int_eq(numa_free(nv, 1, pg.pfn, 3, 1), -EINVAL);
	ck_assert(!buddy_pfn_allocated(numa_node_buddy(nv, 1), pg.pfn));
	ck_assert_int_eq(numa_alloc(nv, NUMA_HOST, 0, 0, 0, &pg), 0);
	ck_assert_int_eq(numa_free(nv, pg.node, pg.pfn, 0, NUMA_HOST), 0);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 1, &vs), 0);
	ck_assert_uint_eq(vs.free[1], 1);
	ck_assert_uint_eq(vs.alloc_pages[1], 8);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, NUMA_HOST, &vs), 0);
	ck_assert_uint_eq(vs.free[0], 1);
	/* bad arguments to numa_alloc */
	ck_assert_int_eq(numa_alloc(nv, 2, 0, 0, 0, &pg), -EINVAL);
	ck_assert_int_eq(numa_alloc(nv, -2, 0, 0, 0, &pg), -EINVAL);
	ck_assert_int_eq(numa_alloc(nv, 0, 0, MAX_ORDER, 0, &pg), -EINVAL);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 2, &vs), -EINVAL);
	ck_assert_int_eq(numa_get_numastat(nv, 2, &(struct numastat){ 0 }),
			 -EINVAL);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_pool_base)
{
	struct numa_topology t;
	void *pool[NUMA_MAX_NODES] = { 0 };
	struct numa_vm *nv;
	struct numa_page pg;
	char err[128];
	unsigned int n;
	int i;

	mk_topo(&t, 2, 2);
	for (n = 0; n < 2; n++) {
		pool[n] = aligned_alloc(PAGE_SIZE, POOL_PAGES * PAGE_SIZE);
		ck_assert_ptr_nonnull(pool[n]);
	}
	nv = numa_vm_create(&t, pool, ERR);
	ck_assert_ptr_nonnull(nv);
	ck_assert_uint_eq(numa_nr_nodes(nv), 2);
	ck_assert_uint_eq(numa_nr_vcpus(nv), 2);
	ck_assert_int_eq(numa_get_topology(nv)->node_mem[1],
			 POOL_PAGES * PAGE_SIZE);
	ck_assert_int_eq(numa_vcpu_node(nv, 1), 1);
	ck_assert_int_eq(numa_vcpu_node(nv, 2), -EINVAL);
	ck_assert_ptr_null(numa_node_buddy(nv, 2));
	for (i = 0; i < 4; i++) {
		char *addr;

		ck_assert_int_eq(numa_alloc(nv, i & 1, 0, 0, 0, &pg), 0);
		ck_assert_uint_eq(pg.node, (unsigned int)(i & 1));
		ck_assert_uint_lt(pg.pfn, POOL_PAGES);
		addr = buddy_pfn_to_addr(numa_node_buddy(nv, pg.node), pg.pfn);
		ck_assert_ptr_eq(addr,
				 (char *)pool[pg.node] + pg.pfn * PAGE_SIZE);
		memset(addr, 0xa5, PAGE_SIZE);
	}
	numa_vm_destroy(nv);
	for (n = 0; n < 2; n++)
		free(pool[n]);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Range policies */

static unsigned int ranges(struct numa_vm *nv, struct range_policy *r)
{
	return numa_get_range_policies(nv, r, NUMA_MAX_RANGES);
}

static void assert_range(const struct range_policy *r, uint64_t start_pg,
			 uint64_t end_pg, uint64_t pgoff, enum mpol_mode mode)
{
	ck_assert_msg(
		r->start == start_pg * PAGE_SIZE &&
			r->end == end_pg * PAGE_SIZE && r->pgoff == pgoff &&
			r->pol.mode == mode,
		"range [%lu, %lu) pgoff %lu mode %d, want [%lu, %lu) %lu %d",
		(unsigned long)(r->start / PAGE_SIZE),
		(unsigned long)(r->end / PAGE_SIZE), (unsigned long)r->pgoff,
		r->pol.mode, (unsigned long)start_pg, (unsigned long)end_pg,
		(unsigned long)pgoff, mode);
}

START_TEST(test_range_split_merge)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	static struct range_policy r[NUMA_MAX_RANGES];
	const nodemask_t both = NODES(0, 1);

	set_range(nv, 0, 16 * PAGE_SIZE, MPOL_INTERLEAVE, both);
	ck_assert_uint_eq(ranges(nv, r), 1);
	/* split: bind in the middle */
	set_range(nv, 4 * PAGE_SIZE, 4 * PAGE_SIZE, MPOL_BIND, NODES(1));
	ck_assert_uint_eq(ranges(nv, r), 3);
	assert_range(&r[0], 0, 4, 0, MPOL_INTERLEAVE);
	assert_range(&r[1], 4, 8, 0, MPOL_BIND);
	assert_range(&r[2], 8, 16, 8, MPOL_INTERLEAVE);
	/* the right part keeps its offsets: page 9 -> node 1, page 10 -> 0 */
	ck_assert_int_eq(alloc_node(nv, 0, 9 * PAGE_SIZE, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 10 * PAGE_SIZE, 0, 0), 0);
	ck_assert_int_eq(alloc_node(nv, 0, 5 * PAGE_SIZE, 0, 0), 1);
	/* the same interleave over everything: pieces keep their offsets,
	 * the new piece continues them, all merge back into one */
	set_range(nv, 0, 16 * PAGE_SIZE, MPOL_INTERLEAVE, both);
	ck_assert_uint_eq(ranges(nv, r), 1);
	assert_range(&r[0], 0, 16, 0, MPOL_INTERLEAVE);
	/* an equal bind range next to one merges, a different one does not */
	set_range(nv, 32 * PAGE_SIZE, 8 * PAGE_SIZE, MPOL_BIND, NODES(0));
	set_range(nv, 40 * PAGE_SIZE, 8 * PAGE_SIZE, MPOL_BIND, NODES(0));
	set_range(nv, 48 * PAGE_SIZE, 8 * PAGE_SIZE, MPOL_BIND, NODES(1));
	ck_assert_uint_eq(ranges(nv, r), 3);
	assert_range(&r[1], 32, 48, 0, MPOL_BIND);
	assert_range(&r[2], 48, 56, 0, MPOL_BIND);
	/* adjacent interleave set separately: offsets restart, no merge */
	set_range(nv, 16 * PAGE_SIZE, 4 * PAGE_SIZE, MPOL_INTERLEAVE, both);
	ck_assert_uint_eq(ranges(nv, r), 4);
	assert_range(&r[1], 16, 20, 0, MPOL_INTERLEAVE);
	ck_assert_int_eq(alloc_node(nv, 1, 16 * PAGE_SIZE, 0, 0), 0);
	/* one call spanning several ranges and a hole replaces them all */
	set_range(nv, 2 * PAGE_SIZE, 50 * PAGE_SIZE, MPOL_PREFERRED, NODES(1));
	ck_assert_uint_eq(ranges(nv, r), 3);
	assert_range(&r[0], 0, 2, 0, MPOL_INTERLEAVE);
	assert_range(&r[1], 2, 52, 0, MPOL_PREFERRED);
	assert_range(&r[2], 52, 56, 4, MPOL_BIND);
	/* removal: default punches holes, then removes everything */
	set_range(nv, 10 * PAGE_SIZE, 10 * PAGE_SIZE, MPOL_DEFAULT, 0);
	ck_assert_uint_eq(ranges(nv, r), 4);
	assert_range(&r[1], 2, 10, 0, MPOL_PREFERRED);
	assert_range(&r[2], 20, 52, 18, MPOL_PREFERRED);
	set_range(nv, 0, 1024 * PAGE_SIZE, MPOL_DEFAULT, 0);
	ck_assert_uint_eq(ranges(nv, r), 0);
	ck_assert_int_eq(alloc_node(nv, 1, 5 * PAGE_SIZE, 0, 0), 1);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_range_override)
{
	struct numa_vm *nv = mk_vm_n(2, 2);
	struct numa_vcpu_stats vs;

	set_vcpu(nv, 0, MPOL_BIND, 0, NODES(0));
	set_range(nv, 0x10000, 0x10000, MPOL_PREFERRED, NODES(1));
	ck_assert_int_eq(alloc_node(nv, 0, 0xf000, 0, 0), 0);
	ck_assert_int_eq(alloc_node(nv, 0, 0x10000, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 0x1f000, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 0x20000, 0, 0), 0);
	/* local as a range policy overrides the vCPU's bind too */
	set_range(nv, 0x10000, 0x10000, MPOL_LOCAL, 0);
	ck_assert_int_eq(alloc_node(nv, 1, 0x10000, 0, 0), 1);
	set_vcpu(nv, 1, MPOL_BIND, 0, NODES(0));
	ck_assert_int_eq(alloc_node(nv, 1, 0x10000, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 1, 0x30000, 0, 0), 0);
	/* removed: the vCPU policy is back */
	set_range(nv, 0x10000, 0x10000, MPOL_DEFAULT, 0);
	ck_assert_int_eq(alloc_node(nv, 1, 0x10000, 0, 0), 0);
	/* host faults obey range policies too */
	set_range(nv, 0, 0x1000, MPOL_BIND, NODES(1));
	ck_assert_int_eq(alloc_node(nv, NUMA_HOST, 0, 0, 0), 1);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, NUMA_HOST, &vs), 0);
	ck_assert_uint_eq(vs.node[1].other_node, 1);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * Random range operations against a page-granular model: every page's
 * policy and interleave index must match, and no two neighbours in the
 * array may be mergeable (the array is always fully merged).
 */
#define MODEL_PAGES 96

struct model_page {
	int pol; /* index into pols[], -1: none */
	uint64_t ilx; /* interleave index of the page (order 0) */
};

START_TEST(test_range_model)
{
	static const struct mpol_spec specs[] = {
		{ .mode = MPOL_DEFAULT },
		{ .mode = MPOL_BIND, .nodes = 1 },
		{ .mode = MPOL_BIND, .nodes = 2 },
		{ .mode = MPOL_INTERLEAVE, .nodes = 3 },
		{ .mode = MPOL_WEIGHTED_INTERLEAVE,
		  .nodes = 3,
		  .weights = { 2, 1 } },
		{ .mode = MPOL_PREFERRED, .nodes = 2 },
	};
	struct mempolicy pols[ARRAY_SIZE(specs)], got;
	static struct range_policy list[NUMA_MAX_RANGES];
	struct model_page model[MODEL_PAGES];
	struct range_tree *rt = malloc(sizeof(*rt));
	uint64_t x = 0x9e3779b97f4a7c15ULL, ilx;
	unsigned int i, p, k, nr, step;
	char err[128];

	ck_assert_ptr_nonnull(rt);
	ck_assert_int_eq(range_init(rt), 0);
	for (i = 0; i < ARRAY_SIZE(specs); i++)
		ck_assert_int_eq(mpol_create(&pols[i], &specs[i], 3, 2, err,
					     sizeof(err)),
				 0);
	for (p = 0; p < MODEL_PAGES; p++)
		model[p].pol = -1;

	for (step = 0; step < 1500; step++) {
		unsigned int a, b, pi;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a = x % MODEL_PAGES;
		b = a + 1 + (x >> 20) % 24;
		if (b > MODEL_PAGES)
			b = MODEL_PAGES;
		pi = (x >> 40) % ARRAY_SIZE(specs);
		ck_assert_int_eq(range_set(rt, (gpa_t)a * PAGE_SIZE,
					   (gpa_t)b * PAGE_SIZE, &pols[pi]),
				 0);
		for (p = a; p < b; p++) {
			if (pi == 0) {
				model[p].pol = -1;
			} else if (model[p].pol < 0 ||
				   !mpol_equal(&pols[model[p].pol],
					       &pols[pi])) {
				model[p].pol = (int)pi;
				model[p].ilx = p - a;
			}
		}
		/* every page as the model says */
		for (p = 0; p < MODEL_PAGES; p++) {
			bool found = range_lookup(rt, (gpa_t)p * PAGE_SIZE, 0,
						  &got, &ilx);

			ck_assert_msg(found == (model[p].pol >= 0),
				      "step %u page %u: found %d", step, p,
				      found);
			if (!found)
				continue;
			ck_assert(mpol_equal(&got, &pols[model[p].pol]));
			if (mpol_is_interleave(&got))
				ck_assert_msg(
					ilx == model[p].ilx,
					"step %u page %u: ilx %lu want %lu",
					step, p, (unsigned long)ilx,
					(unsigned long)model[p].ilx);
		}
		/* sorted, disjoint, fully merged */
		nr = range_list(rt, list, NUMA_MAX_RANGES);
		for (k = 0; k < nr; k++) {
			ck_assert(list[k].start < list[k].end);
			if (!k)
				continue;
			ck_assert(list[k - 1].end <= list[k].start);
			ck_assert_msg(
				!(list[k - 1].end == list[k].start &&
				  mpol_equal(&list[k - 1].pol, &list[k].pol) &&
				  (!mpol_is_interleave(&list[k].pol) ||
				   list[k - 1].pgoff + (list[k - 1].end -
							list[k - 1].start) /
							       PAGE_SIZE ==
					   list[k].pgoff)),
				"step %u: ranges %u and %u not merged", step,
				k - 1, k);
		}
	}
	/* order > 0: the index counts granules, offsets shift by the order */
	ck_assert_int_eq(range_set(rt, 0, MODEL_PAGES * PAGE_SIZE, &pols[0]),
			 0);
	ck_assert_int_eq(range_set(rt, 8 * PAGE_SIZE, 40 * PAGE_SIZE, &pols[3]),
			 0);
	ck_assert_int_eq(
		range_set(rt, 16 * PAGE_SIZE, 20 * PAGE_SIZE, &pols[1]), 0);
	ck_assert(range_lookup(rt, 8 * PAGE_SIZE, 2, &got, &ilx));
	ck_assert_uint_eq(ilx, 0);
	ck_assert(range_lookup(rt, 20 * PAGE_SIZE, 2, &got, &ilx));
	ck_assert_uint_eq(ilx, 3); /* pgoff 12 >> 2 */
	ck_assert(range_lookup(rt, 36 * PAGE_SIZE, 2, &got, &ilx));
	ck_assert_uint_eq(ilx, 7); /* 3 + (16 pages >> 2) */
	ck_assert(!range_lookup(rt, 40 * PAGE_SIZE, 0, &got, &ilx));
	ck_assert_int_eq(range_set(rt, PAGE_SIZE, PAGE_SIZE, &pols[1]),
			 -EINVAL);
	ck_assert_int_eq(range_set(rt, 1, PAGE_SIZE, &pols[1]), -EINVAL);
	range_destroy(rt);
	free(rt);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Bad input: every error, state unchanged */

static void expect_pol_err(struct numa_vm *nv, struct mpol_spec s,
			   const char *what)
{
	static struct range_policy before[NUMA_MAX_RANGES],
		after[NUMA_MAX_RANGES];
	struct mpol_spec p0, p1;
	unsigned int nb, na;
	char err[256] = "";

	ck_assert_int_eq(numa_get_vcpu_policy(nv, 0, &p0), 0);
	nb = ranges(nv, before);
	ck_assert_int_eq(numa_set_vcpu_policy(nv, 0, &s, ERR), -EINVAL);
	ck_assert_msg(strstr(err, what), "vcpu: \"%s\" lacks \"%s\"", err,
		      what);
	err[0] = 0;
	ck_assert_int_eq(
		numa_set_range_policy(nv, 0, PAGE_SIZE, &s, err, sizeof(err)),
		-EINVAL);
	ck_assert_msg(strstr(err, what), "range: \"%s\" lacks \"%s\"", err,
		      what);
	ck_assert_int_eq(numa_get_vcpu_policy(nv, 0, &p1), 0);
	ck_assert_int_eq(memcmp(&p0, &p1, sizeof(p0)), 0);
	na = ranges(nv, after);
	ck_assert_uint_eq(na, nb);
	ck_assert_int_eq(memcmp(before, after, sizeof(before[0]) * na), 0);
}

START_TEST(test_bad_policies)
{
	struct numa_topology t;
	struct numa_vm *nv;
	struct mpol_spec s;
	int got[3];
	char err[256];

	mk_topo(&t, 3, 2);
	t.node_mem[2] = 0; /* memoryless */
	nv = mk_vm(&t);
	set_vcpu(nv, 0, MPOL_INTERLEAVE, 0, NODES(0, 1));
	set_range(nv, 0x100000, 0x4000, MPOL_BIND, NODES(1));
	ck_assert_int_eq(alloc_node(nv, 0, 0, 0, 0), 0);

	expect_pol_err(nv, SPEC(.mode = MPOL_MAX), "unknown policy mode 7");
	expect_pol_err(nv, SPEC(.mode = 99), "unknown policy mode 99");
	expect_pol_err(nv, SPEC(.mode = MPOL_BIND, .flags = 1, .nodes = 1),
		       "unknown mode flags 0x1");
	expect_pol_err(
		nv,
		SPEC(.mode = MPOL_BIND, .flags = MPOL_MODE_FLAGS, .nodes = 1),
		"mutually exclusive");
	expect_pol_err(nv, SPEC(.mode = MPOL_DEFAULT, .nodes = 1),
		       "default takes no node set");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_DEFAULT, .flags = MPOL_F_STATIC_NODES),
		       "default takes no static-nodes");
	expect_pol_err(nv, SPEC(.mode = MPOL_LOCAL, .nodes = 2),
		       "local takes no node set");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_LOCAL, .flags = MPOL_F_RELATIVE_NODES),
		       "local takes no static-nodes");
	expect_pol_err(
		nv, SPEC(.mode = MPOL_PREFERRED, .flags = MPOL_F_STATIC_NODES),
		"preferred with static-nodes/relative-nodes needs a node");
	expect_pol_err(nv, SPEC(.mode = MPOL_BIND),
		       "bind needs a non-empty node set");
	expect_pol_err(nv, SPEC(.mode = MPOL_INTERLEAVE),
		       "interleave needs a non-empty node set");
	expect_pol_err(nv, SPEC(.mode = MPOL_PREFERRED_MANY),
		       "preferred-many needs a non-empty node set");
	expect_pol_err(nv, SPEC(.mode = MPOL_WEIGHTED_INTERLEAVE),
		       "weighted-interleave needs a non-empty node set");
	expect_pol_err(nv, SPEC(.mode = MPOL_BIND, .nodes = NODES(3)),
		       "node 3 does not exist (the VM has 3 nodes)");
	expect_pol_err(nv, SPEC(.mode = MPOL_BIND, .nodes = 1U << 20),
		       "node 20 is beyond the maximum node 15");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_BIND, .flags = MPOL_F_RELATIVE_NODES,
			    .nodes = 1U << 16),
		       "node 16 is beyond");
	expect_pol_err(nv, SPEC(.mode = MPOL_BIND, .nodes = NODES(2)),
		       "none of the nodes 0x4 has memory");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_PREFERRED,
			    .flags = MPOL_F_STATIC_NODES, .nodes = NODES(2)),
		       "has memory");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_INTERLEAVE, .nodes = 3,
			    .weights = { [0] = 2 }),
		       "interleave takes no weights");
	expect_pol_err(nv, SPEC(.mode = MPOL_DEFAULT, .weights = { [1] = 1 }),
		       "takes no weights");
	expect_pol_err(nv,
		       SPEC(.mode = MPOL_WEIGHTED_INTERLEAVE, .nodes = 1,
			    .weights = { [1] = 2 }),
		       "weight given for node 1");

	/* range errors */
	s = (struct mpol_spec){ .mode = MPOL_BIND, .nodes = 1 };
	ck_assert_int_eq(numa_set_range_policy(nv, 0x100, PAGE_SIZE, &s, ERR),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "not page aligned"));
	ck_assert_int_eq(numa_set_range_policy(nv, 0, 0x800, &s, ERR), -EINVAL);
	ck_assert_int_eq(numa_set_range_policy(nv, 0, 0, &s, ERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "empty"));
	ck_assert_int_eq(numa_set_range_policy(nv, -PAGE_SIZE, 2 * PAGE_SIZE,
					       &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "wraps"));
	ck_assert_int_eq(numa_set_vcpu_policy(nv, 2, &s, ERR), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "vCPU 2 does not exist"));
	ck_assert_int_eq(numa_get_vcpu_policy(nv, 5, &s), -EINVAL);

	/* none of that touched vCPU 0's cursor: interleave goes on 1, 0, 1 */
	alloc_seq(nv, 0, 0, 0, 0, 3, got);
	assert_seq(got, (const int[]){ 1, 0, 1 }, 3);
	ck_assert_int_eq(alloc_node(nv, 0, 0x100000, 0, 0), 1);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_range_limit)
{
	struct numa_vm *nv = mk_vm_n(2, 1);
	static struct range_policy before[NUMA_MAX_RANGES],
		after[NUMA_MAX_RANGES];
	struct mpol_spec s = { .mode = MPOL_BIND, .nodes = 1 };
	char err[256];
	unsigned int i;

	for (i = 0; i < NUMA_MAX_RANGES; i++)
		set_range(nv, 2 * i * PAGE_SIZE, PAGE_SIZE, MPOL_BIND,
			  NODES(i & 1));
	ck_assert_uint_eq(ranges(nv, before), NUMA_MAX_RANGES);
	ck_assert_int_eq(numa_set_range_policy(nv, 2 * i * PAGE_SIZE, PAGE_SIZE,
					       &s, ERR),
			 -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err, "more than 256"));
	/* replacing a whole range keeps the count: allowed at the limit */
	s.nodes = 2;
	ck_assert_int_eq(
		numa_set_range_policy(nv, 0, PAGE_SIZE, &s, err, sizeof(err)),
		0);
	ck_assert_uint_eq(ranges(nv, after), NUMA_MAX_RANGES);
	ck_assert_int_eq(after[0].pol.nodes, 2);
	/* filling a hole with an equal neighbour's policy merges */
	set_range(nv, PAGE_SIZE, PAGE_SIZE, MPOL_BIND, NODES(1));
	ck_assert_uint_eq(ranges(nv, after), NUMA_MAX_RANGES - 1);
	assert_range(&after[0], 0, 3, 0, MPOL_BIND);
	/* lookups still right at both ends */
	ck_assert_int_eq(alloc_node(nv, 0, 2 * PAGE_SIZE, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 2 * 255 * PAGE_SIZE, 0, 0), 1);
	ck_assert_int_eq(alloc_node(nv, 0, 2 * 254 * PAGE_SIZE, 0, 0), 0);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * A split at the limit: a different policy on the middle page of a
 * multi-page range needs two more ranges.  -ENOSPC with nothing changed,
 * and the builder must not touch memory past its 256 entries (ASan).
 */
START_TEST(test_range_limit_split)
{
	struct numa_vm *nv = mk_vm_n(2, 1);
	static struct range_policy before[NUMA_MAX_RANGES],
		after[NUMA_MAX_RANGES];
	struct mpol_spec s = { .mode = MPOL_INTERLEAVE, .nodes = NODES(0, 1) };
	static const unsigned int victims[] = { 0, 128, 254, 255 };
	char err[256];
	unsigned int i, v;

	/* 256 ranges of 3 pages, [4i, 4i + 3), bind {0} / {1} alternately */
	for (i = 0; i < NUMA_MAX_RANGES; i++)
		set_range(nv, 4 * i * PAGE_SIZE, 3 * PAGE_SIZE, MPOL_BIND,
			  NODES(i & 1));
	ck_assert_uint_eq(ranges(nv, before), NUMA_MAX_RANGES);
	for (v = 0; v < ARRAY_SIZE(victims); v++) {
		gpa_t mid = (4 * victims[v] + 1) * PAGE_SIZE;

		err[0] = '\0';
		ck_assert_int_eq(
			numa_set_range_policy(nv, mid, PAGE_SIZE, &s, ERR),
			-ENOSPC);
		ck_assert_ptr_nonnull(strstr(err, "more than 256"));
		ck_assert_uint_eq(ranges(nv, after), NUMA_MAX_RANGES);
		ck_assert(!memcmp(before, after, sizeof(before)));
		/* the page still follows the old policy */
		ck_assert_int_eq(alloc_node(nv, 0, mid, 0, 0),
				 (int)(victims[v] & 1));
	}
	/* a new policy in the gap between ranges 0 and 1: one too many */
	ck_assert_int_eq(
		numa_set_range_policy(nv, 3 * PAGE_SIZE, PAGE_SIZE, &s, ERR),
		-ENOSPC);
	/* growing the last range at the limit merges into it: allowed */
	set_range(nv, (4 * 255 + 3) * PAGE_SIZE, PAGE_SIZE, MPOL_BIND,
		  NODES(1));
	ck_assert_uint_eq(ranges(nv, after), NUMA_MAX_RANGES);
	assert_range(&after[255], 4 * 255, 4 * 255 + 4, 0, MPOL_BIND);
	/* filling the gap before it with its policy merges too */
	set_range(nv, (4 * 254 + 3) * PAGE_SIZE, PAGE_SIZE, MPOL_BIND,
		  NODES(1));
	ck_assert_uint_eq(ranges(nv, after), NUMA_MAX_RANGES);
	assert_range(&after[255], 4 * 254 + 3, 4 * 255 + 4, 0, MPOL_BIND);
	numa_vm_destroy(nv);
}
END_TEST

START_TEST(test_mode_names)
{
	enum mpol_mode m;
	unsigned int i;

	for (i = 0; i < MPOL_MAX; i++) {
		ck_assert_ptr_nonnull(mpol_mode_name(i));
		ck_assert_int_eq(mpol_mode_from_name(mpol_mode_name(i), &m), 0);
		ck_assert_int_eq(m, i);
	}
	ck_assert_ptr_null(mpol_mode_name(MPOL_MAX));
	ck_assert_int_eq(mpol_mode_from_name("nope", &m), -EINVAL);
	ck_assert_str_eq(mpol_mode_name(MPOL_WEIGHTED_INTERLEAVE),
			 "weighted-interleave");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Concurrency: a vCPU faults while another thread changes its policies */

/*
 * vCPU policies (and a range policy) changed while the vCPU faults.  vCPU 0
 * lives on node 3 of 4; its policy alternates between bind {2} and
 * interleave {0,1}, so every fault must land on 0, 1 or 2: node 3 would
 * mean a fault that saw neither policy (the default, or a torn copy).  The
 * range [0, 32) alternates between preferred {1} and none.
 */
struct fault_arg {
	struct numa_vm *nv;
	int bad;
	int done; /* faults served so far */
	int stop;
};

static void *fault_thread(void *p)
{
	struct fault_arg *a = p;
	struct numa_page pg;
	int i;

	for (i = 0; !__atomic_load_n(&a->stop, __ATOMIC_RELAXED); i++) {
		if (numa_alloc(a->nv, 0, (gpa_t)(i % 64) * PAGE_SIZE, 0, 0,
			       &pg)) {
			a->bad++;
			continue;
		}
		if (pg.node > 2 || numa_free(a->nv, pg.node, pg.pfn, 0, 0))
			a->bad++;
		__atomic_store_n(&a->done, i + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(test_concurrent_policy_change)
{
	struct fault_arg a = { 0 };
	struct numa_vcpu_stats vs;
	struct numa_topology t;
	struct numastat st[4];
	struct numa_vm *nv;
	pthread_t th;
	uint64_t hit, local, sum;
	unsigned int n;
	int round, done;

	mk_topo(&t, 4, 1);
	t.vcpu_node[0] = 3;
	nv = mk_vm(&t);
	a.nv = nv;
	set_vcpu(nv, 0, MPOL_BIND, 0, NODES(2));
	ck_assert_int_eq(pthread_create(&th, NULL, fault_thread, &a), 0);
	/*
	 * 2000 rounds; each waits until two more faults have finished, so the
	 * second of them started after the change: both states serve faults
	 * whatever the scheduling, and faults overlap the next change.
	 */
	for (round = 0; round < 2000; round++) {
		if (round & 1)
			set_vcpu(nv, 0, MPOL_INTERLEAVE, 0, NODES(0, 1));
		else
			set_vcpu(nv, 0, MPOL_BIND, 0, NODES(2));
		set_range(nv, 0, 32 * PAGE_SIZE,
			  round & 2 ? MPOL_DEFAULT : MPOL_PREFERRED,
			  round & 2 ? 0 : NODES(1));
		done = __atomic_load_n(&a.done, __ATOMIC_RELAXED);
		while (__atomic_load_n(&a.done, __ATOMIC_RELAXED) < done + 2)
			sched_yield();
		/* snapshots are consistent: every fault counted once */
		ck_assert_int_eq(numa_get_vcpu_stats(nv, 0, &vs), 0);
		for (n = 0, sum = 0, hit = 0, local = 0; n < 4; n++) {
			ck_assert_int_eq(numa_get_numastat(nv, n, &st[n]), 0);
			sum += vs.alloc[n];
			hit += vs.node[n].numa_hit + vs.node[n].numa_miss;
			local += vs.node[n].local_node + vs.node[n].other_node;
		}
		ck_assert_uint_eq(vs.faults, sum + vs.alloc_fail);
		ck_assert_uint_eq(hit, sum);
		ck_assert_uint_eq(local, sum);
		ck_assert_uint_eq(vs.alloc[3], 0);
		for (n = 0, hit = 0, local = 0; n < 4; n++) {
			hit += st[n].numa_hit + st[n].numa_miss;
			local += st[n].local_node + st[n].other_node;
		}
		ck_assert_uint_eq(hit, local);
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.bad, 0);
	ck_assert_int_eq(numa_get_vcpu_stats(nv, 0, &vs), 0);
	ck_assert_uint_ge(vs.faults, 2 * 2000);
	ck_assert_uint_eq(vs.faults, (uint64_t)a.done);
	ck_assert_uint_eq(vs.free[0] + vs.free[1] + vs.free[2], vs.faults);
	/* both policies really served faults */
	ck_assert_uint_gt(vs.alloc[2], 0);
	ck_assert_uint_gt(vs.alloc[0] + vs.alloc[1], 0);
	numa_vm_destroy(nv);
}
END_TEST

/*
 * Range policies replaced while a vCPU faults inside them: every lookup
 * must see one whole state of the array.  Pages [0, 64) alternate between
 * A = one range interleave {0,1} (page p on p % 2) and B = bind {2} on
 * [0, 32) + bind {3} on [32, 64); a torn read (the mode of one state with
 * the nodes or bounds of the other) gives another node.
 */
struct range_race_arg {
	struct numa_vm *nv;
	int done; /* faults served so far */
	int bad;
	int stop;
};

static void *range_race_thread(void *p)
{
	struct range_race_arg *a = p;
	struct numa_page pg;
	int i;

	for (i = 0; !__atomic_load_n(&a->stop, __ATOMIC_RELAXED); i++) {
		unsigned int page = (unsigned int)(i * 7) % 64;

		if (numa_alloc(a->nv, 0, (gpa_t)page * PAGE_SIZE, 0, 0, &pg)) {
			a->bad++;
			continue;
		}
		if (pg.node != page % 2 && pg.node != (page < 32 ? 2U : 3U))
			a->bad++;
		if (numa_free(a->nv, pg.node, pg.pfn, 0, 0))
			a->bad++;
		__atomic_store_n(&a->done, i + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

START_TEST(test_concurrent_range_change)
{
	struct numa_vm *nv = mk_vm_n(4, 1);
	struct range_race_arg a = { .nv = nv };
	pthread_t th;
	int round;

	set_range(nv, 0, 64 * PAGE_SIZE, MPOL_INTERLEAVE, NODES(0, 1));
	ck_assert_int_eq(pthread_create(&th, NULL, range_race_thread, &a), 0);
	/* at least 2000 replacements and 20000 faults, overlapping */
	for (round = 0;
	     round < 2000 || __atomic_load_n(&a.done, __ATOMIC_RELAXED) < 20000;
	     round++) {
		if (round & 1) {
			set_range(nv, 0, 64 * PAGE_SIZE, MPOL_INTERLEAVE,
				  NODES(0, 1));
			continue;
		}
		set_range(nv, 0, 32 * PAGE_SIZE, MPOL_BIND, NODES(2));
		set_range(nv, 32 * PAGE_SIZE, 32 * PAGE_SIZE, MPOL_BIND,
			  NODES(3));
	}
	__atomic_store_n(&a.stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	ck_assert_int_eq(a.bad, 0);
	numa_vm_destroy(nv);
}
END_TEST

static Suite *numa_suite(void)
{
	Suite *s = suite_create("numa");
	TCase *tc;

	tc = tcase_create("topology");
	tcase_add_test(tc, test_topo_valid_defaults);
	tcase_add_test(tc, test_topo_errors);
	tcase_add_test(tc, test_zonelist_asym4);
	tcase_add_test(tc, test_zonelist_equal_distances);
	tcase_add_test(tc, test_zonelist_memoryless);
	suite_add_tcase(s, tc);

	tc = tcase_create("modes");
	tcase_add_test(tc, test_mode_default_local);
	tcase_add_test(tc, test_mode_preferred_bind_4);
	tcase_add_test(tc, test_mode_interleave_per_vcpu);
	tcase_add_test(tc, test_mode_range_interleave_offset);
	tcase_add_test(tc, test_mode_weighted_interleave);
	tcase_add_test(tc, test_mode_flags);
	tcase_add_test(tc, test_mode_names);
	tcase_add_loop_test(tc, test_mode_table, 0, 2 * ARRAY_SIZE(mode_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("exhaustion");
	tcase_add_test(tc, test_exhaust_bind);
	tcase_add_test(tc, test_exhaust_default);
	tcase_add_test(tc, test_exhaust_preferred_thisnode);
	tcase_add_test(tc, test_exhaust_preferred_many);
	tcase_add_test(tc, test_thisnode_chosen_node);
	tcase_add_test(tc, test_exhaust_interleave);
	tcase_add_test(tc, test_exhaust_pcp_drain);
	tcase_add_test(tc, test_vm_watermarks);
	tcase_add_test(tc, test_free);
	tcase_add_test(tc, test_pool_base);
	suite_add_tcase(s, tc);

	tc = tcase_create("ranges");
	tcase_add_test(tc, test_range_split_merge);
	tcase_add_test(tc, test_range_override);
	tcase_add_test(tc, test_range_limit);
	tcase_add_test(tc, test_range_limit_split);
	tcase_add_test(tc, test_range_model);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_bad_policies);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_concurrent_policy_change);
	tcase_add_test(tc, test_concurrent_range_change);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(numa_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

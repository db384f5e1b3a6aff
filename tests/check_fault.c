/*
 * Check suite of the fault path (vmm/pool, vmm/uffd, vmm/fault) with real
 * userfaultfd and real threads: host threads registered as vCPUs touch
 * "guest RAM", the handler places frames from the per-node buddy
 * allocators through numa_alloc(), and every test checks where each page
 * landed (fault_get_node), what the pages read, the fault counters, the
 * numastat counters and the per-node free counts against what it did.
 * No KVM needed; every wait has a timeout so a lost wake fails, not hangs.
 */
#include "vmm/fault.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "numa/numa.h"
#include "vmm/pool.h"
#include "vmm/uffd.h"

#define MiB (1UL << 20)
#define TWAIT_S 20 /* generous: ASan on a shared 2-CPU machine */

struct tvm {
	struct numa_topology topo;
	struct pool pools[NUMA_MAX_NODES];
	struct numa_vm *nv;
	char *map; /* the mapping, 2 MiB aligned inside */
	char *guest;
	size_t size;
	struct fault_ctx *ctx;
	unsigned long free0[NUMA_MAX_NODES]; /* free pages at start */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int nr_oom;
	struct fault_oom_event last_oom;
};

static void tvm_on_oom(void *arg, const struct fault_oom_event *ev)
{
	struct tvm *vm = arg;

	pthread_mutex_lock(&vm->lock);
	vm->nr_oom++;
	vm->last_oom = *ev;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static unsigned long node_free(struct tvm *vm, unsigned int n)
{
	struct buddy_info info;
	struct buddy *b = numa_node_buddy(vm->nv, n);

	if (!b)
		return 0;
	buddy_get_info(b, &info);
	return info.free_pages + info.pcp_pages;
}

/*
 * memfd pools for MAP placement; anonymous ones for MOVE, lazy at 4 KiB
 * (the empty-slot path), preallocated with THP at 2 MiB.
 */
/* Set by a test before tvm_create: extra pool flags (POOL_PREALLOC) */
static unsigned int t_pool_extra;
/* Set by a test before tvm_create: ops over vm->nv instead of numa's */
static const struct fault_alloc_ops *t_ops;

static unsigned int pool_flags(const struct fault_opts *o)
{
	if (o->mech != FAULT_MECH_MOVE)
		return t_pool_extra;
	return POOL_ANON | t_pool_extra |
	       (o->granule_shift == 21 ? POOL_PREALLOC | POOL_THP : 0);
}

/*
 * A VM of @nr_nodes nodes of @node_mib MiB each (host node 0 binding),
 * @nr_vcpus vCPUs homed round-robin, @guest_mib MiB of guest RAM.
 */
static struct tvm *tvm_create(unsigned int nr_nodes, unsigned int nr_vcpus,
			      const unsigned int *node_mib, size_t guest_mib,
			      struct fault_opts *opts)
{
	struct tvm *vm = calloc(1, sizeof(*vm));
	void *bases[NUMA_MAX_NODES] = { 0 };
	char err[256], name[32];
	unsigned int n, v;
	int ret;

	ck_assert_ptr_nonnull(vm);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	ret = topo_init(&vm->topo, nr_nodes, nr_vcpus, err, sizeof(err));
	ck_assert_msg(ret == 0, "topo_init: %s", err);
	for (n = 0; n < nr_nodes; n++) {
		vm->topo.node_mem[n] = (uint64_t)node_mib[n] * MiB;
		vm->topo.host_nodes[n] = 1; /* host node 0: the only one */
		snprintf(name, sizeof(name), "numavm-test-node%u", n);
		ret = pool_create(&vm->pools[n], name, node_mib[n] * MiB, 1,
				  pool_flags(opts), err, sizeof(err));
		ck_assert_msg(ret == 0, "pool_create: %s", err);
		bases[n] = vm->pools[n].base;
	}
	for (v = 0; v < nr_vcpus; v++)
		vm->topo.vcpu_node[v] = (uint8_t)(v % nr_nodes);
	vm->nv = numa_vm_create(&vm->topo, bases, err, sizeof(err));
	ck_assert_msg(vm->nv != NULL, "numa_vm_create: %s", err);
	for (n = 0; n < nr_nodes; n++)
		vm->free0[n] = node_free(vm, n);

	vm->size = guest_mib * MiB;
	vm->map = mmap(NULL, vm->size + 2 * MiB, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(vm->map != MAP_FAILED);
	vm->guest =
		(char *)(((uintptr_t)vm->map + 2 * MiB - 1) & ~(2 * MiB - 1));

	opts->on_oom = tvm_on_oom;
	opts->cb_arg = vm;
	/* a few thousand VMAs at most here: leave the host's sysctl alone */
	opts->no_map_count = true;
	vm->ctx = fault_ctx_create(t_ops ? t_ops : &fault_numa_ops, vm->nv,
				   vm->pools, nr_nodes, vm->guest, vm->size,
				   opts, err, sizeof(err));
	ck_assert_msg(vm->ctx != NULL, "fault_ctx_create: %s", err);
	ck_assert_int_eq(fault_start(vm->ctx), 0);
	return vm;
}

static void tvm_destroy(struct tvm *vm)
{
	unsigned int n;

	fault_ctx_destroy(vm->ctx);
	munmap(vm->map, vm->size + 2 * MiB);
	numa_vm_destroy(vm->nv);
	for (n = 0; n < vm->topo.nr_nodes; n++)
		pool_destroy(&vm->pools[n]);
	free(vm);
}

/* Sum of numastat hits and misses: one per allocation (of any order) */
static uint64_t numastat_allocs(struct tvm *vm, unsigned int node)
{
	struct numastat st;

	ck_assert_int_eq(numa_get_numastat(vm->nv, node, &st), 0);
	return st.numa_hit + st.numa_miss;
}

/* Each node's free pages dropped by exactly what the pages placed on it */
static void assert_node_accounting(struct tvm *vm, unsigned int page_shift,
				   bool no_frees)
{
	unsigned long placed[NUMA_MAX_NODES] = { 0 };
	size_t off;
	unsigned int n;
	int node;

	for (off = 0; off < vm->size; off += 1UL << page_shift) {
		node = fault_get_node(vm->ctx, off, NULL);
		if (node >= 0)
			placed[node] += 1UL << (page_shift - PAGE_SHIFT);
	}
	for (n = 0; n < vm->topo.nr_nodes; n++) {
		ck_assert_msg(vm->free0[n] - node_free(vm, n) == placed[n],
			      "node %u: %lu pages taken, %lu placed", n,
			      vm->free0[n] - node_free(vm, n), placed[n]);
		if (no_frees) /* numastat counts allocations, never frees */
			ck_assert_uint_eq(numastat_allocs(vm, n),
					  placed[n] >>
						  (page_shift - PAGE_SHIFT));
	}
}

/* A host thread playing vCPU @vcpu (or the host context if vcpu < 0) */
struct toucher {
	struct tvm *vm;
	pthread_t thread;
	int vcpu;
	size_t off, npages, stride; /* pages touched: off + i * stride */
	bool reverse;
	unsigned char val; /* written at byte @val of each page */
	bool read_only;
	unsigned long nonzero; /* read_only: pages not reading zero */
	volatile bool done;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	size_t i, k, j;
	volatile char *p;

	if (t->vcpu >= 0)
		ck_assert_int_eq(
			fault_register_vcpu(t->vm->ctx, t->vcpu, gettid()), 0);
	for (k = 0; k < t->npages; k++) {
		i = t->reverse ? t->npages - 1 - k : k;
		p = t->vm->guest + t->off + i * t->stride;
		if (t->read_only) {
			for (j = 0; j < PAGE_SIZE; j += 64)
				if (p[j])
					break;
			t->nonzero += j < PAGE_SIZE;
		} else {
			p[t->val] = (char)t->val;
		}
	}
	t->done = true;
	return NULL;
}

static void toucher_start(struct toucher *t, struct tvm *vm, int vcpu,
			  size_t off, size_t npages, size_t stride)
{
	memset(t, 0, sizeof(*t));
	t->vm = vm;
	t->vcpu = vcpu;
	t->off = off;
	t->npages = npages;
	t->stride = stride ? stride : PAGE_SIZE;
	t->val = (unsigned char)(vcpu + 2);
}

static void toucher_go(struct toucher *t)
{
	ck_assert_int_eq(pthread_create(&t->thread, NULL, toucher_main, t), 0);
}

static bool toucher_join(struct toucher *t, int secs)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += secs;
	return pthread_timedjoin_np(t->thread, NULL, &ts) == 0;
}

static void touch(struct tvm *vm, int vcpu, size_t off, size_t npages,
		  size_t stride)
{
	struct toucher t;

	toucher_start(&t, vm, vcpu, off, npages, stride);
	toucher_go(&t);
	ck_assert_msg(toucher_join(&t, TWAIT_S), "vCPU %d never finished",
		      vcpu);
}

static void set_vcpu_policy(struct tvm *vm, int vcpu, enum mpol_mode mode,
			    nodemask_t nodes, const uint8_t *weights)
{
	struct mpol_spec spec = { .mode = mode, .nodes = nodes };
	char err[256];
	int ret;

	if (weights)
		memcpy(spec.weights, weights, NUMA_MAX_NODES);
	ret = numa_set_vcpu_policy(vm->nv, vcpu, &spec, err, sizeof(err));
	ck_assert_msg(ret == 0, "set policy: %s", err);
}

/* ---- pools ---- */

START_TEST(test_pool_binding)
{
	struct pool lazy, pre;
	uint64_t nodes;
	char err[256];
	int mode;

	ck_assert_int_eq(
		pool_create(&lazy, "t-lazy", 4 * MiB, 1, 0, err, sizeof(err)),
		0);
	ck_assert_int_eq(pool_get_binding(&lazy, &mode, &nodes), 0);
	ck_assert_int_eq(mode, MPOL_BIND);
	ck_assert_uint_eq(nodes, 1);
	ck_assert_int_eq(pool_host_node(&lazy, 3), -ENOENT); /* lazy */
	((volatile char *)lazy.base)[3 * PAGE_SIZE] = 1;
	ck_assert_int_eq(pool_host_node(&lazy, 3), 0);
	/* zeroing a lazy pool frame punches a hole: it is gone, reads 0 */
	ck_assert_int_eq(pool_zero(&lazy, 3, 1), 0);
	ck_assert_int_eq(pool_host_node(&lazy, 3), -ENOENT);
	ck_assert_int_eq(((volatile char *)lazy.base)[3 * PAGE_SIZE], 0);
	pool_destroy(&lazy);

	ck_assert_int_eq(pool_create(&pre, "t-pre", 4 * MiB, 1, POOL_PREALLOC,
				     err, sizeof(err)),
			 0);
	ck_assert_int_eq(pool_host_node(&pre, 0), 0);
	ck_assert_int_eq(pool_host_node(&pre, 1023), 0);
	((volatile char *)pre.base)[5] = 7;
	ck_assert_int_eq(pool_zero(&pre, 0, 1), 0);
	ck_assert_int_eq(((volatile char *)pre.base)[5], 0);
	ck_assert_int_eq(pool_host_node(&pre, 0), 0); /* still populated */
	pool_destroy(&pre);

	/* A host node that does not exist is refused with a message */
	ck_assert_int_eq(pool_create(&pre, "t-bad", 4 * MiB, 1ULL << 40, 0, err,
				     sizeof(err)),
			 -EINVAL);
	ck_assert(strstr(err, "mbind") != NULL);
	ck_assert_int_lt(
		pool_create(&pre, "t-bad", 4097, 0, 0, err, sizeof(err)), 0);
}
END_TEST

START_TEST(test_uffd_features)
{
	struct uffd u;

	ck_assert_int_eq(uffd_open(&u, true), 0);
	ck_assert(u.features & UFFD_FEATURE_THREAD_ID);
	uffd_close(&u);
}
END_TEST

/* ---- placement by policy ---- */

static void local_placement(unsigned int nr_nodes, enum fault_mech mech)
{
	static const unsigned int mib[4] = { 16, 16, 16, 16 };
	struct fault_opts o = { .nr_handlers = 2,
				.handler_cpu = { -1, -1 },
				.mech = mech };
	struct toucher t[4];
	struct fault_stats st;
	const size_t per = 200;
	struct tvm *vm;
	unsigned int v;
	size_t i;

	vm = tvm_create(nr_nodes, nr_nodes, mib, 32, &o);
	for (v = 0; v < nr_nodes; v++)
		toucher_start(&t[v], vm, (int)v, v * per * PAGE_SIZE, per, 0);
	for (v = 0; v < nr_nodes; v++)
		toucher_go(&t[v]);
	for (v = 0; v < nr_nodes; v++)
		ck_assert_msg(toucher_join(&t[v], TWAIT_S), "vCPU %u hung", v);

	for (v = 0; v < nr_nodes; v++) {
		for (i = 0; i < per; i++) {
			size_t off = (v * per + i) * PAGE_SIZE;

			ck_assert_int_eq(fault_get_node(vm->ctx, off, NULL),
					 (int)v);
			ck_assert_int_eq(vm->guest[off + v + 2], (char)(v + 2));
		}
		ck_assert_int_eq(fault_get_stats(vm->ctx, (int)v, &st), 0);
		ck_assert_uint_eq(st.granules, per);
		ck_assert_uint_eq(st.node_granules[v], per);
		ck_assert_uint_eq(st.faults, per);
		ck_assert_uint_eq(st.oom, 0);
	}
	ck_assert_int_eq(
		fault_get_node(vm->ctx, nr_nodes * per * PAGE_SIZE, NULL),
		-ENOENT);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	for (v = 0; v < nr_nodes; v++) {
		struct numastat ns;

		numa_get_numastat(vm->nv, v, &ns);
		ck_assert_uint_eq(ns.local_node, per);
		ck_assert_uint_eq(ns.numa_hit, per);
	}
	tvm_destroy(vm);
}

START_TEST(test_local_2_nodes)
{
	local_placement(2, (enum fault_mech)_i);
}
END_TEST

START_TEST(test_local_4_nodes)
{
	local_placement(4, FAULT_MECH_MAP);
}
END_TEST

START_TEST(test_vcpu_interleave)
{
	static const unsigned int mib[3] = { 8, 8, 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	unsigned int count[3] = { 0 };
	struct tvm *vm;
	int node, prev = -1;
	size_t i;

	vm = tvm_create(3, 2, mib, 16, &o);
	set_vcpu_policy(vm, 1, MPOL_INTERLEAVE, 0x7, NULL);
	touch(vm, 1, 0, 60, 0);
	for (i = 0; i < 60; i++) {
		node = fault_get_node(vm->ctx, i * PAGE_SIZE, NULL);
		ck_assert_int_ge(node, 0);
		if (prev >= 0)
			ck_assert_int_eq(node,
					 (prev + 1) % 3); /* round robin */
		prev = node;
		count[node]++;
	}
	ck_assert_uint_eq(count[0], 20);
	ck_assert_uint_eq(count[1], 20);
	ck_assert_uint_eq(count[2], 20);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_range_interleave_by_offset)
{
	static const unsigned int mib[4] = { 8, 8, 8, 8 };
	struct mpol_spec spec = { .mode = MPOL_INTERLEAVE, .nodes = 0xf };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct toucher t;
	struct tvm *vm;
	char err[256];
	int node0, node;
	size_t i;

	vm = tvm_create(4, 2, mib, 16, &o);
	ck_assert_msg(numa_set_range_policy(vm->nv, 1 * MiB, 1 * MiB, &spec,
					    err, sizeof(err)) == 0,
		      "%s", err);
	/* Touched backwards: by-offset placement ignores the order */
	toucher_start(&t, vm, 0, 1 * MiB, 100, 0);
	t.reverse = true;
	toucher_go(&t);
	ck_assert(toucher_join(&t, TWAIT_S));
	node0 = fault_get_node(vm->ctx, 1 * MiB, NULL);
	ck_assert_int_ge(node0, 0);
	for (i = 0; i < 100; i++) {
		node = fault_get_node(vm->ctx, 1 * MiB + i * PAGE_SIZE, NULL);
		ck_assert_int_eq(node, (int)((node0 + i) % 4));
	}
	/* Outside the range: vCPU 0's default (local) policy */
	touch(vm, 0, 4 * MiB, 10, 0);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(
			fault_get_node(vm->ctx, 4 * MiB + i * PAGE_SIZE, NULL),
			0);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_weighted_interleave)
{
	static const unsigned int mib[2] = { 8, 8 };
	static const uint8_t w[NUMA_MAX_NODES] = { 3, 1 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	unsigned int count[2] = { 0 };
	struct tvm *vm;
	size_t i;

	vm = tvm_create(2, 1, mib, 16, &o);
	set_vcpu_policy(vm, 0, MPOL_WEIGHTED_INTERLEAVE, 0x3, w);
	touch(vm, 0, 0, 400, 0);
	for (i = 0; i < 400; i++)
		count[fault_get_node(vm->ctx, i * PAGE_SIZE, NULL)]++;
	ck_assert_uint_eq(count[0], 300);
	ck_assert_uint_eq(count[1], 100);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_preferred_fallback)
{
	/* node 1 is small; from it node 2 is nearer than node 0 */
	static const unsigned int mib[3] = { 8, 1, 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	unsigned int count[3] = { 0 };
	struct numastat ns;
	struct tvm *vm;
	char err[256];
	size_t i;

	vm = tvm_create(3, 1, mib, 16, &o);
	/* fault_ctx is running but nothing faulted yet: fix distances now */
	ck_assert(topo_set_distance(&vm->topo, 1, 2, 15, true, err,
				    sizeof(err)) == 0);
	ck_assert(topo_set_distance(&vm->topo, 1, 0, 30, true, err,
				    sizeof(err)) == 0);
	fault_ctx_destroy(vm->ctx);
	numa_vm_destroy(vm->nv);
	{
		void *bases[3] = { vm->pools[0].base, vm->pools[1].base,
				   vm->pools[2].base };
		struct fault_opts o2 = { .handler_cpu = { -1 },
					 .on_oom = tvm_on_oom,
					 .cb_arg = vm,
					 .no_map_count = true };

		vm->nv = numa_vm_create(&vm->topo, bases, err, sizeof(err));
		ck_assert_msg(vm->nv != NULL, "%s", err);
		vm->ctx = fault_ctx_create(&fault_numa_ops, vm->nv, vm->pools,
					   3, vm->guest, vm->size, &o2, err,
					   sizeof(err));
		ck_assert_msg(vm->ctx != NULL, "%s", err);
		ck_assert_int_eq(fault_start(vm->ctx), 0);
		for (i = 0; i < 3; i++)
			vm->free0[i] = node_free(vm, (unsigned int)i);
	}
	set_vcpu_policy(vm, 0, MPOL_PREFERRED, 1U << 1, NULL);
	touch(vm, 0, 0, 600, 0); /* more than node 1's 256 pages */
	for (i = 0; i < 600; i++)
		count[fault_get_node(vm->ctx, i * PAGE_SIZE, NULL)]++;
	ck_assert_uint_gt(count[1], 200); /* filled down to its watermark */
	ck_assert_uint_eq(count[0], 0); /* farther than node 2 */
	ck_assert_uint_eq(count[1] + count[2], 600);
	/* The first pages went to the preferred node */
	ck_assert_int_eq(fault_get_node(vm->ctx, 0, NULL), 1);
	numa_get_numastat(vm->nv, 2, &ns);
	ck_assert_uint_eq(ns.numa_miss, count[2]);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

/* Wait until @n OOM reports arrived, at most TWAIT_S seconds */
static bool wait_oom(struct tvm *vm, unsigned int n)
{
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TWAIT_S;
	pthread_mutex_lock(&vm->lock);
	while (vm->nr_oom < n)
		if (pthread_cond_timedwait(&vm->cond, &vm->lock, &ts))
			break;
	ok = vm->nr_oom >= n;
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

START_TEST(test_bind_oom_stop)
{
	static const unsigned int mib[2] = { 8, 1 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct fault_stats st;
	struct toucher t;
	struct tvm *vm;
	char msg[512];
	size_t i, placed = 0;

	vm = tvm_create(2, 1, mib, 16, &o);
	set_vcpu_policy(vm, 0, MPOL_BIND, 1U << 1, NULL);
	toucher_start(&t, vm, 0, 0, 400, 0); /* node 1 has 256 pages */
	toucher_go(&t);
	ck_assert_msg(wait_oom(vm, 1), "no OOM report: hang?");
	/*
	 * The VM stops, but no thread is left inside a fault (a vCPU thread
	 * in a hypercall, the loader): the failed fault and every later one
	 * read zeros, without a frame, and the OOM is reported once.
	 */
	ck_assert_msg(toucher_join(&t, TWAIT_S),
		      "the thread stays blocked in its fault after the stop");
	ck_assert_uint_eq(vm->nr_oom, 1);
	ck_assert_int_eq(vm->last_oom.vcpu, 0);
	ck_assert(!vm->last_oom.fatal);
	ck_assert_int_eq(vm->last_oom.err, -ENOMEM);
	fault_numa_oom_message(vm->nv, &vm->last_oom, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "vCPU 0") && strstr(msg, "bind") &&
			      strstr(msg, "node1="),
		      "message: %s", msg);
	/* Nothing placed is lost: every placed page on node 1, data intact */
	for (i = 0; i < 400; i++) {
		int node = fault_get_node(vm->ctx, i * PAGE_SIZE, NULL);

		if (node < 0)
			continue;
		ck_assert_int_eq(node, 1);
		ck_assert_int_eq(vm->guest[i * PAGE_SIZE + 2], 2);
		placed++;
	}
	ck_assert_uint_gt(placed, 200);
	ck_assert_uint_lt(placed, 400);
	ck_assert_int_eq(fault_get_node(vm->ctx, vm->last_oom.gpa, NULL),
			 -ENOENT);
	ck_assert_int_eq(fault_get_stats(vm->ctx, 0, &st), 0);
	ck_assert_uint_eq(st.oom, 1);
	ck_assert_uint_eq(st.parked, 0);
	ck_assert_uint_eq(st.granules, placed);
	ck_assert_uint_eq(node_free(vm, 0), vm->free0[0]); /* untouched */
	assert_node_accounting(vm, PAGE_SHIFT, true);
	/* later touches are not reported again either */
	touch(vm, 0, 4 * MiB, 8, 0);
	ck_assert_uint_eq(vm->nr_oom, 1);
	ck_assert_int_eq(fault_get_node(vm->ctx, 4 * MiB, NULL), -ENOENT);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_bind_oom_wait)
{
	static const unsigned int mib[2] = { 8, 1 };
	struct fault_opts o = { .handler_cpu = { -1 },
				.oom = FAULT_OOM_WAIT,
				.mech = (enum fault_mech)_i };
	struct fault_stats st;
	struct toucher t;
	struct tvm *vm;
	size_t i;
	int node;

	vm = tvm_create(2, 1, mib, 16, &o);
	set_vcpu_policy(vm, 0, MPOL_BIND, 1U << 1, NULL);
	toucher_start(&t, vm, 0, 0, 400, 0);
	toucher_go(&t);
	ck_assert_msg(wait_oom(vm, 1), "no OOM report");
	ck_assert_uint_eq(fault_nr_parked(vm->ctx), 1);
	usleep(20000);
	ck_assert(!t.done);
	/* The policy changes: the parked fault is retried and proceeds */
	set_vcpu_policy(vm, 0, MPOL_BIND, 1U << 0, NULL);
	ck_assert_int_eq(fault_retry_parked(vm->ctx), 1);
	ck_assert(toucher_join(&t, TWAIT_S));
	ck_assert_uint_eq(fault_nr_parked(vm->ctx), 0);
	for (i = 0; i < 400; i++) {
		node = fault_get_node(vm->ctx, i * PAGE_SIZE, NULL);
		ck_assert_int_ge(node, 0);
		ck_assert_int_eq(vm->guest[i * PAGE_SIZE + 2], 2);
	}
	ck_assert_int_eq(fault_get_stats(vm->ctx, 0, &st), 0);
	ck_assert_uint_eq(st.parked, 1);
	ck_assert_uint_eq(st.granules, 400);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_oom_wait_free_range)
{
	/* Parked on a full node, released by the guest freeing memory */
	static const unsigned int mib[1] = { 1 };
	struct fault_opts o = { .handler_cpu = { -1 }, .oom = FAULT_OOM_WAIT };
	struct toucher t;
	struct tvm *vm;
	long freed;

	vm = tvm_create(1, 2, mib, 8, &o);
	touch(vm, 1, 0, 200, 0);
	toucher_start(&t, vm, 0, 4 * MiB, 100, 0);
	toucher_go(&t);
	ck_assert(wait_oom(vm, 1));
	ck_assert(!t.done);
	freed = fault_free_range(vm->ctx, 1, 0, 200 * PAGE_SIZE);
	ck_assert_int_eq(freed, 200);
	ck_assert(toucher_join(&t, TWAIT_S));
	ck_assert_int_eq(
		fault_get_node(vm->ctx, 4 * MiB + 99 * PAGE_SIZE, NULL), 0);
	assert_node_accounting(vm, PAGE_SHIFT, false);
	ck_assert_uint_eq(numastat_allocs(vm, 0), 300); /* 200 freed + 100 */
	tvm_destroy(vm);
}
END_TEST

/* numa's ops, except that guest RAM from 8 MiB on cannot be placed */
static int eio_alloc(void *priv, int vcpu, gpa_t gpa, unsigned int order,
		     struct fault_frame *out)
{
	if (gpa >= 8 * MiB)
		return -EIO;
	return fault_numa_ops.alloc(priv, vcpu, gpa, order, out);
}

static int eio_free(void *priv, int vcpu, const struct fault_frame *f,
		    unsigned int order)
{
	return fault_numa_ops.free(priv, vcpu, f, order);
}

static const struct fault_alloc_ops eio_ops = {
	.alloc = eio_alloc,
	.free = eio_free,
};

START_TEST(test_fatal_releases_all)
{
	/*
	 * oom=wait: vCPU 0 is parked on its full node when vCPU 1 hits a
	 * placement failure.  The VM stops: both threads get out of their
	 * faults (zeros, no frame), the failure is reported once, and the
	 * parked fault is dropped, not retried.
	 */
	static const unsigned int mib[2] = { 8, 1 };
	struct fault_opts o = { .handler_cpu = { -1 }, .oom = FAULT_OOM_WAIT };
	struct toucher t0, t1;
	struct tvm *vm;

	t_ops = &eio_ops;
	vm = tvm_create(2, 2, mib, 16, &o);
	t_ops = NULL;
	set_vcpu_policy(vm, 0, MPOL_BIND, 1U << 1, NULL);
	toucher_start(&t0, vm, 0, 0, 400, 0); /* node 1 has 256 pages */
	toucher_go(&t0);
	ck_assert(wait_oom(vm, 1));
	ck_assert_uint_eq(fault_nr_parked(vm->ctx), 1);
	ck_assert(!vm->last_oom.fatal);

	toucher_start(&t1, vm, 1, 8 * MiB, 4, 0);
	toucher_go(&t1);
	ck_assert(wait_oom(vm, 2));
	ck_assert(vm->last_oom.fatal);
	ck_assert_int_eq(vm->last_oom.vcpu, 1);
	ck_assert_int_eq(vm->last_oom.err, -EIO);
	ck_assert_msg(toucher_join(&t1, TWAIT_S),
		      "the failing thread stays blocked");
	ck_assert_msg(toucher_join(&t0, TWAIT_S),
		      "the parked thread stays blocked");
	ck_assert_uint_eq(fault_nr_parked(vm->ctx), 0);
	ck_assert_uint_eq(vm->nr_oom, 2);
	ck_assert_int_eq(fault_get_node(vm->ctx, 8 * MiB, NULL), -ENOENT);
	ck_assert_int_eq(fault_get_node(vm->ctx, 399 * PAGE_SIZE, NULL),
			 -ENOENT);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

/* ---- free-range, zeroing, coalescing ---- */

static void assert_buddyinfo_equal(struct tvm *vm, unsigned int n,
				   const struct buddy_info *a)
{
	struct buddy_info b;
	unsigned int o;

	buddy_get_info(numa_node_buddy(vm->nv, n), &b);
	for (o = 0; o < MAX_ORDER; o++)
		ck_assert_msg(a->nr_free[o] == b.nr_free[o],
			      "node %u order %u: %lu free blocks, %lu at start",
			      n, o, b.nr_free[o], a->nr_free[o]);
}

static void free_range_retouch(unsigned int gshift, enum fault_mech mech)
{
	static const unsigned int mib[2] = { 16, 16 };
	struct fault_opts o = { .handler_cpu = { -1 },
				.granule_shift = gshift,
				.mech = mech,
				.thp = gshift == 21 };
	struct buddy_info start[2];
	size_t len = 4 * MiB, npages = len / PAGE_SIZE, i;
	struct toucher t;
	struct tvm *vm;
	long freed;

	vm = tvm_create(2, 2, mib, 16, &o);
	buddy_get_info(numa_node_buddy(vm->nv, 0), &start[0]);
	buddy_get_info(numa_node_buddy(vm->nv, 1), &start[1]);
	set_vcpu_policy(vm, 0, MPOL_INTERLEAVE, 0x3, NULL);
	touch(vm, 0, 2 * MiB, npages, 0);
	for (i = 0; i < npages; i++)
		memset(vm->guest + 2 * MiB + i * PAGE_SIZE, 0xa5, PAGE_SIZE);

	freed = fault_free_range(vm->ctx, 0, 2 * MiB, len);
	ck_assert_int_eq(freed, (long)(len >> gshift));
	for (i = 0; i < npages; i++)
		ck_assert_int_eq(
			fault_get_node(vm->ctx, 2 * MiB + i * PAGE_SIZE, NULL),
			-ENOENT);
	buddy_drain_all(numa_node_buddy(vm->nv, 0));
	buddy_drain_all(numa_node_buddy(vm->nv, 1));
	assert_buddyinfo_equal(vm, 0, &start[0]);
	assert_buddyinfo_equal(vm, 1, &start[1]);

	/* Re-touch (read): fresh zeroed pages, faulted again */
	toucher_start(&t, vm, 1, 2 * MiB, npages, 0);
	t.read_only = true;
	toucher_go(&t);
	ck_assert(toucher_join(&t, TWAIT_S));
	ck_assert_uint_eq(t.nonzero, 0);
	for (i = 0; i < npages; i++)
		ck_assert_int_ge(
			fault_get_node(vm->ctx, 2 * MiB + i * PAGE_SIZE, NULL),
			0);
	/* Unaligned frees are refused */
	if (gshift > PAGE_SHIFT)
		ck_assert_int_eq(fault_free_range(vm->ctx, 0,
						  2 * MiB + PAGE_SIZE,
						  1UL << gshift),
				 -EINVAL);
	ck_assert_int_eq(fault_free_range(vm->ctx, 0, vm->size, 1UL << gshift),
			 -EINVAL);
	tvm_destroy(vm);
}

START_TEST(test_free_range_4k)
{
	/* 0: memfd, 1: move, 2: memfd preallocated (memset, not hole punch) */
	t_pool_extra = _i == 2 ? POOL_PREALLOC : 0;
	free_range_retouch(12, _i == 1 ? FAULT_MECH_MOVE : FAULT_MECH_MAP);
	t_pool_extra = 0;
}
END_TEST

START_TEST(test_free_range_2m)
{
	t_pool_extra = _i == 2 ? POOL_PREALLOC : 0;
	free_range_retouch(21, _i == 1 ? FAULT_MECH_MOVE : FAULT_MECH_MAP);
	t_pool_extra = 0;
}
END_TEST

/* ---- races ---- */

START_TEST(test_concurrent_same_pages)
{
	static const unsigned int mib[2] = { 16, 16 };
	struct fault_opts o = { .nr_handlers = 2,
				.pin_handlers = true,
				.handler_cpu = { 0, 1 },
				.mech = (enum fault_mech)_i };
	const size_t npages = 1024;
	struct fault_stats all;
	struct toucher t[4];
	struct tvm *vm;
	unsigned int v;
	size_t i;

	vm = tvm_create(2, 4, mib, 16, &o);
	for (v = 0; v < 4; v++)
		toucher_start(&t[v], vm, (int)v, 0, npages, 0);
	t[1].reverse = t[3].reverse = true;
	for (v = 0; v < 4; v++)
		toucher_go(&t[v]);
	for (v = 0; v < 4; v++)
		ck_assert(toucher_join(&t[v], TWAIT_S));
	/* No write was lost: no placement ever replaced another */
	for (i = 0; i < npages; i++)
		for (v = 0; v < 4; v++)
			ck_assert_int_eq(vm->guest[i * PAGE_SIZE + v + 2],
					 (char)(v + 2));
	ck_assert_int_eq(fault_get_stats(vm->ctx, FAULT_ALL, &all), 0);
	ck_assert_uint_eq(all.granules, npages); /* one allocation each */
	ck_assert_uint_eq(all.faults, npages + all.races);
	ck_assert_uint_eq(numastat_allocs(vm, 0) + numastat_allocs(vm, 1),
			  npages);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

/* ---- granules, fault-around, host context, zero copy ---- */

START_TEST(test_2m_granule)
{
	static const unsigned int mib[2] = { 16, 16 };
	struct fault_opts o = { .handler_cpu = { -1 },
				.granule_shift = 21,
				.thp = true,
				.mech = (enum fault_mech)_i };
	struct buddy_stats bs;
	struct fault_stats st;
	struct tvm *vm;
	pfn_t pfn, pfn0;
	size_t i;

	vm = tvm_create(2, 2, mib, 16, &o);
	touch(vm, 1, 0, 4, 2 * MiB); /* one byte per 2 MiB */
	ck_assert_int_eq(fault_get_stats(vm->ctx, 1, &st), 0);
	ck_assert_uint_eq(st.faults, 4);
	ck_assert_uint_eq(st.granules, 4);
	buddy_get_stats(numa_node_buddy(vm->nv, 1), &bs);
	ck_assert_uint_eq(bs.alloc[9], 4);
	for (i = 0; i < 4 * 512; i++) {
		ck_assert_int_eq(fault_get_node(vm->ctx, i * PAGE_SIZE, &pfn),
				 1);
		if (i % 512 == 0) {
			ck_assert_uint_eq(pfn % 512, 0); /* aligned block */
			pfn0 = pfn;
		}
		ck_assert_uint_eq(pfn, pfn0 + i % 512);
		/* every page of the granule is there and zero */
		ck_assert_int_eq(vm->guest[i * PAGE_SIZE + 100], 0);
	}
	assert_node_accounting(vm, 21, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_fault_around)
{
	static const unsigned int mib[2] = { 16, 16 };
	struct fault_opts o = { .handler_cpu = { -1 },
				.fault_around = 16,
				.mech = (enum fault_mech)_i };
	struct fault_stats st;
	unsigned int count[2] = { 0 };
	struct tvm *vm;
	size_t i;

	vm = tvm_create(2, 2, mib, 16, &o);
	set_vcpu_policy(vm, 1, MPOL_INTERLEAVE, 0x3, NULL);
	touch(vm, 1, 0, 64, 16 * PAGE_SIZE); /* one page per window */
	ck_assert_int_eq(fault_get_stats(vm->ctx, 1, &st), 0);
	ck_assert_uint_eq(st.faults, 64);
	ck_assert_uint_eq(st.granules, 64 * 16);
	ck_assert_uint_eq(st.around, 64 * 15);
	/* each neighbour placed by the policy as if vCPU 1 faulted it */
	for (i = 0; i < 64 * 16; i++)
		count[fault_get_node(vm->ctx, i * PAGE_SIZE, NULL)]++;
	ck_assert_uint_eq(count[0], 512);
	ck_assert_uint_eq(count[1], 512);
	/* Already-present pages are skipped: a window half placed */
	ck_assert_int_eq(fault_free_range(vm->ctx, 1,
					  64 * 16 * PAGE_SIZE - 8 * PAGE_SIZE,
					  8 * PAGE_SIZE),
			 8);
	touch(vm, 1, 64 * 16 * PAGE_SIZE - PAGE_SIZE, 1, 0);
	ck_assert_int_eq(fault_get_stats(vm->ctx, 1, &st), 0);
	ck_assert_uint_eq(st.granules, 64 * 16 + 8);
	assert_node_accounting(vm, PAGE_SHIFT, false);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_host_context)
{
	static const unsigned int mib[2] = { 8, 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct fault_oom_event ev = { .vcpu = FAULT_HOST, .err = -ENOMEM };
	struct fault_stats st;
	struct tvm *vm;
	char msg[512];
	size_t i;

	vm = tvm_create(2, 2, mib, 16, &o);
	/* An unregistered thread (the loader): the host context, node 0 */
	touch(vm, -1, 0, 50, 0);
	ck_assert_int_eq(fault_get_stats(vm->ctx, FAULT_HOST, &st), 0);
	ck_assert_uint_eq(st.faults, 50);
	ck_assert_uint_eq(st.granules, 50);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(fault_get_node(vm->ctx, i * PAGE_SIZE, NULL),
				 0);
	ck_assert_int_eq(fault_get_stats(vm->ctx, 1, &st), 0);
	ck_assert_uint_eq(st.faults, 0);
	/* ... and the main thread itself, served by the handler thread */
	vm->guest[8 * MiB] = 1;
	ck_assert_int_eq(fault_get_node(vm->ctx, 8 * MiB, NULL), 0);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	/* its OOM message names the host policy, not a vCPU's */
	fault_numa_oom_message(vm->nv, &ev, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "host context: out of memory") &&
			      strstr(msg, ": host policy default") &&
			      !strstr(msg, "vCPU"),
		      "message: %s", msg);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_zero_copy)
{
	static const unsigned int mib[2] = { 8, 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct tvm *vm;
	char *frame;
	pfn_t pfn;
	int node;
	size_t i;

	vm = tvm_create(2, 2, mib, 16, &o);
	touch(vm, 1, 3 * MiB, 8, 0);
	for (i = 0; i < 8; i++) {
		char *g = vm->guest + 3 * MiB + i * PAGE_SIZE;

		node = fault_get_node(vm->ctx, 3 * MiB + i * PAGE_SIZE, &pfn);
		ck_assert_int_eq(node, 1);
		frame = pool_frame_addr(&vm->pools[node], pfn);
		snprintf(g + 100, 64, "guest page %zu", i);
		ck_assert_str_eq(frame + 100, g + 100); /* the same frame */
		frame[200] = 'x';
		ck_assert_int_eq(g[200], 'x');
		ck_assert_int_eq(pool_host_node(&vm->pools[node], pfn), 0);
	}
	tvm_destroy(vm);
}
END_TEST

/* A vCPU that touches, checks, frees and re-reads its own region in a loop */
struct churn {
	struct tvm *vm;
	pthread_t thread;
	int vcpu;
	size_t off, len;
	unsigned int rounds;
	unsigned long bad; /* pages with a wrong byte */
	long free_err;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	char *g = c->vm->guest + c->off;
	unsigned int r;
	size_t i;
	long ret;

	fault_register_vcpu(c->vm->ctx, c->vcpu, gettid());
	for (r = 0; r < c->rounds; r++) {
		for (i = 0; i < c->len; i += PAGE_SIZE)
			if (g[i + 7] != 0) /* fresh: zero */
				c->bad++;
		for (i = 0; i < c->len; i += PAGE_SIZE)
			g[i + 7] = (char)(r + 1);
		for (i = 0; i < c->len; i += PAGE_SIZE)
			if (g[i + 7] != (char)(r + 1))
				c->bad++;
		ret = fault_free_range(c->vm->ctx, c->vcpu, c->off, c->len);
		if (ret < 0 && !c->free_err)
			c->free_err = ret;
	}
	return NULL;
}

START_TEST(test_churn_free_refault)
{
	static const unsigned int mib[2] = { 16, 16 };
	struct fault_opts o = { .nr_handlers = 2,
				.handler_cpu = { -1, -1 },
				.mech = (enum fault_mech)_i,
				.fault_around = 4 };
	struct buddy_info start[2];
	struct churn c[3];
	struct timespec ts;
	struct tvm *vm;
	unsigned int v, n;
	char msg[256];

	vm = tvm_create(2, 3, mib, 16, &o);
	for (n = 0; n < 2; n++)
		buddy_get_info(numa_node_buddy(vm->nv, n), &start[n]);
	/* vCPU 2 interleaves: its frames come from both nodes */
	set_vcpu_policy(vm, 2, MPOL_INTERLEAVE, 0x3, NULL);
	for (v = 0; v < 3; v++) {
		memset(&c[v], 0, sizeof(c[v]));
		c[v].vm = vm;
		c[v].vcpu = (int)v;
		c[v].off = v * 2 * MiB;
		c[v].len = 1 * MiB;
		c[v].rounds = 12;
		ck_assert_int_eq(
			pthread_create(&c[v].thread, NULL, churn_main, &c[v]),
			0);
	}
	for (v = 0; v < 3; v++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TWAIT_S;
		ck_assert_msg(pthread_timedjoin_np(c[v].thread, NULL, &ts) == 0,
			      "vCPU %u hung (%u reports, last: vCPU %d gpa "
			      "0x%llx err %d fatal %d)",
			      v, vm->nr_oom, vm->last_oom.vcpu,
			      (unsigned long long)vm->last_oom.gpa,
			      vm->last_oom.err, vm->last_oom.fatal);
		ck_assert_uint_eq(c[v].bad, 0);
		ck_assert_int_eq(c[v].free_err, 0);
	}
	/* Everything went back and coalesced; the allocators are consistent */
	for (n = 0; n < 2; n++) {
		buddy_drain_all(numa_node_buddy(vm->nv, n));
		ck_assert_msg(buddy_check(numa_node_buddy(vm->nv, n), msg,
					  sizeof(msg)) == 0,
			      "%s", msg);
		assert_buddyinfo_equal(vm, n, &start[n]);
	}
	tvm_destroy(vm);
}
END_TEST

/*
 * A thread reading (or writing) a range while another frees it again and
 * again (a guest freeing a buffer a hypercall still reads): no access may
 * ever crash the process (the memfd mechanism's remap window) or see
 * non-zero data nobody wrote, and no frame may be lost.
 */
struct prober {
	struct tvm *vm;
	pthread_t thread;
	int vcpu;
	size_t off, len;
	bool write;
	volatile bool stop;
	unsigned long rounds, nonzero;
};

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	volatile char *g = p->vm->guest + p->off;
	size_t i;

	fault_register_vcpu(p->vm->ctx, p->vcpu, gettid());
	while (!p->stop) {
		for (i = 0; i < p->len; i += PAGE_SIZE) {
			if (p->write)
				g[i + 9] = 9; /* never read back */
			else if (g[i + 5])
				p->nonzero++;
		}
		p->rounds++;
	}
	return NULL;
}

START_TEST(test_free_range_concurrent_access)
{
	static const unsigned int mib[2] = { 8, 8 };
	struct fault_opts o = { .nr_handlers = 2,
				.handler_cpu = { -1, -1 },
				.mech = (enum fault_mech)_i };
	const size_t off = 2 * MiB, len = 64 * PAGE_SIZE;
	struct prober p[2];
	struct timespec ts;
	struct tvm *vm;
	unsigned int i;
	long freed;

	vm = tvm_create(2, 3, mib, 8, &o);
	for (i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].vm = vm;
		p[i].vcpu = (int)i + 1;
		p[i].off = off;
		p[i].len = len;
		p[i].write = i == 1;
		ck_assert_int_eq(
			pthread_create(&p[i].thread, NULL, prober_main, &p[i]),
			0);
	}
	/* a few hundred frees, and until both have gone round a few times */
	for (i = 0;
	     i < 500 || ((p[0].rounds < 3 || p[1].rounds < 3) && i < 1000000);
	     i++) {
		freed = fault_free_range(vm->ctx, 0, off, len);
		ck_assert_msg(freed >= 0, "free-range %u: %ld", i, freed);
	}
	for (i = 0; i < 2; i++) {
		p[i].stop = true;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TWAIT_S;
		ck_assert_msg(pthread_timedjoin_np(p[i].thread, NULL, &ts) == 0,
			      "prober %u hung", i);
		ck_assert_uint_gt(p[i].rounds, 0);
	}
	ck_assert_uint_eq(p[0].nonzero, 0);
	ck_assert_uint_eq(vm->nr_oom, 0);
	/* every frame is either placed or free again */
	ck_assert_int_ge(fault_free_range(vm->ctx, 0, off, len), 0);
	assert_node_accounting(vm, PAGE_SHIFT, false);
	ck_assert_uint_eq(node_free(vm, 0), vm->free0[0]);
	ck_assert_uint_eq(node_free(vm, 1), vm->free0[1]);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_serve_inline)
{
	/* No handler thread: the caller serves its vCPU's faults itself */
	static const unsigned int mib[1] = { 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct toucher t;
	struct tvm *vm;
	int rounds = 0;

	vm = tvm_create(1, 1, mib, 8, &o);
	fault_stop(vm->ctx);
	toucher_start(&t, vm, 0, 0, 64, 0);
	toucher_go(&t);
	while (!t.done && rounds++ < 10000)
		ck_assert_int_ge(fault_serve_one(vm->ctx, 100), 0);
	ck_assert(toucher_join(&t, TWAIT_S));
	ck_assert_int_eq(fault_get_node(vm->ctx, 63 * PAGE_SIZE, NULL), 0);
	/* and the handlers can be started again */
	ck_assert_int_eq(fault_start(vm->ctx), 0);
	touch(vm, 0, 1 * MiB, 8, 0);
	assert_node_accounting(vm, PAGE_SHIFT, true);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_bad_args)
{
	static const unsigned int mib[1] = { 8 };
	struct fault_opts o = { .handler_cpu = { -1 } };
	struct fault_opts bad = { .granule_shift = 13 };
	struct tvm *vm;
	char err[256];

	vm = tvm_create(1, 1, mib, 8, &o);
	ck_assert_ptr_null(fault_ctx_create(&fault_numa_ops, vm->nv, vm->pools,
					    1, vm->guest, vm->size, &bad, err,
					    sizeof(err)));
	ck_assert(strstr(err, "granule") != NULL);
	bad.granule_shift = 16;
	bad.fault_around = 16;
	ck_assert_ptr_null(fault_ctx_create(&fault_numa_ops, vm->nv, vm->pools,
					    1, vm->guest, vm->size, &bad, err,
					    sizeof(err)));
	/* memfd placement refuses anonymous pools, and the reverse */
	{
		struct fault_opts mv = { .mech = FAULT_MECH_MOVE };

		ck_assert_ptr_null(fault_ctx_create(
			&fault_numa_ops, vm->nv, vm->pools, 1, vm->guest,
			vm->size, &mv, err, sizeof(err)));
		ck_assert_msg(strstr(err, "anonymous pool") != NULL, "%s", err);
	}
	ck_assert_int_eq(fault_register_vcpu(vm->ctx, FAULT_MAX_VCPUS, 1),
			 -EINVAL);
	ck_assert_int_eq(fault_get_node(vm->ctx, vm->size, NULL), -EINVAL);
	ck_assert_int_eq(fault_free_range(vm->ctx, 0, 1, PAGE_SIZE), -EINVAL);
	tvm_destroy(vm);
}
END_TEST

START_TEST(test_histogram)
{
	struct fault_stats st;
	unsigned int i;

	memset(&st, 0, sizeof(st));
	/* 90 faults in bucket of ~1 us, 10 in ~100 us */
	st.hist[16 + (9 - 4) * FAULT_HIST_SUB] = 90; /* 512..575 ns */
	st.hist[16 + (16 - 4) * FAULT_HIST_SUB] = 10; /* 65536..73727 ns */
	st.max_ns = 70000;
	ck_assert_uint_eq(fault_hist_percentile(&st, 50), 575);
	ck_assert_uint_eq(fault_hist_percentile(&st, 90), 575);
	ck_assert_uint_eq(fault_hist_percentile(&st, 99), 70000);
	for (i = 0; i < FAULT_HIST_BUCKETS; i++)
		st.hist[i] = 0;
	ck_assert_uint_eq(fault_hist_percentile(&st, 50), 0);
}
END_TEST

static Suite *fault_suite(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("fault");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_pool_binding);
	tcase_add_test(tc, test_uffd_features);
	tcase_add_loop_test(tc, test_local_2_nodes, 0, 2); /* MAP, MOVE */
	tcase_add_test(tc, test_local_4_nodes);
	tcase_add_test(tc, test_vcpu_interleave);
	tcase_add_test(tc, test_range_interleave_by_offset);
	tcase_add_test(tc, test_weighted_interleave);
	tcase_add_test(tc, test_preferred_fallback);
	tcase_add_test(tc, test_bind_oom_stop);
	tcase_add_loop_test(tc, test_bind_oom_wait, 0, 2); /* MAP, MOVE */
	tcase_add_test(tc, test_oom_wait_free_range);
	tcase_add_test(tc, test_fatal_releases_all);
	tcase_add_loop_test(tc, test_free_range_4k, 0, 3); /* +prealloc */
	tcase_add_loop_test(tc, test_free_range_2m, 0, 3);
	tcase_add_loop_test(tc, test_concurrent_same_pages, 0,
			    2); /* MAP, MOVE */
	tcase_add_loop_test(tc, test_2m_granule, 0, 2); /* MAP, MOVE */
	tcase_add_loop_test(tc, test_fault_around, 0, 2); /* MAP, MOVE */
	tcase_add_test(tc, test_host_context);
	tcase_add_test(tc, test_zero_copy);
	tcase_add_loop_test(tc, test_churn_free_refault, 0, 2); /* MAP, MOVE */
	tcase_add_loop_test(tc, test_free_range_concurrent_access, 0,
			    2); /* MAP, MOVE */
	tcase_add_test(tc, test_serve_inline);
	tcase_add_test(tc, test_bad_args);
	tcase_add_test(tc, test_histogram);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(fault_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

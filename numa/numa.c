/*
 * The allocation entry point of a VM's NUMA layer: numa_alloc() rebuilds
 * Linux's alloc_pages() path for a fault.  "current" is the faulting vCPU:
 * its range policy (VMA policy) or else its task policy gives a node
 * decision (mpol_decide(): policy_node/policy_nodemask/interleave_nodes),
 * then __numa_alloc_pages() walks that node's zonelist restricted to the
 * nodemask, first at the low watermark (get_page_from_freelist), then at the
 * min watermark (the slow path, which has no reclaim to do here), then once
 * more after draining every per-vCPU cache (drain_all_pages()), and counts
 * numastat like zone_statistics().
 *
 * Concurrency.  Each vCPU owns a struct numa_cpu: its interleave cursor, its
 * buddy per-vCPU cache slot and its counter block are touched only by the
 * thread running it.  Its policy is written by any thread (the control
 * socket, or the vCPU itself through a hypercall) under nv->pol_lock and
 * read by the vCPU under a per-vCPU sequence count: the fault path copies
 * the policy without a lock or an atomic read-modify-write, and notices a
 * new policy by its sequence number to reset the cursor, as set_mempolicy()
 * resets il_prev.  The host context (NUMA_HOST) can be used by any VMM
 * thread, so its struct numa_cpu is guarded by host_lock.
 */
#include "numa/numa.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errmsg.h"
#include "numa/seqcount.h"

struct numa_cpu {
	/* written under nv->pol_lock, read by the owner */
	unsigned int pol_seq;			/* odd while being written */
	struct mempolicy pol;
	/* owner only */
	unsigned int pol_seq_seen;
	struct mpol_cursor cur;
	int home;				/* numa_node_id() */
	int pcp;				/* buddy per-vCPU cache slot */
	struct numastat_cpu stat;
} __cacheline_aligned;

struct numa_vm {
	struct numa_topology topo;
	unsigned int nr_nodes, nr_vcpus;
	nodemask_t allowed;			/* nodes with memory */
	nodemask_t all;				/* every node of the VM */
	struct buddy *buddy[NUMA_MAX_NODES];	/* NULL: memoryless */
	struct zonelist zonelist[NUMA_MAX_NODES];
	pthread_mutex_t pol_lock;		/* serialises policy writers */
	pthread_mutex_t host_lock;		/* owns cpu[nr_vcpus] */
	struct range_tree ranges;
	struct numa_cpu cpu[NUMA_MAX_VCPUS + 1]; /* vCPUs, then the host */
};

static struct numa_cpu *numa_cpu(struct numa_vm *nv, int vcpu)
{
	if (vcpu == NUMA_HOST)
		return &nv->cpu[nv->nr_vcpus];
	if (vcpu < 0 || (unsigned int)vcpu >= nv->nr_vcpus)
		return NULL;
	return &nv->cpu[vcpu];
}

/*
 * Linux computes min_free_kbytes once from all of its memory and gives each
 * zone a share proportional to its size (__setup_per_zone_wmarks()); a node
 * is one zone here, so each node's buddy gets its share of the VM-wide
 * figure rather than the figure of a machine made of that node alone.
 */
static int numa_set_watermarks(struct numa_vm *nv,
			       const struct numa_topology *t)
{
	unsigned long total = 0, min, low, high;
	unsigned int n;
	int ret;

	for (n = 0; n < nv->nr_nodes; n++)
		total += t->node_mem[n] >> PAGE_SHIFT;
	for (n = 0; n < nv->nr_nodes; n++) {
		if (!nv->buddy[n])
			continue;
		ret = buddy_calc_watermarks(total, t->node_mem[n] >> PAGE_SHIFT,
					    &min, &low, &high);
		if (!ret)
			ret = buddy_set_watermarks(nv->buddy[n], min, low,
						   high);
		if (ret)
			return ret;
	}
	return 0;
}

struct numa_vm *numa_vm_create(const struct numa_topology *t,
			       void *const pool_base[], char *err, size_t len)
{
	struct numa_vm *nv;
	unsigned int n, v;
	int ret;

	ret = topo_validate(t, err, len);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	nv = aligned_alloc(64, sizeof(*nv));
	if (!nv) {
		errmsg(err, len, "out of memory for the NUMA state");
		errno = ENOMEM;
		return NULL;
	}
	memset(nv, 0, sizeof(*nv));
	nv->topo = *t;
	nv->nr_nodes = t->nr_nodes;
	nv->nr_vcpus = t->nr_vcpus;
	nv->allowed = topo_mem_nodes(t);
	nv->all = (nodemask_t)((1ULL << t->nr_nodes) - 1);

	for (n = 0; n < nv->nr_nodes; n++) {
		if (!node_isset(n, nv->allowed))
			continue;
		nv->buddy[n] = buddy_create(0, t->node_mem[n] >> PAGE_SHIFT,
					    pool_base ? pool_base[n] : NULL,
					    nv->nr_vcpus + 1);
		if (!nv->buddy[n]) {
			ret = errno ? -errno : -ENOMEM;
			errmsg(err, len,
				 "node %u: cannot create its allocator (%llu bytes): %s",
				 n, (unsigned long long)t->node_mem[n],
				 strerror(-ret));
			goto err_buddy;
		}
	}
	ret = numa_set_watermarks(nv, t);
	if (ret) {
		errmsg(err, len, "cannot set the node watermarks: %s",
			 strerror(-ret));
		n = nv->nr_nodes;
		goto err_buddy;
	}
	zonelist_build_all(t, nv->zonelist);
	/* the pthread init functions return an error number, not -1 */
	ret = -pthread_mutex_init(&nv->pol_lock, NULL);
	if (ret)
		goto err_locks;
	ret = -pthread_mutex_init(&nv->host_lock, NULL);
	if (ret)
		goto err_pol_lock;
	ret = range_init(&nv->ranges);
	if (ret)
		goto err_host_lock;
	for (v = 0; v <= nv->nr_vcpus; v++) {
		struct numa_cpu *c = &nv->cpu[v];

		mpol_init_default(&c->pol);
		mpol_cursor_reset(&c->cur);
		c->home = v < nv->nr_vcpus ? t->vcpu_node[v] : 0;
		c->pcp = (int)v;
	}
	return nv;

err_host_lock:
	pthread_mutex_destroy(&nv->host_lock);
err_pol_lock:
	pthread_mutex_destroy(&nv->pol_lock);
err_locks:
	errmsg(err, len, "cannot initialise the NUMA locks: %s",
		 strerror(-ret));
	n = nv->nr_nodes;
err_buddy:
	while (n--)
		if (nv->buddy[n])
			buddy_destroy(nv->buddy[n]);
	free(nv);
	errno = -ret;
	return NULL;
}

void numa_vm_destroy(struct numa_vm *nv)
{
	unsigned int n;

	if (!nv)
		return;
	range_destroy(&nv->ranges);
	pthread_mutex_destroy(&nv->host_lock);
	pthread_mutex_destroy(&nv->pol_lock);
	for (n = 0; n < nv->nr_nodes; n++)
		if (nv->buddy[n])
			buddy_destroy(nv->buddy[n]);
	free(nv);
}

/* --- the hot path ------------------------------------------------------ */

/* The vCPU's task policy, copied under its sequence count (owner only) */
static void numa_read_task_policy(struct numa_cpu *c, struct mempolicy *pol)
{
	unsigned int seq;

	do {
		seq = seqcount_read_begin(&c->pol_seq);
		*pol = c->pol;
	} while (seqcount_read_retry(&c->pol_seq, seq));
	if (unlikely(seq != c->pol_seq_seen)) {
		/* a new policy: restart interleaving, as set_mempolicy() */
		mpol_cursor_reset(&c->cur);
		c->pol_seq_seen = seq;
	}
}

/*
 * __numa_alloc_pages - __alloc_pages() for one pass: the zonelist of @nid
 * restricted to @mask, at the low then the min watermark; with @thisnode
 * only @nid itself (Linux's __GFP_THISNODE, the no-fallback zonelist of
 * @nid): nothing if it has no memory or is outside @mask.  *preferred gets
 * the first allowed node of the walked list (Linux's
 * ac->preferred_zoneref), NUMA_NO_NODE if there is none.
 */
static __always_inline int
__numa_alloc_pages(struct numa_vm *nv, struct numa_cpu *c, int nid,
		   nodemask_t mask, unsigned int order, bool thisnode,
		   struct numa_page *out, int *preferred)
{
	static const enum buddy_wmark wmarks[] = { BUDDY_WMARK_LOW,
						   BUDDY_WMARK_MIN };
	const struct zonelist *zl = &nv->zonelist[nid];
	unsigned int i, w, n, nr = zl->nr;
	const uint8_t *node = zl->node;
	uint8_t self = (uint8_t)nid;
	pfn_t pfn;

	*preferred = NUMA_NO_NODE;
	if (thisnode) {
		if (!nv->buddy[nid])
			return -ENOMEM;
		node = &self;
		nr = 1;
	}
	for (w = 0; w < ARRAY_SIZE(wmarks); w++) {
		for (i = 0; i < nr; i++) {
			n = node[i];
			if (!node_isset(n, mask))
				continue;
			if (*preferred == NUMA_NO_NODE)
				*preferred = (int)n;
			if (!buddy_alloc(nv->buddy[n], order, wmarks[w], c->pcp,
					 &pfn)) {
				out->node = n;
				out->pfn = pfn;
				return 0;
			}
		}
	}
	return -ENOMEM;
}

/* The passes of one decision: @d's mask, then every node (preferred-many) */
static __always_inline int
numa_alloc_passes(struct numa_vm *nv, struct numa_cpu *c,
		  const struct mpol_decision *d, unsigned int order,
		  bool thisnode, struct numa_page *out, int *preferred)
{
	int ret;

	ret = __numa_alloc_pages(nv, c, d->nid, d->mask, order, thisnode, out,
				 preferred);
	if (ret && d->retry_all && !thisnode)
		ret = __numa_alloc_pages(nv, c, d->nid, nv->all, order, false,
					 out, preferred);
	return ret;
}

/*
 * Linux's drain_all_pages(): pages parked in per-vCPU caches are neither
 * free nor counted against the watermarks, so before failing, every cache
 * of every node (the faulting vCPU's own and the others', which
 * buddy_drain() may empty from this thread) goes back to the free lists.
 * Slow path only: an empty cache costs one relaxed load.
 */
static void numa_drain_caches(struct numa_vm *nv)
{
	unsigned int n;

	for (n = 0; n < nv->nr_nodes; n++)
		if (nv->buddy[n])
			buddy_drain_all(nv->buddy[n]);
}

/* zone_statistics() and the interleave_hit accounting, plus our own */
static void numa_count(struct numa_cpu *c, int ret, int preferred,
		       const struct mpol_decision *d, unsigned int order,
		       const struct numa_page *pg)
{
	struct numa_vcpu_stats *s = &c->stat.s;
	unsigned int z;

	numastat_write_begin(&c->stat);
	s->faults++;
	if (ret) {
		s->alloc_fail++;
		goto out;
	}
	z = pg->node;
	s->alloc[z]++;
	s->alloc_pages[z] += 1UL << order;
	if ((int)z == preferred) {
		s->node[z].numa_hit++;
	} else {
		s->node[z].numa_miss++;
		s->node[preferred].numa_foreign++;
	}
	if ((int)z == c->home)
		s->node[z].local_node++;
	else
		s->node[z].other_node++;
	if (d->interleave && (int)z == d->nid)
		s->node[z].interleave_hit++;
out:
	numastat_write_end(&c->stat);
}

static __always_inline int numa_alloc_cpu(struct numa_vm *nv,
					  struct numa_cpu *c, gpa_t gpa,
					  unsigned int order, unsigned int gfp,
					  struct numa_page *out)
{
	bool thisnode = gfp & NUMA_GFP_THISNODE;
	struct mpol_decision d;
	struct mempolicy pol;
	uint64_t ilx;
	int preferred, ret;

	/* one relaxed load when the VM has no range policy at all */
	if (!__atomic_load_n(&nv->ranges.nr, __ATOMIC_RELAXED) ||
	    !range_lookup(&nv->ranges, gpa, order, &pol, &ilx)) {
		numa_read_task_policy(c, &pol);
		ilx = MPOL_NO_IL_INDEX;
	}
	mpol_decide(&pol, &c->cur, ilx, c->home, nv->all, &d);

	ret = numa_alloc_passes(nv, c, &d, order, thisnode, out, &preferred);
	if (unlikely(ret) && preferred != NUMA_NO_NODE) {
		/* the slow path's drain_all_pages(), then one more try */
		numa_drain_caches(nv);
		ret = numa_alloc_passes(nv, c, &d, order, thisnode, out,
					&preferred);
	}
	if (preferred == NUMA_NO_NODE) {
		/* no node to prefer: nothing was tried, nothing to attribute */
		preferred = 0;
		ret = -ENOMEM;
	}
	numa_count(c, ret, preferred, &d, order, out);
	return ret;
}

int numa_alloc(struct numa_vm *nv, int vcpu, gpa_t gpa, unsigned int order,
	       unsigned int gfp, struct numa_page *out)
{
	struct numa_cpu *c = numa_cpu(nv, vcpu);
	int ret;

	if (unlikely(!c || order >= MAX_ORDER || (gfp & ~NUMA_GFP_THISNODE)))
		return -EINVAL;
	if (vcpu != NUMA_HOST)
		return numa_alloc_cpu(nv, c, gpa, order, gfp, out);
	pthread_mutex_lock(&nv->host_lock);
	ret = numa_alloc_cpu(nv, c, gpa, order, gfp, out);
	pthread_mutex_unlock(&nv->host_lock);
	return ret;
}

int numa_free(struct numa_vm *nv, unsigned int node, pfn_t pfn,
	      unsigned int order, int vcpu)
{
	struct numa_cpu *c = numa_cpu(nv, vcpu);
	int ret;

	if (!c || node >= nv->nr_nodes || !nv->buddy[node])
		return -EINVAL;
	if (vcpu == NUMA_HOST)
		pthread_mutex_lock(&nv->host_lock);
	ret = buddy_free(nv->buddy[node], pfn, order, c->pcp);
	if (!ret) {
		numastat_write_begin(&c->stat);
		c->stat.s.free[node]++;
		numastat_write_end(&c->stat);
	}
	if (vcpu == NUMA_HOST)
		pthread_mutex_unlock(&nv->host_lock);
	return ret;
}

/* --- policies ---------------------------------------------------------- */

int numa_set_vcpu_policy(struct numa_vm *nv, int vcpu,
			 const struct mpol_spec *spec, char *err, size_t len)
{
	struct numa_cpu *c = numa_cpu(nv, vcpu);
	struct mempolicy pol;
	int ret;

	if (!c)
		return errmsg(err, len, "vCPU %d does not exist (%u vCPUs)",
				vcpu, nv->nr_vcpus);
	ret = mpol_create(&pol, spec, nv->allowed, nv->nr_nodes, err, len);
	if (ret)
		return ret;
	pthread_mutex_lock(&nv->pol_lock);
	seqcount_write_begin(&c->pol_seq);
	c->pol = pol;
	seqcount_write_end(&c->pol_seq);
	pthread_mutex_unlock(&nv->pol_lock);
	return 0;
}

int numa_get_vcpu_policy(struct numa_vm *nv, int vcpu, struct mpol_spec *spec)
{
	struct numa_cpu *c = numa_cpu(nv, vcpu);

	if (!c)
		return -EINVAL;
	pthread_mutex_lock(&nv->pol_lock);
	*spec = c->pol.spec;
	pthread_mutex_unlock(&nv->pol_lock);
	return 0;
}

int numa_set_range_policy(struct numa_vm *nv, gpa_t start, uint64_t len,
			  const struct mpol_spec *spec, char *err, size_t elen)
{
	struct mempolicy pol;
	int ret;

	if ((start | len) & (PAGE_SIZE - 1))
		return errmsg(err, elen,
				"range 0x%llx+0x%llx is not page aligned",
				(unsigned long long)start,
				(unsigned long long)len);
	if (!len || start + len < start)
		return errmsg(err, elen,
				"range 0x%llx+0x%llx is empty or wraps",
				(unsigned long long)start,
				(unsigned long long)len);
	ret = mpol_create(&pol, spec, nv->allowed, nv->nr_nodes, err, elen);
	if (ret)
		return ret;
	ret = range_set(&nv->ranges, start, start + len, &pol);
	if (ret == -ENOSPC)
		errmsg(err, elen, "more than %u range policies",
			 NUMA_MAX_RANGES);
	else if (ret)
		errmsg(err, elen, "cannot set the range policy: %s",
			 strerror(-ret));
	return ret;
}

unsigned int numa_get_range_policies(struct numa_vm *nv,
				     struct range_policy *out, unsigned int max)
{
	return range_list(&nv->ranges, out, max);
}

/* --- topology and statistics ------------------------------------------- */

unsigned int numa_nr_nodes(const struct numa_vm *nv)
{
	return nv->nr_nodes;
}

unsigned int numa_nr_vcpus(const struct numa_vm *nv)
{
	return nv->nr_vcpus;
}

const struct numa_topology *numa_get_topology(const struct numa_vm *nv)
{
	return &nv->topo;
}

struct buddy *numa_node_buddy(struct numa_vm *nv, unsigned int node)
{
	return node < nv->nr_nodes ? nv->buddy[node] : NULL;
}

const struct zonelist *numa_get_zonelist(const struct numa_vm *nv,
					 unsigned int node)
{
	return node < nv->nr_nodes ? &nv->zonelist[node] : NULL;
}

int numa_vcpu_node(const struct numa_vm *nv, int vcpu)
{
	struct numa_cpu *c = numa_cpu((struct numa_vm *)nv, vcpu);

	return c ? c->home : -EINVAL;
}

int numa_get_numastat(struct numa_vm *nv, unsigned int node,
		      struct numastat *st)
{
	struct numa_vcpu_stats s;
	unsigned int v;

	if (node >= nv->nr_nodes)
		return -EINVAL;
	memset(st, 0, sizeof(*st));
	for (v = 0; v <= nv->nr_vcpus; v++) {
		numastat_read(&nv->cpu[v].stat, &s);
		numastat_add(st, &s.node[node]);
	}
	return 0;
}

int numa_get_vcpu_stats(struct numa_vm *nv, int vcpu,
			struct numa_vcpu_stats *st)
{
	struct numa_cpu *c = numa_cpu(nv, vcpu);

	if (!c)
		return -EINVAL;
	numastat_read(&c->stat, st);
	return 0;
}

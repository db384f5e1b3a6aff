/*
 * NUMA statistics: Linux's per-node numastat counters (numa_hit, numa_miss,
 * numa_foreign, interleave_hit, local_node, other_node, with exactly the
 * meaning of zone_statistics() and the interleave paths; see docs/numa.md)
 * plus per-vCPU fault and allocation counts.  Every vCPU (and the host
 * context) writes only its own counter block, guarded by its own sequence
 * count; readers sum the blocks, so the hot path takes no shared lock.
 */
#ifndef NUMAVM_NUMA_NUMASTAT_H
#define NUMAVM_NUMA_NUMASTAT_H

#include <stdint.h>

#include "compiler.h"
#include "numa/mempolicy.h"
#include "numa/seqcount.h"

/* /sys/devices/system/node/nodeN/numastat of one node */
struct numastat {
	uint64_t numa_hit;
	uint64_t numa_miss;
	uint64_t numa_foreign;
	uint64_t interleave_hit;
	uint64_t local_node;
	uint64_t other_node;
};

/* What one vCPU (or the host context) did */
struct numa_vcpu_stats {
	uint64_t faults;			/* numa_alloc() calls */
	uint64_t alloc_fail;			/* ... that returned -ENOMEM */
	uint64_t alloc[NUMA_MAX_NODES];		/* allocations per node */
	uint64_t alloc_pages[NUMA_MAX_NODES];	/* pages allocated per node */
	uint64_t free[NUMA_MAX_NODES];		/* numa_free() calls per node */
	struct numastat node[NUMA_MAX_NODES];	/* its share of numastat */
};

/*
 * One writer's counter block: written only by its owner thread, between two
 * increments of @seq (odd while writing); numastat_read() retries until it
 * copies an even, unchanged @seq, so a snapshot is never torn.
 */
struct numastat_cpu {
	unsigned int seq;
	struct numa_vcpu_stats s;
} __cacheline_aligned;

/* Begin/end an update of @c (owner thread only). */
static inline void numastat_write_begin(struct numastat_cpu *c)
{
	seqcount_write_begin(&c->seq);
}

static inline void numastat_write_end(struct numastat_cpu *c)
{
	seqcount_write_end(&c->seq);
}

/* A consistent copy of @c (any thread). */
void numastat_read(const struct numastat_cpu *c, struct numa_vcpu_stats *out);

/* Add @b to @a, counter by counter. */
void numastat_add(struct numastat *a, const struct numastat *b);

#endif /* NUMAVM_NUMA_NUMASTAT_H */

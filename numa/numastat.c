/*
 * Reading the numastat counter blocks.  Each vCPU (and the host context)
 * owns one struct numastat_cpu and updates it between two increments of its
 * sequence count; a reader copies the block and retries if the count was odd
 * or moved, so every copy is a state the owner actually passed through and
 * totals such as hit + miss == local + other == allocations always agree.
 */
#include "numa/numastat.h"

#include <string.h>

#include "numa/seqcount.h"

void numastat_read(const struct numastat_cpu *c, struct numa_vcpu_stats *out)
{
	unsigned int seq, spins = 0;

	for (;;) {
		seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			seqcount_relax(&spins);
			continue;
		}
		memcpy(out, &c->s, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) == seq)
			return;
	}
}

void numastat_add(struct numastat *a, const struct numastat *b)
{
	a->numa_hit += b->numa_hit;
	a->numa_miss += b->numa_miss;
	a->numa_foreign += b->numa_foreign;
	a->interleave_hit += b->interleave_hit;
	a->local_node += b->local_node;
	a->other_node += b->other_node;
}

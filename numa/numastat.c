/*
 * Reading the numastat counter blocks.  Each vCPU (and the host context)
 * owns one struct numastat_cpu and updates it between two increments of its
 * sequence count; a reader copies the block and retries if the count was odd
 * or moved, so every copy is a state the owner actually passed through and
 * totals such as hit + miss == local + other == allocations always agree.
 */
#include "numa/numastat.h"

#include <string.h>

void numastat_read(const struct numastat_cpu *c, struct numa_vcpu_stats *out)
{
	unsigned int seq;

	do {
		seq = seqcount_read_begin(&c->seq);
		memcpy(out, &c->s, sizeof(*out));
	} while (seqcount_read_retry(&c->seq, seq));
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

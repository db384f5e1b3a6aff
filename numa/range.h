/*
 * Range policies on guest physical addresses: the analogue of VMA policies
 * set by mbind().  A sorted, non-overlapping array of [start, end) ranges,
 * each with a policy and the page offset its interleave counts from.
 * Setting a policy on a sub-range splits and merges ranges as mbind_range()
 * does for VMAs; MPOL_DEFAULT removes the policy.  Readers (the fault path)
 * never write shared memory: they read under a sequence count and retry;
 * writers serialise on a mutex.
 */
#ifndef NUMAVM_NUMA_RANGE_H
#define NUMAVM_NUMA_RANGE_H

#include <pthread.h>
#include <stddef.h>

#include "compiler.h"
#include "types.h"
#include "numa/mempolicy.h"

#define NUMA_MAX_RANGES	256		/* like a VMA map count limit */

struct range_policy {
	gpa_t start, end;		/* [start, end), page aligned */
	uint64_t pgoff;			/* interleave offset of @start */
	struct mempolicy pol;
};

struct range_tree {
	pthread_mutex_t lock;		/* serialises writers */
	unsigned int seq;		/* odd while a writer changes @r */
	unsigned int nr;
	struct range_policy r[NUMA_MAX_RANGES];
	/* under @lock: where range_set() builds the new array */
	struct range_policy scratch[NUMA_MAX_RANGES];
};

/* Returns 0, or the -errno of the mutex initialisation (nothing to undo). */
int range_init(struct range_tree *rt) __must_check;
void range_destroy(struct range_tree *rt);

/*
 * range_set - apply @pol to [start, end) (MPOL_DEFAULT: remove).  Splits
 * the ranges it overlaps, merges equal neighbours (for interleave modes only
 * if their offsets continue).  Returns 0, -EINVAL for an unaligned or empty
 * range, -ENOSPC if the result would exceed NUMA_MAX_RANGES (state
 * unchanged).  Takes rt->lock; allocates nothing (the new array is built in
 * rt->scratch).
 */
int range_set(struct range_tree *rt, gpa_t start, gpa_t end,
	      const struct mempolicy *pol) __must_check;

/*
 * range_lookup - the policy covering @gpa and its interleave index for an
 * order-@order allocation.  Returns false if no range covers @gpa.
 * Lock-free (sequence count); safe against concurrent range_set().
 */
bool range_lookup(const struct range_tree *rt, gpa_t gpa, unsigned int order,
		  struct mempolicy *pol, uint64_t *ilx);

/* Copy up to @max ranges into @out; returns the total number of ranges. */
unsigned int range_list(const struct range_tree *rt, struct range_policy *out,
			unsigned int max);

#endif /* NUMAVM_NUMA_RANGE_H */

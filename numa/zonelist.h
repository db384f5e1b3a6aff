/*
 * Fallback order ("zonelists"): for every node, the nodes an allocation that
 * prefers it tries, nearest first, built exactly as Linux's
 * build_all_zonelists() -> build_zonelists() -> find_next_best_node() does
 * (one zone per node here).  docs/numa.md has a worked example.
 */
#ifndef NUMAVM_NUMA_ZONELIST_H
#define NUMAVM_NUMA_ZONELIST_H

#include "numa/mempolicy.h"
#include "numa/topology.h"

struct zonelist {
	unsigned int nr;			/* nodes with memory */
	uint8_t node[NUMA_MAX_NODES];		/* fallback order */
};

/*
 * zonelist_build_all - zonelists of every node of a validated topology, in
 * node id order (node_load[] carries over from one node to the next, as in
 * Linux).  Memoryless nodes get a zonelist but never appear in one.
 */
void zonelist_build_all(const struct numa_topology *t,
			struct zonelist zl[NUMA_MAX_NODES]);

#endif /* NUMAVM_NUMA_ZONELIST_H */

/*
 * Fallback order per node, reproducing Linux's build_all_zonelists():
 * node_load[] is cleared once, then build_zonelists() runs for every node in
 * id order, each picking nodes with find_next_best_node() (Linux >= 6.7,
 * where a memoryless local node is skipped).  One "zone" per node, so the
 * node order is the zonelist.  docs/numa.md walks through an example.
 */
#include "numa/zonelist.h"

#include <limits.h>
#include <string.h>

/*
 * Linux multiplies the score by MAX_NUMNODES so that node_load[] only breaks
 * ties; any factor larger than the largest load (< NUMA_MAX_NODES) orders
 * nodes the same way.
 */
#define ZL_LOAD_SCALE		1024
#define PENALTY_FOR_NODE_WITH_CPUS 1

static int find_next_best_node(const struct numa_topology *t, unsigned int node,
			       nodemask_t *used, nodemask_t mem,
			       nodemask_t cpus, const int node_load[])
{
	int min_val = INT_MAX, best = NUMA_NO_NODE, val;
	unsigned int n;

	/* The local node first, unless it is memoryless */
	if (!node_isset(node, *used) && node_isset(node, mem)) {
		*used |= 1U << node;
		return (int)node;
	}

	for (n = 0; n < t->nr_nodes; n++) {
		if (!node_isset(n, mem) || node_isset(n, *used))
			continue;
		val = t->distance[node][n];
		/* Penalise nodes under us ("prefer the next node") */
		val += n < node;
		/* Give preference to headless nodes */
		if (node_isset(n, cpus))
			val += PENALTY_FOR_NODE_WITH_CPUS;
		/* Slight preference for the less loaded node */
		val *= ZL_LOAD_SCALE;
		val += node_load[n];
		if (val < min_val) {
			min_val = val;
			best = (int)n;
		}
	}
	if (best >= 0)
		*used |= 1U << best;
	return best;
}

void zonelist_build_all(const struct numa_topology *t,
			struct zonelist zl[NUMA_MAX_NODES])
{
	nodemask_t mem = topo_mem_nodes(t), cpus = topo_cpu_nodes(t);
	int node_load[NUMA_MAX_NODES];
	unsigned int local;

	memset(node_load, 0, sizeof(node_load));
	memset(zl, 0, sizeof(*zl) * NUMA_MAX_NODES);
	for (local = 0; local < t->nr_nodes; local++) {
		nodemask_t used = 0;
		unsigned int prev = local;
		int node;

		while ((node = find_next_best_node(t, local, &used, mem, cpus,
						   node_load)) >= 0) {
			/*
			 * Penalise the first node of each distance group so
			 * that the next node's list starts that group elsewhere
			 * (round-robin among equals).
			 */
			if (t->distance[local][node] !=
			    t->distance[local][prev])
				node_load[node] += 1;
			zl[local].node[zl[local].nr++] = (uint8_t)node;
			prev = (unsigned int)node;
		}
	}
}

/*
 * Virtual NUMA topology checks and helpers: the rules every topology must
 * obey before numa/ builds node pools and zonelists from it.  Distances
 * follow ACPI SLIT as Linux validates it (drivers/acpi/numa/srat.c,
 * slit_valid()): exactly 10 on the diagonal, more than 10 off it; 255
 * ("unreachable") is refused.  Nodes without memory are allowed, like
 * Linux's memoryless nodes: they can hold vCPUs but never appear in a
 * fallback list, and policies naming only them are refused.
 */
#include "numa/topology.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"
#include "types.h"

int topo_init(struct numa_topology *t, unsigned int nr_nodes,
	      unsigned int nr_vcpus, char *err, size_t len)
{
	unsigned int a, b;

	if (nr_nodes < 1 || nr_nodes > NUMA_MAX_NODES)
		return errmsg(err, len, "%u nodes: must be 1..%u", nr_nodes,
				NUMA_MAX_NODES);
	if (nr_vcpus < 1 || nr_vcpus > NUMA_MAX_VCPUS)
		return errmsg(err, len, "%u vCPUs: must be 1..%u", nr_vcpus,
				NUMA_MAX_VCPUS);

	memset(t, 0, sizeof(*t));
	t->nr_nodes = nr_nodes;
	t->nr_vcpus = nr_vcpus;
	for (a = 0; a < NUMA_MAX_NODES; a++)
		for (b = 0; b < NUMA_MAX_NODES; b++)
			t->distance[a][b] = a == b ? NUMA_LOCAL_DISTANCE :
						     NUMA_REMOTE_DISTANCE;
	return 0;
}

static int topo_check_distance(unsigned int a, unsigned int b, unsigned int val,
			       char *err, size_t len)
{
	if (a == b && val != NUMA_LOCAL_DISTANCE)
		return errmsg(err, len,
				"distance %u->%u is %u: a node's distance to itself must be %u",
				a, b, val, NUMA_LOCAL_DISTANCE);
	if (a != b && (val <= NUMA_LOCAL_DISTANCE || val > NUMA_MAX_DISTANCE))
		return errmsg(err, len,
				"distance %u->%u is %u: must be %u..%u between distinct nodes",
				a, b, val, NUMA_LOCAL_DISTANCE + 1,
				NUMA_MAX_DISTANCE);
	return 0;
}

int topo_set_distance(struct numa_topology *t, unsigned int a, unsigned int b,
		      unsigned int val, bool symmetric, char *err, size_t len)
{
	int ret;

	if (a >= t->nr_nodes || b >= t->nr_nodes)
		return errmsg(err, len,
				"distance %u->%u: node does not exist (%u nodes)",
				a, b, t->nr_nodes);
	ret = topo_check_distance(a, b, val, err, len);
	if (ret)
		return ret;
	t->distance[a][b] = (uint8_t)val;
	if (symmetric)
		t->distance[b][a] = (uint8_t)val;
	return 0;
}

int topo_validate(const struct numa_topology *t, char *err, size_t len)
{
	unsigned int a, b, v;
	int ret;

	if (t->nr_nodes < 1 || t->nr_nodes > NUMA_MAX_NODES)
		return errmsg(err, len, "%u nodes: must be 1..%u",
				t->nr_nodes, NUMA_MAX_NODES);
	if (t->nr_vcpus < 1 || t->nr_vcpus > NUMA_MAX_VCPUS)
		return errmsg(err, len, "%u vCPUs: must be 1..%u",
				t->nr_vcpus, NUMA_MAX_VCPUS);
	for (a = 0; a < t->nr_nodes; a++)
		if (t->node_mem[a] % PAGE_SIZE)
			return errmsg(err, len,
					"node %u memory %llu bytes is not a multiple of the page size (%lu)",
					a, (unsigned long long)t->node_mem[a],
					PAGE_SIZE);
	if (!topo_mem_nodes(t))
		return errmsg(err, len, "no node has memory");
	for (a = 0; a < t->nr_nodes; a++) {
		for (b = 0; b < t->nr_nodes; b++) {
			ret = topo_check_distance(a, b, t->distance[a][b], err,
						  len);
			if (ret)
				return ret;
		}
	}
	for (v = 0; v < t->nr_vcpus; v++)
		if (t->vcpu_node[v] >= t->nr_nodes)
			return errmsg(err, len,
					"vCPU %u: home node %u does not exist (%u nodes)",
					v, t->vcpu_node[v], t->nr_nodes);
	return 0;
}

nodemask_t topo_mem_nodes(const struct numa_topology *t)
{
	nodemask_t m = 0;
	unsigned int n;

	for (n = 0; n < t->nr_nodes && n < NUMA_MAX_NODES; n++)
		if (t->node_mem[n] >= PAGE_SIZE)
			m |= 1U << n;
	return m;
}

nodemask_t topo_cpu_nodes(const struct numa_topology *t)
{
	nodemask_t m = 0;
	unsigned int v;

	for (v = 0; v < t->nr_vcpus && v < NUMA_MAX_VCPUS; v++)
		if (t->vcpu_node[v] < NUMA_MAX_NODES)
			m |= 1U << t->vcpu_node[v];
	return m;
}

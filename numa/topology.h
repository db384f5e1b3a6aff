/*
 * Virtual NUMA topology of one VM: nodes with their memory and optional host
 * node binding, the SLIT-style distance matrix, and the home node of every
 * vCPU.  Plain data, filled by the configs (vmm/config*.c) or by defaults,
 * validated here, then used by numa/ to build zonelists and node pools and
 * by vmm/ to answer the topology hypercall.
 */
#ifndef NUMAVM_NUMA_TOPOLOGY_H
#define NUMAVM_NUMA_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "numa/mempolicy.h"

#define NUMA_LOCAL_DISTANCE	10	/* ACPI SLIT: diagonal */
#define NUMA_REMOTE_DISTANCE	20	/* default between distinct nodes */
#define NUMA_MAX_DISTANCE	254	/* 255 means unreachable in SLIT */

struct numa_topology {
	unsigned int nr_nodes;
	unsigned int nr_vcpus;
	uint64_t node_mem[NUMA_MAX_NODES];	/* bytes, multiple of PAGE_SIZE */
	uint64_t host_nodes[NUMA_MAX_NODES];	/* host nodes backing the pool, 0 = unbound */
	uint8_t distance[NUMA_MAX_NODES][NUMA_MAX_NODES];
	uint8_t vcpu_node[NUMA_MAX_VCPUS];	/* home node of each vCPU */
};

/*
 * topo_init - a one-node-per-@nr_nodes default topology: no memory, SLIT
 * defaults (10 local, 20 remote), every vCPU on node 0.  Returns -EINVAL if
 * nr_nodes or nr_vcpus is out of range (message in @err), *t untouched.
 */
int topo_init(struct numa_topology *t, unsigned int nr_nodes,
	      unsigned int nr_vcpus, char *err, size_t len) __must_check;

/*
 * topo_set_distance - distance from @a to @b (and @b to @a if @symmetric).
 * Returns -EINVAL for a bad node, a value outside 10..254, 10 off the
 * diagonal or anything but 10 on it; *t untouched on error.
 */
int topo_set_distance(struct numa_topology *t, unsigned int a, unsigned int b,
		      unsigned int val, bool symmetric, char *err,
		      size_t len) __must_check;

/*
 * topo_validate - check everything numa/ relies on: 1..NUMA_MAX_NODES nodes,
 * 1..NUMA_MAX_VCPUS vCPUs, page-aligned node memory (0 = memoryless node,
 * like Linux; at least one node must have memory), SLIT distances (10 on
 * the diagonal, 11..254 off it), every vCPU's home node valid.  Returns 0 or
 * -EINVAL with the first problem in @err.
 */
int topo_validate(const struct numa_topology *t, char *err, size_t len);

/* Nodes with memory (Linux's N_MEMORY) and nodes with vCPUs (N_CPU). */
nodemask_t topo_mem_nodes(const struct numa_topology *t);
nodemask_t topo_cpu_nodes(const struct numa_topology *t);

#endif /* NUMAVM_NUMA_TOPOLOGY_H */

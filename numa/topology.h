/*
 * Virtual NUMA topology of one VM: nodes with their memory and optional host
 * node binding, the SLIT-style distance matrix, and the home node of every
 * vCPU.  Plain data, filled by the configs (vmm/config*.c) or by defaults,
 * validated here, then used by numa/ to build zonelists and node pools and
 * by vmm/ to answer the topology hypercall.
 */
#ifndef NUMAVM_NUMA_TOPOLOGY_H
#define NUMAVM_NUMA_TOPOLOGY_H

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

#endif /* NUMAVM_NUMA_TOPOLOGY_H */

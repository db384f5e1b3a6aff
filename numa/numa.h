/*
 * The NUMA layer of one VM: its nodes, one buddy allocator (mm/) per node
 * with memory, the zonelists, the per-vCPU task policies and interleave
 * cursors, the range policies and the numastat counters, behind ONE
 * allocation entry point, numa_alloc() -- Linux's alloc_pages() ->
 * mempolicy -> __alloc_pages() path with a vCPU as "current".  vmm/ is the
 * only caller; numa/ never prints or exits.
 *
 * Threads: numa_alloc()/numa_free() for vCPU v run on the thread that runs v
 * (one at a time, like a CPU); the host context (NUMA_HOST) may be used by
 * any thread (serialised internally).  Policies and ranges may be changed
 * from any other thread at any time.
 */
#ifndef NUMAVM_NUMA_NUMA_H
#define NUMAVM_NUMA_NUMA_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"
#include "mm/buddy.h"
#include "numa/mempolicy.h"
#include "numa/numastat.h"
#include "numa/range.h"
#include "numa/topology.h"
#include "numa/zonelist.h"

/* The host pseudo-vCPU (loader, VMM threads): home node 0, default policy */
#define NUMA_HOST		(-1)

/* gfp flags of numa_alloc() */
#define NUMA_GFP_THISNODE	(1U << 0)	/* __GFP_THISNODE */

struct numa_vm;		/* opaque: see numa/numa.c */

/* Where an allocation landed */
struct numa_page {
	unsigned int node;
	pfn_t pfn;		/* frame inside that node's pool */
};

/*
 * numa_vm_create - build the NUMA layer for a topology: validates @t (copied),
 * creates one buddy allocator per node with memory over frames
 * [0, node_mem / PAGE_SIZE) with nr_vcpus + 1 per-vCPU caches (the last is
 * the host's), builds the zonelists, sets every policy to MPOL_DEFAULT.
 * @pool_base: NULL, or per node the host address of its pool (may be NULL
 * per node): buddy_pfn_to_addr() then gives frame addresses.
 * Returns NULL with a message in @err (and errno set) on failure.
 */
struct numa_vm *numa_vm_create(const struct numa_topology *t,
			       void *const pool_base[], char *err,
			       size_t len) __must_check;
void numa_vm_destroy(struct numa_vm *nv);

/*
 * numa_alloc - allocate a 2^order block for a fault at @gpa by @vcpu (or
 * NUMA_HOST).  The range policy covering @gpa wins over the vCPU policy.
 * Fast path over the zonelist of the policy's node restricted to its
 * nodemask at the low watermark, then the min watermark, then once more
 * after draining every per-vCPU cache of every node, then -ENOMEM.
 * NUMA_GFP_THISNODE: only the node the policy chose (the home node for
 * default/local/bind/preferred-many, the preferred node, the interleave
 * target), no fallback: -ENOMEM if that node has no memory, is outside the
 * policy's nodes (bind) or is below its min watermark.
 * Returns 0 with *out filled, -ENOMEM, or -EINVAL (bad vcpu, order, gfp).
 * Hot path: no malloc, no logging, no shared lock beyond the node's.
 */
int numa_alloc(struct numa_vm *nv, int vcpu, gpa_t gpa, unsigned int order,
	       unsigned int gfp, struct numa_page *out) __must_check;

/* Return a block; -EINVAL (nothing changed) for a bad node, vcpu or free. */
int numa_free(struct numa_vm *nv, unsigned int node, pfn_t pfn,
	      unsigned int order, int vcpu);

/*
 * Policies.  set: validated as set_mempolicy() (vCPU) / mbind() (range);
 * -EINVAL with a message, -ENOSPC (too many ranges), policy unchanged on
 * error.  Setting a vCPU policy resets its interleave cursor.
 * The range is [start, start + len), page aligned; MPOL_DEFAULT removes.
 */
int numa_set_vcpu_policy(struct numa_vm *nv, int vcpu,
			 const struct mpol_spec *spec, char *err,
			 size_t len) __must_check;
int numa_get_vcpu_policy(struct numa_vm *nv, int vcpu, struct mpol_spec *spec);
int numa_set_range_policy(struct numa_vm *nv, gpa_t start, uint64_t len,
			  const struct mpol_spec *spec, char *err,
			  size_t elen) __must_check;
/* Copy up to @max range policies; returns how many exist. */
unsigned int numa_get_range_policies(struct numa_vm *nv,
				     struct range_policy *out,
				     unsigned int max);

/* Topology and per-node access (buddyinfo, zoneinfo) */
unsigned int numa_nr_nodes(const struct numa_vm *nv);
unsigned int numa_nr_vcpus(const struct numa_vm *nv);
const struct numa_topology *numa_get_topology(const struct numa_vm *nv);
/* NULL for a memoryless or unknown node */
struct buddy *numa_node_buddy(struct numa_vm *nv, unsigned int node);
/* Fallback order of @node; NULL for an unknown node */
const struct zonelist *numa_get_zonelist(const struct numa_vm *nv,
					 unsigned int node);
/* Home node of @vcpu (node 0 for NUMA_HOST), -EINVAL for a bad vcpu */
int numa_vcpu_node(const struct numa_vm *nv, int vcpu);

/*
 * Statistics: sums of the per-vCPU blocks, each copied consistently (see
 * numa/numastat.h).  -EINVAL for an unknown node/vcpu.
 */
int numa_get_numastat(struct numa_vm *nv, unsigned int node,
		      struct numastat *st);
int numa_get_vcpu_stats(struct numa_vm *nv, int vcpu,
			struct numa_vcpu_stats *st);

#endif /* NUMAVM_NUMA_NUMA_H */

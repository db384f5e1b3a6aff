/*
 * Per-node host memory pools: the real host memory behind one virtual NUMA
 * node, whose frames the node's buddy allocator hands out.  A pool is a
 * memfd (shared, so its frames can be mapped at guest addresses and still
 * be read through the pool: zero-copy) or, for UFFDIO_MOVE, a private
 * anonymous mapping.  When the node has a host binding the pool is mbind()ed
 * to those host nodes before any page exists, and pool_get_binding() reads
 * the binding back with get_mempolicy(MPOL_F_ADDR).  Pools are lazy (pages
 * appear on first touch) unless created with POOL_PREALLOC, which populates
 * every page at creation like QEMU's prealloc=on.
 *
 * Invariant kept by the fault path: every frame that is free in the node's
 * buddy allocator reads as zeros (fresh pool pages are zero; pool_zero() is
 * called on every frame given back).
 */
#ifndef NUMAVM_VMM_POOL_H
#define NUMAVM_VMM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "types.h"

#define POOL_PREALLOC	(1U << 0)	/* populate every page at creation */
#define POOL_THP	(1U << 1)	/* MADV_HUGEPAGE on the pool */
#define POOL_ANON	(1U << 2)	/* private anonymous (UFFDIO_MOVE), no fd */

struct pool {
	int fd;			/* memfd, -1 for POOL_ANON */
	void *base;		/* the whole pool, mapped */
	size_t size;
	uint64_t host_nodes;	/* bound to these host nodes, 0 = unbound */
	unsigned int flags;
};

/*
 * pool_create - a pool of @size bytes (a multiple of PAGE_SIZE), bound to
 * @host_nodes (bit n = host node n; 0 = no binding) when non-zero.
 * Returns 0, or -errno with *p unusable: -EINVAL for a bad size or a host
 * node that does not exist, -ENOMEM when prealloc cannot populate.
 * @err gets a message naming the failed step.
 */
int pool_create(struct pool *p, const char *name, size_t size,
		uint64_t host_nodes, unsigned int flags, char *err,
		size_t len) __must_check;
void pool_destroy(struct pool *p);

/*
 * pool_get_binding - the policy the kernel has for the pool:
 * *mode = MPOL_* (Linux's), *nodes = its host nodemask.  0 or -errno.
 */
int pool_get_binding(const struct pool *p, int *mode, uint64_t *nodes);

/*
 * pool_host_node - host node of the page backing frame @pfn, or -ENOENT if
 * it has no page yet (move_pages query: never populates).
 */
int pool_host_node(const struct pool *p, pfn_t pfn);

/*
 * pool_zero - make frames [pfn, pfn + nr) read as zeros again before they
 * return to the buddy allocator: a hole is punched (host memory released)
 * in a lazy memfd pool, memset in a preallocated or anonymous one (they
 * stay populated).  No guest mapping may still map them.  0 or -errno.
 */
int pool_zero(struct pool *p, pfn_t pfn, unsigned long nr);

static inline void *pool_frame_addr(const struct pool *p, pfn_t pfn)
{
	return (char *)p->base + (pfn << PAGE_SHIFT);
}

static inline off_t pool_frame_off(pfn_t pfn)
{
	return (off_t)(pfn << PAGE_SHIFT);
}

#endif /* NUMAVM_VMM_POOL_H */

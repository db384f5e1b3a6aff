/*
 * The host-side buddy allocator: one instance per virtual NUMA node, managing
 * a contiguous range of 4 KiB frames of a host memory pool, modelled on
 * Linux's mm/page_alloc.c (struct zone, free_area[MAX_ORDER], expand(),
 * __free_one_page(), zone_watermark_ok(), per-cpu pagesets).  It manages frame
 * numbers only; the caller maps the pool and may hand its base address in so
 * that buddy_pfn_to_addr() gives the host address of a frame.  mm/ never
 * prints, exits or aborts: every entry point returns 0 or -errno and leaves
 * the allocator unchanged on failure.
 */
#ifndef NUMAVM_MM_BUDDY_H
#define NUMAVM_MM_BUDDY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"

#define MAX_ORDER	11			/* orders 0..10, 4 MiB blocks */
#define MAX_ORDER_NR_PAGES (1UL << (MAX_ORDER - 1))

/* Watermark choice for buddy_alloc(), as Linux's ALLOC_WMARK_* / ALLOC_NO_WATERMARKS */
enum buddy_wmark {
	BUDDY_WMARK_MIN = 0,
	BUDDY_WMARK_LOW,
	BUDDY_WMARK_HIGH,
	BUDDY_WMARK_NONE,
};

/* No per-vCPU cache: take the node lock (the "locked path"). */
#define BUDDY_NO_PCP	(-1)

/* /proc/buddyinfo + /proc/zoneinfo fields of one node */
struct buddy_info {
	unsigned long nr_free[MAX_ORDER];	/* free blocks per order */
	unsigned long free_pages;		/* in the free lists (NR_FREE_PAGES) */
	unsigned long pcp_pages;		/* parked in per-vCPU caches */
	unsigned long managed_pages;
	unsigned long wmark_min, wmark_low, wmark_high;
	unsigned int pcp_high, pcp_batch;	/* per-vCPU cache limits */
};

/* Event counters (summed over the per-vCPU counters on read) */
struct buddy_stats {
	uint64_t alloc[MAX_ORDER];		/* successful allocations per order */
	uint64_t free[MAX_ORDER];		/* successful frees per order */
	uint64_t alloc_fail;			/* watermark or no block */
	uint64_t bad_free;			/* rejected frees (double, wrong order, ...) */
	uint64_t pcp_refill, pcp_drain;		/* batches moved between pcp and buddy */
};

struct buddy;	/* opaque: see mm/buddy.c */

/*
 * buddy_create - an allocator for frames [start_pfn, start_pfn + nr_pages).
 * @base: host address of frame start_pfn (may be NULL: numbers only)
 * @nr_pcp: number of per-vCPU caches (0 for none, at most 4096); cache i may
 *          only be used by one thread at a time (its vCPU), like Linux's
 *          per-cpu pagesets.
 * Watermarks are derived from nr_pages as if the pool were all the memory
 * (buddy_calc_watermarks(nr_pages, nr_pages)); callers with several pools
 * set each pool's share with buddy_set_watermarks().  All frames start free.
 * Returns NULL with errno set: EINVAL for bad arguments, ENOMEM when out of
 * memory, or the error a lock initialisation returned.
 */
struct buddy *buddy_create(pfn_t start_pfn, unsigned long nr_pages, void *base,
			   unsigned int nr_pcp) __must_check;
void buddy_destroy(struct buddy *b);

/*
 * buddy_alloc - allocate a 2^order block, applying zone_watermark_ok()
 * semantics for @wmark: free_pages - (2^order - 1) must stay above the mark
 * and, for order > 0, a free block of >= @order must exist.  @cpu selects a
 * per-vCPU cache (or BUDDY_NO_PCP); order 0 with a cache is served from it
 * without the node lock, after the same watermark check made on a lock-free
 * read of free_pages (pages in caches do not count as free, as in Linux).
 * The caller must own @cpu (one thread per cache at a time; only
 * buddy_drain() may touch the cache from another thread).  On success
 * stores the head frame in *pfn and returns 0; -ENOMEM if the watermark
 * check fails or no block exists; -EINVAL for order >= MAX_ORDER, a bad
 * watermark or a bad cpu.  On failure nothing changes but the counters.
 */
int buddy_alloc(struct buddy *b, unsigned int order, enum buddy_wmark wmark,
		int cpu, pfn_t *pfn) __must_check;

/*
 * buddy_free - return a block.  Detects a frame that is not the head of an
 * allocated block, double frees (a frame parked in a cache is free) and
 * wrong orders: returns -EINVAL, counts bad_free and changes nothing else.
 * Order-0 frees go to @cpu's cache when cpu >= 0 (lock-free unless the cache
 * then holds more than its high mark and drains a batch).
 */
int buddy_free(struct buddy *b, pfn_t pfn, unsigned int order, int cpu);

/*
 * buddy_drain - move @cpu's cached pages back to the free lists.  Any thread
 * may call it, also while the owner uses the cache (Linux's
 * drain_all_pages() draining a remote CPU): it takes the cache's lock, then
 * the node lock; an owner that meets the cache locked meanwhile takes the
 * node-locked path.  A no-op for an empty cache or a bad @cpu.
 */
void buddy_drain(struct buddy *b, int cpu);
/* buddy_drain() every cache; safe while the caches are in use. */
void buddy_drain_all(struct buddy *b);

/* zone_watermark_ok() for an order-@order request; takes the node lock. */
bool buddy_watermark_ok(struct buddy *b, unsigned int order,
			enum buddy_wmark wmark);
/*
 * buddy_calc_watermarks - the watermarks Linux gives a zone of @zone_pages
 * when all zones together manage @total_pages: min_free_kbytes comes from
 * the total, each zone gets its proportional share of it as min, and low
 * and high add max(min / 4, zone_pages / 1000) once and twice
 * (__setup_per_zone_wmarks(); docs/mm.md has the formula).  buddy_create()
 * uses it with zone_pages == total_pages; numa/ with the VM's total.  Pure
 * function.  Returns 0, or -EINVAL if zone_pages is 0, larger than
 * total_pages, or total_pages overflows the computation.
 */
int buddy_calc_watermarks(unsigned long total_pages, unsigned long zone_pages,
			  unsigned long *min, unsigned long *low,
			  unsigned long *high) __must_check;
/* Override the derived watermarks; -EINVAL unless min <= low <= high <= managed. */
int buddy_set_watermarks(struct buddy *b, unsigned long min, unsigned long low,
			 unsigned long high);

/*
 * buddy_set_pcp - set the per-vCPU cache limits (Linux's percpu_pagelist
 * fraction): a cache drains @batch frames once it holds more than @high and
 * refills @batch when empty.  Drains every cache first, so no cache may be
 * in use concurrently.  -EINVAL unless 1 <= batch <= high <= managed.
 */
int buddy_set_pcp(struct buddy *b, unsigned int high, unsigned int batch);

/* Consistent snapshots, taken under the node lock. */
void buddy_get_info(struct buddy *b, struct buddy_info *info);
void buddy_get_stats(struct buddy *b, struct buddy_stats *stats);

/*
 * buddy_check - walk every free list, pcp list and the metadata.  Returns 0
 * if consistent, otherwise -EUCLEAN with the first inconsistency in @msg.
 * Takes the node lock; no per-vCPU cache may be in use concurrently.
 */
int buddy_check(struct buddy *b, char *msg, size_t len);

/* Helpers */
pfn_t buddy_start_pfn(const struct buddy *b);
unsigned long buddy_nr_pages(const struct buddy *b);
void *buddy_pfn_to_addr(const struct buddy *b, pfn_t pfn);
/*
 * Is @pfn (any frame, not only a head) inside an allocated block?  Reads the
 * frame states without the node lock: exact when nothing allocates or frees
 * on the node meanwhile, otherwise an answer that may already be stale
 * (and, during a split or merge, may miss the block being changed).  For
 * introspection and tests, not for decisions that need the lock.
 */
bool buddy_pfn_allocated(struct buddy *b, pfn_t pfn);

/* Bytes of per-frame metadata (docs/mm.md states the figure) */
size_t buddy_frame_meta_size(void);

#endif /* NUMAVM_MM_BUDDY_H */

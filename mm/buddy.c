/*
 * The buddy allocator of one virtual NUMA node, after Linux's
 * mm/page_alloc.c: free_area[MAX_ORDER] lists of free blocks with their
 * nr_free counts, expand() splitting on allocation, __free_one_page() merging
 * with the buddy on free, zone_watermark_ok() and per-cpu pagesets (here one
 * per vCPU) that serve order-0 requests without the node lock.  Every list is
 * intrusive in a 12-byte per-frame descriptor (struct buddy_frame); nothing is
 * allocated after buddy_create().  Blocks are aligned on the absolute frame
 * number, so a pool whose base or size is not a multiple of the largest block
 * is carved into the largest aligned blocks that fit.  docs/mm.md has the
 * design, the watermark formula and what differs from Linux.
 *
 * Locking: b->lock (the node lock, Linux's zone->lock) protects the free
 * lists, the frame descriptors of free-list blocks and the node counters.
 * A pcp (struct buddy_pcp) is used for allocation and free only by the
 * thread that owns its vCPU, and emptied by any thread (buddy_drain(),
 * Linux's drain_all_pages()).  The two exclude each other with an
 * asymmetric Dekker handshake: the owner marks the cache in use and then
 * looks for a drain request with two plain accesses and a compiler barrier
 * (no atomic read-modify-write on the fast path); a drainer posts the
 * request, runs membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) -- the full
 * barrier the owner leaves out, executed on every running thread of the
 * process -- and waits until the cache is not in use.  An owner that sees a
 * request takes the node-locked path instead of the cache.  Without
 * membarrier the owner issues the full fence itself.  Drains are
 * serialised by b->drain_lock, taken before the node lock.  Functions
 * prefixed with __ are called with the node lock held.
 */
#include "mm/buddy.h"

#include <errno.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NIL		UINT32_MAX	/* end of an intrusive list */

/* Frame states; only the head frame of a block has a state other than TAIL. */
enum {
	FRAME_TAIL = 0,		/* inside a block, or never a head */
	FRAME_BUDDY,		/* head of a free block on free_area[] (PageBuddy) */
	FRAME_PCP,		/* order-0 frame parked in a pcp list */
	FRAME_ALLOC,		/* head of an allocated block */
};

/*
 * Per-frame descriptor, 12 bytes (Linux's struct page is 64).  next/prev are
 * frame indices relative to start_pfn, linking free-list or pcp entries.
 * state is written with WRITE_ONCE: the lock-free pcp path changes the state
 * of frames it owns while __free_one_page() may read it to test a buddy.
 */
struct buddy_frame {
	uint32_t next;
	uint32_t prev;
	uint8_t order;
	uint8_t state;
	uint16_t pad;
};
_Static_assert(sizeof(struct buddy_frame) <= 16, "frame metadata over budget");

struct free_area {
	uint32_t head;			/* most recently freed block first */
	unsigned long nr_free;
};

/*
 * A per-vCPU cache of order-0 frames (Linux's struct per_cpu_pages) and the
 * event counters of its owner.  head, tail, count, refill and drain change
 * only inside pcp_enter()/pcp_exit() (the owner) or while a drain holds
 * @drain_req (another thread); the other counters only by the owner.
 * Readers of count and the counters (buddy_get_info/stats) load them
 * relaxed.
 */
struct buddy_pcp {
	unsigned int in_use;		/* owner: inside pcp_enter/exit */
	unsigned int drain_req;		/* a drainer: keep out of the list */
	uint32_t head, tail;		/* alloc from head, drain the cold tail */
	unsigned int count;
	uint64_t alloc[MAX_ORDER];
	uint64_t free[MAX_ORDER];
	uint64_t alloc_fail;
	uint64_t refill, drain;
} __cacheline_aligned;

#ifdef BUDDY_SPINLOCK
#define lock_t			pthread_spinlock_t
#define lock_init(l)		pthread_spin_init(l, PTHREAD_PROCESS_PRIVATE)
#define lock_destroy(l)		pthread_spin_destroy(l)
#define node_lock(b)		pthread_spin_lock(&(b)->lock)
#define node_unlock(b)		pthread_spin_unlock(&(b)->lock)
#else
#define lock_t			pthread_mutex_t
#define lock_init(l)		mutex_init_adaptive(l)
#define lock_destroy(l)		pthread_mutex_destroy(l)
#define node_lock(b)		pthread_mutex_lock(&(b)->lock)
#define node_unlock(b)		pthread_mutex_unlock(&(b)->lock)
#endif

#ifndef BUDDY_SPINLOCK
/* Spin briefly, then sleep: short hold times, threads may outnumber cores */
static int mutex_init_adaptive(pthread_mutex_t *m)
{
	pthread_mutexattr_t attr;
	int ret;

	ret = pthread_mutexattr_init(&attr);
	if (ret)
		return ret;
	ret = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	if (!ret)
		ret = pthread_mutex_init(m, &attr);
	pthread_mutexattr_destroy(&attr);
	return ret;
}
#endif

struct buddy {
	/* read-mostly, set at create */
	pfn_t start_pfn;
	unsigned long nr_pages;
	void *base;
	struct buddy_frame *frames;
	struct buddy_pcp *pcp;
	unsigned int nr_pcp;
	unsigned int pcp_high, pcp_batch;
	unsigned long wmark[3];		/* min, low, high */

	pthread_mutex_t drain_lock;	/* serialises drains of the caches */

	/* under lock; free_pages is also read lock-free by the pcp path */
	lock_t lock __cacheline_aligned;
	unsigned long free_pages;	/* NR_FREE_PAGES: free lists only */
	struct free_area free_area[MAX_ORDER];
	uint64_t alloc[MAX_ORDER];	/* events of BUDDY_NO_PCP callers */
	uint64_t free[MAX_ORDER];
	uint64_t alloc_fail;
	uint64_t bad_free;
};

/* 1: drainers run membarrier(), owners need only a compiler barrier */
static int pcp_membarrier;
static pthread_once_t pcp_membarrier_once = PTHREAD_ONCE_INIT;

static void pcp_membarrier_register(void)
{
	if (!syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
		     0, 0))
		__atomic_store_n(&pcp_membarrier, 1, __ATOMIC_RELAXED);
}

/*
 * The owner's side: mark the cache in use, then check for a drain.  The
 * store-load order between the two is what the drainer's membarrier()
 * provides.  Returns false (cache not entered) while a drain runs.
 */
static inline bool pcp_enter(struct buddy_pcp *pcp)
{
	__atomic_store_n(&pcp->in_use, 1, __ATOMIC_RELAXED);
	if (likely(__atomic_load_n(&pcp_membarrier, __ATOMIC_RELAXED)))
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	else
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (likely(!__atomic_load_n(&pcp->drain_req, __ATOMIC_ACQUIRE)))
		return true;
	__atomic_store_n(&pcp->in_use, 0, __ATOMIC_RELEASE);
	return false;
}

static inline void pcp_exit(struct buddy_pcp *pcp)
{
	__atomic_store_n(&pcp->in_use, 0, __ATOMIC_RELEASE);
}

static inline void stat_inc(uint64_t *c)
{
	__atomic_store_n(c, *c + 1, __ATOMIC_RELAXED);
}

static inline uint64_t stat_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static inline uint32_t pfn_idx(const struct buddy *b, pfn_t pfn)
{
	return (uint32_t)(pfn - b->start_pfn);
}

static inline pfn_t idx_pfn(const struct buddy *b, uint32_t idx)
{
	return b->start_pfn + idx;
}

static inline bool pfn_valid(const struct buddy *b, pfn_t pfn)
{
	return pfn >= b->start_pfn && pfn - b->start_pfn < b->nr_pages;
}

static inline void set_state(struct buddy_frame *f, uint8_t state)
{
	WRITE_ONCE(f->state, state);
}

/* Free-list primitives (lock held) */

static void __list_add(struct buddy *b, uint32_t idx, unsigned int order)
{
	struct free_area *area = &b->free_area[order];
	struct buddy_frame *f = &b->frames[idx];

	f->prev = NIL;
	f->next = area->head;
	if (area->head != NIL)
		b->frames[area->head].prev = idx;
	area->head = idx;
	f->order = order;
	set_state(f, FRAME_BUDDY);
	area->nr_free++;
}

static void __list_del(struct buddy *b, uint32_t idx, unsigned int order)
{
	struct free_area *area = &b->free_area[order];
	struct buddy_frame *f = &b->frames[idx];

	if (f->prev == NIL)
		area->head = f->next;
	else
		b->frames[f->prev].next = f->next;
	if (f->next != NIL)
		b->frames[f->next].prev = f->prev;
	set_state(f, FRAME_TAIL);
	area->nr_free--;
}

/*
 * expand - split the free block at @idx of order @high down to @low, putting
 * the upper halves back on the free lists (Linux's expand()).
 */
static void __expand(struct buddy *b, uint32_t idx, unsigned int low,
		     unsigned int high)
{
	while (high > low) {
		high--;
		__list_add(b, idx + (1U << high), high);
	}
}

/*
 * __rmqueue_smallest - take the smallest free block of order >= @order and
 * split it.  Returns the frame index of the block head (state TAIL, the
 * caller sets it) or NIL.  Updates free_pages.
 */
static uint32_t __rmqueue_smallest(struct buddy *b, unsigned int order)
{
	unsigned int o;

	for (o = order; o < MAX_ORDER; o++) {
		uint32_t idx = b->free_area[o].head;

		if (idx == NIL)
			continue;
		__list_del(b, idx, o);
		__expand(b, idx, order, o);
		WRITE_ONCE(b->free_pages, b->free_pages - (1UL << order));
		return idx;
	}
	return NIL;
}

/*
 * __free_one_page - put the block at @pfn of @order on the free lists,
 * merging with its buddy (pfn ^ 1 << order, absolute alignment) as long as
 * the buddy is a free block of the same order inside the pool.
 */
static void __free_one_page(struct buddy *b, pfn_t pfn, unsigned int order)
{
	unsigned long nr = 1UL << order;

	set_state(&b->frames[pfn_idx(b, pfn)], FRAME_TAIL);
	while (order < MAX_ORDER - 1) {
		pfn_t buddy = pfn ^ (1UL << order);
		struct buddy_frame *bf;

		if (!pfn_valid(b, buddy))
			break;
		bf = &b->frames[pfn_idx(b, buddy)];
		if (READ_ONCE(bf->state) != FRAME_BUDDY || bf->order != order)
			break;
		__list_del(b, pfn_idx(b, buddy), order);
		pfn &= buddy;
		order++;
	}
	__list_add(b, pfn_idx(b, pfn), order);
	WRITE_ONCE(b->free_pages, b->free_pages + nr);
}

/* Is there a free block of at least @order on the free lists? */
static bool __block_exists(const struct buddy *b, unsigned int order)
{
	unsigned int o;

	for (o = order; o < MAX_ORDER; o++)
		if (b->free_area[o].nr_free)
			return true;
	return false;
}

/*
 * __watermark_ok - Linux's __zone_watermark_ok(): after the request, more
 * than @mark pages must stay free, and for order > 0 a free block of at
 * least @order must exist.  @free is the free page count to judge by.
 */
static bool __watermark_ok(const struct buddy *b, unsigned int order,
			   unsigned long mark, unsigned long free)
{
	long free_pages = (long)free - ((1L << order) - 1);

	if (free_pages <= (long)mark)
		return false;
	if (!order)
		return true;
	return __block_exists(b, order);
}

/* rmqueue_bulk - move up to @count order-0 frames to @pcp's tail. */
static unsigned int __rmqueue_bulk(struct buddy *b, struct buddy_pcp *pcp,
				   unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		uint32_t idx = __rmqueue_smallest(b, 0);
		struct buddy_frame *f;

		if (idx == NIL)
			break;
		f = &b->frames[idx];
		f->order = 0;
		f->next = NIL;
		f->prev = pcp->tail;
		if (pcp->tail == NIL)
			pcp->head = idx;
		else
			b->frames[pcp->tail].next = idx;
		pcp->tail = idx;
		set_state(f, FRAME_PCP);
	}
	WRITE_ONCE(pcp->count, pcp->count + i);
	return i;
}

/* free_pcppages_bulk - return up to @count of @pcp's coldest frames. */
static void __free_pcppages_bulk(struct buddy *b, struct buddy_pcp *pcp,
				 unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count && pcp->tail != NIL; i++) {
		uint32_t idx = pcp->tail;

		pcp->tail = b->frames[idx].prev;
		if (pcp->tail == NIL)
			pcp->head = NIL;
		else
			b->frames[pcp->tail].next = NIL;
		__free_one_page(b, idx_pfn(b, idx), 0);
	}
	WRITE_ONCE(pcp->count, pcp->count - i);
}

/*
 * Linux's zone_batchsize() and pageset_set_batch(): batch is about a
 * quarter of managed/1024 pages (at most 1 MiB worth), rounded to 2^n - 1,
 * and high is 6 * batch.
 */
static void pcp_defaults(unsigned long managed, unsigned int *high,
			 unsigned int *batch)
{
	unsigned long bt = managed / 1024;

	if (bt * PAGE_SIZE > 1024 * 1024)
		bt = (1024 * 1024) / PAGE_SIZE;
	bt /= 4;
	if (bt < 1)
		bt = 1;
	bt += bt / 2;
	while (bt & (bt - 1))		/* rounddown_pow_of_two */
		bt &= bt - 1;
	bt = bt > 1 ? bt - 1 : 1;
	*batch = (unsigned int)bt;
	*high = (unsigned int)(6 * bt);
}

static unsigned long int_sqrt(unsigned long x)
{
	unsigned long r = 0, bit = 1UL << (sizeof(long) * 8 - 2);

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/*
 * Linux's init_per_zone_wmark_min() and __setup_per_zone_wmarks():
 * min_free_kbytes = sqrt(16 * lowmem_kbytes) clamped to [128, 262144] is
 * computed once from all of the memory (@total_pages), and each zone gets
 * the share of it that its managed pages are of the total:
 * min = pages_min * zone / total; then, from the zone's own size,
 * low = min + max(min / 4, zone * watermark_scale_factor / 10000) and
 * high = min + 2 * the same, watermark_scale_factor = 10.  Clamped to the
 * zone's pages so a tiny pool keeps min <= low <= high <= managed.
 */
int buddy_calc_watermarks(unsigned long total_pages, unsigned long zone_pages,
			  unsigned long *min, unsigned long *low,
			  unsigned long *high)
{
	unsigned long kbytes, min_free_kbytes, pages_min, zmin, tmp;

	if (!zone_pages || zone_pages > total_pages ||
	    total_pages > ULONG_MAX >> 20)
		return -EINVAL;
	kbytes = total_pages << (PAGE_SHIFT - 10);
	min_free_kbytes = int_sqrt(kbytes * 16);
	if (min_free_kbytes < 128)
		min_free_kbytes = 128;
	if (min_free_kbytes > 262144)
		min_free_kbytes = 262144;
	pages_min = min_free_kbytes >> (PAGE_SHIFT - 10);
	/* pages_min < 2^16 and zone_pages < 2^44: no overflow */
	zmin = pages_min * zone_pages / total_pages;
	tmp = max_t(unsigned long, zmin >> 2, zone_pages * 10 / 10000);
	*min = min_t(unsigned long, zmin, zone_pages);
	*low = min_t(unsigned long, zmin + tmp, zone_pages);
	*high = min_t(unsigned long, zmin + 2 * tmp, zone_pages);
	return 0;
}

struct buddy *buddy_create(pfn_t start_pfn, unsigned long nr_pages, void *base,
			   unsigned int nr_pcp)
{
	struct buddy *b;
	pfn_t pfn, end;
	unsigned int i;
	int ret = ENOMEM;

	if (!nr_pages || nr_pages >= NIL || start_pfn + nr_pages < start_pfn ||
	    nr_pcp > 4096) {
		errno = EINVAL;
		return NULL;
	}
	if (nr_pcp)
		pthread_once(&pcp_membarrier_once, pcp_membarrier_register);
	b = aligned_alloc(64, sizeof(*b));
	if (!b)
		goto err_out;
	memset(b, 0, sizeof(*b));
	b->frames = calloc(nr_pages, sizeof(*b->frames));
	if (!b->frames)
		goto err_free_b;
	if (nr_pcp) {
		b->pcp = aligned_alloc(64, nr_pcp * sizeof(*b->pcp));
		if (!b->pcp)
			goto err_free_frames;
		memset(b->pcp, 0, nr_pcp * sizeof(*b->pcp));
	}
	/* the pthread init functions return an error number, not -1 */
	ret = lock_init(&b->lock);
	if (ret)
		goto err_free_pcp;
	ret = pthread_mutex_init(&b->drain_lock, NULL);
	if (ret)
		goto err_destroy_lock;

	b->start_pfn = start_pfn;
	b->nr_pages = nr_pages;
	b->base = base;
	b->nr_pcp = nr_pcp;
	for (i = 0; i < nr_pcp; i++)
		b->pcp[i].head = b->pcp[i].tail = NIL;
	pcp_defaults(nr_pages, &b->pcp_high, &b->pcp_batch);
	/* a pool alone is its own lowmem; nr_pages < 2^32 always passes */
	ret = buddy_calc_watermarks(nr_pages, nr_pages, &b->wmark[0],
				    &b->wmark[1], &b->wmark[2]);
	if (ret) {
		ret = -ret;
		goto err_destroy_drain;
	}
	for (i = 0; i < MAX_ORDER; i++)
		b->free_area[i].head = NIL;

	/* Carve the largest aligned blocks that fit (memblock_free_pages) */
	end = start_pfn + nr_pages;
	for (pfn = start_pfn; pfn < end;) {
		unsigned int order = MAX_ORDER - 1;

		while (order && ((pfn & ((1UL << order) - 1)) ||
				 pfn + (1UL << order) > end))
			order--;
		__list_add(b, pfn_idx(b, pfn), order);
		pfn += 1UL << order;
	}
	b->free_pages = nr_pages;
	return b;

err_destroy_drain:
	pthread_mutex_destroy(&b->drain_lock);
err_destroy_lock:
	lock_destroy(&b->lock);
err_free_pcp:
	free(b->pcp);
err_free_frames:
	free(b->frames);
err_free_b:
	free(b);
err_out:
	errno = ret;
	return NULL;
}

void buddy_destroy(struct buddy *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->drain_lock);
	lock_destroy(&b->lock);
	free(b->pcp);
	free(b->frames);
	free(b);
}

/*
 * The pcp fast path of rmqueue(): no node lock unless the cache is empty.
 * Called with the pcp lock held.
 */
static int alloc_pcp(struct buddy *b, struct buddy_pcp *pcp, pfn_t *pfn)
{
	struct buddy_frame *f;
	uint32_t idx;

	if (pcp->head == NIL) {
		unsigned int got;

		node_lock(b);
		got = __rmqueue_bulk(b, pcp, b->pcp_batch);
		node_unlock(b);
		if (!got)
			return -ENOMEM;
		stat_inc(&pcp->refill);
	}
	idx = pcp->head;
	f = &b->frames[idx];
	pcp->head = f->next;
	if (pcp->head == NIL)
		pcp->tail = NIL;
	else
		b->frames[pcp->head].prev = NIL;
	WRITE_ONCE(pcp->count, pcp->count - 1);
	set_state(f, FRAME_ALLOC);
	*pfn = idx_pfn(b, idx);
	return 0;
}

int buddy_alloc(struct buddy *b, unsigned int order, enum buddy_wmark wmark,
		int cpu, pfn_t *pfn)
{
	struct buddy_pcp *pcp = NULL;
	uint32_t idx;

	if (unlikely(order >= MAX_ORDER ||
		     (unsigned int)wmark > BUDDY_WMARK_NONE ||
		     cpu < BUDDY_NO_PCP ||
		     (cpu >= 0 && (unsigned int)cpu >= b->nr_pcp)))
		return -EINVAL;
	if (cpu >= 0)
		pcp = &b->pcp[cpu];

	if (pcp && order == 0) {
		int ret;

		/* zone_watermark_fast(): racy read of free_pages, as Linux */
		if (wmark != BUDDY_WMARK_NONE &&
		    READ_ONCE(b->free_pages) <= READ_ONCE(b->wmark[wmark])) {
			stat_inc(&pcp->alloc_fail);
			return -ENOMEM;
		}
		if (likely(pcp_enter(pcp))) {
			ret = alloc_pcp(b, pcp, pfn);
			pcp_exit(pcp);
			if (ret) {
				stat_inc(&pcp->alloc_fail);
				return -ENOMEM;
			}
			stat_inc(&pcp->alloc[0]);
			return 0;
		}
		/* a drain holds the cache: the locked path, as Linux does */
	}

	node_lock(b);
	idx = NIL;
	if (wmark == BUDDY_WMARK_NONE ||
	    __watermark_ok(b, order, b->wmark[wmark], b->free_pages))
		idx = __rmqueue_smallest(b, order);
	if (idx == NIL) {
		if (!pcp)
			b->alloc_fail++;
		node_unlock(b);
		goto fail;
	}
	b->frames[idx].order = order;
	set_state(&b->frames[idx], FRAME_ALLOC);
	if (!pcp)
		b->alloc[order]++;
	node_unlock(b);
	if (pcp)
		stat_inc(&pcp->alloc[order]);
	*pfn = idx_pfn(b, idx);
	return 0;

fail:
	if (pcp)
		stat_inc(&pcp->alloc_fail);
	return -ENOMEM;
}

/* Is @pfn the head of an allocated block of @order? (racy outside the lock) */
static bool is_alloc_head(const struct buddy *b, pfn_t pfn, unsigned int order)
{
	const struct buddy_frame *f;

	if (!pfn_valid(b, pfn))
		return false;
	f = &b->frames[pfn_idx(b, pfn)];
	return READ_ONCE(f->state) == FRAME_ALLOC && f->order == order;
}

static int bad_free(struct buddy *b)
{
	node_lock(b);
	b->bad_free++;
	node_unlock(b);
	return -EINVAL;
}

int buddy_free(struct buddy *b, pfn_t pfn, unsigned int order, int cpu)
{
	struct buddy_pcp *pcp;
	struct buddy_frame *f;
	uint32_t idx;

	if (unlikely(order >= MAX_ORDER || cpu < BUDDY_NO_PCP ||
		     (cpu >= 0 && (unsigned int)cpu >= b->nr_pcp)))
		return bad_free(b);

	pcp = cpu >= 0 ? &b->pcp[cpu] : NULL;
	if (pcp && order == 0 && likely(pcp_enter(pcp))) {
		/* free_unref_page(): onto the pcp list, drain a batch over high */
		if (unlikely(!is_alloc_head(b, pfn, 0))) {
			pcp_exit(pcp);
			return bad_free(b);
		}
		idx = pfn_idx(b, pfn);
		f = &b->frames[idx];
		f->prev = NIL;
		f->next = pcp->head;
		if (pcp->head == NIL)
			pcp->tail = idx;
		else
			b->frames[pcp->head].prev = idx;
		pcp->head = idx;
		set_state(f, FRAME_PCP);
		WRITE_ONCE(pcp->count, pcp->count + 1);
		if (unlikely(pcp->count > READ_ONCE(b->pcp_high))) {
			node_lock(b);
			__free_pcppages_bulk(b, pcp, b->pcp_batch);
			node_unlock(b);
			stat_inc(&pcp->drain);
		}
		pcp_exit(pcp);
		stat_inc(&pcp->free[0]);
		return 0;
	}
	/* other orders, no cache, or a drain holds the cache: node lock */

	node_lock(b);
	if (unlikely(!is_alloc_head(b, pfn, order))) {
		b->bad_free++;
		node_unlock(b);
		return -EINVAL;
	}
	__free_one_page(b, pfn, order);
	if (!pcp)
		b->free[order]++;
	node_unlock(b);
	if (pcp)
		stat_inc(&pcp->free[order]);
	return 0;
}

/*
 * Drain caches [first, last]: post a request on each cache that holds
 * pages, one membarrier() for all, then wait for each owner to leave its
 * cache and empty it.  Owners meanwhile use the node-locked path.
 */
static void drain_caches(struct buddy *b, unsigned int first,
			 unsigned int last)
{
	unsigned int i, spins = 0;
	bool any = false;

	pthread_mutex_lock(&b->drain_lock);
	for (i = first; i <= last; i++) {
		if (!READ_ONCE(b->pcp[i].count))
			continue;
		__atomic_store_n(&b->pcp[i].drain_req, 1, __ATOMIC_RELAXED);
		any = true;
	}
	if (!any)
		goto out;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pcp_membarrier, __ATOMIC_RELAXED) &&
	    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0)) {
		/* cannot order the owners' accesses: leave the caches alone */
		for (i = first; i <= last; i++)
			__atomic_store_n(&b->pcp[i].drain_req, 0,
					 __ATOMIC_RELEASE);
		goto out;
	}
	for (i = first; i <= last; i++) {
		struct buddy_pcp *pcp = &b->pcp[i];

		if (!__atomic_load_n(&pcp->drain_req, __ATOMIC_RELAXED))
			continue;
		while (__atomic_load_n(&pcp->in_use, __ATOMIC_ACQUIRE)) {
			if (++spins % 1024 == 0)
				sched_yield();
#if defined(__x86_64__) || defined(__i386__)
			else
				__builtin_ia32_pause();
#endif
		}
		if (pcp->head != NIL) {
			node_lock(b);
			__free_pcppages_bulk(b, pcp, pcp->count);
			node_unlock(b);
			stat_inc(&pcp->drain);
		}
		__atomic_store_n(&pcp->drain_req, 0, __ATOMIC_RELEASE);
	}
out:
	pthread_mutex_unlock(&b->drain_lock);
}

void buddy_drain(struct buddy *b, int cpu)
{
	if (cpu < 0 || (unsigned int)cpu >= b->nr_pcp)
		return;
	drain_caches(b, (unsigned int)cpu, (unsigned int)cpu);
}

void buddy_drain_all(struct buddy *b)
{
	if (b->nr_pcp)
		drain_caches(b, 0, b->nr_pcp - 1);
}

bool buddy_watermark_ok(struct buddy *b, unsigned int order,
			enum buddy_wmark wmark)
{
	bool ok;

	if (order >= MAX_ORDER || (unsigned int)wmark > BUDDY_WMARK_NONE)
		return false;
	node_lock(b);
	if (wmark == BUDDY_WMARK_NONE)
		ok = __block_exists(b, order);
	else
		ok = __watermark_ok(b, order, b->wmark[wmark], b->free_pages);
	node_unlock(b);
	return ok;
}

int buddy_set_watermarks(struct buddy *b, unsigned long min, unsigned long low,
			 unsigned long high)
{
	if (min > low || low > high || high > b->nr_pages)
		return -EINVAL;
	node_lock(b);
	b->wmark[BUDDY_WMARK_MIN] = min;
	b->wmark[BUDDY_WMARK_LOW] = low;
	b->wmark[BUDDY_WMARK_HIGH] = high;
	node_unlock(b);
	return 0;
}

int buddy_set_pcp(struct buddy *b, unsigned int high, unsigned int batch)
{
	if (!batch || high < batch || high > b->nr_pages)
		return -EINVAL;
	buddy_drain_all(b);
	node_lock(b);
	b->pcp_high = high;
	b->pcp_batch = batch;
	node_unlock(b);
	return 0;
}

/*
 * The cache counts are read inside the node lock: every move of pages
 * between the free lists and a cache (refill, drain over high, a remote
 * drain) happens under it, so free_pages and the counts are never seen
 * half-way through one (a refill read between the two was counted twice).
 * What still moves meanwhile is the owners' lock-free alloc and free, which
 * move pages only between a cache and in use: free_pages + pcp_pages stays
 * within managed_pages, unless a page allocated from one cache is freed into
 * another cache read later (then it may be counted in both).
 */
void buddy_get_info(struct buddy *b, struct buddy_info *info)
{
	unsigned int i;

	memset(info, 0, sizeof(*info));
	node_lock(b);
	for (i = 0; i < b->nr_pcp; i++)
		info->pcp_pages += READ_ONCE(b->pcp[i].count);
	for (i = 0; i < MAX_ORDER; i++)
		info->nr_free[i] = b->free_area[i].nr_free;
	info->free_pages = b->free_pages;
	info->managed_pages = b->nr_pages;
	info->wmark_min = b->wmark[BUDDY_WMARK_MIN];
	info->wmark_low = b->wmark[BUDDY_WMARK_LOW];
	info->wmark_high = b->wmark[BUDDY_WMARK_HIGH];
	info->pcp_high = b->pcp_high;
	info->pcp_batch = b->pcp_batch;
	node_unlock(b);
}

void buddy_get_stats(struct buddy *b, struct buddy_stats *st)
{
	unsigned int i, o;

	memset(st, 0, sizeof(*st));
	node_lock(b);
	for (o = 0; o < MAX_ORDER; o++) {
		st->alloc[o] = b->alloc[o];
		st->free[o] = b->free[o];
	}
	st->alloc_fail = b->alloc_fail;
	st->bad_free = b->bad_free;
	node_unlock(b);
	for (i = 0; i < b->nr_pcp; i++) {
		const struct buddy_pcp *pcp = &b->pcp[i];

		for (o = 0; o < MAX_ORDER; o++) {
			st->alloc[o] += stat_read(&pcp->alloc[o]);
			st->free[o] += stat_read(&pcp->free[o]);
		}
		st->alloc_fail += stat_read(&pcp->alloc_fail);
		st->pcp_refill += stat_read(&pcp->refill);
		st->pcp_drain += stat_read(&pcp->drain);
	}
}

#define CHECK(cond, ...)						\
	do {								\
		if (unlikely(!(cond))) {				\
			snprintf(msg, len, __VA_ARGS__);		\
			ret = -EUCLEAN;					\
			goto out;					\
		}							\
	} while (0)

/*
 * buddy_check - the consistency checker.  Walks the frame descriptors in
 * address order (every frame must belong to exactly one aligned block inside
 * the pool), then every free list and pcp list, and compares the counts.
 * Holds the node lock; no pcp may be in use concurrently.
 */
int buddy_check(struct buddy *b, char *msg, size_t len)
{
	unsigned long heads[MAX_ORDER] = { 0 };
	unsigned long free = 0, pcp_frames = 0, alloc = 0, pcp_total = 0;
	unsigned long idx, n = b->nr_pages;
	unsigned int o, i;
	char dummy[1];
	int ret = 0;

	if (!msg || !len) {
		msg = dummy;
		len = sizeof(dummy);
	}
	msg[0] = '\0';
	node_lock(b);

	/* 1. The frames tile the pool with aligned blocks */
	for (idx = 0; idx < n;) {
		const struct buddy_frame *f = &b->frames[idx];
		pfn_t pfn = idx_pfn(b, (uint32_t)idx);
		unsigned long size, j;

		CHECK(f->state != FRAME_TAIL,
		      "pfn %#lx: not the head of any block", (unsigned long)pfn);
		CHECK(f->state <= FRAME_ALLOC, "pfn %#lx: bad state %u",
		      (unsigned long)pfn, f->state);
		CHECK(f->order < MAX_ORDER, "pfn %#lx: bad order %u",
		      (unsigned long)pfn, f->order);
		size = 1UL << f->order;
		CHECK(!(pfn & (size - 1)), "pfn %#lx: order-%u block misaligned",
		      (unsigned long)pfn, f->order);
		CHECK(idx + size <= n, "pfn %#lx: order-%u block runs past the pool",
		      (unsigned long)pfn, f->order);
		CHECK(f->state != FRAME_PCP || f->order == 0,
		      "pfn %#lx: pcp frame of order %u", (unsigned long)pfn,
		      f->order);
		for (j = 1; j < size; j++)
			CHECK(b->frames[idx + j].state == FRAME_TAIL,
			      "pfn %#lx: in the order-%u block at %#lx, state %u",
			      (unsigned long)(pfn + j), f->order,
			      (unsigned long)pfn, b->frames[idx + j].state);
		if (f->state == FRAME_BUDDY) {
			pfn_t buddy = pfn ^ size;

			heads[f->order]++;
			free += size;
			if (f->order < MAX_ORDER - 1 && pfn_valid(b, buddy)) {
				const struct buddy_frame *bf =
					&b->frames[pfn_idx(b, buddy)];

				CHECK(bf->state != FRAME_BUDDY ||
				      bf->order != f->order,
				      "pfn %#lx: free order-%u block, free buddy %#lx",
				      (unsigned long)pfn, f->order,
				      (unsigned long)buddy);
			}
		} else if (f->state == FRAME_PCP) {
			pcp_frames++;
		} else {
			alloc += size;
		}
		idx += size;
	}

	/* 2. The free lists hold exactly the free heads, nr_free is right */
	for (o = 0; o < MAX_ORDER; o++) {
		const struct free_area *area = &b->free_area[o];
		uint32_t cur = area->head, prev = NIL;
		unsigned long count = 0;

		while (cur != NIL) {
			const struct buddy_frame *f;

			CHECK(cur < n, "free_area[%u]: index %u outside the pool",
			      o, cur);
			f = &b->frames[cur];
			CHECK(f->state == FRAME_BUDDY && f->order == o,
			      "free_area[%u]: pfn %#lx is not a free order-%u block",
			      o, (unsigned long)idx_pfn(b, cur), o);
			CHECK(f->prev == prev, "free_area[%u]: pfn %#lx: bad prev link",
			      o, (unsigned long)idx_pfn(b, cur));
			CHECK(++count <= heads[o],
			      "free_area[%u]: more entries than free blocks", o);
			prev = cur;
			cur = f->next;
		}
		CHECK(count == heads[o],
		      "free_area[%u]: %lu listed, %lu free blocks", o, count,
		      heads[o]);
		CHECK(area->nr_free == count, "free_area[%u]: nr_free %lu, listed %lu",
		      o, area->nr_free, count);
	}
	CHECK(b->free_pages == free, "free_pages %lu, free lists hold %lu",
	      b->free_pages, free);

	/* 3. The pcp lists hold exactly the pcp frames */
	for (i = 0; i < b->nr_pcp; i++) {
		const struct buddy_pcp *pcp = &b->pcp[i];
		uint32_t cur = pcp->head, prev = NIL;
		unsigned long count = 0;

		while (cur != NIL) {
			CHECK(cur < n, "pcp %u: index %u outside the pool", i, cur);
			CHECK(b->frames[cur].state == FRAME_PCP,
			      "pcp %u: pfn %#lx is not a pcp frame", i,
			      (unsigned long)idx_pfn(b, cur));
			CHECK(b->frames[cur].prev == prev,
			      "pcp %u: pfn %#lx: bad prev link", i,
			      (unsigned long)idx_pfn(b, cur));
			CHECK(++count <= pcp_frames, "pcp %u: list too long", i);
			prev = cur;
			cur = b->frames[cur].next;
		}
		CHECK(pcp->tail == prev, "pcp %u: bad tail", i);
		CHECK(pcp->count == count, "pcp %u: count %u, listed %lu", i,
		      pcp->count, count);
		pcp_total += count;
	}
	CHECK(pcp_total == pcp_frames, "pcp lists hold %lu frames, %lu marked",
	      pcp_total, pcp_frames);
	CHECK(free + pcp_frames + alloc == n,
	      "free %lu + pcp %lu + allocated %lu != managed %lu", free,
	      pcp_frames, alloc, n);
out:
	node_unlock(b);
	return ret;
}

pfn_t buddy_start_pfn(const struct buddy *b)
{
	return b->start_pfn;
}

unsigned long buddy_nr_pages(const struct buddy *b)
{
	return b->nr_pages;
}

void *buddy_pfn_to_addr(const struct buddy *b, pfn_t pfn)
{
	if (!b->base || !pfn_valid(b, pfn))
		return NULL;
	return (char *)b->base + ((pfn - b->start_pfn) << PAGE_SHIFT);
}

/*
 * An allocated block containing @pfn has its head at @pfn rounded down to
 * its order: try each order (absolute alignment, O(MAX_ORDER)).
 */
bool buddy_pfn_allocated(struct buddy *b, pfn_t pfn)
{
	unsigned int o;

	if (!pfn_valid(b, pfn))
		return false;
	for (o = 0; o < MAX_ORDER; o++) {
		pfn_t head = pfn & ~((1UL << o) - 1);

		if (!pfn_valid(b, head))
			break;
		if (is_alloc_head(b, head, o))
			return true;
	}
	return false;
}

size_t buddy_frame_meta_size(void)
{
	return sizeof(struct buddy_frame);
}

/*
 * Range policies on guest physical memory, the analogue of the VMA policies
 * that mbind() sets (mm/mempolicy.c: mbind_range(), vma_merge()).  The
 * ranges live in a fixed, sorted array: a VM has few of them, a fault does
 * a binary search, and a fixed array can be read lock-free under a sequence
 * count (the fault path never writes a shared cache line) while a writer,
 * serialised by the mutex, builds the new array in the tree's scratch
 * array (no allocation) and copies it in.
 *
 * Interleave offsets: each range remembers @pgoff, the page offset of its
 * start inside the mbind() call that set its policy (Linux: vm_pgoff), so
 * splitting a range does not move any page's interleave node, and setting a
 * policy equal to the one already in place changes nothing (mbind_range()
 * returns early on mpol_equal()).  Neighbours merge when their policies are
 * equal and, for interleave modes, their offsets continue (vma_merge()'s
 * pgoff rule); for other modes the offset is irrelevant and never blocks a
 * merge.
 */
#include "numa/range.h"

#include <errno.h>
#include <string.h>

#include "numa/seqcount.h"

int range_init(struct range_tree *rt)
{
	memset(rt, 0, sizeof(*rt));
	/* pthread_mutex_init() returns an error number, not -1 */
	return -pthread_mutex_init(&rt->lock, NULL);
}

void range_destroy(struct range_tree *rt)
{
	pthread_mutex_destroy(&rt->lock);
}

static uint64_t range_pages(gpa_t from, gpa_t to)
{
	return (to - from) >> PAGE_SHIFT;
}

/* Can @b, which starts where @a ends, be merged into @a? */
static bool range_can_merge(const struct range_policy *a,
			    const struct range_policy *b)
{
	if (a->end != b->start || !mpol_equal(&a->pol, &b->pol))
		return false;
	if (mpol_is_interleave(&a->pol) &&
	    a->pgoff + range_pages(a->start, a->end) != b->pgoff)
		return false;
	return true;
}

struct range_builder {
	struct range_policy *r;
	unsigned int nr, cap;
	gpa_t start;			/* of the range being set */
	const struct mempolicy *pol;
};

/*
 * Append [s, e) or extend the last range with it.  Past @cap the pieces are
 * only counted (the caller then fails with -ENOSPC): the count never goes
 * down, so once it exceeds @cap the verdict is known and r[] is never read
 * or written beyond r[cap - 1].  At exactly @cap a piece may still merge
 * into r[cap - 1], which is why the test is "> cap".
 */
static void range_push(struct range_builder *rb, gpa_t s, gpa_t e,
		       uint64_t pgoff, const struct mempolicy *pol)
{
	struct range_policy cur = { .start = s, .end = e, .pgoff = pgoff };
	struct range_policy *last;

	if (s >= e)
		return;
	if (rb->nr > rb->cap) {
		rb->nr++;
		return;
	}
	last = rb->nr ? &rb->r[rb->nr - 1] : NULL;
	cur.pol = *pol;
	if (last && range_can_merge(last, &cur)) {
		last->end = e;
		return;
	}
	if (rb->nr < rb->cap)
		rb->r[rb->nr] = cur;
	rb->nr++;
}

/* A piece of the new range: its offset counts from the start of the call */
static void range_push_new(struct range_builder *rb, gpa_t s, gpa_t e)
{
	if (rb->pol->mode == MPOL_DEFAULT)
		return;
	range_push(rb, s, e, range_pages(rb->start, s), rb->pol);
}

int range_set(struct range_tree *rt, gpa_t start, gpa_t end,
	      const struct mempolicy *pol)
{
	struct range_builder rb = { .start = start, .pol = pol };
	const struct range_policy *o;
	gpa_t cursor = start, s, e;
	bool tail_done = false;
	unsigned int i;
	int ret = 0;

	if ((start | end) & (PAGE_SIZE - 1) || start >= end)
		return -EINVAL;
	rb.cap = NUMA_MAX_RANGES;
	rb.r = rt->scratch;

	pthread_mutex_lock(&rt->lock);
	for (i = 0; i < rt->nr; i++) {
		o = &rt->r[i];
		if (o->end <= start) {
			range_push(&rb, o->start, o->end, o->pgoff, &o->pol);
			continue;
		}
		if (o->start >= end) {
			if (!tail_done) {
				range_push_new(&rb, cursor, end);
				tail_done = true;
			}
			range_push(&rb, o->start, o->end, o->pgoff, &o->pol);
			continue;
		}
		/* @o overlaps [start, end) */
		if (o->start < start)
			range_push(&rb, o->start, start, o->pgoff, &o->pol);
		if (o->start > cursor)
			range_push_new(&rb, cursor, o->start);
		s = o->start > start ? o->start : start;
		e = o->end < end ? o->end : end;
		if (mpol_equal(&o->pol, pol))
			range_push(&rb, s, e,
				   o->pgoff + range_pages(o->start, s),
				   &o->pol);
		else
			range_push_new(&rb, s, e);
		cursor = e;
		if (o->end > end)
			range_push(&rb, end, o->end,
				   o->pgoff + range_pages(o->start, end),
				   &o->pol);
	}
	if (!tail_done)
		range_push_new(&rb, cursor, end);

	if (rb.nr > NUMA_MAX_RANGES) {
		ret = -ENOSPC;
		goto out_unlock;
	}
	seqcount_write_begin(&rt->seq);
	memcpy(rt->r, rb.r, sizeof(*rb.r) * rb.nr);
	__atomic_store_n(&rt->nr, rb.nr, __ATOMIC_RELAXED);
	seqcount_write_end(&rt->seq);
out_unlock:
	pthread_mutex_unlock(&rt->lock);
	return ret;
}

bool range_lookup(const struct range_tree *rt, gpa_t gpa, unsigned int order,
		  struct mempolicy *pol, uint64_t *ilx)
{
	unsigned int seq, nr, lo, hi, mid;
	const struct range_policy *r;
	gpa_t start = 0, end = 0;
	uint64_t pgoff = 0;

	if (!__atomic_load_n(&rt->nr, __ATOMIC_RELAXED))
		return false;
	do {
		seq = seqcount_read_begin(&rt->seq);
		nr = __atomic_load_n(&rt->nr, __ATOMIC_RELAXED);
		if (nr > NUMA_MAX_RANGES)
			nr = NUMA_MAX_RANGES;
		/* last range with start <= gpa */
		lo = 0;
		hi = nr;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (rt->r[mid].start <= gpa)
				lo = mid + 1;
			else
				hi = mid;
		}
		end = 0;
		if (lo) {
			r = &rt->r[lo - 1];
			start = r->start;
			end = r->end;
			pgoff = r->pgoff;
			if (gpa < end)
				*pol = r->pol;
		}
	} while (seqcount_read_retry(&rt->seq, seq));
	if (!lo || gpa >= end)
		return false;
	*ilx = (pgoff >> order) + ((gpa - start) >> (PAGE_SHIFT + order));
	return true;
}

unsigned int range_list(const struct range_tree *rt, struct range_policy *out,
			unsigned int max)
{
	struct range_tree *w = (struct range_tree *)rt;
	unsigned int nr;

	pthread_mutex_lock(&w->lock);
	nr = rt->nr;
	if (out)
		memcpy(out, rt->r, sizeof(*out) * (nr < max ? nr : max));
	pthread_mutex_unlock(&w->lock);
	return nr;
}

/*
 * Check suite of mm/ (the buddy allocator), through mm/buddy.h only: exact
 * split and merge on small pools, exhaustion and recovery, unaligned pools,
 * watermarks at their boundaries, every bad-input case, a randomized
 * differential test against a bitmap model (seed from NUMAVM_SEED, printed
 * on failure) and a multi-threaded stress test with the per-vCPU caches on.
 */
#include "mm/buddy.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Helpers */

/*
 * A passing ck_assert writes a checkpoint into Check's pipe; loops of a
 * million operations use require(), which only calls into Check on failure.
 */
#define require(cond, ...)						\
	do {								\
		if (unlikely(!(cond)))					\
			ck_abort_msg(__VA_ARGS__);			\
	} while (0)

static void assert_consistent(struct buddy *b)
{
	char msg[256];
	int ret = buddy_check(b, msg, sizeof(msg));

	require(ret == 0, "buddy_check: %s", msg);
}

static void assert_nr_free(struct buddy *b, const unsigned long *want)
{
	struct buddy_info info;
	unsigned int o;

	buddy_get_info(b, &info);
	for (o = 0; o < MAX_ORDER; o++)
		ck_assert_msg(info.nr_free[o] == want[o],
			      "nr_free[%u] = %lu, want %lu", o,
			      info.nr_free[o], want[o]);
}

static pfn_t alloc_ok(struct buddy *b, unsigned int order, int cpu)
{
	pfn_t pfn = ~0ULL;
	int ret = buddy_alloc(b, order, BUDDY_WMARK_NONE, cpu, &pfn);

	require(ret == 0, "alloc order %u: %d", order, ret);
	return pfn;
}

static unsigned long free_pages(struct buddy *b)
{
	struct buddy_info info;

	buddy_get_info(b, &info);
	return info.free_pages;
}

/* Aligned order-@o blocks entirely inside [start, start + n) */
static unsigned long nr_aligned_blocks(pfn_t start, unsigned long n,
				       unsigned int o)
{
	pfn_t first = (start + (1ULL << o) - 1) >> o, end = (start + n) >> o;

	return end > first ? end - first : 0;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static uint64_t seed_from_env(void)
{
	const char *s = getenv("NUMAVM_SEED");

	if (s && *s)
		return strtoull(s, NULL, 0);
	return (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32);
}

/* Creation */

START_TEST(test_create_args)
{
	struct buddy *b;

	errno = 0;
	ck_assert_ptr_null(buddy_create(0, 0, NULL, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(buddy_create(~0ULL - 4, 16, NULL, 0));
	ck_assert_ptr_null(buddy_create(0, 1UL << 32, NULL, 0));

	b = buddy_create(7, 1, NULL, 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(buddy_start_pfn(b), 7);
	ck_assert_uint_eq(buddy_nr_pages(b), 1);
	ck_assert_ptr_null(buddy_pfn_to_addr(b, 7));
	ck_assert_uint_le(buddy_frame_meta_size(), 16);
	ck_assert_int_eq(alloc_ok(b, 0, 0), 7);
	assert_consistent(b);
	buddy_destroy(b);
	buddy_destroy(NULL);
}
END_TEST

START_TEST(test_pfn_to_addr)
{
	static char pool[4 * 4096];
	struct buddy *b = buddy_create(100, 4, pool, 0);

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_eq(buddy_pfn_to_addr(b, 100), pool);
	ck_assert_ptr_eq(buddy_pfn_to_addr(b, 103), pool + 3 * 4096);
	ck_assert_ptr_null(buddy_pfn_to_addr(b, 104));
	ck_assert_ptr_null(buddy_pfn_to_addr(b, 99));
	buddy_destroy(b);
}
END_TEST

/* Exact split and merge */

/*
 * One order-4 block at 1024: every step's returned head and the buddyinfo
 * that must follow it (expand() keeps the lower half, frees the upper).
 */
START_TEST(test_split_merge_exact)
{
	static const struct step {
		bool alloc;
		unsigned int order;
		pfn_t pfn;
		unsigned long nr_free[5];
	} steps[] = {
		{ true, 0, 1024, { 1, 1, 1, 1, 0 } },	/* 1025 1026 1028 1032 */
		{ true, 0, 1025, { 0, 1, 1, 1, 0 } },
		{ true, 1, 1026, { 0, 0, 1, 1, 0 } },
		{ true, 0, 1028, { 1, 1, 0, 1, 0 } },	/* 1029, 1030 */
		{ true, 2, 1032, { 1, 1, 1, 0, 0 } },	/* 1036 */
		{ false, 0, 1025, { 2, 1, 1, 0, 0 } },	/* 1024 allocated */
		{ false, 0, 1024, { 1, 2, 1, 0, 0 } },	/* -> 1024/1 */
		{ false, 1, 1026, { 1, 1, 2, 0, 0 } },	/* -> 1024/2 */
		{ false, 2, 1032, { 1, 1, 1, 1, 0 } },	/* -> 1032/3 */
		{ true, 1, 1030, { 1, 0, 1, 1, 0 } },
		{ false, 0, 1028, { 0, 1, 1, 1, 0 } },	/* 1028+1029 -> 1028/1 */
		{ false, 1, 1030, { 0, 0, 0, 0, 1 } },	/* all the way up */
	};
	struct buddy *b = buddy_create(1024, 16, NULL, 0);
	unsigned long want[MAX_ORDER] = { 0 };
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	want[4] = 1;
	assert_nr_free(b, want);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct step *s = &steps[i];

		if (s->alloc) {
			ck_assert_uint_eq(alloc_ok(b, s->order, BUDDY_NO_PCP),
					  s->pfn);
			ck_assert(buddy_pfn_allocated(b, s->pfn));
			ck_assert(buddy_pfn_allocated(b, s->pfn +
						       (1U << s->order) - 1));
		} else {
			ck_assert_int_eq(buddy_free(b, s->pfn, s->order,
						    BUDDY_NO_PCP), 0);
			ck_assert(!buddy_pfn_allocated(b, s->pfn));
		}
		memcpy(want, s->nr_free, sizeof(s->nr_free));
		assert_nr_free(b, want);
		assert_consistent(b);
	}
	buddy_destroy(b);
}
END_TEST

/*
 * For every order on one aligned 4 MiB block: the first allocation splits
 * the block into one free buddy per order above it; exhaustion hands out the
 * blocks in address order; freeing everything (shuffled) merges back.
 */
START_TEST(test_sweep_orders)
{
	const unsigned int o = (unsigned int)_i;
	const pfn_t start = 5 * MAX_ORDER_NR_PAGES;
	const unsigned long n = 1UL << (MAX_ORDER - 1 - o);
	struct buddy *b = buddy_create(start, MAX_ORDER_NR_PAGES, NULL, 0);
	unsigned long want[MAX_ORDER] = { 0 }, initial[MAX_ORDER] = { 0 };
	pfn_t *heads = malloc(n * sizeof(*heads)), pfn;
	unsigned long i, j;
	unsigned int k;

	ck_assert_ptr_nonnull(b);
	initial[MAX_ORDER - 1] = 1;
	heads[0] = alloc_ok(b, o, BUDDY_NO_PCP);
	ck_assert_uint_eq(heads[0], start);
	for (k = o; k < MAX_ORDER - 1; k++)
		want[k] = 1;
	assert_nr_free(b, want);
	for (i = 1; i < n; i++) {
		heads[i] = alloc_ok(b, o, BUDDY_NO_PCP);
		ck_assert_uint_eq(heads[i], start + (i << o));
	}
	memset(want, 0, sizeof(want));
	assert_nr_free(b, want);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, BUDDY_NO_PCP, &pfn),
			 -ENOMEM);
	assert_consistent(b);

	rng_state = 0x9e3779b97f4a7c15ULL + o;
	for (i = n; i > 1; i--) {
		j = rnd() % i;
		pfn = heads[j];
		heads[j] = heads[i - 1];
		heads[i - 1] = pfn;
	}
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(buddy_free(b, heads[i], o, BUDDY_NO_PCP), 0);
		if (!(i & 63))
			assert_consistent(b);
	}
	assert_nr_free(b, initial);
	ck_assert_uint_eq(free_pages(b), MAX_ORDER_NR_PAGES);
	assert_consistent(b);
	free(heads);
	buddy_destroy(b);
}
END_TEST

/* Unaligned pools */

START_TEST(test_unaligned_carving)
{
	/* [1021, 2051): 1021/0 1022/1 1024/10 2048/1 2050/0 */
	struct buddy *b = buddy_create(1021, 1030, NULL, 0);
	unsigned long want[MAX_ORDER] = { 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	pfn_t p[4];

	ck_assert_ptr_nonnull(b);
	assert_nr_free(b, want);
	assert_consistent(b);
	/* LIFO lists: the block carved last comes out first */
	ck_assert_uint_eq(alloc_ok(b, 0, BUDDY_NO_PCP), 2050);
	ck_assert_uint_eq(alloc_ok(b, 0, BUDDY_NO_PCP), 1021);
	ck_assert_uint_eq(alloc_ok(b, 1, BUDDY_NO_PCP), 2048);
	ck_assert_uint_eq(alloc_ok(b, 1, BUDDY_NO_PCP), 1022);
	/* 1021's buddy 1020 and 2050's buddy 2051 lie outside: no merge */
	p[0] = 2050, p[1] = 1021, p[2] = 2048, p[3] = 1022;
	ck_assert_int_eq(buddy_free(b, p[0], 0, BUDDY_NO_PCP), 0);
	ck_assert_int_eq(buddy_free(b, p[1], 0, BUDDY_NO_PCP), 0);
	ck_assert_int_eq(buddy_free(b, p[2], 1, BUDDY_NO_PCP), 0);
	ck_assert_int_eq(buddy_free(b, p[3], 1, BUDDY_NO_PCP), 0);
	assert_nr_free(b, want);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

/*
 * For each order, on pools with odd bases and sizes: exhaustion yields
 * exactly the aligned blocks inside the pool, all inside, and the free
 * pages left are the ones no aligned block covers; freeing restores the
 * initial buddyinfo.
 */
START_TEST(test_unaligned_exhaust)
{
	static const struct { pfn_t start; unsigned long n; } pools[] = {
		{ 3, 3000 }, { 1, 2047 }, { 1023, 1027 }, { 4096 + 512, 5000 },
		{ 0, 1025 }, { 77777, 4099 },
	};
	const unsigned int o = (unsigned int)_i;
	unsigned int p;

	for (p = 0; p < ARRAY_SIZE(pools); p++) {
		pfn_t start = pools[p].start, pfn;
		unsigned long n = pools[p].n;
		unsigned long expect = nr_aligned_blocks(start, n, o), i;
		struct buddy *b = buddy_create(start, n, NULL, 0);
		struct buddy_info before, after;
		pfn_t *heads = malloc((expect + 1) * sizeof(*heads));

		ck_assert_ptr_nonnull(b);
		buddy_get_info(b, &before);
		for (i = 0;; i++) {
			if (buddy_alloc(b, o, BUDDY_WMARK_NONE, BUDDY_NO_PCP,
					&pfn))
				break;
			ck_assert_uint_lt(i, expect);
			ck_assert_uint_eq(pfn & ((1ULL << o) - 1), 0);
			ck_assert_uint_ge(pfn, start);
			ck_assert_uint_le(pfn + (1ULL << o), start + n);
			heads[i] = pfn;
		}
		ck_assert_uint_eq(i, expect);
		ck_assert_uint_eq(free_pages(b), n - (expect << o));
		assert_consistent(b);
		while (i--)
			ck_assert_int_eq(buddy_free(b, heads[i], o,
						    BUDDY_NO_PCP), 0);
		buddy_get_info(b, &after);
		ck_assert_mem_eq(before.nr_free, after.nr_free,
				 sizeof(before.nr_free));
		ck_assert_uint_eq(after.free_pages, n);
		assert_consistent(b);
		free(heads);
		buddy_destroy(b);
	}
}
END_TEST

/* Watermarks */

START_TEST(test_wmark_derived)
{
	/* docs/mm.md works these out */
	static const struct {
		unsigned long pages, min, low, high;
	} cases[] = {
		{ 262144, 1024, 1286, 1548 },	/* 1 GiB */
		{ 65536, 512, 640, 768 },	/* 256 MiB */
		{ 1024, 64, 80, 96 },		/* 4 MiB: sqrt(4096 * 16) = 256 */
		{ 64, 32, 40, 48 },		/* min_free_kbytes 128 */
		{ 1030, 64, 80, 96 },		/* sqrt(4120 * 16) = 256 */
		{ 40, 32, 40, 40 },		/* clamped to managed */
		{ 1048576, 2048, 3096, 4144 },	/* 4 GiB: scale factor wins */
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buddy *b = buddy_create(0, cases[i].pages, NULL, 0);
		struct buddy_info info;

		ck_assert_ptr_nonnull(b);
		buddy_get_info(b, &info);
		ck_assert_uint_eq(info.managed_pages, cases[i].pages);
		ck_assert_uint_eq(info.wmark_min, cases[i].min);
		ck_assert_uint_eq(info.wmark_low, cases[i].low);
		ck_assert_uint_eq(info.wmark_high, cases[i].high);
		buddy_destroy(b);
	}
}
END_TEST

/*
 * A node's share of the watermarks when several nodes make up the memory
 * (__setup_per_zone_wmarks(): min_free_kbytes from the total, min split by
 * managed pages, low/high from the zone's own size); docs/mm.md works out
 * the 1.25 GiB example.
 */
START_TEST(test_wmark_calc)
{
	static const struct {
		unsigned long total, zone, min, low, high;
	} cases[] = {
		/* 1 GiB + 256 MiB: min_free_kbytes 4579, pages_min 1144 */
		{ 327680, 262144, 915, 1177, 1439 },
		{ 327680, 65536, 228, 293, 358 },
		/* 2 x 1 GiB: 5792 kB, 1448 pages, half each */
		{ 524288, 262144, 724, 986, 1248 },
		/* 4 x 1 GiB: 8192 kB; the scale factor term (262) wins */
		{ 1048576, 262144, 512, 774, 1036 },
		/* 2 GiB + 1 GiB: 7094 kB, 1773 pages, 2/3 and 1/3 */
		{ 786432, 524288, 1182, 1706, 2230 },
		{ 786432, 262144, 591, 853, 1115 },
		/* 4 x 64 frames: 128 kB clamp, 32 pages, 8 each */
		{ 256, 64, 8, 10, 12 },
		/* a tiny node beside a big one gets no reserve, as in Linux */
		{ 262208, 64, 0, 0, 0 },
		/* one zone: buddy_create()'s own figures */
		{ 262144, 262144, 1024, 1286, 1548 },
		{ 40, 40, 32, 40, 40 },
	};
	unsigned long min, low, high;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ck_assert_int_eq(buddy_calc_watermarks(cases[i].total,
						       cases[i].zone, &min,
						       &low, &high),
				 0);
		ck_assert_msg(min == cases[i].min && low == cases[i].low &&
				      high == cases[i].high,
			      "total %lu zone %lu: %lu/%lu/%lu, want %lu/%lu/%lu",
			      cases[i].total, cases[i].zone, min, low, high,
			      cases[i].min, cases[i].low, cases[i].high);
	}
	min = low = high = 7;
	ck_assert_int_eq(buddy_calc_watermarks(100, 0, &min, &low, &high),
			 -EINVAL);
	ck_assert_int_eq(buddy_calc_watermarks(100, 101, &min, &low, &high),
			 -EINVAL);
	ck_assert_int_eq(buddy_calc_watermarks(~0UL, 1, &min, &low, &high),
			 -EINVAL);
	ck_assert(min == 7 && low == 7 && high == 7);
}
END_TEST

/*
 * Each watermark at its boundary, for every order: an order-o request needs
 * free - (2^o - 1) > mark.  Free pages are brought to an exact count with
 * order-0 allocations under no watermark.
 */
START_TEST(test_wmark_boundaries)
{
	const unsigned int o = (unsigned int)_i;
	const unsigned long n = 4 * MAX_ORDER_NR_PAGES;
	static const enum buddy_wmark marks[] = {
		BUDDY_WMARK_MIN, BUDDY_WMARK_LOW, BUDDY_WMARK_HIGH,
	};
	const unsigned long wm[] = { 100, 1200, 2100 };
	unsigned int m;

	for (m = 0; m < ARRAY_SIZE(marks); m++) {
		struct buddy *b = buddy_create(0, n, NULL, 0);
		unsigned long need = wm[m] + (1UL << o); /* smallest passing free */
		pfn_t pfn;

		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(buddy_set_watermarks(b, wm[0], wm[1], wm[2]), 0);
		/* order-0 pages come from the lowest block: big blocks stay */
		while (free_pages(b) > need)
			(void)alloc_ok(b, 0, BUDDY_NO_PCP);
		ck_assert_uint_eq(free_pages(b), need);
		ck_assert(buddy_watermark_ok(b, o, marks[m]));
		ck_assert_int_eq(buddy_alloc(b, o, marks[m], BUDDY_NO_PCP, &pfn), 0);
		ck_assert_int_eq(buddy_free(b, pfn, o, BUDDY_NO_PCP), 0);
		(void)alloc_ok(b, 0, BUDDY_NO_PCP);	/* need - 1: fails */
		ck_assert(!buddy_watermark_ok(b, o, marks[m]));
		ck_assert_int_eq(buddy_alloc(b, o, marks[m], BUDDY_NO_PCP, &pfn),
				 -ENOMEM);
		/* a lower watermark still passes, none always */
		if (m > 0)
			ck_assert(buddy_watermark_ok(b, o, marks[m - 1]));
		ck_assert(buddy_watermark_ok(b, o, BUDDY_WMARK_NONE));
		ck_assert_int_eq(buddy_alloc(b, o, BUDDY_WMARK_NONE,
					     BUDDY_NO_PCP, &pfn), 0);
		assert_consistent(b);
		buddy_destroy(b);
	}
}
END_TEST

/*
 * The high-order check: plenty of free pages but no block of the order.
 * Every other frame is free, so only order 0 can be served.
 */
START_TEST(test_wmark_high_order)
{
	const unsigned long n = MAX_ORDER_NR_PAGES;
	struct buddy *b = buddy_create(0, n, NULL, 0);
	unsigned long i;
	unsigned int o;
	pfn_t pfn;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buddy_set_watermarks(b, 0, 0, 0), 0);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(alloc_ok(b, 0, BUDDY_NO_PCP), i);
	for (i = 0; i < n; i += 2)
		ck_assert_int_eq(buddy_free(b, i, 0, BUDDY_NO_PCP), 0);
	ck_assert_uint_eq(free_pages(b), n / 2);
	ck_assert(buddy_watermark_ok(b, 0, BUDDY_WMARK_HIGH));
	for (o = 1; o < MAX_ORDER; o++) {
		ck_assert(!buddy_watermark_ok(b, o, BUDDY_WMARK_MIN));
		ck_assert(!buddy_watermark_ok(b, o, BUDDY_WMARK_NONE));
		ck_assert_int_eq(buddy_alloc(b, o, BUDDY_WMARK_MIN,
					     BUDDY_NO_PCP, &pfn), -ENOMEM);
		ck_assert_int_eq(buddy_alloc(b, o, BUDDY_WMARK_NONE,
					     BUDDY_NO_PCP, &pfn), -ENOMEM);
	}
	/* free one buddy: exactly one order-1 block exists */
	ck_assert_int_eq(buddy_free(b, 1, 0, BUDDY_NO_PCP), 0);
	ck_assert(buddy_watermark_ok(b, 1, BUDDY_WMARK_MIN));
	ck_assert(!buddy_watermark_ok(b, 2, BUDDY_WMARK_MIN));
	ck_assert_int_eq(buddy_alloc(b, 1, BUDDY_WMARK_MIN, BUDDY_NO_PCP, &pfn), 0);
	ck_assert_uint_eq(pfn, 0);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

/*
 * pcp allocations are checked against the watermark before the cache is
 * used, as Linux checks before rmqueue(): a cache holding pages does not
 * let an order-0 request under the mark through, except with no watermark.
 * Cached pages do not count as free (Linux's NR_FREE_PAGES).
 */
START_TEST(test_wmark_pcp)
{
	struct buddy *b = buddy_create(0, 256, NULL, 1);
	struct buddy_info info;
	pfn_t pfn, cached;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buddy_set_pcp(b, 16, 8), 0);
	ck_assert_int_eq(buddy_set_watermarks(b, 100, 200, 247), 0);
	cached = alloc_ok(b, 0, 0);		/* refill: 8 taken, 7 cached */
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 7);
	ck_assert_uint_eq(info.free_pages, 248);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_HIGH, 0, &pfn), 0);
	/* 248 > 247 passed and the page came from the cache */
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.free_pages, 248);
	ck_assert_uint_eq(info.pcp_pages, 6);
	ck_assert_int_eq(buddy_set_watermarks(b, 100, 200, 248), 0);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_HIGH, 0, &pfn), -ENOMEM);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_LOW, 0, &pfn), 0);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, 0, &pfn), 0);
	ck_assert_int_eq(buddy_free(b, cached, 0, 0), 0);
	buddy_drain_all(b);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

START_TEST(test_set_watermarks_bad)
{
	struct buddy *b = buddy_create(0, 100, NULL, 0);
	struct buddy_info before, after;

	ck_assert_ptr_nonnull(b);
	buddy_get_info(b, &before);
	ck_assert_int_eq(buddy_set_watermarks(b, 2, 1, 3), -EINVAL);
	ck_assert_int_eq(buddy_set_watermarks(b, 1, 3, 2), -EINVAL);
	ck_assert_int_eq(buddy_set_watermarks(b, 1, 2, 101), -EINVAL);
	ck_assert_int_eq(buddy_set_pcp(b, 1, 2), -EINVAL);
	ck_assert_int_eq(buddy_set_pcp(b, 1, 0), -EINVAL);
	buddy_get_info(b, &after);
	ck_assert_mem_eq(&before, &after, sizeof(before));
	ck_assert_int_eq(buddy_set_watermarks(b, 100, 100, 100), 0);
	buddy_destroy(b);
}
END_TEST

/* Per-vCPU caches */

/* Refill and drain move exactly one batch; the coldest frames go back. */
START_TEST(test_pcp_batches)
{
	struct buddy *b = buddy_create(0, 64, NULL, 2);
	struct buddy_stats st;
	struct buddy_info info;
	pfn_t p[12];
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buddy_set_pcp(b, 6, 4), 0);
	for (i = 0; i < 12; i++)
		p[i] = alloc_ok(b, 0, 0);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 0);	/* 3 refills of 4 */
	ck_assert_uint_eq(info.free_pages, 52);
	for (i = 0; i < 12; i++)
		ck_assert_uint_eq(p[i], i);	/* rmqueue_bulk keeps order */
	buddy_get_stats(b, &st);
	ck_assert_uint_eq(st.pcp_refill, 3);
	ck_assert_uint_eq(st.alloc[0], 12);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(buddy_free(b, p[i], 0, 1), 0);
	/* 7 > high 6: a batch of 4, the first 4 freed, went back */
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 3);
	ck_assert_uint_eq(info.free_pages, 56);
	for (i = 0; i < 4; i++)
		ck_assert(!buddy_pfn_allocated(b, p[i]));
	buddy_get_stats(b, &st);
	ck_assert_uint_eq(st.pcp_drain, 1);
	ck_assert_uint_eq(st.free[0], 7);
	assert_consistent(b);
	/* LIFO: cpu 1 hands out its most recently freed frame first */
	ck_assert_uint_eq(alloc_ok(b, 0, 1), p[6]);
	ck_assert_int_eq(buddy_free(b, p[6], 0, 1), 0);
	/* higher orders bypass the cache */
	ck_assert_uint_eq(alloc_ok(b, 3, 0) & 7, 0);
	buddy_drain(b, 1);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 0);
	for (i = 7; i < 12; i++)
		ck_assert_int_eq(buddy_free(b, p[i], 0, 0), 0);
	buddy_drain_all(b);
	ck_assert_uint_eq(free_pages(b), 56);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

/* Exhaustion through the caches, then full recovery after a drain */
START_TEST(test_pcp_exhaust)
{
	const unsigned long n = 3 * MAX_ORDER_NR_PAGES + 17;
	struct buddy *b = buddy_create(9, n, NULL, 2);
	struct buddy_info before, after;
	pfn_t *p = malloc(n * sizeof(*p)), pfn;
	unsigned long i;

	ck_assert_ptr_nonnull(b);
	buddy_get_info(b, &before);
	for (i = 0; i < n; i++)
		p[i] = alloc_ok(b, 0, (int)(i & 1));
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, 0, &pfn), -ENOMEM);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, 1, &pfn), -ENOMEM);
	assert_consistent(b);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(buddy_free(b, p[i], 0, (int)(i % 3) - 1), 0);
	buddy_drain_all(b);
	buddy_get_info(b, &after);
	ck_assert_mem_eq(before.nr_free, after.nr_free, sizeof(before.nr_free));
	ck_assert_uint_eq(after.free_pages, n);
	assert_consistent(b);
	free(p);
	buddy_destroy(b);
}
END_TEST

/* Bad input: -EINVAL, bad_free counted, nothing else changes */

static void snapshot(struct buddy *b, struct buddy_info *info,
		     struct buddy_stats *st)
{
	buddy_get_info(b, info);
	buddy_get_stats(b, st);
}

static void assert_rejected(struct buddy *b, pfn_t pfn, unsigned int order,
			    int cpu)
{
	struct buddy_info i0, i1;
	struct buddy_stats s0, s1;

	snapshot(b, &i0, &s0);
	ck_assert_int_eq(buddy_free(b, pfn, order, cpu), -EINVAL);
	snapshot(b, &i1, &s1);
	ck_assert_mem_eq(&i0, &i1, sizeof(i0));
	ck_assert_uint_eq(s1.bad_free, s0.bad_free + 1);
	s1.bad_free = s0.bad_free;
	ck_assert_mem_eq(&s0, &s1, sizeof(s0));
	assert_consistent(b);
}

START_TEST(test_bad_input)
{
	const int cpu = _i - 1;	/* BUDDY_NO_PCP, then cache 0 */
	struct buddy *b = buddy_create(512, 256, NULL, 1);
	struct buddy_info i0, i1;
	struct buddy_stats s0, s1;
	pfn_t pfn = 0, big, small, cached;
	unsigned int o;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buddy_set_pcp(b, 8, 4), 0);
	/* order >= MAX_ORDER on alloc */
	snapshot(b, &i0, &s0);
	for (o = MAX_ORDER; o < MAX_ORDER + 3; o++)
		ck_assert_int_eq(buddy_alloc(b, o, BUDDY_WMARK_NONE, cpu, &pfn),
				 -EINVAL);
	ck_assert_int_eq(buddy_alloc(b, ~0U, BUDDY_WMARK_NONE, cpu, &pfn),
			 -EINVAL);
	/* bad cpu and watermark */
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, 1, &pfn), -EINVAL);
	ck_assert_int_eq(buddy_alloc(b, 0, BUDDY_WMARK_NONE, -2, &pfn), -EINVAL);
	ck_assert_int_eq(buddy_alloc(b, 0, (enum buddy_wmark)7, cpu, &pfn),
			 -EINVAL);
	snapshot(b, &i1, &s1);
	ck_assert_mem_eq(&i0, &i1, sizeof(i0));
	ck_assert_mem_eq(&s0, &s1, sizeof(s0));

	big = alloc_ok(b, 3, cpu);
	small = alloc_ok(b, 0, cpu);
	/* order >= MAX_ORDER, out-of-range frames, bad cpu */
	assert_rejected(b, big, MAX_ORDER, cpu);
	assert_rejected(b, big, ~0U, cpu);
	assert_rejected(b, 511, 0, cpu);
	assert_rejected(b, 768, 0, cpu);
	assert_rejected(b, ~0ULL, 0, cpu);
	assert_rejected(b, small, 0, 1);
	assert_rejected(b, small, 0, -5);
	/* wrong order, both ways */
	for (o = 0; o < MAX_ORDER; o++)
		if (o != 3)
			assert_rejected(b, big, o, cpu);
	assert_rejected(b, small, 1, cpu);
	/* not a head: tail frames of an allocated block */
	for (o = 1; o < 8; o++) {
		assert_rejected(b, big + o, 0, cpu);
		assert_rejected(b, big + o, 3, cpu);
	}
	/* frames of free blocks, heads and tails */
	for (pfn = 512; pfn < 768; pfn++) {
		if (buddy_pfn_allocated(b, pfn))
			continue;
		for (o = 0; o < MAX_ORDER; o++)
			if (!(pfn & 15) || o == 0)
				assert_rejected(b, pfn, o, cpu);
	}
	/* double free */
	ck_assert_int_eq(buddy_free(b, big, 3, cpu), 0);
	assert_rejected(b, big, 3, cpu);
	ck_assert_int_eq(buddy_free(b, small, 0, cpu), 0);
	assert_rejected(b, small, 0, cpu);
	assert_rejected(b, small, 0, BUDDY_NO_PCP);
	assert_rejected(b, small, 0, 0);
	/* a frame parked in a cache is free: freeing it is a double free */
	cached = alloc_ok(b, 0, 0);
	buddy_get_info(b, &i0);
	ck_assert_uint_gt(i0.pcp_pages, 0);
	ck_assert_int_eq(buddy_free(b, cached, 0, 0), 0);
	assert_rejected(b, cached, 0, 0);
	assert_rejected(b, cached, 0, BUDDY_NO_PCP);
	buddy_drain_all(b);
	assert_rejected(b, cached, 0, 0);
	buddy_get_stats(b, &s1);
	ck_assert_uint_eq(free_pages(b), 256);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

/*
 * Randomized differential test against a bitmap of allocated frames.  On
 * every success: aligned, inside, no overlap.  On a failure: after draining
 * the caches, the locked path must fail too, and then no fully free aligned
 * block of the order may exist (every aligned block inside the pool lies in
 * one carved block, and merging is eager).
 */
struct model {
	pfn_t start, base;		/* base: start rounded down to 4 MiB */
	unsigned long n, nbits;
	uint64_t *bits;			/* bit i: frame base + i in use */
	struct { pfn_t pfn; unsigned int order; } *live;
	unsigned long nr_live, used;
};

static void model_init(struct model *m, pfn_t start, unsigned long n)
{
	unsigned long i;

	memset(m, 0, sizeof(*m));
	m->start = start;
	m->n = n;
	m->base = start & ~(MAX_ORDER_NR_PAGES - 1);
	m->nbits = (start + n - m->base + MAX_ORDER_NR_PAGES - 1) &
		   ~(MAX_ORDER_NR_PAGES - 1);
	m->bits = calloc(m->nbits / 64, sizeof(*m->bits));
	m->live = calloc(n, sizeof(*m->live));
	ck_assert(m->bits && m->live);
	/* frames outside the pool are permanently "in use" */
	for (i = 0; i < m->nbits; i++)
		if (m->base + i < start || m->base + i >= start + n)
			m->bits[i / 64] |= 1ULL << (i % 64);
}

static bool model_test(const struct model *m, pfn_t pfn)
{
	unsigned long i = pfn - m->base;

	return m->bits[i / 64] & (1ULL << (i % 64));
}

static bool model_range_free(const struct model *m, pfn_t pfn,
			     unsigned long len)
{
	unsigned long i;

	for (i = 0; i < len; i++)
		if (model_test(m, pfn + i))
			return false;
	return true;
}

static void model_set(struct model *m, pfn_t pfn, unsigned long len, bool val)
{
	unsigned long i, j;

	for (i = 0; i < len; i++) {
		j = pfn + i - m->base;
		if (val)
			m->bits[j / 64] |= 1ULL << (j % 64);
		else
			m->bits[j / 64] &= ~(1ULL << (j % 64));
	}
}

/* Is any aligned order-@o block entirely free?  Word-wise, bases aligned. */
static bool model_has_free_block(const struct model *m, unsigned int o)
{
	unsigned long w, nw = m->nbits / 64;

	if (o >= 6) {
		unsigned long per = 1UL << (o - 6), k;

		for (w = 0; w < nw; w += per) {
			for (k = 0; k < per && !m->bits[w + k]; k++)
				;
			if (k == per)
				return true;
		}
		return false;
	}
	for (w = 0; w < nw; w++) {
		uint64_t f = ~m->bits[w], heads = 0;
		unsigned int s, i;

		/* bit i survives if bits i .. i + 2^o - 1 are all free */
		for (s = 1; s < (1U << o); s <<= 1)
			f &= f >> s;
		for (i = 0; i < 64; i += 1U << o)
			heads |= 1ULL << i;
		if (f & heads)
			return true;
	}
	return false;
}

static unsigned int random_order(void)
{
	uint64_t r = rnd();

	/* half order 0, then geometric: 1/4 order 1, 1/8 order 2, ... */
	unsigned int o = (unsigned int)__builtin_ctzll(r | (1ULL << 63));

	if (o >= MAX_ORDER)
		o = (unsigned int)((r >> 32) % MAX_ORDER);
	return o;
}

static void differential(uint64_t seed, pfn_t start, unsigned long n,
			 unsigned int nr_pcp, unsigned long ops)
{
	struct buddy *b = buddy_create(start, n, NULL, nr_pcp);
	struct model m = { 0 };
	unsigned long op, fails = 0;
	char msg[256];

	ck_assert_ptr_nonnull(b);
	model_init(&m, start, n);
	rng_state = seed ? seed : 1;
	if (nr_pcp)
		ck_assert_int_eq(buddy_set_pcp(b, 24, 8), 0);

	for (op = 0; op < ops; op++) {
		uint64_t r = rnd();
		int cpu = nr_pcp ? (int)(r % (nr_pcp + 1)) - 1 : BUDDY_NO_PCP;
		bool do_alloc = m.nr_live == 0 || (r >> 8) % 100 < 52;

		if (do_alloc) {
			unsigned int o = random_order();
			pfn_t pfn;
			int ret;

			ret = buddy_alloc(b, o, BUDDY_WMARK_NONE, cpu, &pfn);
			if (ret) {
				require(ret == -ENOMEM, "seed %" PRIu64
					      " op %lu: alloc %d", seed, op, ret);
				buddy_drain_all(b);
				ret = buddy_alloc(b, o, BUDDY_WMARK_NONE,
						  BUDDY_NO_PCP, &pfn);
			}
			if (ret) {
				fails++;
				require(!model_has_free_block(&m, o),
					      "seed %" PRIu64 " op %lu: order %u "
					      "failed with a free aligned block",
					      seed, op, o);
				continue;
			}
			require(!(pfn & ((1ULL << o) - 1)) &&
				      pfn >= start && pfn + (1ULL << o) <= start + n,
				      "seed %" PRIu64 " op %lu: bad block %#" PRIx64
				      "/%u", seed, op, pfn, o);
			require(model_range_free(&m, pfn, 1UL << o),
				      "seed %" PRIu64 " op %lu: overlap at %#" PRIx64
				      "/%u", seed, op, pfn, o);
			model_set(&m, pfn, 1UL << o, true);
			m.live[m.nr_live].pfn = pfn;
			m.live[m.nr_live].order = o;
			m.nr_live++;
			m.used += 1UL << o;
		} else {
			unsigned long k = (r >> 16) % m.nr_live;
			pfn_t pfn = m.live[k].pfn;
			unsigned int o = m.live[k].order;

			/* now and then a bad free of a live block first */
			if (!((r >> 40) & 63)) {
				unsigned int bad = (o + 1 + (r >> 48) %
						    (MAX_ORDER - 1)) % MAX_ORDER;

				require(buddy_free(b, pfn, bad, cpu) == -EINVAL,
					"seed %" PRIu64 " op %lu: bad order accepted",
					seed, op);
				if (o)
					require(buddy_free(b, pfn + 1, 0, cpu) == -EINVAL,
						"seed %" PRIu64 " op %lu: tail accepted",
						seed, op);
			}
			require(buddy_free(b, pfn, o, cpu) == 0,
				      "seed %" PRIu64 " op %lu: free %#" PRIx64 "/%u",
				      seed, op, pfn, o);
			model_set(&m, pfn, 1UL << o, false);
			m.live[k] = m.live[--m.nr_live];
			m.used -= 1UL << o;
			if (!((r >> 40) & 63))
				require(buddy_free(b, pfn, o, cpu) == -EINVAL,
					"seed %" PRIu64 " op %lu: double free accepted",
					seed, op);
		}
		if (!(op % 20000) || op == ops - 1) {
			struct buddy_info info;
			unsigned long i;

			require(buddy_check(b, msg, sizeof(msg)) == 0,
				      "seed %" PRIu64 " op %lu: %s", seed, op, msg);
			buddy_get_info(b, &info);
			require(info.free_pages + info.pcp_pages == n - m.used,
				      "seed %" PRIu64 " op %lu: free %lu + pcp %lu, "
				      "model %lu",
				      seed, op, info.free_pages, info.pcp_pages,
				      n - m.used);
			for (i = 0; i < 64; i++) {
				pfn_t pfn = start + rnd() % n;

				require(buddy_pfn_allocated(b, pfn) ==
					      model_test(&m, pfn),
					      "seed %" PRIu64 " op %lu: pfn %#lx",
					      seed, op, (unsigned long)pfn);
			}
		}
	}
	/* everything back: the initial buddyinfo */
	while (m.nr_live) {
		m.nr_live--;
		ck_assert_int_eq(buddy_free(b, m.live[m.nr_live].pfn,
					    m.live[m.nr_live].order, BUDDY_NO_PCP), 0);
	}
	buddy_drain_all(b);
	ck_assert_uint_eq(free_pages(b), n);
	require(buddy_check(b, msg, sizeof(msg)) == 0, "seed %" PRIu64 ": %s",
		      seed, msg);
	ck_assert_uint_gt(fails, 0);	/* the pool was driven to exhaustion */
	free(m.bits);
	free(m.live);
	buddy_destroy(b);
}

#if defined(__SANITIZE_ADDRESS__)
#define DIFF_OPS	1000000UL	/* the minimum, ASan included */
#else
#define DIFF_OPS	1500000UL
#endif

START_TEST(test_differential)
{
	uint64_t seed = seed_from_env();

	/* a pool a little over 2 largest blocks, odd base and size */
	differential(seed, 3 * MAX_ORDER_NR_PAGES - 5, 2 * MAX_ORDER_NR_PAGES + 77,
		     0, DIFF_OPS);
}
END_TEST

START_TEST(test_differential_pcp)
{
	uint64_t seed = seed_from_env() ^ 0x5bd1e995;

	differential(seed, 1, 3 * MAX_ORDER_NR_PAGES - 2, 2, DIFF_OPS / 4);
}
END_TEST

/*
 * Multi-threaded stress: each thread owns one cache and keeps a window of
 * live blocks, mostly order 0 through its cache.  A shared byte map
 * (atomic exchange) catches any frame handed to two threads at once.
 */
#define STRESS_THREADS	3
#define STRESS_OPS	200000
#define STRESS_WINDOW	256

struct stress {
	struct buddy *b;
	int cpu;
	uint64_t seed;
	uint8_t *owner;		/* 0 free, else thread id + 1 */
	pfn_t start;
	unsigned long allocs, overlaps;
	int done;		/* set when the thread has freed everything */
};

static void *stress_thread(void *arg)
{
	struct stress *s = arg;
	struct { pfn_t pfn; unsigned int order; } live[STRESS_WINDOW];
	unsigned int nr = 0, i;
	uint64_t x = s->seed | 1;
	long op;

	for (op = 0; op < STRESS_OPS; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		if (nr < STRESS_WINDOW && (nr == 0 || (x & 1))) {
			unsigned int o = (x >> 8) % 8 ? 0 : (unsigned int)((x >> 16) % 5);
			pfn_t pfn;

			if (buddy_alloc(s->b, o, BUDDY_WMARK_MIN, s->cpu, &pfn))
				continue;
			for (i = 0; i < (1U << o); i++)
				if (__atomic_exchange_n(&s->owner[pfn - s->start + i],
							(uint8_t)(s->cpu + 1),
							__ATOMIC_RELAXED))
					s->overlaps++;
			live[nr].pfn = pfn;
			live[nr++].order = o;
			s->allocs++;
		} else {
			unsigned int k = (unsigned int)((x >> 24) % nr);

			for (i = 0; i < (1U << live[k].order); i++)
				__atomic_store_n(&s->owner[live[k].pfn - s->start + i],
						 0, __ATOMIC_RELAXED);
			if (buddy_free(s->b, live[k].pfn, live[k].order, s->cpu))
				s->overlaps++;
			live[k] = live[--nr];
		}
	}
	while (nr--) {
		for (i = 0; i < (1U << live[nr].order); i++)
			__atomic_store_n(&s->owner[live[nr].pfn - s->start + i], 0,
					 __ATOMIC_RELAXED);
		if (buddy_free(s->b, live[nr].pfn, live[nr].order, s->cpu))
			s->overlaps++;
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_stress_threads)
{
	const pfn_t start = 1000;
	const unsigned long n = 2 * MAX_ORDER_NR_PAGES + 333;
	struct buddy *b = buddy_create(start, n, NULL, STRESS_THREADS);
	struct stress s[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	struct buddy_info before, after;
	struct buddy_stats st;
	uint8_t *owner = calloc(n, 1);
	uint64_t seed = seed_from_env();
	unsigned int i, o;
	uint64_t allocs = 0, a = 0, f = 0;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(owner);
	ck_assert_int_eq(buddy_set_pcp(b, 32, 8), 0);
	buddy_get_info(b, &before);
	for (i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stress){ .b = b, .cpu = (int)i, .owner = owner,
					.start = start, .seed = seed + i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, stress_thread, &s[i]), 0);
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(s[i].overlaps == 0, "seed %" PRIu64 ": thread %u: %lu"
			      " overlaps/failed frees", seed, i, s[i].overlaps);
		allocs += s[i].allocs;
	}
	buddy_drain_all(b);
	assert_consistent(b);
	buddy_get_info(b, &after);
	ck_assert_uint_eq(after.free_pages, n);
	ck_assert_uint_eq(after.pcp_pages, 0);
	ck_assert_mem_eq(before.nr_free, after.nr_free, sizeof(before.nr_free));
	buddy_get_stats(b, &st);
	for (o = 0; o < MAX_ORDER; o++) {
		ck_assert_uint_eq(st.alloc[o], st.free[o]);
		a += st.alloc[o];
		f += st.free[o];
	}
	ck_assert_uint_eq(a, allocs);
	ck_assert_uint_eq(st.bad_free, 0);
	ck_assert_uint_gt(st.pcp_refill, 0);
	ck_assert_uint_gt(st.pcp_drain, 0);
	free(owner);
	buddy_destroy(b);
}
END_TEST

/*
 * Caches drained from another thread while their owners use them (Linux's
 * drain_all_pages()).  Each owner allocates a handful of order-0 frames
 * through its cache and frees them again, so its cache nearly always holds
 * frames, while this thread keeps draining; a shared byte map catches a
 * frame handed out twice, buddy_check() a torn list.
 */
#if defined(__SANITIZE_ADDRESS__)
#define CHURN_ROUNDS	20000L
#else
#define CHURN_ROUNDS	60000L
#endif

static void *churn_thread(void *arg)
{
	struct stress *s = arg;
	uint64_t x = s->seed | 1;
	pfn_t live[16];
	unsigned int k, i, j;
	long round;

	for (round = 0; round < CHURN_ROUNDS; round++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		k = 1 + (unsigned int)(x % 16);
		for (i = 0; i < k; i++) {
			if (buddy_alloc(s->b, 0, BUDDY_WMARK_MIN, s->cpu,
					&live[i])) {
				s->overlaps++;
				break;
			}
			if (__atomic_exchange_n(&s->owner[live[i] - s->start],
						(uint8_t)(s->cpu + 1),
						__ATOMIC_RELAXED))
				s->overlaps++;
			s->allocs++;
		}
		for (j = 0; j < i; j++) {
			__atomic_store_n(&s->owner[live[j] - s->start], 0,
					 __ATOMIC_RELAXED);
			if (buddy_free(s->b, live[j], 0, s->cpu))
				s->overlaps++;
		}
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

START_TEST(test_drain_remote)
{
	const pfn_t start = 1000;
	const unsigned long n = MAX_ORDER_NR_PAGES + 333;
	struct buddy *b = buddy_create(start, n, NULL, 2);
	struct stress s[2];
	pthread_t t[2];
	struct buddy_info info;
	struct buddy_stats st;
	uint8_t *owner = calloc(n, 1);
	uint64_t seed = seed_from_env();
	unsigned long drains = 0;
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_nonnull(owner);
	ck_assert_int_eq(buddy_set_pcp(b, 64, 8), 0);
	for (i = 0; i < 2; i++) {
		s[i] = (struct stress){ .b = b, .cpu = (int)i, .owner = owner,
					.start = start, .seed = seed + 7 * i };
		ck_assert_int_eq(pthread_create(&t[i], NULL, churn_thread, &s[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		while (!__atomic_load_n(&s[i].done, __ATOMIC_ACQUIRE)) {
			buddy_drain(b, 0);
			buddy_drain_all(b);
			drains++;
		}
	}
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_msg(s[i].overlaps == 0, "seed %" PRIu64 ": thread %u: %lu"
			      " overlaps/failed allocations or frees", seed, i,
			      s[i].overlaps);
	}
	assert_consistent(b);
	buddy_get_stats(b, &st);
	ck_assert_uint_eq(st.bad_free, 0);
	ck_assert_uint_eq(st.alloc[0], s[0].allocs + s[1].allocs);
	ck_assert_uint_eq(st.free[0], s[0].allocs + s[1].allocs);
	/* owners never pass high (64): every pcp drain was a remote one */
	ck_assert_uint_gt(st.pcp_drain, 0);
	buddy_drain_all(b);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 0);
	ck_assert_uint_eq(info.free_pages, n);
	assert_consistent(b);
	free(owner);
	buddy_destroy(b);
}
END_TEST

/* An idle cache drained exactly, then used again by its owner */
START_TEST(test_drain_idle_cache)
{
	struct buddy *b = buddy_create(0, 64, NULL, 2);
	struct buddy_info info;
	pfn_t p[10];
	unsigned int i;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buddy_set_pcp(b, 16, 1), 0);
	ck_assert_int_eq(buddy_set_watermarks(b, 4, 8, 12), 0);
	for (i = 0; i < 10; i++)
		p[i] = alloc_ok(b, 0, 1);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(buddy_free(b, p[i], 0, 1), 0);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 10);
	ck_assert_uint_eq(info.free_pages, 54);
	buddy_drain(b, 1);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.pcp_pages, 0);
	ck_assert_uint_eq(info.free_pages, 64);
	assert_consistent(b);
	/* the owner goes on using its (now empty) cache */
	ck_assert_uint_eq(alloc_ok(b, 0, 1), 0);
	buddy_get_info(b, &info);
	ck_assert_uint_eq(info.free_pages, 63);
	buddy_drain(b, 2);	/* no such cache: nothing happens */
	buddy_drain(b, -1);
	assert_consistent(b);
	buddy_destroy(b);
}
END_TEST

struct info_owner {
	struct buddy *b;
	volatile int stop;
	unsigned long rounds;
};

/*
 * Refill the cache of vCPU 0 with nothing else in use, over and over: one
 * page out and back, then the cache drained (as buddy_drain() from another
 * thread would), so the next allocation refills a whole batch again.
 */
static void *info_owner_fn(void *arg)
{
	struct info_owner *o = arg;
	pfn_t p;

	while (!o->stop) {
		ck_assert_int_eq(buddy_alloc(o->b, 0, BUDDY_WMARK_NONE, 0, &p), 0);
		ck_assert_int_eq(buddy_free(o->b, p, 0, 0), 0);
		buddy_drain(o->b, 0);
		o->rounds++;
	}
	return NULL;
}

/*
 * buddy_get_info() while the owner refills and drains its cache: a refill
 * moves pages from free_pages to pcp_pages, so a snapshot that read the two
 * on either side of it counted the pages twice (free + pcp > managed).
 */
START_TEST(test_info_snapshot)
{
	struct info_owner o = { .b = buddy_create(0, 256, NULL, 1) };
	struct buddy_info info;
	pthread_t th;
	unsigned long i, torn = 0;

	ck_assert_ptr_nonnull(o.b);
	ck_assert_int_eq(buddy_set_pcp(o.b, 32, 32), 0);
	ck_assert_int_eq(pthread_create(&th, NULL, info_owner_fn, &o), 0);
	for (i = 0; i < 300000 || o.rounds < 1000; i++) {
		buddy_get_info(o.b, &info);
		ck_assert_uint_eq(info.managed_pages, 256);
		torn += info.free_pages + info.pcp_pages > info.managed_pages;
	}
	o.stop = 1;
	pthread_join(th, NULL);
	ck_assert_msg(!torn, "%lu of %lu snapshots had free + pcp > managed",
		      torn, i);
	buddy_get_info(o.b, &info);
	ck_assert_uint_eq(info.free_pages + info.pcp_pages, 256);
	assert_consistent(o.b);
	buddy_destroy(o.b);
}
END_TEST

static Suite *mm_suite(void)
{
	Suite *s = suite_create("mm");
	TCase *tc;

	tc = tcase_create("basics");
	tcase_add_test(tc, test_create_args);
	tcase_add_test(tc, test_pfn_to_addr);
	tcase_add_test(tc, test_split_merge_exact);
	tcase_add_loop_test(tc, test_sweep_orders, 0, MAX_ORDER);
	tcase_add_test(tc, test_unaligned_carving);
	tcase_add_loop_test(tc, test_unaligned_exhaust, 0, MAX_ORDER);
	suite_add_tcase(s, tc);

	tc = tcase_create("watermarks");
	tcase_add_test(tc, test_wmark_derived);
	tcase_add_test(tc, test_wmark_calc);
	tcase_add_loop_test(tc, test_wmark_boundaries, 0, MAX_ORDER);
	tcase_add_test(tc, test_wmark_high_order);
	tcase_add_test(tc, test_wmark_pcp);
	tcase_add_test(tc, test_set_watermarks_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("pcp");
	tcase_add_test(tc, test_pcp_batches);
	tcase_add_test(tc, test_pcp_exhaust);
	tcase_add_test(tc, test_drain_idle_cache);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad_input");
	tcase_add_loop_test(tc, test_bad_input, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("random");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_differential);
	tcase_add_test(tc, test_differential_pcp);
	tcase_add_test(tc, test_stress_threads);
	tcase_add_test(tc, test_drain_remote);
	tcase_add_test(tc, test_info_snapshot);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

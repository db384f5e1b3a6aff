/*
 * The fault handler: thin glue from a userfaultfd message to a placed frame
 * (read event -> thread to vCPU -> granule -> allocate by policy -> place
 * the frame: map it from its node's memfd pool, or UFFDIO_MOVE its page
 * from an anonymous pool -> wake), plus the per-granule records behind
 * get-node and free-range, fault-around, the OOM policy and the counters.
 * docs/fault.md gives the measurements behind each choice.
 *
 * Granule states (one uint64_t per granule, changed only by CAS):
 *   EMPTY  -> BUSY    a handler claims a missing granule (the only way to
 *                     allocate for it: exactly one allocation per granule),
 *                     or free-range claims it
 *   BUSY   -> PLACED  the frame is placed; its waiters are woken
 *   BUSY   -> EMPTY   allocation failed (OOM) or free-range finished
 *   PLACED -> BUSY    free-range claims it
 * A message for a granule that is not EMPTY is a race someone else wins:
 * counted, and the waiter is woken by the winner (or by us if already
 * PLACED).  Mapping a frame with MAP_FIXED would silently replace an
 * earlier placement, which is why the claim comes before the allocation.
 *
 * Stopping (fault_abort): once a failure stops the VM (OOM with oom=stop,
 * or a placement failure) the context is aborted: the failure is reported
 * once, and that fault, the parked ones and every later one are answered
 * with a zero page and woken, without a frame or a record.  A thread
 * blocked in a fault outside KVM_RUN (a vCPU thread inside a hypercall,
 * the loader) cannot be kicked out of it: it must be let through to see
 * the VM stopping, else joining it hangs.
 *
 * The hot path (fault_handle_msg and below) does no malloc, no logging and
 * no I/O besides the userfaultfd/mmap calls that are its job; counters are
 * relaxed atomic adds on per-vCPU blocks.
 */
#include "vmm/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/uffd.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define REC_EMPTY	0ULL
#define REC_BUSY	1ULL
#define REC_PLACED	2ULL
#define REC_STATE(v)	((v) & 3ULL)
#define REC_NODE(v)	((unsigned int)(((v) >> 2) & 0x3f))
#define REC_PFN(v)	((pfn_t)((v) >> 8))

#define FAULT_MAX_PARKED	(FAULT_MAX_VCPUS + 64)
#define FAULT_MSG_BATCH		16
#define FAULT_FREE_CHUNK	512	/* granules per free-range step */
#define FAULT_MAP_ROOM		16384UL	/* VMAs left for the rest of numavm */

static inline uint64_t rec_make(unsigned int node, pfn_t pfn)
{
	return (pfn << 8) | ((uint64_t)node << 2) | REC_PLACED;
}

struct fault_vcpu {
	pthread_mutex_t lock;	/* serialises ops->alloc/free for this vCPU */
	struct fault_stats st;	/* relaxed atomic adds */
} __cacheline_aligned;

struct fault_parked {
	int vcpu;
	gpa_t gpa;
};

struct fault_handler {
	struct fault_ctx *ctx;
	pthread_t thread;
	int cpu;
};

struct fault_ctx {
	const struct fault_alloc_ops *ops;
	void *priv;
	struct pool *pools;
	unsigned int nr_nodes;
	char *base;
	size_t size;
	struct fault_opts opts;
	unsigned int gshift, order;
	size_t gsize;
	struct uffd uffd;
	uint64_t *rec;
	size_t nr_rec;
	void *zero;			/* MOVE: gsize bytes of zeros (read-only) */

	pid_t tid[FAULT_MAX_VCPUS];	/* 0 = unregistered */
	struct fault_vcpu vcpu[FAULT_MAX_VCPUS + 1];	/* last: FAULT_HOST */

	int stop_fd;
	struct fault_handler handler[FAULT_MAX_HANDLERS];
	unsigned int nr_handlers;

	pthread_mutex_t park_lock;
	struct fault_parked parked[FAULT_MAX_PARKED];
	unsigned int nr_parked;

	bool aborted;			/* see fault_abort(); atomic */
};

static inline void stat_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static unsigned int hist_bucket(uint64_t ns)
{
	unsigned int e;

	if (ns < 16)
		return (unsigned int)ns;
	e = 63 - (unsigned int)__builtin_clzll(ns);
	if (e >= 40)
		return FAULT_HIST_BUCKETS - 1;
	return 16 + (e - 4) * FAULT_HIST_SUB +
	       (unsigned int)((ns >> (e - 3)) & (FAULT_HIST_SUB - 1));
}

static uint64_t hist_upper(unsigned int b)
{
	unsigned int e, sub;

	if (b < 16)
		return b;
	e = (b - 16) / FAULT_HIST_SUB + 4;
	sub = (b - 16) % FAULT_HIST_SUB;
	return ((uint64_t)(FAULT_HIST_SUB + sub + 1) << (e - 3)) - 1;
}

static inline struct fault_vcpu *fault_vcpu(struct fault_ctx *ctx, int vcpu)
{
	return &ctx->vcpu[vcpu < 0 ? FAULT_MAX_VCPUS : vcpu];
}

static int fault_tid_vcpu(struct fault_ctx *ctx, pid_t tid)
{
	int i;

	for (i = 0; i < FAULT_MAX_VCPUS; i++)
		if (__atomic_load_n(&ctx->tid[i], __ATOMIC_ACQUIRE) == tid)
			return i;
	return FAULT_HOST;
}

static inline bool rec_claim(struct fault_ctx *ctx, size_t g)
{
	uint64_t expect = REC_EMPTY;

	return __atomic_compare_exchange_n(&ctx->rec[g], &expect, REC_BUSY,
					   false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

static inline void rec_set(struct fault_ctx *ctx, size_t g, uint64_t v)
{
	__atomic_store_n(&ctx->rec[g], v, __ATOMIC_RELEASE);
}

static void fault_report(struct fault_ctx *ctx, int vcpu, gpa_t gpa, int err,
			 bool fatal)
{
	struct fault_oom_event ev = {
		.vcpu = vcpu, .gpa = gpa, .order = ctx->order, .err = err,
		.fatal = fatal,
	};

	if (ctx->opts.on_oom) {
		ctx->opts.on_oom(ctx->opts.cb_arg, &ev);
		return;
	}
	/* Nobody listens: never park a thread silently (not the hot path) */
	fprintf(stderr, "numavm: %s %d: %s at RAM offset 0x%llx (order %u): %s\n",
		vcpu == FAULT_HOST ? "host context" : "vCPU", vcpu,
		fatal ? "cannot place a frame" : "out of memory",
		(unsigned long long)gpa, ctx->order, strerror(-err));
}

/* Aborted: answer a fault at granule-aligned @gpa with zeros, wake it */
static void fault_zero(struct fault_ctx *ctx, gpa_t gpa)
{
	/* -EEXIST: something is there already; else it faults again */
	uffd_zeropage(&ctx->uffd, ctx->base + gpa, ctx->gsize, false);
	uffd_wake(&ctx->uffd, ctx->base + gpa, ctx->gsize);
}

static inline bool fault_is_aborted(const struct fault_ctx *ctx)
{
	return __atomic_load_n(&ctx->aborted, __ATOMIC_ACQUIRE);
}

/*
 * The VM cannot go on: report it (only the first time: the woken threads'
 * later faults and a stop's kicks must not repeat it), abort the context,
 * then let every thread out of its fault: the parked ones, the one at @gpa
 * if @zero (granule aligned), and any other waiter (woken: it faults again
 * and gets a zero page).  The report comes before the wakes, so that the
 * woken threads see the VM stopping.
 */
static void fault_abort(struct fault_ctx *ctx, int vcpu, gpa_t gpa, int err,
			bool fatal, bool zero)
{
	struct fault_parked todo[FAULT_MAX_PARKED];
	unsigned int n, i;

	if (!__atomic_exchange_n(&ctx->aborted, true, __ATOMIC_ACQ_REL))
		fault_report(ctx, vcpu, gpa, err, fatal);
	/* aborted is set before the lock: fault_park() cannot add after this */
	pthread_mutex_lock(&ctx->park_lock);
	n = ctx->nr_parked;
	memcpy(todo, ctx->parked, n * sizeof(todo[0]));
	ctx->nr_parked = 0;
	pthread_mutex_unlock(&ctx->park_lock);
	for (i = 0; i < n; i++)
		fault_zero(ctx, todo[i].gpa);
	if (zero)
		fault_zero(ctx, gpa);
	uffd_wake(&ctx->uffd, ctx->base, ctx->size);
}

/*
 * MOVE: fill the empty pool slots from @src on with fresh zeroed pages
 * (allocated under the pool's mbind policy) up to the first present one.
 * A slot is empty when the pool is lazy and it was never used.
 */
static int fault_fill_slot(struct fault_ctx *ctx, char *src, size_t len)
{
	int ret;

	len = min_t(size_t, len, ctx->gsize);
	ret = uffd_copy(&ctx->uffd, src, ctx->zero, len, true, NULL);
	return ret == -EEXIST ? 0 : ret;
}

/*
 * MOVE the pages of frames [pfn, pfn + nr) of @node to guest offset @gpa.
 * All or nothing: on failure the part already moved goes back.
 */
static int fault_move(struct fault_ctx *ctx, gpa_t gpa, unsigned int node,
		      pfn_t pfn, unsigned long nr)
{
	char *src = pool_frame_addr(&ctx->pools[node], pfn);
	char *dst = ctx->base + gpa;
	size_t len = nr << PAGE_SHIFT, off = 0, done;
	unsigned long holes = 0;
	int ret = 0;

	while (off < len) {
		ret = uffd_move(&ctx->uffd, dst + off, src + off, len - off,
				false, &done);
		off += done;
		if (!ret)
			break;
		if (ret != -ENOENT || holes++ > nr)
			break;
		/* a hole in a lazy pool: populate it, then go on moving */
		ret = fault_fill_slot(ctx, src + off, len - off);
		if (ret)
			break;
	}
	if (ret && off)
		uffd_move(&ctx->uffd, src, dst, off, false, NULL);
	return ret;
}

/* Map frames [pfn, pfn + nr) of @node at guest offset @gpa. */
static int fault_map(struct fault_ctx *ctx, gpa_t gpa, unsigned int node,
		     pfn_t pfn, unsigned long nr)
{
	size_t len = nr << PAGE_SHIFT;
	void *dst = ctx->base + gpa;
	int ret;

	if (ctx->opts.mech == FAULT_MECH_MOVE)
		return fault_move(ctx, gpa, node, pfn, nr);

	if (!ctx->opts.thp)
		return uffd_map_fd(dst, len, ctx->pools[node].fd,
				   pool_frame_off(pfn), !ctx->opts.no_populate);
	/* THP: advise the new mapping before its first page exists */
	ret = uffd_map_fd(dst, len, ctx->pools[node].fd, pool_frame_off(pfn),
			  false);
	if (ret)
		return ret;
	madvise(dst, len, MADV_HUGEPAGE);
	if (!ctx->opts.no_populate && madvise(dst, len, MADV_POPULATE_WRITE) < 0)
		return -errno;
	return 0;
}

static void fault_free_frame(struct fault_ctx *ctx, int vcpu,
			     const struct fault_frame *f, unsigned int order)
{
	/* Never mapped and never written: still zero, give it straight back */
	ctx->ops->free(ctx->priv, vcpu, f, order);
}

struct fault_got {
	size_t g;
	struct fault_frame f;
};

/*
 * Place granule @g (claimed: BUSY) for @vcpu, plus with fault-around the
 * still-missing 4 KiB neighbours of its window, each allocated by the
 * policy as if @vcpu had faulted it.  Returns 0 (placed and woken),
 * -ENOMEM (nothing placed, @g back to EMPTY) or a fatal -errno.
 */
static int fault_place(struct fault_ctx *ctx, int vcpu, size_t g)
{
	struct fault_vcpu *fv = fault_vcpu(ctx, vcpu);
	struct fault_got got[FAULT_MAX_AROUND];
	size_t w0 = g, wn = 1, i, j, n = 0;
	bool neighbours = true;
	int ret = 0;

	if (ctx->opts.fault_around > 1) {
		wn = ctx->opts.fault_around;
		w0 = g & ~(wn - 1);
		if (w0 + wn > ctx->nr_rec)
			wn = ctx->nr_rec - w0;
	}

	pthread_mutex_lock(&fv->lock);
	for (i = w0; i < w0 + wn; i++) {
		if (i != g && (!neighbours || !rec_claim(ctx, i)))
			continue;
		ret = ctx->ops->alloc(ctx->priv, vcpu, (gpa_t)i << ctx->gshift,
				      ctx->order, &got[n].f);
		if (ret) {
			rec_set(ctx, i, REC_EMPTY);
			if (i == g)
				break;
			neighbours = false;	/* out of memory: only @g now */
			ret = 0;
			continue;
		}
		got[n++].g = i;
	}
	if (ret) {
		/*
		 * @g failed: give back the neighbours taken before it, still
		 * under @vcpu's lock (numa_free and numa_alloc for one vCPU
		 * never run at once: they share its per-vCPU cache)
		 */
		for (i = 0; i < n; i++) {
			fault_free_frame(ctx, vcpu, &got[i].f, ctx->order);
			rec_set(ctx, got[i].g, REC_EMPTY);
		}
		pthread_mutex_unlock(&fv->lock);
		return ret;
	}
	pthread_mutex_unlock(&fv->lock);

	/* Map runs of consecutive frames of one node with one mmap each */
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n; j++)
			if (got[j].g != got[j - 1].g + 1 ||
			    got[j].f.node != got[i].f.node ||
			    got[j].f.pfn != got[j - 1].f.pfn + (1UL << ctx->order))
				break;
		ret = fault_map(ctx, got[i].g << ctx->gshift, got[i].f.node,
				got[i].f.pfn, (j - i) << ctx->order);
		if (ret)
			break;
		for (; i < j; i++) {
			rec_set(ctx, got[i].g,
				rec_make(got[i].f.node, got[i].f.pfn));
			stat_add(&fv->st.node_granules[got[i].f.node], 1);
		}
	}
	if (ret) {
		/*
		 * The placement failed: frames from @i on were never placed.
		 * Nobody is woken here: the caller stops the VM
		 * (fault_abort), which lets the waiters through.
		 */
		for (; i < n; i++) {
			pthread_mutex_lock(&fv->lock);
			fault_free_frame(ctx, vcpu, &got[i].f, ctx->order);
			pthread_mutex_unlock(&fv->lock);
			rec_set(ctx, got[i].g, REC_EMPTY);
		}
		return ret;
	}
	stat_add(&fv->st.granules, n);
	stat_add(&fv->st.around, n - 1);
	uffd_wake(&ctx->uffd, ctx->base + (w0 << ctx->gshift),
		  wn << ctx->gshift);
	return 0;
}

/*
 * Park a fault for a later retry: 0, -ENOSPC if the table is full, or
 * -ESHUTDOWN if the context is aborted (nothing will retry it).
 */
static int fault_park(struct fault_ctx *ctx, int vcpu, gpa_t gpa)
{
	unsigned int i;
	int ret = 0;

	pthread_mutex_lock(&ctx->park_lock);
	if (fault_is_aborted(ctx)) {
		pthread_mutex_unlock(&ctx->park_lock);
		return -ESHUTDOWN;
	}
	for (i = 0; i < ctx->nr_parked; i++)
		if (ctx->parked[i].gpa == gpa)
			break;	/* already parked: its retry wakes every waiter */
	if (i == ctx->nr_parked) {
		if (ctx->nr_parked < FAULT_MAX_PARKED) {
			ctx->parked[ctx->nr_parked].vcpu = vcpu;
			ctx->parked[ctx->nr_parked].gpa = gpa;
			ctx->nr_parked++;
			stat_add(&fault_vcpu(ctx, vcpu)->st.parked, 1);
		} else {
			ret = -ENOSPC;
		}
	}
	pthread_mutex_unlock(&ctx->park_lock);
	return ret;
}

/*
 * @vcpu's fault at @gpa (back to EMPTY) failed with @err from fault_place:
 * park it (oom=wait; reported if @report: not again on a retry), or stop
 * the VM.
 */
static void fault_failed(struct fault_ctx *ctx, int vcpu, gpa_t gpa, int err,
			 bool report)
{
	int ret;

	if (err != -ENOMEM) {
		fault_abort(ctx, vcpu, gpa, err, true, true);
		return;
	}
	if (ctx->opts.oom != FAULT_OOM_WAIT) {
		fault_abort(ctx, vcpu, gpa, err, false, true);
		return;
	}
	ret = fault_park(ctx, vcpu, gpa);
	if (!ret) {
		if (report)
			fault_report(ctx, vcpu, gpa, err, false);
	} else if (ret == -ESHUTDOWN) {
		fault_zero(ctx, gpa);	/* stopped meanwhile */
	} else {
		/* could never be retried: stop rather than hang */
		fault_abort(ctx, vcpu, gpa, ret, true, true);
	}
}

/*
 * Serve a fault by @vcpu at granule-aligned @gpa.  Returns 1 if it placed,
 * 0 for a race or a parked/reported failure.
 */
static int fault_serve(struct fault_ctx *ctx, int vcpu, gpa_t gpa)
{
	struct fault_vcpu *fv = fault_vcpu(ctx, vcpu);
	size_t g = gpa >> ctx->gshift;
	uint64_t v;
	int ret;

	if (unlikely(fault_is_aborted(ctx))) {
		fault_zero(ctx, gpa);
		return 0;
	}
	if (!rec_claim(ctx, g)) {
		stat_add(&fv->st.races, 1);
		v = __atomic_load_n(&ctx->rec[g], __ATOMIC_ACQUIRE);
		if (REC_STATE(v) == REC_PLACED)
			uffd_wake(&ctx->uffd, ctx->base + gpa, ctx->gsize);
		/* BUSY: the claimer wakes every waiter when it is done */
		return 0;
	}
	ret = fault_place(ctx, vcpu, g);
	if (!ret)
		return 1;
	if (ret == -ENOMEM)
		stat_add(&fv->st.oom, 1);
	fault_failed(ctx, vcpu, gpa, ret, true);
	return 0;
}

/* MOVE mode: someone touched an empty pool slot: give it a zeroed page */
static void fault_pool_msg(struct fault_ctx *ctx, const struct uffd_msg *msg)
{
	uintptr_t addr = (uintptr_t)msg->arg.pagefault.address & PAGE_MASK;
	unsigned int n;
	int ret;

	for (n = 0; n < ctx->nr_nodes; n++) {
		struct pool *p = &ctx->pools[n];

		if (addr - (uintptr_t)p->base >= p->size)
			continue;
		ret = uffd_copy(&ctx->uffd, (void *)addr, ctx->zero, PAGE_SIZE,
				true, NULL);
		if (ret && ret != -EEXIST) {
			fault_abort(ctx, FAULT_HOST, 0, ret, true, false);
			uffd_zeropage(&ctx->uffd, (void *)addr, PAGE_SIZE, true);
		} else if (ret)
			uffd_wake(&ctx->uffd, (void *)addr, PAGE_SIZE);
		return;
	}
}

static void fault_handle_msg(struct fault_ctx *ctx, const struct uffd_msg *msg)
{
	uint64_t t0, dt;
	struct fault_vcpu *fv;
	gpa_t gpa;
	int vcpu;

	if (msg->event != UFFD_EVENT_PAGEFAULT)
		return;
	if (unlikely((uintptr_t)msg->arg.pagefault.address - (uintptr_t)ctx->base >=
		     ctx->size)) {
		fault_pool_msg(ctx, msg);
		return;
	}
	t0 = now_ns();
	vcpu = fault_tid_vcpu(ctx, (pid_t)msg->arg.pagefault.feat.ptid);
	gpa = ((uintptr_t)msg->arg.pagefault.address - (uintptr_t)ctx->base) &
	      ~((gpa_t)ctx->gsize - 1);
	fv = fault_vcpu(ctx, vcpu);
	/* Counted before the wake: a woken vCPU sees its fault counted */
	stat_add(&fv->st.faults, 1);
	fault_serve(ctx, vcpu, gpa);
	dt = now_ns() - t0;

	stat_add(&fv->st.hist[hist_bucket(dt)], 1);
	if (dt > __atomic_load_n(&fv->st.max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&fv->st.max_ns, dt, __ATOMIC_RELAXED);
}

int fault_serve_one(struct fault_ctx *ctx, int timeout_ms)
{
	struct uffd_msg msgs[FAULT_MSG_BATCH];
	struct pollfd pfd = { .fd = ctx->uffd.fd, .events = POLLIN };
	int n, i;

	n = uffd_read(&ctx->uffd, msgs, FAULT_MSG_BATCH);
	if (n == 0) {
		if (poll(&pfd, 1, timeout_ms) < 0)
			return errno == EINTR ? 0 : -errno;
		n = uffd_read(&ctx->uffd, msgs, FAULT_MSG_BATCH);
	}
	for (i = 0; i < n; i++)
		fault_handle_msg(ctx, &msgs[i]);
	return n;
}

static void *fault_handler_main(void *arg)
{
	struct fault_handler *h = arg;
	struct fault_ctx *ctx = h->ctx;
	struct uffd_msg msgs[FAULT_MSG_BATCH];
	struct pollfd pfd[2] = {
		{ .fd = ctx->uffd.fd, .events = POLLIN },
		{ .fd = ctx->stop_fd, .events = POLLIN },
	};
	cpu_set_t set;
	int n, i;

	if (h->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(h->cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);	/* best effort */
	}
	for (;;) {
		/* Drain first: under load the poll is a wasted system call */
		n = uffd_read(&ctx->uffd, msgs, FAULT_MSG_BATCH);
		if (n < 0)
			break;
		for (i = 0; i < n; i++)
			fault_handle_msg(ctx, &msgs[i]);
		if (n)
			continue;
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			break;
	}
	return NULL;
}

/*
 * memfd placement may need one VMA per granule (scattered frames), plus
 * FAULT_MAP_ROOM for everything else numavm maps (libraries, pools, thread
 * stacks).  vm.max_map_count is host wide: raise it only when that worst
 * case does not fit under the current limit -- guest RAM of up to about
 * 190 MiB at 4 KiB granules, or 95 GiB at 2 MiB, fits the default 65530.
 * UFFDIO_MOVE creates no VMAs: nothing to do.
 */
static void fault_check_map_count(struct fault_ctx *ctx)
{
	unsigned long cur = 0, need = ctx->nr_rec + FAULT_MAP_ROOM;
	bool raised;
	FILE *f;

	if (ctx->opts.mech == FAULT_MECH_MOVE)
		return;
	f = fopen("/proc/sys/vm/max_map_count", "r");
	if (!f)
		return;
	if (fscanf(f, "%lu", &cur) != 1)
		cur = 0;
	fclose(f);
	if (!cur || cur >= need)
		return;
	f = fopen("/proc/sys/vm/max_map_count", "w");
	raised = f && fprintf(f, "%lu\n", need) > 0;
	if (f && fclose(f))
		raised = false;
	if (raised) {
		fprintf(stderr,
			"numavm: raised vm.max_map_count from %lu to %lu: guest RAM of %zu MiB at %zu KiB granules may need one mapping per granule (docs/fault.md)\n",
			cur, need, ctx->size >> 20, ctx->gsize >> 10);
		return;
	}
	fprintf(stderr,
		"numavm: warning: vm.max_map_count is %lu and could not be raised to %lu (not root?): scattered placement of %zu MiB at %zu KiB granules may fail; use a larger granule or raise it\n",
		cur, need, ctx->size >> 20, ctx->gsize >> 10);
}

struct fault_ctx *fault_ctx_create(const struct fault_alloc_ops *ops,
				   void *priv, struct pool *pools,
				   unsigned int nr_nodes, void *guest_base,
				   size_t size, const struct fault_opts *opts,
				   char *err, size_t len)
{
	struct fault_ctx *ctx;
	unsigned int i, shift;
	int ret;

	shift = opts->granule_shift ? opts->granule_shift : PAGE_SHIFT;
	if (shift != 12 && shift != 16 && shift != 21) {
		snprintf(err, len, "fault: granule must be 4 KiB, 64 KiB or 2 MiB (shift %u)",
			 shift);
		errno = EINVAL;
		return NULL;
	}
	if (!nr_nodes || nr_nodes > FAULT_MAX_NODES || !size ||
	    size & ((1UL << shift) - 1) ||
	    (uintptr_t)guest_base & ((1UL << shift) - 1)) {
		snprintf(err, len, "fault: guest RAM %p+%zu not aligned to the granule, or %u nodes",
			 guest_base, size, nr_nodes);
		errno = EINVAL;
		return NULL;
	}
	if (opts->fault_around > 1 &&
	    (shift != PAGE_SHIFT || opts->fault_around > FAULT_MAX_AROUND ||
	     opts->fault_around & (opts->fault_around - 1))) {
		snprintf(err, len, "fault: fault-around needs the 4 KiB granule and a power of two <= %d pages",
			 FAULT_MAX_AROUND);
		errno = EINVAL;
		return NULL;
	}
	if (opts->nr_handlers > FAULT_MAX_HANDLERS) {
		snprintf(err, len, "fault: at most %d handler threads",
			 FAULT_MAX_HANDLERS);
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < nr_nodes; i++) {
		bool anon = pools[i].flags & POOL_ANON;

		if (pools[i].size && anon != (opts->mech == FAULT_MECH_MOVE)) {
			snprintf(err, len, "fault: pool of node %u: %s", i,
				 anon ? "an anonymous pool needs UFFDIO_MOVE placement" :
					"UFFDIO_MOVE placement needs an anonymous pool");
			errno = EINVAL;
			return NULL;
		}
	}

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		snprintf(err, len, "fault: out of memory");
		return NULL;
	}
	ctx->ops = ops;
	ctx->priv = priv;
	ctx->pools = pools;
	ctx->nr_nodes = nr_nodes;
	ctx->base = guest_base;
	ctx->size = size;
	ctx->opts = *opts;
	ctx->gshift = shift;
	ctx->order = shift - PAGE_SHIFT;
	ctx->gsize = 1UL << shift;
	ctx->nr_rec = size >> shift;
	ctx->stop_fd = -1;
	ctx->uffd.fd = -1;
	if (!ctx->opts.nr_handlers)
		ctx->opts.nr_handlers = 1;
	for (i = 0; i <= FAULT_MAX_VCPUS; i++)
		pthread_mutex_init(&ctx->vcpu[i].lock, NULL);
	pthread_mutex_init(&ctx->park_lock, NULL);

	ctx->rec = mmap(NULL, ctx->nr_rec * sizeof(*ctx->rec),
			PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ctx->rec == MAP_FAILED) {
		ret = -errno;
		snprintf(err, len, "fault: granule records (%zu): %s",
			 ctx->nr_rec, strerror(-ret));
		goto err_free;
	}
	ctx->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (ctx->stop_fd < 0) {
		ret = -errno;
		snprintf(err, len, "fault: eventfd: %s", strerror(-ret));
		goto err_rec;
	}
	ret = uffd_open(&ctx->uffd, opts->mech == FAULT_MECH_MOVE);
	if (ret) {
		snprintf(err, len, "fault: userfaultfd with THREAD_ID: %s",
			 strerror(-ret));
		goto err_stop;
	}
	if (opts->mech == FAULT_MECH_MOVE) {
		if (!ctx->uffd.has_move) {
			ret = -ENOTSUP;
			snprintf(err, len, "fault: this kernel has no UFFDIO_MOVE (Linux 6.8+): use memfd placement");
			goto err_uffd;
		}
		ctx->zero = mmap(NULL, ctx->gsize, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (ctx->zero == MAP_FAILED) {
			ret = -errno;
			ctx->zero = NULL;
			snprintf(err, len, "fault: zero buffer: %s", strerror(-ret));
			goto err_uffd;
		}
		for (i = 0; i < nr_nodes; i++) {
			if (!pools[i].size)
				continue;
			ret = uffd_register(&ctx->uffd, pools[i].base, pools[i].size);
			if (ret) {
				snprintf(err, len, "fault: registering the pool of node %u: %s",
					 i, strerror(-ret));
				goto err_uffd;
			}
		}
	}
	if (opts->thp)
		madvise(guest_base, size, MADV_HUGEPAGE);
	ret = uffd_register(&ctx->uffd, guest_base, size);
	if (ret) {
		snprintf(err, len, "fault: registering guest RAM %p+%zu: %s",
			 guest_base, size, strerror(-ret));
		goto err_uffd;
	}
	if (!opts->no_map_count)
		fault_check_map_count(ctx);
	return ctx;

err_uffd:
	if (ctx->zero)
		munmap(ctx->zero, ctx->gsize);
	uffd_close(&ctx->uffd);
err_stop:
	close(ctx->stop_fd);
err_rec:
	munmap(ctx->rec, ctx->nr_rec * sizeof(*ctx->rec));
err_free:
	free(ctx);
	errno = -ret;
	return NULL;
}

void fault_ctx_destroy(struct fault_ctx *ctx)
{
	if (!ctx)
		return;
	fault_stop(ctx);
	/* Unregistering wakes parked threads: they fault in host pages */
	uffd_unregister(&ctx->uffd, ctx->base, ctx->size);
	if (ctx->zero) {
		unsigned int n;

		for (n = 0; n < ctx->nr_nodes; n++)
			if (ctx->pools[n].size)
				uffd_unregister(&ctx->uffd, ctx->pools[n].base,
						ctx->pools[n].size);
		munmap(ctx->zero, ctx->gsize);
	}
	uffd_close(&ctx->uffd);
	close(ctx->stop_fd);
	munmap(ctx->rec, ctx->nr_rec * sizeof(*ctx->rec));
	free(ctx);
}

int fault_register_vcpu(struct fault_ctx *ctx, int vcpu, pid_t tid)
{
	if (vcpu < 0 || vcpu >= FAULT_MAX_VCPUS || tid <= 0)
		return -EINVAL;
	__atomic_store_n(&ctx->tid[vcpu], tid, __ATOMIC_RELEASE);
	return 0;
}

int fault_start(struct fault_ctx *ctx)
{
	struct fault_handler *h;
	unsigned int i;
	uint64_t v;
	int ret;

	if (ctx->nr_handlers)
		return -EBUSY;
	while (read(ctx->stop_fd, &v, sizeof(v)) > 0)
		;	/* a previous stop */
	for (i = 0; i < ctx->opts.nr_handlers; i++) {
		h = &ctx->handler[i];
		h->ctx = ctx;
		h->cpu = ctx->opts.pin_handlers ? ctx->opts.handler_cpu[i] : -1;
		ret = -pthread_create(&h->thread, NULL, fault_handler_main, h);
		if (ret) {
			fault_stop(ctx);
			return ret;
		}
		ctx->nr_handlers++;
	}
	return 0;
}

void fault_stop(struct fault_ctx *ctx)
{
	uint64_t one = 1;
	unsigned int i;

	if (!ctx->nr_handlers)
		return;
	if (write(ctx->stop_fd, &one, sizeof(one)) < 0) {
		/* an eventfd write only fails on overflow: it is signalled */
	}
	for (i = 0; i < ctx->nr_handlers; i++)
		pthread_join(ctx->handler[i].thread, NULL);
	ctx->nr_handlers = 0;
}

int fault_get_node(struct fault_ctx *ctx, gpa_t gpa, pfn_t *pfn)
{
	uint64_t v;

	if (gpa >= ctx->size)
		return -EINVAL;
	v = __atomic_load_n(&ctx->rec[gpa >> ctx->gshift], __ATOMIC_ACQUIRE);
	if (REC_STATE(v) != REC_PLACED)
		return -ENOENT;
	if (pfn)
		*pfn = REC_PFN(v) + ((gpa & (ctx->gsize - 1)) >> PAGE_SHIFT);
	return (int)REC_NODE(v);
}

/*
 * Give back the frames of granules g0..g0+n-1 whose records were @old
 * (all claimed BUSY), coalescing runs of consecutive frames of one node,
 * and set every record: EMPTY, or its old PLACED value again for a MOVE
 * that could not take the page back (the guest keeps it, consistently).
 * A frame that could not be zeroed is leaked, never handed out again.
 * *freed gets the number of granules freed.  0 or the first -errno.
 */
static int fault_release(struct fault_ctx *ctx, int vcpu, size_t g0,
			 const uint64_t *old, size_t n, size_t *freed)
{
	struct fault_vcpu *fv = fault_vcpu(ctx, vcpu);
	unsigned long per = 1UL << ctx->order;
	size_t i, j, k, done, part;
	struct fault_frame f;
	char *slot, *guest;
	int ret = 0, r;

	*freed = 0;
	for (i = 0; i < n; i = j) {
		if (REC_STATE(old[i]) != REC_PLACED) {
			rec_set(ctx, g0 + i, REC_EMPTY);
			j = i + 1;
			continue;
		}
		for (j = i + 1; j < n; j++)
			if (REC_STATE(old[j]) != REC_PLACED ||
			    REC_NODE(old[j]) != REC_NODE(old[i]) ||
			    REC_PFN(old[j]) != REC_PFN(old[j - 1]) + per)
				break;
		k = j;
		if (ctx->opts.mech == FAULT_MECH_MOVE) {
			/* The pages go home to their (registered, empty) slots */
			slot = pool_frame_addr(&ctx->pools[REC_NODE(old[i])],
					       REC_PFN(old[i]));
			guest = ctx->base + ((g0 + i) << ctx->gshift);
			r = uffd_move(&ctx->uffd, slot, guest,
				      (j - i) << ctx->gshift, false, &done);
			if (r) {
				ret = ret ? ret : r;
				/* a granule half moved: put its part back */
				part = done & (ctx->gsize - 1);
				done -= part;
				if (part)
					uffd_move(&ctx->uffd, guest + done,
						  slot + done, part, false, NULL);
				k = i + (done >> ctx->gshift);
				for (part = k; part < j; part++)
					rec_set(ctx, g0 + part, old[part]);
			}
		}
		if (k > i) {
			r = pool_zero(&ctx->pools[REC_NODE(old[i])],
				      REC_PFN(old[i]), (k - i) * per);
			if (r) {
				ret = ret ? ret : r;
				for (; i < k; i++)
					rec_set(ctx, g0 + i, REC_EMPTY);
				continue;
			}
		}
		pthread_mutex_lock(&fv->lock);
		for (; i < k; i++) {
			f.node = REC_NODE(old[i]);
			f.pfn = REC_PFN(old[i]);
			r = ctx->ops->free(ctx->priv, vcpu, &f, ctx->order);
			if (r && !ret)
				ret = r;
			rec_set(ctx, g0 + i, REC_EMPTY);
			(*freed)++;
		}
		pthread_mutex_unlock(&fv->lock);
	}
	return ret;
}

long fault_free_range(struct fault_ctx *ctx, int vcpu, gpa_t gpa, uint64_t len)
{
	uint64_t old[FAULT_FREE_CHUNK], v;
	size_t g0, g, n, i, freed = 0, nr;
	int ret = 0, r;

	if ((gpa | len) & (ctx->gsize - 1) || gpa + len > ctx->size ||
	    gpa + len < gpa || vcpu < FAULT_HOST || vcpu >= FAULT_MAX_VCPUS)
		return -EINVAL;
	for (g0 = gpa >> ctx->gshift; len; g0 += n, len -= n << ctx->gshift) {
		n = min_t(size_t, len >> ctx->gshift, FAULT_FREE_CHUNK);
		/* Claim every granule, waiting out placements in flight */
		for (i = 0; i < n; i++) {
			g = g0 + i;
			for (;;) {
				v = __atomic_load_n(&ctx->rec[g], __ATOMIC_ACQUIRE);
				if (v == REC_BUSY) {
					sched_yield();
					continue;
				}
				if (__atomic_compare_exchange_n(&ctx->rec[g], &v,
								REC_BUSY, false,
								__ATOMIC_ACQ_REL,
								__ATOMIC_ACQUIRE))
					break;
			}
			old[i] = v;
		}
		/*
		 * The guest loses the frames before anyone else can get them:
		 * a fresh registered mapping over the range (MAP), or each
		 * page moved back to its pool slot (MOVE, in fault_release).
		 */
		r = 0;
		if (ctx->opts.mech == FAULT_MECH_MAP)
			r = uffd_unmap_to_missing(&ctx->uffd,
						  ctx->base + (g0 << ctx->gshift),
						  n << ctx->gshift, ctx->opts.thp);
		if (r) {
			/*
			 * The range is in an unknown state: unmapped, or mapped
			 * but not registered (the host kernel would back it
			 * silently).  Its frames may still be mapped: they are
			 * kept out of the allocator for good; its records say
			 * unbacked, and the VM stops (its waiters let through).
			 */
			for (i = 0; i < n; i++)
				rec_set(ctx, g0 + i, REC_EMPTY);
			fault_abort(ctx, vcpu, g0 << ctx->gshift, r, true,
				    false);
			return r;
		}
		r = fault_release(ctx, vcpu, g0, old, n, &nr);
		if (r && !ret)
			ret = r;
		freed += nr;
		/* Threads that faulted meanwhile: retry against the fresh range */
		uffd_wake(&ctx->uffd, ctx->base + (g0 << ctx->gshift),
			  n << ctx->gshift);
	}
	stat_add(&fault_vcpu(ctx, vcpu)->st.frees, freed);
	if (fault_nr_parked(ctx))
		fault_retry_parked(ctx);
	return ret ? ret : (long)freed;
}

int fault_retry_parked(struct fault_ctx *ctx)
{
	struct fault_parked todo[FAULT_MAX_PARKED];
	unsigned int n, i;
	int served = 0, ret;

	pthread_mutex_lock(&ctx->park_lock);
	n = ctx->nr_parked;
	memcpy(todo, ctx->parked, n * sizeof(todo[0]));
	ctx->nr_parked = 0;
	pthread_mutex_unlock(&ctx->park_lock);

	for (i = 0; i < n; i++) {
		size_t g = todo[i].gpa >> ctx->gshift;

		if (fault_is_aborted(ctx)) {
			fault_zero(ctx, todo[i].gpa);
			continue;
		}
		if (!rec_claim(ctx, g)) {
			/* Placed meanwhile (another fault): just wake */
			uffd_wake(&ctx->uffd, ctx->base + todo[i].gpa, ctx->gsize);
			served++;
			continue;
		}
		ret = fault_place(ctx, todo[i].vcpu, g);
		if (!ret) {
			served++;
			continue;
		}
		/* parked again (reported already), or the VM stops */
		fault_failed(ctx, todo[i].vcpu, todo[i].gpa, ret, false);
	}
	return served;
}

unsigned int fault_nr_parked(struct fault_ctx *ctx)
{
	unsigned int n;

	pthread_mutex_lock(&ctx->park_lock);
	n = ctx->nr_parked;
	pthread_mutex_unlock(&ctx->park_lock);
	return n;
}

static void fault_stats_add(struct fault_stats *a, const struct fault_stats *b)
{
	const uint64_t *src = (const uint64_t *)b;
	uint64_t *dst = (uint64_t *)a;
	size_t i;

	_Static_assert(sizeof(struct fault_stats) % sizeof(uint64_t) == 0,
		       "fault_stats is an array of counters");
	for (i = 0; i < sizeof(*a) / sizeof(uint64_t); i++) {
		if (&dst[i] == &a->max_ns)
			a->max_ns = max_t(uint64_t, a->max_ns, b->max_ns);
		else
			dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
	}
}

int fault_get_stats(struct fault_ctx *ctx, int vcpu, struct fault_stats *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	if (vcpu == FAULT_ALL) {
		for (i = 0; i <= FAULT_MAX_VCPUS; i++)
			fault_stats_add(st, &ctx->vcpu[i].st);
		return 0;
	}
	if (vcpu < FAULT_HOST || vcpu >= FAULT_MAX_VCPUS)
		return -EINVAL;
	fault_stats_add(st, &fault_vcpu(ctx, vcpu)->st);
	return 0;
}

uint64_t fault_hist_percentile(const struct fault_stats *st, double pct)
{
	uint64_t total = 0, target, cum = 0;
	unsigned int b;

	for (b = 0; b < FAULT_HIST_BUCKETS; b++)
		total += st->hist[b];
	if (!total)
		return 0;
	target = (uint64_t)(pct / 100.0 * (double)total + 0.999999);
	if (target < 1)
		target = 1;
	for (b = 0; b < FAULT_HIST_BUCKETS; b++) {
		cum += st->hist[b];
		if (cum >= target)
			return min_t(uint64_t, hist_upper(b), st->max_ns);
	}
	return st->max_ns;
}

unsigned int fault_granule_shift(const struct fault_ctx *ctx)
{
	return ctx->gshift;
}

int fault_uffd(const struct fault_ctx *ctx)
{
	return ctx->uffd.fd;
}

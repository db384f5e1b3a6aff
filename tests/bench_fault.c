/*
 * Benchmark of the fault path with host threads playing vCPUs (no KVM on
 * this machine): figures, never pass/fail.
 *
 * Part 1 (mechanisms): a raw userfaultfd region served by one handler
 * thread with each resolve mechanism -- memfd MAP_FIXED (+MAP_POPULATE,
 * wake), UFFDIO_COPY from the pool frame, UFFDIO_MOVE from a pre-populated
 * anonymous pool -- per granule (4 KiB, 64 KiB, 2 MiB), with the handler on
 * the faulting thread's CPU and on the other CPU.
 *
 * Part 2 (issue D's table): every 4 KiB page of BENCH_FAULT_MIB (default
 * 256) MiB touched once through vmm/fault.c and numa_alloc(): (a) 4 KiB
 * granule, (a2) 4 KiB + fault-around 16, (d) 2 MiB granule, against (b)
 * plain anonymous memory with the host kernel's demand paging and (p)
 * pre-populated memory; 1 vCPU then 2 vCPUs (one thread per CPU, each with
 * a handler pinned on its CPU).
 */
#include "vmm/fault.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "numa/numa.h"
#include "vmm/pool.h"
#include "vmm/uffd.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MiB (1UL << 20)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static char *map_aligned(size_t size, char **raw)
{
	*raw = mmap(NULL, size + 2 * MiB, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (*raw == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return (char *)(((uintptr_t)*raw + 2 * MiB - 1) & ~(2 * MiB - 1));
}

/* A thread touching one byte per 4 KiB page of [p, p + len) */
struct toucher {
	char *p;
	size_t len;
	int cpu;
	int vcpu; /* registered with ctx if ctx */
	struct fault_ctx *ctx;
	pthread_t thread;
	pthread_barrier_t *go;
	double t0, t1;
};

static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	volatile char *p = t->p;
	size_t off;

	pin(t->cpu);
	if (t->ctx)
		fault_register_vcpu(t->ctx, t->vcpu, gettid());
	if (t->go)
		pthread_barrier_wait(t->go);
	t->t0 = now_s();
	for (off = 0; off < t->len; off += PAGE_SIZE)
		p[off] = 1;
	t->t1 = now_s();
	return NULL;
}

/* ---- part 1: mechanisms ---- */

enum mech { MECH_MAPFD, MECH_COPY, MECH_MOVE, NR_MECH };
static const char *const mech_name[NR_MECH] = { "memfd MAP_FIXED",
						"UFFDIO_COPY", "UFFDIO_MOVE" };

struct mech_run {
	enum mech mech;
	struct uffd u;
	char *dst;
	size_t len, gran;
	struct pool pool;
	int cpu;
	volatile bool stop;
	int err;
	unsigned long eexist;
	double busy_s; /* time spent resolving (handler side) */
	unsigned long nr; /* faults resolved */
};

static void *mech_handler(void *arg)
{
	struct mech_run *r = arg;
	struct uffd_msg msg[16];
	int n, i, ret;

	pin(r->cpu);
	while (!r->stop) {
		n = uffd_read(&r->u, msg, 16);
		if (n <= 0) {
			if (n < 0) {
				r->err = n;
				return NULL;
			}
			continue; /* spin-poll free: measured as a blocking read below */
		}
		for (i = 0; i < n; i++) {
			size_t off = ((uintptr_t)msg[i].arg.pagefault.address -
				      (uintptr_t)r->dst) &
				     ~(r->gran - 1);
			double t0 = now_s();

			switch (r->mech) {
			case MECH_MAPFD:
				ret = uffd_map_fd(r->dst + off, r->gran,
						  r->pool.fd, (off_t)off, true);
				if (!ret)
					ret = uffd_wake(&r->u, r->dst + off,
							r->gran);
				break;
			case MECH_COPY:
				ret = uffd_copy(&r->u, r->dst + off,
						(char *)r->pool.base + off,
						r->gran, true, NULL);
				break;
			default:
				ret = uffd_move(&r->u, r->dst + off,
						(char *)r->pool.base + off,
						r->gran, true, NULL);
				break;
			}
			r->busy_s += now_s() - t0;
			r->nr++;
			if (ret == -EEXIST) {
				r->eexist++;
				uffd_wake(&r->u, r->dst + off, r->gran);
			} else if (ret) {
				r->err = ret;
				return NULL;
			}
		}
	}
	return NULL;
}

static double bench_mech(enum mech m, size_t gran, int handler_cpu, size_t len,
			 unsigned long *thp_kb, double *svc_us)
{
	struct mech_run r;
	struct toucher t = { .cpu = 0 };
	pthread_t h;
	char *raw, err[128];
	unsigned int flags;
	double us;
	int ret;

	memset(&r, 0, sizeof(r));
	r.mech = m;
	r.gran = gran;
	r.len = len;
	r.cpu = handler_cpu;
	flags = POOL_PREALLOC;
	if (m == MECH_MOVE)
		flags |= POOL_ANON;
	if (gran == 2 * MiB)
		flags |= POOL_THP;
	ret = pool_create(&r.pool, "bench", len, 0, flags, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (gran < 2 * MiB && m == MECH_MOVE)
		madvise(r.pool.base, len, MADV_NOHUGEPAGE);
	r.dst = map_aligned(len, &raw);
	if (gran == 2 * MiB)
		madvise(r.dst, len, MADV_HUGEPAGE);
	else
		madvise(r.dst, len, MADV_NOHUGEPAGE);
	if (uffd_open(&r.u, m == MECH_MOVE) ||
	    uffd_register(&r.u, r.dst, len)) {
		fprintf(stderr, "uffd setup failed\n");
		return -1;
	}
	/* blocking reads: the handler sleeps in read() as a real one sleeps */
	fcntl(r.u.fd, F_SETFL, fcntl(r.u.fd, F_GETFL) & ~O_NONBLOCK);
	pthread_create(&h, NULL, mech_handler, &r);
	t.p = r.dst;
	t.len = len;
	pthread_create(&t.thread, NULL, toucher_main, &t);
	pthread_join(t.thread, NULL);
	us = (t.t1 - t.t0) * 1e6 / (double)(len / PAGE_SIZE);
	if (svc_us)
		*svc_us = r.nr ? r.busy_s * 1e6 / (double)r.nr : 0;

	if (thp_kb) {
		/* how much the process has mapped as huge pages now */
		FILE *f = fopen("/proc/self/smaps_rollup", "r");
		char line[256];
		unsigned long v;

		*thp_kb = 0;
		while (f && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "AnonHugePages: %lu", &v) == 1 ||
			    sscanf(line, "ShmemPmdMapped: %lu", &v) == 1 ||
			    sscanf(line, "FilePmdMapped: %lu", &v) == 1)
				*thp_kb += v;
		}
		if (f)
			fclose(f);
	}
	r.stop = true;
	/* wake the blocking read: one more fault past the end */
	uffd_unregister(&r.u, r.dst, len);
	uffd_close(&r.u);
	pthread_cancel(h);
	pthread_join(h, NULL);
	if (r.err)
		fprintf(stderr, "  (%s %zu KiB: error %d)\n", mech_name[m],
			gran >> 10, r.err);
	munmap(raw, len + 2 * MiB);
	pool_destroy(&r.pool);
	return r.err ? -1 : us;
}

/*
 * Best of 3 interleaved runs per cell (the machine is shared and noisy):
 * wall us per 4 KiB page for the toucher, and the handler's own time per
 * fault (the resolve ioctl/mmap plus wake), which the toucher's page-touch
 * cost does not blur.  The cross-CPU column uses a quarter of the range.
 */
static void part1(size_t len)
{
	static const size_t grans[] = { 4096, 64 * 1024, 2 * MiB };
	double same[NR_MECH], svc[NR_MECH], other[NR_MECH], w, sv;
	unsigned long thp[NR_MECH], k;
	unsigned int g, m, rep;

	printf("\n## mechanisms: %zu MiB touched by one thread on CPU 0 "
	       "(best of 3)\n",
	       len >> 20);
	printf("%-18s %8s %14s %14s %14s %10s\n", "mechanism", "granule",
	       "us/page CPU0", "us/fault svc", "us/page CPU1", "huge(KiB)");
	for (g = 0; g < ARRAY_SIZE(grans); g++) {
		for (m = 0; m < NR_MECH; m++)
			same[m] = svc[m] = other[m] = 1e30;
		for (rep = 0; rep < 3; rep++) {
			for (m = 0; m < NR_MECH; m++) {
				w = bench_mech(m, grans[g], 0, len, &k, &sv);
				if (w >= 0 && w < same[m]) {
					same[m] = w;
					thp[m] = k;
				}
				if (w >= 0 && sv < svc[m])
					svc[m] = sv;
				w = bench_mech(m, grans[g], 1, len / 4, NULL,
					       NULL);
				if (w >= 0 && w < other[m])
					other[m] = w;
			}
		}
		for (m = 0; m < NR_MECH; m++) {
			printf("%-18s %6zuK %14.2f %14.2f %14.2f", mech_name[m],
			       grans[g] >> 10, same[m], svc[m], other[m]);
			if (grans[g] == 2 * MiB)
				printf(" %10lu", thp[m]);
			printf("\n");
		}
	}
}

/* ---- part 2: the issue D table ---- */

struct row {
	const char *name;
	double pps;
	uint64_t p50, p99;
	bool has_lat;
	long vmas;
};

static void run_touchers(struct toucher *t, unsigned int n)
{
	pthread_barrier_t go;
	unsigned int i;

	pthread_barrier_init(&go, NULL, n);
	for (i = 0; i < n; i++) {
		t[i].go = &go;
		pthread_create(&t[i].thread, NULL, toucher_main, &t[i]);
	}
	for (i = 0; i < n; i++)
		pthread_join(t[i].thread, NULL);
	pthread_barrier_destroy(&go);
}

static double touchers_pps(const struct toucher *t, unsigned int n)
{
	double t0 = t[0].t0, t1 = t[0].t1;
	size_t pages = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		t0 = t[i].t0 < t0 ? t[i].t0 : t0;
		t1 = t[i].t1 > t1 ? t[i].t1 : t1;
		pages += t[i].len / PAGE_SIZE;
	}
	return (double)pages / (t1 - t0);
}

/* (b) and (p): no userfaultfd */
static void bench_plain(struct row *row, size_t len, unsigned int nv,
			bool prepopulate, bool thp)
{
	struct toucher t[2];
	unsigned int i;
	char *raw, *g;

	g = map_aligned(len, &raw);
	/* 4 KiB demand paging, as measured in the issue; THP for the 2M floor */
	madvise(g, len, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (prepopulate)
		madvise(g, len, MADV_POPULATE_WRITE);
	memset(t, 0, sizeof(t));
	for (i = 0; i < nv; i++) {
		t[i].p = g + i * (len / nv);
		t[i].len = len / nv;
		t[i].cpu = (int)i;
	}
	run_touchers(t, nv);
	row->pps = touchers_pps(t, nv);
	munmap(raw, len + 2 * MiB);
}

/* VMAs of this process starting inside [g, g + len) */
static long count_vmas(const char *g, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long a, b;
	char line[512];
	long n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a >= (uintptr_t)g &&
		    a < (uintptr_t)g + len)
			n++;
	if (f)
		fclose(f);
	return n;
}

static void bench_numavm(struct row *row, size_t len, unsigned int nv,
			 unsigned int gshift, unsigned int around, int cross,
			 enum fault_mech mech, unsigned int nodes)
{
	size_t node_len = len / nodes + 16 * MiB;
	struct pool pools[2];
	struct numa_topology topo;
	struct mpol_spec il = { .mode = MPOL_INTERLEAVE, .nodes = 0x3 };
	unsigned int pflags = 0;
	struct fault_opts o;
	struct fault_stats st;
	struct fault_ctx *ctx;
	struct numa_vm *numa;
	struct toucher t[2];
	void *bases[2];
	char err[256], *raw, *g;
	unsigned int i;

	if (topo_init(&topo, nodes, nv, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	/* MOVE moves pre-populated pages (populated before the clock starts) */
	if (mech == FAULT_MECH_MOVE)
		pflags = POOL_ANON | POOL_PREALLOC;
	if (gshift == 21)
		pflags |= POOL_THP;
	for (i = 0; i < nodes; i++) {
		/* room for guest RAM plus what the per-vCPU caches hold back */
		topo.node_mem[i] = node_len;
		topo.host_nodes[i] = 1;
		if (pool_create(&pools[i], "bench-node", node_len, 1, pflags,
				err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
		if (mech == FAULT_MECH_MOVE && gshift < 21)
			madvise(pools[i].base, node_len, MADV_NOHUGEPAGE);
		bases[i] = pools[i].base;
	}
	numa = numa_vm_create(&topo, bases, err, sizeof(err));
	if (!numa) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	for (i = 0; i < nodes; i++) {
		/* each node must hold its share: no watermark reserve in the way */
		buddy_set_watermarks(numa_node_buddy(numa, i), 0, 0, 0);
	}
	for (i = 0; nodes > 1 && i < nv; i++) {
		if (numa_set_vcpu_policy(numa, (int)i, &il, err, sizeof(err))) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
	}
	g = map_aligned(len, &raw);
	memset(&o, 0, sizeof(o));
	o.granule_shift = gshift;
	o.fault_around = around;
	o.mech = mech;
	o.thp = gshift == 21;
	/* cross: 0 = handler i on CPU i, 1 = swapped, 2 = one per CPU (0, 1) */
	o.nr_handlers = cross == 2 ? 2 : nv;
	o.pin_handlers = true;
	for (i = 0; i < o.nr_handlers; i++)
		o.handler_cpu[i] = cross == 1 ? (int)(1 - i) : (int)i;
	ctx = fault_ctx_create(&fault_numa_ops, numa, pools, nodes, g, len, &o,
			       err, sizeof(err));
	if (!ctx || fault_start(ctx)) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	memset(t, 0, sizeof(t));
	for (i = 0; i < nv; i++) {
		t[i].p = g + i * (len / nv);
		t[i].len = len / nv;
		t[i].cpu = (int)i;
		t[i].vcpu = (int)i;
		t[i].ctx = ctx;
	}
	run_touchers(t, nv);
	row->pps = touchers_pps(t, nv);
	row->vmas = count_vmas(g, len);
	fault_stop(ctx); /* joins: every histogram update is in */
	fault_get_stats(ctx, FAULT_ALL, &st);
	row->p50 = fault_hist_percentile(&st, 50);
	row->p99 = fault_hist_percentile(&st, 99);
	row->has_lat = true;
	fault_ctx_destroy(ctx);
	munmap(raw, len + 2 * MiB);
	numa_vm_destroy(numa);
	for (i = 0; i < nodes; i++)
		pool_destroy(&pools[i]);
}

static void part2(size_t len, unsigned int nv)
{
	size_t small = len < 16 * MiB ? len : 16 * MiB;
	struct row rows[12];
	unsigned int i, n = 0, b, p;

	memset(rows, 0, sizeof(rows));
	rows[n].name = "(a)  4K granule, memfd map";
	bench_numavm(&rows[n++], len, nv, 12, 0, 0, FAULT_MECH_MAP, 1);
	rows[n].name = "(a') 4K, handler other CPU (16M)";
	bench_numavm(&rows[n++], small, nv, 12, 0, 1, FAULT_MECH_MAP, 1);
	rows[n].name = "(ah) 4K, a handler on each CPU (16M)";
	bench_numavm(&rows[n++], small, nv, 12, 0, 2, FAULT_MECH_MAP, 1);
	rows[n].name = "(a5) 4K granule, move";
	bench_numavm(&rows[n++], len, nv, 12, 0, 0, FAULT_MECH_MOVE, 1);
	rows[n].name = "(a2) 4K + fault-around 16, memfd map";
	bench_numavm(&rows[n++], len, nv, 12, 16, 0, FAULT_MECH_MAP, 1);
	rows[n].name = "(a3) 64K granule, memfd map";
	bench_numavm(&rows[n++], len, nv, 16, 0, 0, FAULT_MECH_MAP, 1);
	rows[n].name = "(a4) 64K granule, move";
	bench_numavm(&rows[n++], len, nv, 16, 0, 0, FAULT_MECH_MOVE, 1);
	rows[n].name = "(d)  2M granule, move (THP pool)";
	bench_numavm(&rows[n++], len, nv, 21, 0, 0, FAULT_MECH_MOVE, 1);
	rows[n].name = "(d') 2M granule, memfd map";
	bench_numavm(&rows[n++], len, nv, 21, 0, 0, FAULT_MECH_MAP, 1);
	b = n;
	rows[n].name = "(b)  anonymous, kernel demand paging";
	bench_plain(&rows[n++], len, nv, false, false);
	p = n;
	rows[n].name = "(p)  pre-populated";
	bench_plain(&rows[n++], len, nv, true, false);
	rows[n].name = "(p2) pre-populated, THP";
	bench_plain(&rows[n++], len, nv, true, true);

	printf("\n## %u vCPU thread%s, %zu MiB, every 4 KiB page touched "
	       "once\n",
	       nv, nv > 1 ? "s" : "", len >> 20);
	printf("%-38s %10s %8s %8s %8s %10s %10s\n", "case", "pages/s",
	       "us/page", "x/(b)", "x/(p)", "p50(us)", "p99(us)");
	for (i = 0; i < n; i++) {
		printf("%-38s %10.0f %8.2f %8.2f %8.2f", rows[i].name,
		       rows[i].pps, 1e6 / rows[i].pps * nv,
		       rows[i].pps / rows[b].pps, rows[i].pps / rows[p].pps);
		if (rows[i].has_lat)
			printf(" %10.1f %10.1f", rows[i].p50 / 1e3,
			       rows[i].p99 / 1e3);
		printf("\n");
	}
}

/* ---- part 3: VMAs of memfd placement with 4 KiB interleave ---- */

static void part3(size_t len)
{
	struct row r[2];

	memset(r, 0, sizeof(r));
	bench_numavm(&r[0], len, 1, 12, 0, 0, FAULT_MECH_MAP, 2);
	bench_numavm(&r[1], len, 1, 12, 0, 0, FAULT_MECH_MOVE, 2);
	printf("\n## 1 vCPU interleaving 2 nodes, 4 KiB, %zu MiB: VMAs left in "
	       "guest RAM\n",
	       len >> 20);
	printf("%-22s %10s %10s %8s\n", "placement", "pages/s", "VMAs",
	       "p50(us)");
	printf("%-22s %10.0f %10ld %8.1f\n", "memfd map", r[0].pps, r[0].vmas,
	       r[0].p50 / 1e3);
	printf("%-22s %10.0f %10ld %8.1f\n", "UFFDIO_MOVE", r[1].pps, r[1].vmas,
	       r[1].p50 / 1e3);
}

int main(void)
{
	const char *env = getenv("BENCH_FAULT_MIB");
	size_t mib = env ? strtoul(env, NULL, 0) : 256;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (mib < 8)
		mib = 8;
	mib &= ~1UL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("# bench_fault: host threads as vCPUs (no KVM), %ld CPUs\n",
	       ncpu);
	part1(mib > 16 ? 16 * MiB : mib * MiB);
	part2(mib * MiB, 1);
	if (ncpu >= 2)
		part2(mib * MiB, 2);
	part3(mib * MiB);
	return 0;
}

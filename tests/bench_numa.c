/*
 * Benchmark of the numa/ policy layer: the cost of one order-0 fault
 * (numa_alloc() = policy lookup + node decision + zonelist walk + buddy
 * allocation + numastat) followed by its numa_free(), for each policy mode,
 * with 1 and 2 faulting vCPU threads, against the same alloc/free pair done
 * directly on mm/ (buddy_alloc/buddy_free with the vCPU's cache).  The
 * difference is what the policy layer adds.  Prints a table; never fails
 * on timing.
 *
 *   make BUILD=/tmp/b bench   or   /tmp/b/bench_numa [iterations [case]]
 *
 * With @case, only the case of that name (and the mm baseline)
 * run: handy under valgrind --tool=callgrind for instruction counts, which
 * a shared machine does not perturb.
 */
#include "numa/numa.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NODE_PAGES	(64UL * 1024)		/* 256 MiB of frames per node */

static long iterations = 1000000;

struct bench_case {
	const char *name;
	bool mm_only;
	bool range;			/* policy set on the faulting range */
	struct mpol_spec spec;
};

static const struct bench_case cases[] = {
	{ "mm alone (buddy_alloc+free)", .mm_only = true },
	{ "default", .spec = { .mode = MPOL_DEFAULT } },
	{ "local", .spec = { .mode = MPOL_LOCAL } },
	{ "preferred {1}", .spec = { .mode = MPOL_PREFERRED, .nodes = 2 } },
	{ "preferred-many {0,1}",
	  .spec = { .mode = MPOL_PREFERRED_MANY, .nodes = 3 } },
	{ "bind {0,1}", .spec = { .mode = MPOL_BIND, .nodes = 3 } },
	{ "interleave {0,1}", .spec = { .mode = MPOL_INTERLEAVE, .nodes = 3 } },
	{ "weighted-interleave 3:1",
	  .spec = { .mode = MPOL_WEIGHTED_INTERLEAVE, .nodes = 3,
		    .weights = { 3, 1 } } },
	{ "range interleave {0,1}", .range = true,
	  .spec = { .mode = MPOL_INTERLEAVE, .nodes = 3 } },
	{ "range bind {1}", .range = true,
	  .spec = { .mode = MPOL_BIND, .nodes = 2 } },
};

struct worker {
	pthread_t th;
	struct numa_vm *nv;
	const struct bench_case *c;
	int vcpu;
	pthread_barrier_t *start;
	double ns_per_op;
	long errors;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *worker_fn(void *p)
{
	struct worker *w = p;
	struct buddy *b = numa_node_buddy(w->nv, 0);
	struct numa_page pg;
	cpu_set_t set;
	double t0;
	long i;

	/* one vCPU thread per host CPU, as vmm/ would pin them */
	CPU_ZERO(&set);
	CPU_SET(w->vcpu % CPU_SETSIZE, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	pthread_barrier_wait(w->start);
	t0 = now_ns();
	if (w->c->mm_only) {
		pfn_t pfn;

		for (i = 0; i < iterations; i++) {
			if (buddy_alloc(b, 0, BUDDY_WMARK_LOW, w->vcpu, &pfn) ||
			    buddy_free(b, pfn, 0, w->vcpu))
				w->errors++;
		}
	} else {
		for (i = 0; i < iterations; i++) {
			gpa_t gpa = (gpa_t)(i & 1023) << PAGE_SHIFT;

			if (numa_alloc(w->nv, w->vcpu, gpa, 0, 0, &pg) ||
			    numa_free(w->nv, pg.node, pg.pfn, 0, w->vcpu))
				w->errors++;
		}
	}
	w->ns_per_op = (now_ns() - t0) / iterations;
	return NULL;
}

static double run(const struct bench_case *c, int nr_threads)
{
	struct numa_topology t;
	struct worker w[2];
	pthread_barrier_t start;
	struct numa_vm *nv;
	char err[256];
	double sum = 0;
	int i;

	if (topo_init(&t, 2, 2, err, sizeof(err)))
		goto err_out;
	t.node_mem[0] = t.node_mem[1] = NODE_PAGES * PAGE_SIZE;
	t.vcpu_node[1] = 1;
	nv = numa_vm_create(&t, NULL, err, sizeof(err));
	if (!nv)
		goto err_out;
	for (i = 0; i < 2 && !c->mm_only; i++) {
		if (c->range) {
			if (numa_set_range_policy(nv, 0, 1024 * PAGE_SIZE,
						  &c->spec, err, sizeof(err)))
				goto err_out;
		} else if (numa_set_vcpu_policy(nv, i, &c->spec, err,
						sizeof(err))) {
			goto err_out;
		}
	}
	pthread_barrier_init(&start, NULL, (unsigned int)nr_threads);
	for (i = 0; i < nr_threads; i++) {
		w[i] = (struct worker){ .nv = nv, .c = c, .vcpu = i,
					.start = &start };
		pthread_create(&w[i].th, NULL, worker_fn, &w[i]);
	}
	for (i = 0; i < nr_threads; i++) {
		pthread_join(w[i].th, NULL);
		sum += w[i].ns_per_op;
		if (w[i].errors)
			fprintf(stderr, "%s: %ld failed operations\n", c->name,
				w[i].errors);
	}
	pthread_barrier_destroy(&start);
	numa_vm_destroy(nv);
	return sum / nr_threads;

err_out:
	fprintf(stderr, "bench_numa: %s: %s\n", c->name, err);
	exit(1);
}

int main(int argc, char **argv)
{
	double base[3] = { 0 }, r;
	const char *filter = NULL;
	unsigned int i;
	int th, rep;

	if (argc > 1)
		iterations = atol(argv[1]);
	if (argc > 2)
		filter = argv[2];
	if (iterations <= 0)
		iterations = 1;
	printf("bench_numa: order-0 alloc+free per fault, 2 nodes, "
	       "%ld iterations per thread, best of 5\n", iterations);
	printf("%-30s %12s %10s %12s %10s\n", "case", "1 thread ns", "+policy",
	       "2 threads ns", "+policy");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (filter && !cases[i].mm_only &&
		    strcmp(cases[i].name, filter))
			continue;
		printf("%-30s", cases[i].name);
		for (th = 1; th <= 2; th++) {
			/* best of 5: the machine is shared */
			r = run(&cases[i], th);
			for (rep = 1; rep < 5; rep++) {
				double r2 = run(&cases[i], th);

				r = r2 < r ? r2 : r;
			}
			if (cases[i].mm_only)
				base[th] = r;
			printf(" %12.1f %10.1f", r, r - base[th]);
		}
		printf("\n");
	}
	return 0;
}

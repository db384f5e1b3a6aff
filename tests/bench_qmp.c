/*
 * Benchmark of the control socket's cost to the allocation path: two
 * threads (vCPUs 0 and 1 of a 2-node numa_vm) allocate and free order-0
 * pages through numa_alloc()/numa_free() while N clients poll
 * query-numastat, query-buddyinfo and query-vcpus over the socket, either
 * flat out or at a fixed rate.  Prints ns per allocation+free with and
 * without polling and the slowdown; never fails on timing.  It also checks
 * that the counters lost nothing (numastat total == allocations made).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "numa/numa.h"
#include "vmm/qmp.h"

#define NR_ALLOCATORS	2
#define OPS_PER_THREAD	3000000
#define NR_CLIENTS	4

static struct numa_vm *nv;
static char sock[128];
static volatile int stop_polling;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *allocator(void *arg)
{
	int vcpu = (int)(long)arg;
	struct numa_page pg;
	long i, ok = 0;

	for (i = 0; i < OPS_PER_THREAD; i++) {
		if (!numa_alloc(nv, vcpu, (gpa_t)i << PAGE_SHIFT, 0, 0, &pg)) {
			numa_free(nv, pg.node, pg.pfn, 0, vcpu);
			ok++;
		}
	}
	return (void *)ok;
}

struct poller {
	pthread_t th;
	unsigned int hz;	/* 0: flat out */
	long polls;
};

static int read_line(int fd, char *buf, size_t len, size_t *have)
{
	for (;;) {
		char *nl = memchr(buf, '\n', *have);
		ssize_t n;

		if (nl) {
			size_t used = nl + 1 - buf;

			memmove(buf, nl + 1, *have - used);
			*have -= used;
			return 0;
		}
		if (*have == len)
			*have = 0;	/* a long line: only its end matters */
		n = recv(fd, buf + *have, len - *have, 0);
		if (n <= 0)
			return -1;
		*have += n;
	}
}

static void *poll_thread(void *arg)
{
	static const char *const reqs[] = {
		"{\"execute\":\"query-numastat\"}\n",
		"{\"execute\":\"query-buddyinfo\"}\n",
		"{\"execute\":\"query-vcpus\"}\n",
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct poller *p = arg;
	char buf[65536];
	size_t have = 0;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return NULL;
	if (read_line(fd, buf, sizeof(buf), &have) ||
	    send(fd, "{\"execute\":\"qmp_capabilities\"}\n", 31, MSG_NOSIGNAL) != 31 ||
	    read_line(fd, buf, sizeof(buf), &have))
		goto out;
	while (!stop_polling) {
		const char *r = reqs[p->polls % 3];

		if (send(fd, r, strlen(r), MSG_NOSIGNAL) < 0 ||
		    read_line(fd, buf, sizeof(buf), &have))
			break;
		p->polls++;
		if (p->hz)
			usleep(1000000 / p->hz);
	}
out:
	close(fd);
	return NULL;
}

/* One run: ns per alloc+free pair, polls per second */
static double run(unsigned int clients, unsigned int hz, double *polls_s,
		  long *allocs)
{
	struct poller p[NR_CLIENTS];
	pthread_t th[NR_ALLOCATORS];
	double t0, t1;
	long total = 0, polls = 0;
	unsigned int i;
	void *res;

	stop_polling = 0;
	memset(p, 0, sizeof(p));
	for (i = 0; i < clients; i++) {
		p[i].hz = hz;
		pthread_create(&p[i].th, NULL, poll_thread, &p[i]);
	}
	usleep(20000);
	t0 = now();
	for (i = 0; i < NR_ALLOCATORS; i++)
		pthread_create(&th[i], NULL, allocator, (void *)(long)i);
	for (i = 0; i < NR_ALLOCATORS; i++) {
		pthread_join(th[i], &res);
		total += (long)res;
	}
	t1 = now();
	stop_polling = 1;
	for (i = 0; i < clients; i++) {
		pthread_join(p[i].th, NULL);
		polls += p[i].polls;
	}
	*polls_s = polls / (t1 - t0);
	*allocs = total;
	return (t1 - t0) * 1e9 / OPS_PER_THREAD;	/* per thread */
}

static uint64_t numastat_total(void)
{
	struct numastat st;
	uint64_t t = 0;
	unsigned int n;

	for (n = 0; n < numa_nr_nodes(nv); n++) {
		if (numa_get_numastat(nv, n, &st))
			return 0;
		t += st.numa_hit + st.numa_miss;
	}
	return t;
}

int main(void)
{
	static const struct {
		const char *name;
		unsigned int clients, hz;
	} cases[] = {
		{ "no client", 0, 0 },
		{ "4 clients x 100 Hz", NR_CLIENTS, 100 },
		{ "4 clients x 1 kHz", NR_CLIENTS, 1000 },
		{ "4 clients flat out", NR_CLIENTS, 0 },
	};
	struct qmp_numa_backend nb;
	struct qmp_server *srv;
	struct numa_topology t;
	double base = 0, ns, polls;
	uint64_t expect = 0;
	long allocs;
	char err[256];
	unsigned int i;
	int rep;

	signal(SIGPIPE, SIG_IGN);
	if (topo_init(&t, 2, 2, err, sizeof(err)))
		return 1;
	t.node_mem[0] = t.node_mem[1] = 64ULL << 20;
	t.vcpu_node[1] = 1;
	nv = numa_vm_create(&t, NULL, err, sizeof(err));
	if (!nv) {
		fprintf(stderr, "bench_qmp: %s\n", err);
		return 1;
	}
	/* vCPU 0 interleaves (round robin), vCPU 1 allocates locally */
	if (numa_set_vcpu_policy(nv, 0, &(struct mpol_spec){
			.mode = MPOL_INTERLEAVE, .nodes = 3 }, err, sizeof(err)))
		return 1;
	qmp_numa_backend_init(&nb, nv, NULL);
	snprintf(sock, sizeof(sock), "/tmp/bench_qmp.%d.sock", (int)getpid());
	if (qmp_server_start(sock, &nb.be, NULL, &srv, err, sizeof(err))) {
		fprintf(stderr, "bench_qmp: %s\n", err);
		return 1;
	}
	printf("bench_qmp: %d threads x %d numa_alloc+numa_free (order 0), "
	       "clients polling query-numastat/buddyinfo/vcpus\n",
	       NR_ALLOCATORS, OPS_PER_THREAD);
	printf("%-24s %14s %12s %12s\n", "case", "ns/alloc+free", "slowdown",
	       "polls/s");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		double best = 0, bpolls = 0;

		/* best of 3: the machine is shared */
		for (rep = 0; rep < 3; rep++) {
			ns = run(cases[i].clients, cases[i].hz, &polls, &allocs);
			expect += allocs;
			if (!best || ns < best) {
				best = ns;
				bpolls = polls;
			}
		}
		if (!i)
			base = best;
		printf("%-24s %14.1f %11.1f%% %12.0f\n", cases[i].name, best,
		       (best / base - 1) * 100, bpolls);
	}
	printf("counters: numastat total %llu, allocations made %llu: %s\n",
	       (unsigned long long)numastat_total(),
	       (unsigned long long)expect,
	       numastat_total() == expect ? "no lost counts" : "MISMATCH");
	qmp_server_stop(srv);
	numa_vm_destroy(nv);
	return 0;
}

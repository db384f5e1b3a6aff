/*
 * The control socket's view of the fault path (vmm/fault.h): struct
 * qmp_fault_ops over a struct fault_ctx (placement of a guest address,
 * fault count and latency, per-vCPU faults) and the fault_opts.on_oom hook
 * that turns an unserved fault into an OOM event.  Kept apart from
 * qmp_cmds.c so that programs without a fault path (the fuzz harness, the
 * numa-only tests) do not link libfault.
 */
#include "vmm/qmp.h"

#include <errno.h>
#include <string.h>

#include "mm/buddy.h"
#include "numa/numa.h"
#include "vmm/fault.h"

static int qf_node_of(void *opaque, gpa_t gpa)
{
	struct qmp_fault_backend *fb = opaque;

	return fault_get_node(fb->ctx, gpa, NULL);
}

/* Lower bound of a fault.c histogram bucket (16 exact, then 8 per power of 2) */
static uint64_t fine_lower(unsigned int b)
{
	unsigned int e, sub;

	if (b < 16)
		return b;
	e = (b - 16) / FAULT_HIST_SUB + 4;
	sub = (b - 16) % FAULT_HIST_SUB;
	return (uint64_t)(FAULT_HIST_SUB + sub) << (e - 3);
}

static int qf_faults(void *opaque, struct qmp_faults *out)
{
	struct qmp_fault_backend *fb = opaque;
	struct fault_stats stats, *st = &stats;
	unsigned int b;
	int r;

	r = fault_get_stats(fb->ctx, FAULT_ALL, st);
	if (r)
		return r;
	memset(out, 0, sizeof(*out));
	out->count = st->faults;
	out->max_ns = st->max_ns;
	out->p50_ns = fault_hist_percentile(st, 50);
	out->p90_ns = fault_hist_percentile(st, 90);
	out->p99_ns = fault_hist_percentile(st, 99);
	/* fold into log2 buckets: a fine bucket never straddles a power of 2 */
	for (b = 0; b < FAULT_HIST_BUCKETS; b++) {
		uint64_t lo = fine_lower(b);
		unsigned int i = lo ? 64 - __builtin_clzll(lo) : 0;

		out->bucket[min_t(unsigned int, i, QMP_LAT_BUCKETS - 1)] +=
			st->hist[b];
	}
	return 0;
}

static int qf_vcpu_faults(void *opaque, unsigned int vcpu, uint64_t *faults)
{
	struct qmp_fault_backend *fb = opaque;
	struct fault_stats st;
	int r = fault_get_stats(fb->ctx, vcpu, &st);

	if (!r)
		*faults = st.faults;
	return r;
}

static void qf_policy_changed(void *opaque)
{
	struct qmp_fault_backend *fb = opaque;

	if (fault_nr_parked(fb->ctx))
		fault_retry_parked(fb->ctx);
}

void qmp_fault_backend_init(struct qmp_fault_backend *fb, struct numa_vm *nv,
			    struct fault_ctx *ctx)
{
	memset(fb, 0, sizeof(*fb));
	fb->nv = nv;
	fb->ctx = ctx;
	fb->ops.opaque = fb;
	fb->ops.node_of = qf_node_of;
	fb->ops.faults = qf_faults;
	fb->ops.vcpu_faults = qf_vcpu_faults;
	fb->ops.policy_changed = qf_policy_changed;
}

void qmp_fault_on_oom(void *arg, const struct fault_oom_event *ev)
{
	struct qmp_fault_backend *fb = arg;
	struct qmp_server *srv = __atomic_load_n(&fb->srv, __ATOMIC_ACQUIRE);
	struct range_policy rp[NUMA_MAX_RANGES];
	struct qmp_oom oom;
	unsigned int i, nr;

	if (!srv || ev->fatal)
		return;
	memset(&oom, 0, sizeof(oom));
	oom.vcpu = ev->vcpu;
	oom.gpa = ev->gpa;
	oom.order = ev->order;
	/* the policy that applied: the range covering gpa, else the vCPU's */
	oom.policy.mode = MPOL_DEFAULT;
	nr = numa_get_range_policies(fb->nv, rp, NUMA_MAX_RANGES);
	for (i = 0; i < nr && i < NUMA_MAX_RANGES; i++)
		if (ev->gpa >= rp[i].start && ev->gpa < rp[i].end)
			break;
	if (i < nr && i < NUMA_MAX_RANGES)
		oom.policy = rp[i].pol.spec;
	else if (numa_get_vcpu_policy(fb->nv, ev->vcpu == FAULT_HOST ?
					      NUMA_HOST : ev->vcpu,
				      &oom.policy))
		oom.policy.mode = MPOL_DEFAULT;	/* no such vCPU */
	oom.nr_nodes = numa_nr_nodes(fb->nv);
	for (i = 0; i < oom.nr_nodes; i++) {
		struct buddy *b = numa_node_buddy(fb->nv, i);
		struct buddy_info bi;

		if (!b)
			continue;
		buddy_get_info(b, &bi);
		oom.free[i] = bi.free_pages + bi.pcp_pages;
	}
	qmp_event_oom(srv, &oom);
}

void qmp_fault_set_server(struct qmp_fault_backend *fb, struct qmp_server *s)
{
	__atomic_store_n(&fb->srv, s, __ATOMIC_RELEASE);
}

/*
 * The host-side control socket: a UNIX socket speaking a QMP-style JSON
 * protocol (docs/protocol.md) through which operators read numastat,
 * buddyinfo, zoneinfo, per-vCPU state, placement and fault latency, change
 * vCPU and range policies at run time, and receive OOM and watermark events.
 *
 * The server runs on its own thread with non-blocking I/O (poll), bounded
 * per-client buffers, a request size limit and a client count limit; it never
 * takes a lock the vCPUs or the fault path hold for long: it reads every
 * figure through the struct qmp_backend operations below, which copy
 * counters out of the numa engine and the fault path.  The backend decouples
 * the socket from those modules so that it can be driven without /dev/kvm.
 */
#ifndef NUMAVM_VMM_QMP_H
#define NUMAVM_VMM_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"
#include "numa/mempolicy.h"

#define QMP_MAX_ORDER		11	/* orders 0..10, as mm/buddy.h */
#define QMP_LAT_BUCKETS		32	/* log2 latency buckets */
#define QMP_MAX_RANGES		256	/* range policies reported per query */
#define QMP_MAX_PLACEMENT_PAGES	(1UL << 20)	/* 4 GiB per query-placement */
#define QMP_MAX_PLACEMENT_RUNS	4096	/* runs per query-placement reply */

/* Per node numastat counters, numastat(8) meanings, plus page usage */
struct qmp_numastat {
	uint64_t numa_hit, numa_miss, numa_foreign, interleave_hit;
	uint64_t local_node, other_node;
	uint64_t pages_used, pages_free;
};

/* Per node /proc/buddyinfo and /proc/zoneinfo content */
struct qmp_zone {
	uint64_t nr_free[QMP_MAX_ORDER];	/* free blocks per order */
	uint64_t free, managed;			/* pages (free: in the free lists) */
	uint64_t pcp;				/* pages parked in per-vCPU caches */
	uint64_t min, low, high;		/* watermarks, pages */
};

struct qmp_vcpu {
	unsigned int home_node;
	struct mpol_spec policy;
	uint64_t faults;			/* faults served for this vCPU */
	uint64_t alloc[NUMA_MAX_NODES];		/* pages allocated per node */
};

/* A range policy in force on [start, end) */
struct qmp_range {
	gpa_t start, end;
	struct mpol_spec policy;
};

/*
 * Fault path figures: count, latency percentiles (upper bounds, ns) and a
 * log2 histogram whose bucket i counts faults with latency < 2^i ns that
 * are not in a lower bucket (the last bucket takes everything longer).
 */
struct qmp_faults {
	uint64_t count;
	uint64_t p50_ns, p90_ns, p99_ns, max_ns;
	uint64_t bucket[QMP_LAT_BUCKETS];
};

/*
 * Fill p50/p90/p99 from the log2 buckets (for providers without a finer
 * histogram): the upper bound of the bucket holding the percentile, capped
 * at max_ns; 0 when nothing was counted.
 */
void qmp_faults_fill_percentiles(struct qmp_faults *f);

/*
 * The data and control operations the server calls, from its own thread.
 * Every getter fills a consistent snapshot (no torn per-node view) and
 * returns 0 or -errno; none may block for long.  Setters validate exactly as
 * the numa engine does everywhere else and return -errno with a message in
 * @err on refusal (state unchanged).  Operations left NULL make the matching
 * command answer GenericError "not available".
 */
struct qmp_backend {
	void *opaque;
	unsigned int nr_nodes;
	unsigned int nr_vcpus;
	int (*numastat)(void *opaque, struct qmp_numastat *out);	/* nr_nodes entries */
	int (*zones)(void *opaque, struct qmp_zone *out);		/* nr_nodes entries */
	int (*vcpu)(void *opaque, unsigned int cpu, struct qmp_vcpu *out);
	/* node backing @gpa, -ENOENT if unbacked, -EINVAL outside guest RAM */
	int (*node_of)(void *opaque, gpa_t gpa);
	/* up to @max range policies intersecting [start, end); returns count */
	int (*ranges)(void *opaque, gpa_t start, gpa_t end,
		      struct qmp_range *out, unsigned int max);
	int (*faults)(void *opaque, struct qmp_faults *out);
	int (*set_vcpu_policy)(void *opaque, unsigned int cpu,
			       const struct mpol_spec *spec, char *err,
			       size_t errlen);
	int (*set_range_policy)(void *opaque, gpa_t start, gpa_t len,
				const struct mpol_spec *spec, char *err,
				size_t errlen);
	/* quit: ask the VM to stop; returns at once, the reply goes out */
	int (*quit)(void *opaque);
};

/*
 * The fault path's part of the data (vmm/fault.h), as a small ops struct so
 * that the numa backend below can run without KVM or a userfaultfd.  Any
 * operation may be NULL.
 * node_of: node backing @gpa, -ENOENT unbacked, -EINVAL outside guest RAM
 * faults: fault count and latency of the whole VM
 * vcpu_faults: faults served for @vcpu
 * policy_changed: a policy was changed through the socket (the fault path
 *   retries the faults it parked for lack of memory)
 */
struct qmp_fault_ops {
	void *opaque;
	int (*node_of)(void *opaque, gpa_t gpa);
	int (*faults)(void *opaque, struct qmp_faults *out);
	int (*vcpu_faults)(void *opaque, unsigned int vcpu, uint64_t *faults);
	void (*policy_changed)(void *opaque);
};

/*
 * The backend of a real VM: every figure read straight from the numa
 * engine (numa/numa.h: numastat, buddies, policies, ranges) and the policy
 * setters are numa_set_vcpu_policy()/numa_set_range_policy() themselves;
 * placement and fault latency come from @fault (may be NULL: then
 * query-placement and query-faults answer "not available").
 */
struct numa_vm;
struct qmp_numa_backend {
	struct qmp_backend be;		/* hand &nb->be to qmp_server_start() */
	struct numa_vm *nv;
	const struct qmp_fault_ops *fault;
	uint64_t ram_size;		/* sum of the nodes' memory */
};
void qmp_numa_backend_init(struct qmp_numa_backend *nb, struct numa_vm *nv,
			   const struct qmp_fault_ops *fault);

/*
 * The fault path's ops over a struct fault_ctx (vmm/qmp_fault.c, links
 * libfault): fill with qmp_fault_backend_init(), pass &fb->ops to
 * qmp_numa_backend_init().  For OOM events set fault_opts.on_oom =
 * qmp_fault_on_oom and cb_arg = fb before fault_ctx_create() (fb->ctx may be
 * set afterwards), and qmp_fault_set_server() once the server runs; until
 * then OOMs are not reported.  on_oom runs on a fault handler thread and
 * only copies counters and queues the event.  Teardown: set the server to
 * NULL and stop the handlers (fault_stop) before qmp_server_stop(), and
 * stop the server before destroying the fault context and the numa_vm.
 */
struct fault_ctx;
struct fault_oom_event;
struct qmp_server;
struct qmp_fault_backend {
	struct qmp_fault_ops ops;
	struct fault_ctx *ctx;
	struct numa_vm *nv;
	struct qmp_server *srv;		/* atomic: set by qmp_fault_set_server */
};
void qmp_fault_backend_init(struct qmp_fault_backend *fb, struct numa_vm *nv,
			    struct fault_ctx *ctx);
void qmp_fault_set_server(struct qmp_fault_backend *fb, struct qmp_server *s);
void qmp_fault_on_oom(void *arg, const struct fault_oom_event *ev);

/* Limits; zero fields take the defaults shown */
struct qmp_config {
	unsigned int max_clients;	/* 16 */
	size_t max_request;		/* 64 KiB per JSON request */
	size_t max_outbuf;		/* 1 MiB queued output per client */
	unsigned int wmark_interval_ms;	/* 100: watermark sampling period */
	unsigned int linger_ms;		/* 5000: a closing client's time to read its replies */
	unsigned int negotiate_ms;	/* 10000: time to send qmp_capabilities */
	unsigned int stall_ms;		/* 10000: queued output not read at all */
};

#define QMP_DEFAULT_MAX_CLIENTS		16
#define QMP_DEFAULT_MAX_REQUEST		(64 * 1024)
#define QMP_DEFAULT_MAX_OUTBUF		(1024 * 1024)
#define QMP_DEFAULT_WMARK_MS		100
#define QMP_DEFAULT_LINGER_MS		5000
#define QMP_DEFAULT_NEGOTIATE_MS	10000
#define QMP_DEFAULT_STALL_MS		10000
#define QMP_ACCEPT_BACKOFF_MS		100	/* listener ignored after EMFILE */

/* What an OOM event reports (docs/protocol.md, event OOM) */
struct qmp_oom {
	int vcpu;			/* -1: host context */
	gpa_t gpa;
	unsigned int order;
	struct mpol_spec policy;	/* the policy that failed */
	unsigned int nr_nodes;
	uint64_t free[NUMA_MAX_NODES];	/* free pages per node at failure */
};

struct qmp_server;

/*
 * qmp_server_start - create the socket at @path (mode 0600) and start the
 * server thread.  A stale socket (nobody listening) is replaced; a live one
 * makes it fail with -EADDRINUSE, a non-socket file with -EEXIST.  @backend
 * must outlive the server.  Returns 0 and stores the server in *out, or
 * -errno with a message in @err.
 */
int qmp_server_start(const char *path, const struct qmp_backend *backend,
		     const struct qmp_config *cfg, struct qmp_server **out,
		     char *err, size_t errlen) __must_check;

/* Stop the thread, close every client and remove the socket file. */
void qmp_server_stop(struct qmp_server *s);

/*
 * qmp_event_oom - queue an OOM event for every negotiated client.  Safe from
 * any thread (the fault path): no allocation, a short critical section, and
 * the event is dropped (and counted) if the queue is full.
 */
void qmp_event_oom(struct qmp_server *s, const struct qmp_oom *oom);

/* Server counters, for tests and the bench */
struct qmp_server_stats {
	uint64_t accepted, refused, disconnected_slow, requests, events,
		 events_dropped;
	uint64_t accept_errors;	/* accept() out of fds or memory */
	unsigned int clients;
};
void qmp_server_get_stats(struct qmp_server *s, struct qmp_server_stats *st);

/*
 * The request reader: incremental framing of a byte stream into JSON
 * objects, shared by the server and the fuzz harness.  Objects may be split
 * across feeds and several may arrive in one feed.  An object larger than
 * @max_request bytes is refused with QMP_READ_TOO_BIG (the caller then
 * closes the connection); after a syntax error the input up to the next
 * newline is discarded, as a line-based client resynchronises.
 */
struct json_object;
struct qmp_reader;

enum qmp_read_status {
	QMP_READ_OBJECT,	/* *obj holds a parsed value (caller puts it) */
	QMP_READ_ERROR,		/* syntax error; desc says what */
	QMP_READ_TOO_BIG,	/* request limit exceeded */
};

typedef int (*qmp_read_cb)(void *arg, enum qmp_read_status st,
			   struct json_object *obj, const char *desc);

struct qmp_reader *qmp_reader_create(size_t max_request) __must_check;
void qmp_reader_destroy(struct qmp_reader *r);
/*
 * Feed @len bytes; @cb is called for each complete value or error, in order.
 * If @cb returns non-zero, feeding stops and that value is returned.
 */
int qmp_reader_feed(struct qmp_reader *r, const char *buf, size_t len,
		    qmp_read_cb cb, void *arg);

#endif /* NUMAVM_VMM_QMP_H */

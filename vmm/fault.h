/*
 * The fault path: guest RAM starts unbacked (registered with userfaultfd in
 * MISSING mode); every first touch of a granule is read here, attributed to
 * the vCPU whose thread faulted (UFFD_FEATURE_THREAD_ID; unknown threads are
 * the host context FAULT_HOST), turned into an allocation request for that
 * vCPU at that guest address (numa_alloc() through struct fault_alloc_ops),
 * and resolved by mapping the very frame the chosen node's buddy allocator
 * handed out, from that node's pool memfd, at the guest address
 * (MAP_FIXED|MAP_SHARED, then UFFDIO_WAKE).  docs/fault.md explains the
 * choices (mechanism, zeroing, threading, races, OOM) with the measurements.
 *
 * Per granule the context keeps one 8-byte record (EMPTY, BUSY while being
 * placed or freed, or node+pfn once placed), which makes "which node backs
 * this address" and free-range O(1) per granule and guarantees one
 * allocation per granule however many threads fault it at once.
 *
 * Threads: handler threads (fault_start) serve faults; fault_register_vcpu,
 * fault_get_node, fault_free_range, fault_retry_parked and the stats
 * getters may be called from any thread.  Independent of KVM.
 */
#ifndef NUMAVM_VMM_FAULT_H
#define NUMAVM_VMM_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "types.h"
#include "vmm/pool.h"

#define FAULT_MAX_VCPUS		64	/* = NUMA_MAX_VCPUS */
#define FAULT_MAX_NODES		16	/* = NUMA_MAX_NODES */
#define FAULT_HOST		(-1)	/* = NUMA_HOST: loader, device threads */
#define FAULT_MAX_HANDLERS	16
#define FAULT_MAX_AROUND	64	/* pages of fault-around, at most */

/* Latency histogram: 16 exact buckets, then 8 linear steps per power of two */
#define FAULT_HIST_SUB		8
#define FAULT_HIST_BUCKETS	(16 + (40 - 4) * FAULT_HIST_SUB)

/* Distinct exit status a VMM uses when a fault could not be served (OOM stop) */
#define FAULT_EXIT_OOM		3

/* How a frame reaches the guest address (docs/fault.md: measured per granule) */
enum fault_mech {
	FAULT_MECH_MAP = 0,	/* memfd pools: MAP_FIXED|MAP_SHARED the frame, wake */
	FAULT_MECH_MOVE,	/* anonymous pools: UFFDIO_MOVE the frame's page (6.8+) */
};

enum fault_oom_mode {
	FAULT_OOM_STOP = 0,	/* report once and abort: the VM stops (below) */
	FAULT_OOM_WAIT,		/* park the vCPU, report, retry on free/policy change */
};

/* A frame in a node pool */
struct fault_frame {
	unsigned int node;
	pfn_t pfn;
};

/*
 * Where frames come from (numa_alloc/numa_free in the VMM; fault_numa.c).
 * alloc: a 2^order block for a fault at @gpa by @vcpu (FAULT_HOST for the
 *   host context); 0, -ENOMEM (the policy cannot be satisfied) or -errno.
 *   Never called concurrently for the same vcpu (the fault path serialises).
 * free: give a block back (it already reads as zeros); 0 or -errno.
 */
struct fault_alloc_ops {
	int (*alloc)(void *priv, int vcpu, gpa_t gpa, unsigned int order,
		     struct fault_frame *out);
	int (*free)(void *priv, int vcpu, const struct fault_frame *f,
		    unsigned int order);
};

/* What could not be served, for the VMM's message / event */
struct fault_oom_event {
	int vcpu;		/* FAULT_HOST for the host context */
	gpa_t gpa;		/* RAM offset (no 3-4 GiB hole), granule-aligned */
	unsigned int order;
	int err;		/* -ENOMEM, or the fatal -errno */
	bool fatal;		/* a placement failure, not an OOM */
};

struct fault_opts {
	unsigned int granule_shift;	/* 12 (default if 0), 16 or 21 */
	unsigned int fault_around;	/* 4 KiB granule only: window in pages (power of 2, <= 64); 0/1 = off */
	enum fault_mech mech;
	enum fault_oom_mode oom;
	bool thp;			/* MADV_HUGEPAGE on guest RAM (2 MiB granule) */
	bool no_populate;		/* do not MAP_POPULATE placements (measurement) */
	bool no_map_count;		/* never raise vm.max_map_count */
	unsigned int nr_handlers;	/* handler threads (default 1) */
	bool pin_handlers;		/* pin handler i to handler_cpu[i] */
	int handler_cpu[FAULT_MAX_HANDLERS];	/* a host CPU, or -1: not pinned */
	/*
	 * Called from a handler thread (or fault_retry_parked's or
	 * fault_free_range's caller) when a fault cannot be served.  Must
	 * not block for long.  With ev->fatal, or an OOM under
	 * FAULT_OOM_STOP, the VM must stop: the context is aborted, this is
	 * the only report, and from now on every fault on guest RAM is
	 * answered with a zero page (no frame) so that no thread stays
	 * blocked in one.
	 */
	void (*on_oom)(void *arg, const struct fault_oom_event *ev);
	void *cb_arg;
};

/* Per-vCPU (or host) statistics */
struct fault_stats {
	uint64_t faults;	/* fault messages served (incl. races) */
	uint64_t granules;	/* granules placed for its faults */
	uint64_t around;	/* of them, placed by fault-around */
	uint64_t races;		/* messages for a granule someone else placed */
	uint64_t oom;		/* allocations that failed */
	uint64_t parked;	/* faults parked (oom=wait) */
	uint64_t frees;		/* granules freed by fault_free_range */
	uint64_t node_granules[FAULT_MAX_NODES];	/* placed per node */
	uint64_t hist[FAULT_HIST_BUCKETS];		/* service time, ns */
	uint64_t max_ns;
};

struct fault_ctx;	/* opaque: see fault.c */

/*
 * fault_ctx_create - serve faults on guest RAM [guest_base, guest_base + size)
 * (a private anonymous mapping, base and size multiples of the granule;
 * 2 MiB alignment lets the host use THPs) from @pools[0..nr_nodes), whose
 * frames @ops hands out (&fault_numa_ops with the VM's struct numa_vm *).  Opens the userfaultfd,
 * registers the range, raises vm.max_map_count when the worst case needs
 * it (one mapping per granule), allocates the per-granule records.  No
 * thread is started.  FAULT_MECH_MAP needs memfd pools; FAULT_MECH_MOVE
 * needs POOL_ANON pools (registered with the userfaultfd too: a page moves
 * back to its pool slot on free, and an empty slot touched by anyone is
 * filled with a fresh zeroed page) and a kernel with UFFDIO_MOVE.
 * Returns NULL with a message in @err (errno set) on failure.
 */
struct fault_ctx *fault_ctx_create(const struct fault_alloc_ops *ops,
				   void *priv, struct pool *pools,
				   unsigned int nr_nodes, void *guest_base,
				   size_t size, const struct fault_opts *opts,
				   char *err, size_t len) __must_check;
/* Stops the handlers, unregisters the range (waking any parked thread). */
void fault_ctx_destroy(struct fault_ctx *ctx);

/* Attribute faults of thread @tid to @vcpu (0..FAULT_MAX_VCPUS-1). */
int fault_register_vcpu(struct fault_ctx *ctx, int vcpu, pid_t tid);

/* Start / stop the handler threads.  0 or -errno. */
int fault_start(struct fault_ctx *ctx) __must_check;
void fault_stop(struct fault_ctx *ctx);

/*
 * fault_serve_one - serve pending faults from the calling thread (instead
 * of or besides handler threads), waiting up to @timeout_ms.  Returns the
 * number of messages served, or -errno.
 */
int fault_serve_one(struct fault_ctx *ctx, int timeout_ms);

/*
 * fault_get_node - the node whose frame backs @gpa, *pfn its frame (may be
 * NULL); -ENOENT if unbacked, -EINVAL outside guest RAM.
 */
int fault_get_node(struct fault_ctx *ctx, gpa_t gpa, pfn_t *pfn);

/*
 * fault_free_range - the guest gives [gpa, gpa + len) back (MADV_DONTNEED):
 * the range becomes unbacked and registered again (the next touch faults in
 * a fresh zeroed granule), its frames are zeroed and returned through
 * ops->free on behalf of @vcpu.  Granule aligned, else -EINVAL.  A touch of
 * the range during the call is safe: it reads zeros, never stale data (a
 * write may be lost).  Retries parked faults afterwards.  Returns the
 * number of granules freed, or -errno.
 */
long fault_free_range(struct fault_ctx *ctx, int vcpu, gpa_t gpa,
		      uint64_t len);

/* Retry every parked fault now (after a policy change).  Returns how many were served. */
int fault_retry_parked(struct fault_ctx *ctx);
/* Number of faults currently parked */
unsigned int fault_nr_parked(struct fault_ctx *ctx);

/* Statistics: one vCPU, FAULT_HOST, or the sum of all with FAULT_ALL. */
#define FAULT_ALL	(-2)
int fault_get_stats(struct fault_ctx *ctx, int vcpu, struct fault_stats *st);
/* Percentile @pct (0..100) of a histogram, in ns (bucket upper bound). */
uint64_t fault_hist_percentile(const struct fault_stats *st, double pct);

/*
 * The numa/ glue (vmm/fault_numa.c): ops whose priv is a struct numa_vm *,
 * calling numa_alloc(nv, vcpu, gpa, order, 0, ...) and numa_free(), and the
 * OOM message the VMM prints: vCPU, guest address, the policy that applied
 * (range, vCPU or host) and the free pages of every node.  Returns its
 * length.
 */
struct numa_vm;
extern const struct fault_alloc_ops fault_numa_ops;
int fault_numa_oom_message(struct numa_vm *nv, const struct fault_oom_event *ev,
			   char *buf, size_t len);

unsigned int fault_granule_shift(const struct fault_ctx *ctx);
int fault_uffd(const struct fault_ctx *ctx);

#endif /* NUMAVM_VMM_FAULT_H */

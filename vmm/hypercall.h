/*
 * The hypercall dispatcher (ABI: include/numavm_abi.h, docs/abi.md).  A
 * guest writes the gpa of a struct nv_hcall to NV_HCALL_PORT; the vCPU
 * thread calls hypercall_dispatch(), which copies the block out of guest
 * RAM once (the guest may scribble on it meanwhile), validates it, runs
 * the handler for its number from a table and writes ret back.  It is a
 * pure function of the VM's guest RAM and topology and the calling vCPU,
 * so it is tested without KVM.  The memory calls (set-policy, mbind,
 * get-node, free-range) live in vmm/hc_mem.c, installed with
 * hypercall_set_handler() by hc_mem_install(); a table without them
 * answers NV_ENOSYS for those numbers.
 */
#ifndef NUMAVM_VMM_HYPERCALL_H
#define NUMAVM_VMM_HYPERCALL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "numavm_abi.h"
#include "numa/topology.h"
#include "types.h"
#include "vmm/guest_ram.h"

_Static_assert(NV_MAX_NODES == NUMA_MAX_NODES, "ABI node count");
_Static_assert(NV_MAX_VCPUS == NUMA_MAX_VCPUS, "ABI vCPU count");

struct hypercall;

/* One call in progress: a private copy of the guest's block. */
struct hypercall_ctx {
	unsigned int vcpu;		/* caller */
	gpa_t gpa;			/* of the block */
	struct nv_hcall call;
	bool exit;			/* set by a handler: stop the VM */
	int exit_status;
};

/*
 * A handler: validate ctx->call.args, do the call, return the value for
 * ret (>= 0 or an NV_E* code).  Runs on the calling vCPU's thread,
 * concurrently with other vCPUs; must not log or allocate (STYLE 7).
 */
typedef int32_t (*hypercall_fn)(struct hypercall *hc, void *opaque,
				struct hypercall_ctx *ctx);

struct hypercall_op {
	const char *name;
	unsigned int nr_args;	/* args[nr_args..5] must be 0 */
	hypercall_fn fn;	/* NULL: NV_ENOSYS */
	void *opaque;
};

struct hypercall {
	const struct guest_ram *ram;
	const struct numa_topology *topo;
	struct hypercall_op ops[NV_HC_MAX];
	atomic_ulong calls[NV_HC_MAX];	/* dispatched, per number */
	atomic_ulong unknown;		/* number out of range */
	atomic_ulong errors;		/* ret < 0 */
	atomic_ulong bad_blocks;	/* block gpa unusable: nothing written */
};

/* What the vCPU does after a hypercall. */
enum hypercall_result {
	HYPERCALL_DONE = 0,	/* ret written, continue */
	HYPERCALL_EXIT,		/* NV_HC_EXIT: stop with ctx exit_status */
	HYPERCALL_BAD_BLOCK,	/* gpa not naturally aligned in RAM: ignored */
};

/*
 * hypercall_init - set up the table with the built-in calls (ABI version,
 * topology, exit).  @ram and @topo must outlive @hc and not change while
 * vCPUs run; @topo must be valid (nodes and vCPUs within the ABI limits).
 */
void hypercall_init(struct hypercall *hc, const struct guest_ram *ram,
		    const struct numa_topology *topo);

/*
 * hypercall_set_handler - install @fn for @nr taking @nr_args arguments.
 * Not while vCPUs run.  Returns 0 or -EINVAL (nr out of range, nr_args > 6).
 */
int hypercall_set_handler(struct hypercall *hc, unsigned int nr,
			  const char *name, unsigned int nr_args,
			  hypercall_fn fn, void *opaque) __must_check;

/*
 * hypercall_dispatch - run the call whose block is at @gpa for @vcpu.
 * On HYPERCALL_EXIT, *exit_status holds the guest's status (0..127).
 */
enum hypercall_result hypercall_dispatch(struct hypercall *hc,
					 unsigned int vcpu, gpa_t gpa,
					 int *exit_status);

/*
 * hypercall_check_buf - helper for handlers: is [gpa, gpa + len) a guest
 * buffer aligned to @align, wholly in RAM?  0, NV_EINVAL (misaligned),
 * NV_EFAULT (outside RAM, across the hole, or gpa + len overflows).
 */
int32_t hypercall_check_buf(const struct hypercall *hc, uint64_t gpa,
			    uint64_t len, uint64_t align);

/* ioport_fn for NV_HCALL_PORT; @opaque is a struct hypercall_port. */
struct hypercall_port {
	struct hypercall *hc;
	/* called on HYPERCALL_EXIT; returns non-zero to stop the vCPU */
	int (*exit)(void *opaque, unsigned int vcpu, int status);
	void *opaque;
	atomic_ulong bad_accesses;	/* not a 32-bit OUT */
};

int hypercall_ioport(void *opaque, unsigned int vcpu, uint16_t port,
		     bool is_write, unsigned int size, uint32_t *val);

#endif /* NUMAVM_VMM_HYPERCALL_H */

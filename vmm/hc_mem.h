/*
 * The memory hypercalls (docs/abi.md, "Memory hypercalls"): a vCPU sets its
 * own policy (set_mempolicy), a range policy (mbind), asks which node backs
 * a guest address (get_mempolicy MPOL_F_NODE|MPOL_F_ADDR) and gives a range
 * back (MADV_DONTNEED / free page reporting).  They are thin: every argument
 * is validated here (alignment, RAM bounds including the hole below 4 GiB,
 * overflow, the weights buffer), the policy itself by the numa engine, and
 * the work is done by numa/ and the fault path (vmm/fault.h).  Installed
 * into a struct hypercall with hc_mem_install(); tested without KVM in
 * tests/check_vmm.c.
 */
#ifndef NUMAVM_VMM_HC_MEM_H
#define NUMAVM_VMM_HC_MEM_H

#include <stdint.h>

#include "compiler.h"
#include "vmm/guest_ram.h"
#include "vmm/hypercall.h"

struct numa_vm;
struct fault_ctx;

struct hc_mem {
	struct numa_vm *nv;
	/*
	 * The fault path serving guest RAM, whose offsets are RAM offsets
	 * (guest_ram_gpa_to_offset); NULL with placement off (plain RAM
	 * demand-paged by the host kernel: get-node answers NV_ENOENT,
	 * free-range is MADV_DONTNEED).
	 */
	struct fault_ctx *fault;
	const struct guest_ram *ram;
	uint64_t granule;		/* free-range alignment, bytes */
};

/*
 * hc_mem_install - install NV_HC_SET_POLICY, NV_HC_MBIND, NV_HC_GET_NODE
 * and NV_HC_FREE_RANGE into @hc, served from @m (which must outlive the
 * vCPUs).  Not while vCPUs run.  0 or -EINVAL.
 */
int hc_mem_install(struct hypercall *hc, struct hc_mem *m) __must_check;

#endif /* NUMAVM_VMM_HC_MEM_H */

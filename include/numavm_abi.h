/*
 * The numavm hypercall ABI, shared by the VMM (vmm/hypercall.c) and the
 * guest runtime (guest-tests/lib/).  Documented in docs/abi.md.
 *
 * A guest makes a hypercall by filling a struct nv_hcall in its own RAM
 * (naturally aligned), setting ret = NV_ENOSYS, and writing the block's
 * guest physical address with a 32-bit OUT to NV_HCALL_PORT.  The VMM reads
 * the block, validates every argument, performs the call and writes ret (and
 * any output) back before the OUT retires.  Under a VMM that does not know
 * the port (QEMU), ret stays NV_ENOSYS: that is how a guest detects numavm.
 *
 * Freestanding: only fixed-width types, usable from -ffreestanding code.
 */
#ifndef NUMAVM_ABI_H
#define NUMAVM_ABI_H

#include <stdint.h>

#define NV_HCALL_PORT		0x7000	/* free on QEMU pc/q35 (0x510 is fw_cfg) */
#define NV_ABI_VERSION		1

/* isa-debug-exit compatible exit port: status = (value << 1) | 1 */
#define NV_EXIT_PORT		0xf4
#define NV_SERIAL_PORT		0x3f8

/* Hypercall numbers */
enum nv_hcall_nr {
	NV_HC_ABI_VERSION = 0,	/* ret = NV_ABI_VERSION */
	NV_HC_TOPOLOGY = 1,	/* arg0 = gpa of struct nv_topology, arg1 = its size */
	NV_HC_EXIT = 2,		/* arg0 = status (0..127); does not return */
	NV_HC_SET_POLICY = 3,	/* arg0 = mode|flags, arg1 = nodemask, arg2 = gpa of u8 weights[NV_MAX_NODES] or 0 */
	NV_HC_MBIND = 4,	/* arg0 = gpa, arg1 = len, arg2 = mode|flags, arg3 = nodemask, arg4 = weights gpa or 0 */
	NV_HC_GET_NODE = 5,	/* arg0 = gpa; ret = node backing it, NV_ENOENT if unbacked */
	NV_HC_FREE_RANGE = 6,	/* arg0 = gpa, arg1 = len (page aligned) */
	NV_HC_MAX,
};

/* Error codes returned in ret (negative, Linux errno values) */
#define NV_EPERM	(-1)
#define NV_ENOENT	(-2)
#define NV_EFAULT	(-14)
#define NV_EINVAL	(-22)
#define NV_ENOSPC	(-28)	/* too many range policies */
#define NV_ENOSYS	(-38)

struct nv_hcall {
	uint32_t nr;
	int32_t ret;
	uint64_t args[6];
};
_Static_assert(sizeof(struct nv_hcall) == 56, "nv_hcall ABI size");

#define NV_MAX_NODES	16
#define NV_MAX_VCPUS	64

struct nv_topology {
	uint32_t abi_version;
	uint32_t nr_nodes;
	uint32_t nr_vcpus;
	uint32_t this_vcpu;		/* the vCPU that made the call */
	uint32_t home_node;		/* its home node */
	uint32_t pad;
	uint64_t node_mem[NV_MAX_NODES];	/* bytes per node */
	uint64_t node_base[NV_MAX_NODES];	/* first gpa of each node's RAM */
	uint8_t distance[NV_MAX_NODES][NV_MAX_NODES];
	uint8_t vcpu_node[NV_MAX_VCPUS];	/* home node of each vCPU */
};
_Static_assert(sizeof(struct nv_topology) == 24 + 16 * 8 * 2 + 16 * 16 + 64,
	       "nv_topology ABI size");

#endif /* NUMAVM_ABI_H */

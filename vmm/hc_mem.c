/*
 * The memory hypercalls.  Validation order, the same for every call so that
 * a guest can tell its mistakes apart (guest-tests/hcall.c checks it):
 * alignment and zero lengths (NV_EINVAL), then guest addresses: overflow,
 * outside RAM, across the hole (NV_EFAULT), then the weights buffer
 * (NV_EFAULT), then the policy itself through the numa engine's own
 * validation (NV_EINVAL).  A refused call changes nothing.  Handlers run on
 * the calling vCPU's thread and neither log nor allocate (STYLE 7).
 */
#include "vmm/hc_mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "numa/numa.h"
#include "vmm/fault.h"

/* Error buffer for the engine's messages: not shown, only its size matters */
#define HC_MEM_ERR	128

/*
 * Decode mode|flags, nodemask and the weights gpa into @spec.  0 or an
 * NV_E* code.
 */
static int32_t hc_mem_spec(struct hypercall *hc, uint64_t mode_flags,
			   uint64_t nodemask, uint64_t weights,
			   struct mpol_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	if (weights) {
		int32_t ret = hypercall_check_buf(hc, weights, NV_MAX_NODES, 1);

		if (ret)
			return NV_EFAULT;
		if (guest_ram_read(hc->ram, weights, spec->weights,
				   sizeof(spec->weights)))
			return NV_EFAULT;
	}
	if (mode_flags > UINT32_MAX || nodemask > (nodemask_t)~0U)
		return NV_EINVAL;
	spec->mode = (enum mpol_mode)(mode_flags & ~(uint64_t)MPOL_MODE_FLAGS);
	spec->flags = (unsigned int)(mode_flags & MPOL_MODE_FLAGS);
	if ((uint64_t)spec->mode >= MPOL_MAX)
		return NV_EINVAL;
	spec->nodes = (nodemask_t)nodemask;
	return 0;
}

/*
 * A guest range [gpa, gpa + len): aligned to @align and non-empty
 * (NV_EINVAL), wholly in one RAM region (NV_EFAULT).  *off = RAM offset.
 */
static int32_t hc_mem_range(struct hypercall *hc, uint64_t gpa, uint64_t len,
			    uint64_t align, uint64_t *off)
{
	if (!len || (gpa | len) & (align - 1))
		return NV_EINVAL;
	if (gpa + len < gpa ||
	    guest_ram_gpa_to_offset(hc->ram, gpa, len, off))
		return NV_EFAULT;
	return 0;
}

/* A policy changed: faults parked for lack of memory may now succeed */
static void hc_mem_policy_changed(struct hc_mem *m)
{
	if (m->fault && fault_nr_parked(m->fault))
		fault_retry_parked(m->fault);
}

/* a0 = mode|flags, a1 = nodemask, a2 = weights gpa or 0 */
static int32_t hc_set_policy(struct hypercall *hc, void *opaque,
			     struct hypercall_ctx *ctx)
{
	struct hc_mem *m = opaque;
	const uint64_t *a = ctx->call.args;
	struct mpol_spec spec;
	char err[HC_MEM_ERR];
	int32_t ret;

	ret = hc_mem_spec(hc, a[0], a[1], a[2], &spec);
	if (ret)
		return ret;
	if (numa_set_vcpu_policy(m->nv, (int)ctx->vcpu, &spec, err,
				 sizeof(err)))
		return NV_EINVAL;
	hc_mem_policy_changed(m);
	return 0;
}

/* a0 = gpa, a1 = len, a2 = mode|flags, a3 = nodemask, a4 = weights gpa */
static int32_t hc_mbind(struct hypercall *hc, void *opaque,
			struct hypercall_ctx *ctx)
{
	struct hc_mem *m = opaque;
	const uint64_t *a = ctx->call.args;
	struct mpol_spec spec;
	char err[HC_MEM_ERR];
	uint64_t off;
	int32_t ret;

	ret = hc_mem_range(hc, a[0], a[1], PAGE_SIZE, &off);
	if (!ret)
		ret = hc_mem_spec(hc, a[2], a[3], a[4], &spec);
	if (ret)
		return ret;
	switch (numa_set_range_policy(m->nv, a[0], a[1], &spec, err,
				      sizeof(err))) {
	case 0:
		break;
	case -ENOSPC:
		return NV_ENOSPC;
	default:
		return NV_EINVAL;
	}
	hc_mem_policy_changed(m);
	return 0;
}

/* a0 = gpa; ret = the node backing it */
static int32_t hc_get_node(struct hypercall *hc, void *opaque,
			   struct hypercall_ctx *ctx)
{
	struct hc_mem *m = opaque;
	uint64_t off;
	int ret;

	if (guest_ram_gpa_to_offset(hc->ram, ctx->call.args[0], 1, &off))
		return NV_EFAULT;
	if (!m->fault)
		return NV_ENOENT;
	ret = fault_get_node(m->fault, off, NULL);
	if (ret == -ENOENT)
		return NV_ENOENT;
	return ret < 0 ? NV_EFAULT : ret;
}

/* a0 = gpa, a1 = len, both multiples of the fault granule */
static int32_t hc_free_range(struct hypercall *hc, void *opaque,
			     struct hypercall_ctx *ctx)
{
	struct hc_mem *m = opaque;
	uint64_t off;
	int32_t ret;
	long r;

	ret = hc_mem_range(hc, ctx->call.args[0], ctx->call.args[1],
			   m->granule, &off);
	if (ret)
		return ret;
	if (!m->fault) {
		/* plain RAM: the host kernel's pages go, zero pages come back */
		if (madvise((char *)hc->ram->base + off, ctx->call.args[1],
			    MADV_DONTNEED))
			return NV_EFAULT;
		return 0;
	}
	r = fault_free_range(m->fault, (int)ctx->vcpu, off, ctx->call.args[1]);
	if (r == -EINVAL)
		return NV_EINVAL;
	return r < 0 ? NV_EFAULT : 0;
}

int hc_mem_install(struct hypercall *hc, struct hc_mem *m)
{
	int ret;

	if (!m->granule || m->granule & (m->granule - 1) ||
	    m->granule < PAGE_SIZE)
		return -EINVAL;
	ret = hypercall_set_handler(hc, NV_HC_SET_POLICY, "set_policy", 3,
				    hc_set_policy, m);
	if (!ret)
		ret = hypercall_set_handler(hc, NV_HC_MBIND, "mbind", 5,
					    hc_mbind, m);
	if (!ret)
		ret = hypercall_set_handler(hc, NV_HC_GET_NODE, "get_node", 1,
					    hc_get_node, m);
	if (!ret)
		ret = hypercall_set_handler(hc, NV_HC_FREE_RANGE, "free_range",
					    2, hc_free_range, m);
	return ret;
}

/*
 * numavm hypercall wrappers (see hcall.h and docs/abi.md).
 */
#include "hcall.h"
#include "libcflat.h"
#include "processor.h"

int32_t nv_hcall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		 uint64_t a3, uint64_t a4, uint64_t a5)
{
	/* 64-byte aligned: never straddles a page */
	struct nv_hcall hc __aligned(64) = {
		.nr = nr,
		.ret = NV_ENOSYS,
		.args = { a0, a1, a2, a3, a4, a5 },
	};

	outl((uint32_t)(uintptr_t)&hc, NV_HCALL_PORT);
	return READ_ONCE(hc.ret);
}

void nv_hcall_raw_gpa(uint32_t gpa)
{
	outl(gpa, NV_HCALL_PORT);
}

bool nv_present(void)
{
	static int present = -1;

	if (present < 0)
		present = nv_abi_version() != NV_ENOSYS;
	return present;
}

int32_t nv_abi_version(void)
{
	return nv_hcall(NV_HC_ABI_VERSION, 0, 0, 0, 0, 0, 0);
}

int32_t nv_topology(struct nv_topology *t)
{
	return nv_hcall(NV_HC_TOPOLOGY, (uintptr_t)t, sizeof(*t), 0, 0, 0, 0);
}

int32_t nv_exit(uint32_t status)
{
	return nv_hcall(NV_HC_EXIT, status, 0, 0, 0, 0, 0);
}

int32_t nv_set_policy(uint32_t mode, uint64_t nodemask,
		      const uint8_t *weights)
{
	return nv_hcall(NV_HC_SET_POLICY, mode, nodemask, (uintptr_t)weights,
			0, 0, 0);
}

int32_t nv_mbind(uint64_t gpa, uint64_t len, uint32_t mode,
		 uint64_t nodemask, const uint8_t *weights)
{
	return nv_hcall(NV_HC_MBIND, gpa, len, mode, nodemask,
			(uintptr_t)weights, 0);
}

int32_t nv_get_node(uint64_t gpa)
{
	return nv_hcall(NV_HC_GET_NODE, gpa, 0, 0, 0, 0, 0);
}

int32_t nv_free_range(uint64_t gpa, uint64_t len)
{
	return nv_hcall(NV_HC_FREE_RANGE, gpa, len, 0, 0, 0, 0);
}

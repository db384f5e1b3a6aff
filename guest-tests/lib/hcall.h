/*
 * Guest wrappers for the numavm hypercalls of include/numavm_abi.h.  Each
 * builds a struct nv_hcall on the caller's stack (identity mapped, so its
 * address is its gpa), presets ret = NV_ENOSYS and writes the address to
 * NV_HCALL_PORT; the result is the block's ret.  Under QEMU nothing answers
 * the port and every call returns NV_ENOSYS: nv_present() tells the two
 * apart once and caches the answer.  Safe on every CPU concurrently.
 */
#ifndef GUEST_HCALL_H
#define GUEST_HCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "numavm_abi.h"

/* Any call, for tests that pass bad arguments on purpose. */
int32_t nv_hcall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		 uint64_t a3, uint64_t a4, uint64_t a5);
/* Issue the OUT with an arbitrary block address (bad-address tests). */
void nv_hcall_raw_gpa(uint32_t gpa);

/* True when running under numavm (the ABI version call is answered). */
bool nv_present(void);

int32_t nv_abi_version(void);			/* NV_HC_ABI_VERSION */
int32_t nv_topology(struct nv_topology *t);	/* NV_HC_TOPOLOGY */
int32_t nv_exit(uint32_t status);		/* NV_HC_EXIT */
int32_t nv_set_policy(uint32_t mode, uint64_t nodemask,
		      const uint8_t *weights);	/* NV_HC_SET_POLICY */
int32_t nv_mbind(uint64_t gpa, uint64_t len, uint32_t mode,
		 uint64_t nodemask, const uint8_t *weights); /* NV_HC_MBIND */
int32_t nv_get_node(uint64_t gpa);		/* NV_HC_GET_NODE */
int32_t nv_free_range(uint64_t gpa, uint64_t len); /* NV_HC_FREE_RANGE */

/* Name of an NV_E* code ("NV_EINVAL"), or "?" */
/* The NV_E* name of a hypercall result, "ok" for >= 0 (guest and sim) */
static inline const char *nv_strerror(int32_t ret)
{
	switch (ret) {
	case NV_EPERM:
		return "NV_EPERM";
	case NV_ENOENT:
		return "NV_ENOENT";
	case NV_EFAULT:
		return "NV_EFAULT";
	case NV_EINVAL:
		return "NV_EINVAL";
	case NV_ENOSPC:
		return "NV_ENOSPC";
	case NV_ENOSYS:
		return "NV_ENOSYS";
	}
	return ret >= 0 ? "ok" : "?";
}

#endif /* GUEST_HCALL_H */

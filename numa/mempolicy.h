/*
 * Memory policies: which virtual NUMA node backs a guest page, decided the
 * way Linux's mm/mempolicy.c decides for a task.  The "task" is a vCPU (its
 * policy is the task policy, il_prev its interleave cursor); range policies
 * on guest physical address ranges are the VMA (mbind) policies.  This header
 * holds the policy types shared by numa/, the configs, the hypercall ABI and
 * the control socket; the engine's functions are declared below them.
 * See the header comment of numa/mempolicy.c for every mode.
 */
#ifndef NUMAVM_NUMA_MEMPOLICY_H
#define NUMAVM_NUMA_MEMPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"

#define NUMA_MAX_NODES	16		/* virtual nodes per VM */
#define NUMA_MAX_VCPUS	64

typedef uint32_t nodemask_t;		/* bit n = virtual node n */

/* Same numbering as Linux's uapi/linux/mempolicy.h */
enum mpol_mode {
	MPOL_DEFAULT = 0,
	MPOL_PREFERRED = 1,
	MPOL_BIND = 2,
	MPOL_INTERLEAVE = 3,
	MPOL_LOCAL = 4,
	MPOL_PREFERRED_MANY = 5,
	MPOL_WEIGHTED_INTERLEAVE = 6,
	MPOL_MAX,
};

/* Mode flags, Linux's values */
#define MPOL_F_STATIC_NODES	(1U << 15)
#define MPOL_F_RELATIVE_NODES	(1U << 14)
#define MPOL_MODE_FLAGS		(MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES)

/* Interleave weights are 1..255, as Linux's weighted interleave */
#define MPOL_MAX_WEIGHT		255

/*
 * What a caller asks for: set_mempolicy(mode | flags, nodemask) plus the
 * weights of weighted interleave (0 = default weight 1).
 */
struct mpol_spec {
	enum mpol_mode mode;
	unsigned int flags;
	nodemask_t nodes;
	uint8_t weights[NUMA_MAX_NODES];
};

#endif /* NUMAVM_NUMA_MEMPOLICY_H */

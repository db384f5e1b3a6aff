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

#define NUMA_NO_NODE		(-1)

/* Interleave index of a vCPU (task) policy: round-robin, not by offset */
#define MPOL_NO_IL_INDEX	UINT64_MAX

/* nodemask_t helpers (Linux's nodemask.h, for a 32-bit mask) */
static inline bool node_isset(unsigned int n, nodemask_t m)
{
	return n < NUMA_MAX_NODES && (m >> n) & 1;
}

static inline unsigned int nodes_weight(nodemask_t m)
{
	return (unsigned int)__builtin_popcount(m);
}

/* First node of @m, NUMA_MAX_NODES if empty */
static inline unsigned int first_node(nodemask_t m)
{
	return m ? (unsigned int)__builtin_ctz(m) : NUMA_MAX_NODES;
}

/* Next node after @n in @m, wrapping around; NUMA_MAX_NODES if @m is empty */
static inline unsigned int next_node_in(unsigned int n, nodemask_t m)
{
	nodemask_t above = n + 1 >= NUMA_MAX_NODES ? 0 : m & ~((2U << n) - 1);

	return above ? first_node(above) : first_node(m);
}

/*
 * A validated policy, the analogue of Linux's struct mempolicy.  Built only
 * by mpol_create(); plain data, copied by value (no reference counts).
 */
struct mempolicy {
	struct mpol_spec spec;		/* as requested: what "get" returns
					 * (preferred {} reads back as local) */
	enum mpol_mode mode;		/* effective (preferred + no nodes = local) */
	nodemask_t nodes;		/* effective nodes, after the allowed-set remap */
	uint8_t weight[NUMA_MAX_NODES];	/* weighted interleave: 1..255 per node in @nodes */
	unsigned int weight_total;	/* sum of weight[] over @nodes */
};

/*
 * Interleave cursor of one vCPU: Linux's task->il_prev and task->il_weight.
 * Private to the thread that runs the vCPU.
 */
struct mpol_cursor {
	unsigned int il_prev;
	unsigned int il_weight;
};

/*
 * The node decision of one allocation, separate from the allocation itself
 * (Linux: policy_node() + policy_nodemask() / interleave_nodes()).
 * @nid: preferred node: its zonelist is walked and numastat counts hit/miss
 *       against the first allowed node of that zonelist
 * @mask: nodes the first attempt may use (all VM nodes if unrestricted)
 * @retry_all: preferred-many: after @mask fails, retry with every node
 * @interleave: an interleave target: count interleave_hit if served by @nid
 */
struct mpol_decision {
	int nid;
	nodemask_t mask;
	bool retry_all;
	bool interleave;
};

/*
 * mpol_create - validate @spec like set_mempolicy()/mbind() and build @pol.
 * @allowed: the VM's allowed node set (Linux: cpuset mems_allowed & N_MEMORY)
 * @nr_nodes: nodes of the VM; node bits >= nr_nodes are "unknown nodes"
 * Returns 0, or -EINVAL with a message in @err (if non-NULL); *pol is
 * untouched on error.
 */
int mpol_create(struct mempolicy *pol, const struct mpol_spec *spec,
		nodemask_t allowed, unsigned int nr_nodes, char *err,
		size_t len) __must_check;

/* The default policy (MPOL_DEFAULT: local allocation). */
void mpol_init_default(struct mempolicy *pol);

/* Same behaviour (Linux's __mpol_equal)?  Used to merge ranges. */
bool mpol_equal(const struct mempolicy *a, const struct mempolicy *b);

/* Does the node choice depend on the interleave index? */
bool mpol_is_interleave(const struct mempolicy *pol);

/* Reset a cursor as set_mempolicy() does (il_prev = last node, weight 0). */
void mpol_cursor_reset(struct mpol_cursor *cur);

/*
 * mpol_decide - the node decision for one allocation.
 * @cur: the faulting vCPU's interleave cursor (advanced for a task
 *       interleave policy; may be NULL when @ilx != MPOL_NO_IL_INDEX)
 * @ilx: interleave index (range policy: page offset >> order), or
 *       MPOL_NO_IL_INDEX for the vCPU policy (round-robin through @cur)
 * @local: the faulting vCPU's home node (numa_node_id())
 * @all: every node of the VM (the unrestricted mask)
 * No allocation, no locking; the caller owns @cur.
 */
void mpol_decide(const struct mempolicy *pol, struct mpol_cursor *cur,
		 uint64_t ilx, int local, nodemask_t all,
		 struct mpol_decision *d);

/* Linux's mpol_relative_nodemask(): fold @orig onto the nodes of @rel. */
nodemask_t mpol_relative_nodemask(nodemask_t orig, nodemask_t rel);

/* "default", "local", "preferred", "preferred-many", "bind", "interleave",
 * "weighted-interleave"; NULL for an invalid mode. */
const char *mpol_mode_name(enum mpol_mode mode);
/* The reverse; -EINVAL for an unknown name. */
int mpol_mode_from_name(const char *name, enum mpol_mode *mode);

#endif /* NUMAVM_NUMA_MEMPOLICY_H */

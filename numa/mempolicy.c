/*
 * Memory policies, as Linux's mm/mempolicy.c defines them, for vCPUs (the
 * task policy) and guest physical ranges (the VMA policy):
 *
 * MPOL_DEFAULT  No policy: allocate on the faulting vCPU's home node
 *               (numa_node_id()), falling back along its zonelist.  As a
 *               range policy, "default" removes the range policy so that the
 *               vCPU policy applies.  Takes no nodes and no flags.
 * MPOL_LOCAL    Same allocation as default, but a real policy (it overrides
 *               the vCPU policy inside a range).  Takes no nodes, no flags.
 * MPOL_PREFERRED  The first node of the set, then the whole zonelist of that
 *               node.  An empty set means local (Linux turns it into
 *               MPOL_LOCAL, and get_mempolicy() reports MPOL_LOCAL since
 *               5.14; so does a get here), refused with static/relative
 *               flags.
 * MPOL_PREFERRED_MANY  Two passes: the home node's zonelist restricted to
 *               the set (low then min watermark), then without restriction.
 * MPOL_BIND     Only the nodes of the set, nearest to the home node first;
 *               fails rather than leave the set.
 * MPOL_INTERLEAVE  One node of the set per allocation: a vCPU policy goes
 *               round-robin from the vCPU's cursor (interleave_nodes(),
 *               il_prev); a range policy takes the node from the page's
 *               offset (interleave_nid()).  The chosen node's zonelist is
 *               then walked unrestricted, as Linux does.
 * MPOL_WEIGHTED_INTERLEAVE  Interleave where node n takes weight[n]
 *               consecutive allocations (Linux 6.9:
 *               weighted_interleave_nodes() with il_prev/il_weight,
 *               weighted_interleave_nid() by offset).
 *
 * Flags, relative to the VM's allowed nodes (all nodes with memory, the
 * analogue of cpuset mems_allowed & N_MEMORY): MPOL_F_STATIC_NODES keeps the
 * set as given (intersected with the allowed nodes); MPOL_F_RELATIVE_NODES
 * reads bit i as "the i-th allowed node", folding bits beyond the number of
 * allowed nodes (mpol_relative_nodemask()).  Without a flag the set is
 * intersected with the allowed nodes.  The allowed set never changes during
 * the life of a VM, so there is no rebind.
 *
 * Per-mode behaviour lives in mpol_ops[] only.  Nothing here allocates or
 * locks: callers own the struct mempolicy and the cursor they pass.
 */
#include "numa/mempolicy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errmsg.h"

struct mpol_ops {
	const char *name;
	bool takes_nodes;	/* a node set is required (and allowed) */
	bool takes_flags;	/* static/relative flags are allowed */
	bool takes_weights;	/* per-node weights are allowed */
	bool interleave;	/* node depends on the interleave index */
	void (*decide)(const struct mempolicy *pol, struct mpol_cursor *cur,
		       uint64_t ilx, int local, nodemask_t all,
		       struct mpol_decision *d);
};

/* Linux's nodes_fold() + nodes_onto() */
nodemask_t mpol_relative_nodemask(nodemask_t orig, nodemask_t rel)
{
	unsigned int w = nodes_weight(rel), i, n, k;
	nodemask_t folded = 0, out = 0;

	if (!w)
		return 0;
	for (i = 0; i < 32; i++)
		if ((orig >> i) & 1)
			folded |= 1U << (i % w);
	/* bit k of @folded -> the k-th set bit of @rel */
	for (k = 0, n = first_node(rel); n < NUMA_MAX_NODES && k < w; k++) {
		if ((folded >> k) & 1)
			out |= 1U << n;
		n = next_node_in(n, rel);
	}
	return out;
}

/* Where user node bit @i lands once the policy's flags are applied */
static int mpol_map_node(unsigned int i, unsigned int flags, nodemask_t allowed)
{
	nodemask_t m = 1U << i;

	if (flags & MPOL_F_RELATIVE_NODES)
		m = mpol_relative_nodemask(m, allowed);
	else
		m &= allowed;
	return m ? (int)first_node(m) : NUMA_NO_NODE;
}

/* --- node decisions, one per mode ------------------------------------- */

static void mpol_decide_local(const struct mempolicy *pol,
			      struct mpol_cursor *cur, uint64_t ilx, int local,
			      nodemask_t all, struct mpol_decision *d)
{
	d->nid = local;
	d->mask = all;
}

static void mpol_decide_preferred(const struct mempolicy *pol,
				  struct mpol_cursor *cur, uint64_t ilx,
				  int local, nodemask_t all,
				  struct mpol_decision *d)
{
	d->nid = (int)first_node(pol->nodes);
	d->mask = all;
}

static void mpol_decide_preferred_many(const struct mempolicy *pol,
				       struct mpol_cursor *cur, uint64_t ilx,
				       int local, nodemask_t all,
				       struct mpol_decision *d)
{
	d->nid = local;
	d->mask = pol->nodes;
	d->retry_all = true;
}

static void mpol_decide_bind(const struct mempolicy *pol,
			     struct mpol_cursor *cur, uint64_t ilx, int local,
			     nodemask_t all, struct mpol_decision *d)
{
	d->nid = local;
	d->mask = pol->nodes;
}

/* interleave_nodes() / interleave_nid() */
static void mpol_decide_interleave(const struct mempolicy *pol,
				   struct mpol_cursor *cur, uint64_t ilx,
				   int local, nodemask_t all,
				   struct mpol_decision *d)
{
	unsigned int nid, target, i;

	if (ilx == MPOL_NO_IL_INDEX) {
		nid = next_node_in(cur->il_prev, pol->nodes);
		cur->il_prev = nid;
	} else {
		target = (unsigned int)(ilx % nodes_weight(pol->nodes));
		nid = first_node(pol->nodes);
		for (i = 0; i < target; i++)
			nid = next_node_in(nid, pol->nodes);
	}
	d->nid = (int)nid;
	d->mask = all;
	d->interleave = true;
}

/* weighted_interleave_nodes() / weighted_interleave_nid() */
static void mpol_decide_weighted(const struct mempolicy *pol,
				 struct mpol_cursor *cur, uint64_t ilx,
				 int local, nodemask_t all,
				 struct mpol_decision *d)
{
	unsigned int nid, target;

	if (ilx == MPOL_NO_IL_INDEX) {
		nid = cur->il_prev;
		if (!cur->il_weight || !node_isset(nid, pol->nodes)) {
			nid = next_node_in(nid, pol->nodes);
			cur->il_prev = nid;
			cur->il_weight = pol->weight[nid];
		}
		cur->il_weight--;
	} else {
		target = (unsigned int)(ilx % pol->weight_total);
		nid = first_node(pol->nodes);
		while (target) {
			if (target < pol->weight[nid])
				break;
			target -= pol->weight[nid];
			nid = next_node_in(nid, pol->nodes);
		}
	}
	d->nid = (int)nid;
	d->mask = all;
	d->interleave = true;
}

static const struct mpol_ops mpol_ops[MPOL_MAX] = {
	[MPOL_DEFAULT] = {
		.name = "default",
		.decide = mpol_decide_local,
	},
	[MPOL_LOCAL] = {
		.name = "local",
		.decide = mpol_decide_local,
	},
	[MPOL_PREFERRED] = {
		.name = "preferred",
		.takes_nodes = true,
		.takes_flags = true,
		.decide = mpol_decide_preferred,
	},
	[MPOL_PREFERRED_MANY] = {
		.name = "preferred-many",
		.takes_nodes = true,
		.takes_flags = true,
		.decide = mpol_decide_preferred_many,
	},
	[MPOL_BIND] = {
		.name = "bind",
		.takes_nodes = true,
		.takes_flags = true,
		.decide = mpol_decide_bind,
	},
	[MPOL_INTERLEAVE] = {
		.name = "interleave",
		.takes_nodes = true,
		.takes_flags = true,
		.interleave = true,
		.decide = mpol_decide_interleave,
	},
	[MPOL_WEIGHTED_INTERLEAVE] = {
		.name = "weighted-interleave",
		.takes_nodes = true,
		.takes_flags = true,
		.takes_weights = true,
		.interleave = true,
		.decide = mpol_decide_weighted,
	},
};

/* --- creation ---------------------------------------------------------- */

int mpol_create(struct mempolicy *pol, const struct mpol_spec *spec,
		nodemask_t allowed, unsigned int nr_nodes, char *err,
		size_t len)
{
	const struct mpol_ops *ops;
	struct mempolicy p;
	unsigned int i;
	bool weights = false;
	int n;

	if ((unsigned int)spec->mode >= MPOL_MAX)
		return errmsg(err, len, "unknown policy mode %u",
				(unsigned int)spec->mode);
	ops = &mpol_ops[spec->mode];
	if (spec->flags & ~MPOL_MODE_FLAGS)
		return errmsg(err, len, "%s: unknown mode flags 0x%x",
				ops->name, spec->flags & ~MPOL_MODE_FLAGS);
	if ((spec->flags & MPOL_F_STATIC_NODES) &&
	    (spec->flags & MPOL_F_RELATIVE_NODES))
		return errmsg(err, len,
				"%s: static-nodes and relative-nodes are mutually exclusive",
				ops->name);
	for (i = 0; i < NUMA_MAX_NODES; i++)
		weights |= spec->weights[i] != 0;

	if (!ops->takes_nodes && spec->nodes)
		return errmsg(err, len, "%s takes no node set (got 0x%x)",
				ops->name, spec->nodes);
	if (!ops->takes_flags && spec->flags)
		return errmsg(err, len,
				"%s takes no static-nodes/relative-nodes flag",
				ops->name);
	if (!ops->takes_weights && weights)
		return errmsg(err, len,
				"%s takes no weights (only weighted-interleave does)",
				ops->name);
	/* preferred with no node is local, but not with a flag (mpol_new()) */
	if (spec->mode == MPOL_PREFERRED && !spec->nodes && spec->flags)
		return errmsg(err, len,
				"preferred with static-nodes/relative-nodes needs a node");
	if (ops->takes_nodes && !spec->nodes && spec->mode != MPOL_PREFERRED)
		return errmsg(err, len, "%s needs a non-empty node set",
				ops->name);
	if (spec->nodes >> NUMA_MAX_NODES)
		return errmsg(err, len,
				"%s: node %u is beyond the maximum node %u",
				ops->name,
				first_node(spec->nodes >> NUMA_MAX_NODES) +
					NUMA_MAX_NODES,
				NUMA_MAX_NODES - 1);
	if (!(spec->flags & MPOL_F_RELATIVE_NODES) &&
	    (nr_nodes >= 32 ? 0 : spec->nodes >> nr_nodes))
		return errmsg(err, len,
				"%s: node %u does not exist (the VM has %u nodes)",
				ops->name,
				first_node(spec->nodes >> nr_nodes) + nr_nodes,
				nr_nodes);
	for (i = 0; i < NUMA_MAX_NODES; i++)
		if (spec->weights[i] && !node_isset(i, spec->nodes))
			return errmsg(err, len,
					"%s: weight given for node %u, which is not in the node set",
					ops->name, i);

	memset(&p, 0, sizeof(p));
	p.spec = *spec;
	p.mode = spec->mode;
	if (spec->flags & MPOL_F_RELATIVE_NODES)
		p.nodes = mpol_relative_nodemask(spec->nodes, allowed);
	else
		p.nodes = spec->nodes & allowed;
	if (spec->mode == MPOL_PREFERRED && !spec->nodes)
		/* and reads back as local, as get_mempolicy() since 5.14 */
		p.mode = p.spec.mode = MPOL_LOCAL;
	else if (ops->takes_nodes && !p.nodes)
		return errmsg(err, len,
				"%s: none of the nodes 0x%x has memory (allowed 0x%x)",
				ops->name, spec->nodes, allowed);
	if (p.mode == MPOL_PREFERRED)
		p.nodes = 1U << first_node(p.nodes);

	if (p.mode == MPOL_WEIGHTED_INTERLEAVE) {
		for (i = 0; i < NUMA_MAX_NODES; i++) {
			if (!node_isset(i, spec->nodes))
				continue;
			n = mpol_map_node(i, spec->flags, allowed);
			if (n == NUMA_NO_NODE || p.weight[n])
				continue;
			p.weight[n] = spec->weights[i] ? spec->weights[i] : 1;
		}
		for (i = 0; i < NUMA_MAX_NODES; i++)
			if (node_isset(i, p.nodes))
				p.weight_total += p.weight[i];
	}
	*pol = p;
	return 0;
}

void mpol_init_default(struct mempolicy *pol)
{
	memset(pol, 0, sizeof(*pol));
	pol->spec.mode = MPOL_DEFAULT;
	pol->mode = MPOL_DEFAULT;
}

/* __mpol_equal(): same mode, flags, nodes (as given, if a flag keeps them) */
bool mpol_equal(const struct mempolicy *a, const struct mempolicy *b)
{
	if (a->mode != b->mode || a->spec.flags != b->spec.flags ||
	    a->nodes != b->nodes)
		return false;
	if (a->spec.flags && a->spec.nodes != b->spec.nodes)
		return false;
	if (a->mode == MPOL_WEIGHTED_INTERLEAVE &&
	    memcmp(a->weight, b->weight, sizeof(a->weight)))
		return false;
	return true;
}

bool mpol_is_interleave(const struct mempolicy *pol)
{
	return mpol_ops[pol->mode].interleave;
}

void mpol_cursor_reset(struct mpol_cursor *cur)
{
	cur->il_prev = NUMA_MAX_NODES - 1;
	cur->il_weight = 0;
}

void mpol_decide(const struct mempolicy *pol, struct mpol_cursor *cur,
		 uint64_t ilx, int local, nodemask_t all,
		 struct mpol_decision *d)
{
	d->retry_all = false;
	d->interleave = false;
	mpol_ops[pol->mode].decide(pol, cur, ilx, local, all, d);
}

const char *mpol_mode_name(enum mpol_mode mode)
{
	return (unsigned int)mode < MPOL_MAX ? mpol_ops[mode].name : NULL;
}

int mpol_mode_from_name(const char *name, enum mpol_mode *mode)
{
	unsigned int m;

	for (m = 0; m < MPOL_MAX; m++) {
		if (!strcmp(name, mpol_ops[m].name)) {
			*mode = (enum mpol_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

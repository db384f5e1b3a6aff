/*
 * The fault path's view of numa/: struct fault_alloc_ops over numa_alloc()
 * and numa_free() (priv is the VM's struct numa_vm), and the OOM message
 * naming the vCPU, the guest address, the policy that applied and the free
 * pages of every node.  Kept apart from fault.c so that the fault mechanics
 * build and test without numa/.
 */
#include "vmm/fault.h"

#include <errno.h>
#include <stdio.h>

#include "numa/numa.h"

_Static_assert(FAULT_HOST == NUMA_HOST, "host context ids agree");
_Static_assert(FAULT_MAX_VCPUS == NUMA_MAX_VCPUS, "vCPU limits agree");
_Static_assert(FAULT_MAX_NODES == NUMA_MAX_NODES, "node limits agree");

static int fault_numa_alloc(void *priv, int vcpu, gpa_t gpa,
			    unsigned int order, struct fault_frame *out)
{
	struct numa_page pg;
	int ret;

	ret = numa_alloc(priv, vcpu, gpa, order, 0, &pg);
	if (ret)
		return ret;
	out->node = pg.node;
	out->pfn = pg.pfn;
	return 0;
}

static int fault_numa_free(void *priv, int vcpu, const struct fault_frame *f,
			   unsigned int order)
{
	return numa_free(priv, f->node, f->pfn, order, vcpu);
}

const struct fault_alloc_ops fault_numa_ops = {
	.alloc = fault_numa_alloc,
	.free = fault_numa_free,
};

int fault_numa_oom_message(struct numa_vm *nv, const struct fault_oom_event *ev,
			   char *buf, size_t len)
{
	struct range_policy rp[NUMA_MAX_RANGES];
	struct mpol_spec spec = { .mode = MPOL_DEFAULT };
	const char *src = ev->vcpu == FAULT_HOST ? "host" : "vCPU";
	struct buddy_info info;
	unsigned int i, nr;
	struct buddy *b;
	size_t off = 0;
	int n;

	nr = numa_get_range_policies(nv, rp, NUMA_MAX_RANGES);
	for (i = 0; i < nr && i < NUMA_MAX_RANGES; i++) {
		if (ev->gpa >= rp[i].start && ev->gpa < rp[i].end) {
			spec = rp[i].pol.spec;
			src = "range";
			break;
		}
	}
	if (i == nr || i == NUMA_MAX_RANGES) {
		if (numa_get_vcpu_policy(nv, ev->vcpu, &spec))
			spec.mode = MPOL_DEFAULT;
	}

#define PUT(...)                                                         \
	do {                                                             \
		n = snprintf(buf + off, off < len ? len - off : 0,       \
			     __VA_ARGS__);                               \
		if (n > 0)                                               \
			off += (size_t)n;                                \
	} while (0)

	if (ev->vcpu == FAULT_HOST)
		PUT("host context");
	else
		PUT("vCPU %d", ev->vcpu);
	PUT(": %s at guest address 0x%llx (order %u): %s policy %s nodes 0x%x; free pages:",
	    ev->fatal ? "cannot place a frame" : "out of memory",
	    (unsigned long long)ev->gpa, ev->order, src,
	    mpol_mode_name(spec.mode) ?: "?",
	    spec.nodes);
	for (i = 0; i < numa_nr_nodes(nv); i++) {
		b = numa_node_buddy(nv, i);
		if (!b) {
			PUT(" node%u=-", i);
			continue;
		}
		buddy_get_info(b, &info);
		PUT(" node%u=%lu", i, info.free_pages + info.pcp_pages);
	}
	if (ev->fatal)
		PUT(" (error %d)", ev->err);
#undef PUT
	return (int)off;
}

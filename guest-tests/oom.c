/*
 * Bind exhaustion: vCPU 0 is bound to one small node and touches more
 * pages than that node holds.  numavm must stop the VM cleanly with its
 * out-of-memory status (VM_EXIT_OOM, 180) and a report naming the vCPU,
 * address, policy and free pages per node; unittests.cfg expects status
 * 180.  If every page gets touched instead, the test FAILs.
 *
 * The node: boot argument bind=N (the VM was started bound to N,
 * configs/bind-oom.ini), else the smallest node with memory, bound with
 * NV_HC_SET_POLICY(MPOL_BIND).  Under QEMU nothing can run out this way:
 * the test touches and verifies pages=N pages (default 256) and skips the
 * OOM assertion, so the QEMU run passes.
 */
#include "libcflat.h"
#include "place.h"

int main(int argc, char **argv)
{
	unsigned long pages = boot_arg_u64("pages", 256), i;
	bool have_bind = boot_arg("bind") != NULL;
	int node = -1;
	uint64_t base, k;

	if (!place_init())
		return report_summary();
	if (place.numavm) {
		if (have_bind) {
			node = (int)boot_arg_u64("bind", 0);
		} else {
			for (k = 0; k < place.topo.nr_nodes; k++)
				if ((place.mem_nodes >> k) & 1 &&
				    (node < 0 || place.topo.node_mem[k] <
						 place.topo.node_mem[node]))
					node = (int)k;
			report(nv_set_policy(MPOL_BIND, 1ULL << node, NULL) == 0,
			       "vCPU 0 binds to node %d", node);
		}
		if (node < 0 || node >= NV_MAX_NODES ||
		    !place.topo.node_mem[node]) {
			report(false, "bound node %d has memory", node);
			return report_summary();
		}
		/* the whole node plus a quarter: bind must run out */
		pages = place.topo.node_mem[node] / PAGE_SIZE * 5 / 4;
		if (place_room(2 * MiB) < pages * PAGE_SIZE)
			pages = place_room(2 * MiB) / PAGE_SIZE;
		report_info("bound to node %d (%lu MiB): touching %lu pages, expecting numavm to stop the VM (status 180)",
			    node, place.topo.node_mem[node] / MiB, pages);
	}
	base = place_alloc(pages * PAGE_SIZE, 2 * MiB);
	if (!base) {
		report(false, "room for %lu pages", pages);
		return report_summary();
	}
	for (i = 0; i < pages; i++)
		*place_p64(base + i * PAGE_SIZE) =
			place_pattern(base + i * PAGE_SIZE, 0x0e1);
	/* under numavm we get here only if nothing ran out */
	report(!place_check(base, pages, 0, 0x0e1),
	       "%lu pages read back, rest zero", pages);
	if (place_need("bind exhaustion stops the VM"))
		report(false, "touched %lu pages bound to node %d (%lu MiB) and numavm did not stop the VM",
		       pages, node, place.topo.node_mem[node] / MiB);
	return report_summary();
}

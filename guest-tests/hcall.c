/*
 * Bad hypercalls: every out-of-range argument must come back as an error
 * code (NV_EINVAL for malformed values, NV_EFAULT for guest addresses
 * outside RAM, NV_ENOSYS for unknown numbers), never crash the VMM, and a
 * failed call must not write guest memory.  Malformed blocks (misaligned,
 * outside RAM) are dropped without an answer.  Under QEMU the port is
 * absent: then we check that numavm detection works (every call returns
 * the preset NV_ENOSYS, nothing breaks) and skip the rest.  Calls a VMM
 * does not implement yet (NV_ENOSYS) are skipped, not failed.
 */
#include "bootinfo.h"
#include "hcall.h"
#include "layout.h"
#include "libcflat.h"
#include "processor.h"

#define MPOL_BIND	2	/* numa/mempolicy.h; any valid mode will do */
#define BAD_MODE	0xff
#define FAR_GPA		(1ULL << 40)	/* beyond any test VM's RAM */

static struct nv_topology topo __aligned(64);

static void expect(int32_t ret, int32_t want, const char *what)
{
	if (ret == NV_ENOSYS && want != NV_ENOSYS)
		report_skip("%s: not implemented (NV_ENOSYS)", what);
	else
		report(ret == want, "%s: %d (%s), want %s", what, ret,
		       nv_strerror(ret), nv_strerror(want));
}

/* End of the RAM region holding the image (a page-aligned gpa). */
static uint64_t ram_end(void)
{
	uint64_t s, e;

	return mem_range_from(GUEST_LOAD_ADDR, &s, &e) ? e : 0;
}

static void check_without_numavm(void)
{
	uint32_t nr;
	bool all_enosys = true;

	report(nv_abi_version() == NV_ENOSYS && !nv_present(),
	       "no numavm: the ABI version call keeps its preset NV_ENOSYS");
	for (nr = 0; nr < NV_HC_MAX; nr++)
		if (nr != NV_HC_EXIT)
			all_enosys &= nv_hcall(nr, 0, 0, 0, 0, 0, 0) ==
				      NV_ENOSYS;
	all_enosys &= nv_exit(0) == NV_ENOSYS;
	report(all_enosys, "no numavm: every hypercall returns NV_ENOSYS");
	nv_hcall_raw_gpa(0xfffff000);
	nv_hcall_raw_gpa(3);
	report(inl(NV_HCALL_PORT) == 0xffffffff,
	       "no numavm: stray port accesses are harmless, reads all ones");
	report_skip("argument validation: needs numavm");
}

static void check_numbers(void)
{
	expect(nv_abi_version(), NV_ABI_VERSION, "abi_version");
	expect(nv_hcall(NV_HC_ABI_VERSION, 1, 0, 0, 0, 0, 0), NV_EINVAL,
	       "abi_version with a non-zero unused argument");
	expect(nv_hcall(NV_HC_MAX, 0, 0, 0, 0, 0, 0), NV_ENOSYS,
	       "number NV_HC_MAX");
	expect(nv_hcall(0x7fffffff, 0, 0, 0, 0, 0, 0), NV_ENOSYS,
	       "number 0x7fffffff");
	expect(nv_hcall(0xffffffff, 0, 0, 0, 0, 0, 0), NV_ENOSYS,
	       "number 0xffffffff");
}

static void check_topology(uint64_t end)
{
	uint8_t *raw = (uint8_t *)&topo;
	size_t i;
	bool untouched = true;

	expect(nv_topology(&topo), 0, "topology, valid");
	memset(&topo, 0xaa, sizeof(topo));
	expect(nv_hcall(NV_HC_TOPOLOGY, (uintptr_t)&topo, sizeof(topo) - 1,
			0, 0, 0, 0), NV_EINVAL, "topology, buffer 1 byte short");
	expect(nv_hcall(NV_HC_TOPOLOGY, (uintptr_t)&topo, 0, 0, 0, 0, 0),
	       NV_EINVAL, "topology, size 0");
	expect(nv_hcall(NV_HC_TOPOLOGY, (uintptr_t)&topo + 1, sizeof(topo),
			0, 0, 0, 0), NV_EINVAL, "topology, misaligned buffer");
	expect(nv_hcall(NV_HC_TOPOLOGY, (uintptr_t)&topo, sizeof(topo), 1, 0,
			0, 0), NV_EINVAL, "topology, non-zero unused argument");
	for (i = 0; i < sizeof(topo); i++)
		untouched &= raw[i] == 0xaa;
	report(untouched, "failed topology calls wrote nothing");
	expect(nv_hcall(NV_HC_TOPOLOGY, FAR_GPA, sizeof(topo), 0, 0, 0, 0),
	       NV_EFAULT, "topology, buffer beyond RAM");
	expect(nv_hcall(NV_HC_TOPOLOGY, end - 64, sizeof(topo), 0, 0, 0, 0),
	       NV_EFAULT, "topology, buffer straddling the end of RAM");
	expect(nv_hcall(NV_HC_TOPOLOGY, ~0ULL - 7, sizeof(topo), 0, 0, 0, 0),
	       NV_EFAULT, "topology, buffer wrapping around");
	expect(nv_hcall(NV_HC_TOPOLOGY, 0xfee00000, sizeof(topo), 0, 0, 0,
			0), NV_EFAULT, "topology, buffer on the LAPIC");
}

static void check_exit(void)
{
	expect(nv_exit(128), NV_EINVAL, "exit, status 128");
	expect(nv_exit(0xffffffff), NV_EINVAL, "exit, status 0xffffffff");
	expect(nv_hcall(NV_HC_EXIT, 0, 1, 0, 0, 0, 0), NV_EINVAL,
	       "exit, non-zero unused argument");
}

static void check_blocks(void)
{
	struct nv_hcall hc __aligned(64) = {
		.nr = NV_HC_ABI_VERSION, .ret = NV_ENOSYS,
	};
	uint8_t *p = (uint8_t *)&hc;

	/* misaligned block: dropped, so nothing is written near it */
	nv_hcall_raw_gpa((uintptr_t)p + 4);
	report(READ_ONCE(hc.ret) == NV_ENOSYS && hc.nr == NV_HC_ABI_VERSION,
	       "misaligned block dropped, memory unchanged");
	nv_hcall_raw_gpa(0xfffff000);
	nv_hcall_raw_gpa((uint32_t)ram_end() - 8);
	report(nv_abi_version() == NV_ABI_VERSION,
	       "blocks outside RAM dropped, hypercalls still work");
	outw(0x1234, NV_HCALL_PORT);
	outb(0x12, NV_HCALL_PORT);
	report(inl(NV_HCALL_PORT) == 0xffffffff &&
	       nv_abi_version() == NV_ABI_VERSION,
	       "byte/word writes and reads of the port are harmless");
}

static void check_memory_calls(uint64_t end)
{
	uint64_t buf = ALIGN_UP(alloc_top(), 2 * MiB);
	uint64_t far_mask = 1ULL << 63;

	expect(nv_set_policy(BAD_MODE, 1, NULL), NV_EINVAL,
	       "set_policy, unknown mode");
	expect(nv_set_policy(MPOL_BIND, 0, NULL), NV_EINVAL,
	       "set_policy, bind to an empty nodemask");
	expect(nv_set_policy(MPOL_BIND, far_mask, NULL), NV_EINVAL,
	       "set_policy, node 63 does not exist");
	expect(nv_set_policy(MPOL_BIND, 1, (const uint8_t *)FAR_GPA),
	       NV_EFAULT, "set_policy, weights beyond RAM");

	expect(nv_mbind(buf + 1, PAGE_SIZE, MPOL_BIND, 1, NULL), NV_EINVAL,
	       "mbind, misaligned start");
	expect(nv_mbind(buf, 100, MPOL_BIND, 1, NULL), NV_EINVAL,
	       "mbind, length not page aligned");
	expect(nv_mbind(buf, PAGE_SIZE, BAD_MODE, 1, NULL), NV_EINVAL,
	       "mbind, unknown mode");
	expect(nv_mbind(buf, PAGE_SIZE, MPOL_BIND, far_mask, NULL), NV_EINVAL,
	       "mbind, node 63 does not exist");
	expect(nv_mbind(FAR_GPA, PAGE_SIZE, MPOL_BIND, 1, NULL), NV_EFAULT,
	       "mbind, range beyond RAM");
	expect(nv_mbind(end - PAGE_SIZE, 2 * PAGE_SIZE, MPOL_BIND, 1, NULL),
	       NV_EFAULT, "mbind, range straddling the end of RAM");
	expect(nv_mbind(-PAGE_SIZE, 2 * PAGE_SIZE, MPOL_BIND, 1, NULL),
	       NV_EFAULT, "mbind, range wrapping around");

	expect(nv_get_node(FAR_GPA), NV_EFAULT, "get_node, beyond RAM");
	expect(nv_get_node(0xfee00000), NV_EFAULT, "get_node, the LAPIC");

	expect(nv_free_range(buf + 1, PAGE_SIZE), NV_EINVAL,
	       "free_range, misaligned start");
	expect(nv_free_range(buf, 100), NV_EINVAL,
	       "free_range, length not page aligned");
	expect(nv_free_range(FAR_GPA, PAGE_SIZE), NV_EFAULT,
	       "free_range, beyond RAM");
	expect(nv_free_range(-PAGE_SIZE, 2 * PAGE_SIZE), NV_EFAULT,
	       "free_range, wrapping around");
}

int main(int argc, char **argv)
{
	uint64_t end = ram_end();

	if (!nv_present()) {
		check_without_numavm();
		return report_summary();
	}
	report(end != 0, "RAM ends at 0x%lx", end);
	check_numbers();
	check_topology(end);
	check_exit();
	check_blocks();
	check_memory_calls(end);
	return report_summary();
}

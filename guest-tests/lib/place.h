/*
 * Helpers shared by the placement tests (numa-local, interleave, weighted,
 * preferred, oom, free-range, concurrent, granule-2m): the topology as every
 * CPU sees it, fresh test regions of never-touched RAM, one-word-per-page
 * data patterns, node lists and sizes from the boot arguments, and the
 * policy mode numbers of NV_HC_SET_POLICY / NV_HC_MBIND.
 *
 * Under QEMU the numavm hypercalls are absent: place_init() still works
 * (place.numavm is false, no topology), the tests touch and verify their
 * pages and report_skip() every placement assertion (place_need()).
 */
#ifndef GUEST_PLACE_H
#define GUEST_PLACE_H

#include <stdbool.h>
#include <stdint.h>

#include "hcall.h"
#include "layout.h"

/* Policy modes and flags of NV_HC_SET_POLICY/NV_HC_MBIND (Linux's values) */
#define MPOL_DEFAULT		0
#define MPOL_PREFERRED		1
#define MPOL_BIND		2
#define MPOL_INTERLEAVE		3
#define MPOL_LOCAL		4
#define MPOL_PREFERRED_MANY	5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_STATIC_NODES	(1U << 15)

#define PLACE_MAX_RESERVED	8
#define PLACE_PROBE		2048	/* byte of each page that stays zero */

struct place_info {
	bool numavm;			/* the hypercalls answer */
	struct nv_topology topo;	/* as the BSP saw it (numavm only) */
	uint64_t mem_nodes;		/* nodes with memory (numavm only) */
	int nr_cpus;			/* CPUs online */
	int cpu_vcpu[SMP_MAX_CPUS];	/* vCPU id of each CPU, -1 unknown */
	int cpu_node[SMP_MAX_CPUS];	/* home node of each CPU, -1 unknown */
	uint64_t start, end;		/* RAM for test regions */
	uint64_t next;			/* place_alloc() cursor */
	int nr_reserved;
	uint64_t reserved[PLACE_MAX_RESERVED][2];	/* [start, end) */
};

extern struct place_info place;

/*
 * Guest physical memory is identity mapped, so a gpa is its own address
 * (place_ram_base 0).  The host simulator (guest-tests/sim/sim.c), which
 * runs these tests as host threads over numavm's real fault path, sets it
 * to the host address of gpa 0.  Every access to test RAM goes through
 * these two.
 */
extern uintptr_t place_ram_base;

static inline volatile uint64_t *place_p64(uint64_t gpa)
{
	return (volatile uint64_t *)(place_ram_base + (uintptr_t)gpa);
}

static inline volatile uint8_t *place_p8(uint64_t gpa)
{
	return (volatile uint8_t *)(place_ram_base + (uintptr_t)gpa);
}

/*
 * place_init - detect numavm, read the topology on every CPU (checking that
 * each vCPU's home node matches vcpu_node[]), and set up the region
 * allocator over the RAM above the image (from the next 2 MiB boundary).
 * Reports what it found with report_info(); returns false (after a FAIL)
 * if there is no RAM to test with.  Call once, from CPU 0.
 */
bool place_init(void);

/*
 * place_need - true under numavm; otherwise report_skip("@what: ...") with
 * the reason and return false.  Wraps every placement assertion.
 */
bool place_need(const char *what);

/* Keep [start, start + len) out of place_alloc() (a config's range). */
void place_reserve(uint64_t start, uint64_t len);

/*
 * place_alloc - a fresh region of @size bytes aligned to @align (a power of
 * two, at least 4 KiB) that nothing has touched, skipping reserved ranges.
 * Returns its gpa, or 0 when RAM is short.
 */
uint64_t place_alloc(uint64_t size, uint64_t align);

/* Bytes left for place_alloc() at @align (ignoring reserved ranges). */
uint64_t place_room(uint64_t align);

/* The node backing @gpa (NV_HC_GET_NODE): >= 0, or an NV_E* code. */
int place_node(uint64_t gpa);

/*
 * The word written at offset @off of page @gpa by place_fill(): depends on
 * the address and @seed, never zero.
 */
uint64_t place_pattern(uint64_t gpa, uint32_t seed);

/* Write place_pattern() at offset 8 * @slot of each of @pages pages. */
void place_fill(uint64_t base, unsigned long pages, unsigned int slot,
		uint32_t seed);

/*
 * Check @pages pages filled by place_fill(@slot, @seed): returns the number
 * of pages whose word differs or whose PLACE_PROBE byte is not zero.
 */
unsigned long place_check(uint64_t base, unsigned long pages,
			  unsigned int slot, uint32_t seed);

/* Pages of @base.. that read zero at offset 0, 8 * @slot and the probe. */
unsigned long place_count_zero(uint64_t base, unsigned long pages,
			       unsigned int slot);

/* The @n-th (from 0) node of @mask, or -1. */
int place_nth_node(uint64_t mask, unsigned int n);
/* Number of nodes in @mask. */
unsigned int place_nr_nodes(uint64_t mask);

/*
 * Boot argument parsers.  Node lists: "0-1,3".  Sizes: decimal or 0x hex
 * with an optional K/M/G suffix.  Ranges: "START+SIZE" or "START-END".
 * Each returns false (and leaves the outputs alone) on bad syntax.
 */
bool place_parse_nodes(const char *s, uint64_t *mask);
bool place_parse_size(const char *s, const char **end, uint64_t *v);
bool place_parse_range(const char *s, const char **end, uint64_t *start,
		       uint64_t *len);

/*
 * place_arg_nodes - the node list of boot argument @key: true with *mask
 * set when present and well-formed; false when absent.  A malformed value
 * is a FAIL (so a typo in unittests.cfg is not a silent pass).
 */
bool place_arg_nodes(const char *key, uint64_t *mask);

/* "0-1,3" for @mask, into @buf. */
const char *place_nodes_str(uint64_t mask, char *buf, unsigned long len);

#endif /* GUEST_PLACE_H */

/*
 * Guest RAM: one host mapping that backs the guest's physical memory, and
 * the only place that translates guest physical addresses to host ones.
 *
 * Layout (as QEMU's pc machine): the first min(size, 3 GiB) bytes of the
 * mapping appear at gpa 0 ("low RAM"), the rest at gpa 4 GiB ("high RAM"),
 * leaving [3 GiB, 4 GiB) for the LAPIC, IOAPIC and KVM's TSS/identity map.
 * Each part is one KVM memslot.  Every translation is bounds-checked, so a
 * gpa coming from the guest can be passed in unvalidated.
 *
 * guest_ram_create() maps anonymous memory demand-paged by the host
 * kernel; another backing (the userfaultfd fault path, vmm/fault*.c, whose
 * RAM starts unbacked) maps its own range and describes it with
 * guest_ram_init(), and everything else in vmm/ is unchanged.
 */
#ifndef NUMAVM_VMM_GUEST_RAM_H
#define NUMAVM_VMM_GUEST_RAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"

#define GUEST_RAM_LOW_MAX	(3ULL << 30)	/* end of low RAM */
#define GUEST_RAM_HIGH_BASE	(4ULL << 30)	/* gpa of the RAM above the hole */
#define GUEST_RAM_MIN		(2ULL << 20)	/* room for a loader + stack */
#define GUEST_RAM_MAX		(1ULL << 40)
#define GUEST_RAM_MAX_REGIONS	2

/* One contiguous gpa range, backed by [hva, hva + size). */
struct guest_ram_region {
	gpa_t gpa;
	uint64_t size;
	void *hva;
};

struct guest_ram {
	void *base;		/* host mapping of all guest RAM */
	uint64_t size;		/* bytes of RAM (sum of the regions) */
	bool owned;		/* mapped by guest_ram_create(): unmap it */
	unsigned int nr_regions;
	struct guest_ram_region regions[GUEST_RAM_MAX_REGIONS];
};

/*
 * guest_ram_create - map @size bytes (a multiple of PAGE_SIZE, between
 * GUEST_RAM_MIN and GUEST_RAM_MAX) of zeroed guest RAM.  Returns 0, or
 * -EINVAL for a bad size, -ENOMEM (or mmap's errno) if the mapping fails;
 * @ram is untouched on failure.
 */
int guest_ram_create(struct guest_ram *ram, uint64_t size) __must_check;
/*
 * guest_ram_init - describe an existing mapping of @size bytes at @base
 * (mapped by another backing, e.g. the userfaultfd fault path) as guest
 * RAM with the layout above.  guest_ram_destroy() will not unmap it.
 * Returns 0 or -EINVAL (same size rules as guest_ram_create, base NULL).
 */
int guest_ram_init(struct guest_ram *ram, void *base, uint64_t size)
	__must_check;
/* Unmap (if created here); safe on a zeroed or already destroyed struct. */
void guest_ram_destroy(struct guest_ram *ram);

/*
 * guest_ram_hva - host address of [gpa, gpa + len) if the whole range lies
 * inside one RAM region, else NULL (out of RAM, across the hole, overflow,
 * len == 0).  Lock-free; the mapping lives as long as @ram.
 */
void *guest_ram_hva(const struct guest_ram *ram, gpa_t gpa, uint64_t len);

/* Is [gpa, gpa + len) entirely RAM (in one region)? */
static inline int guest_ram_contains(const struct guest_ram *ram, gpa_t gpa,
				     uint64_t len)
{
	return guest_ram_hva(ram, gpa, len) != NULL;
}

/* Copy out of / into guest RAM.  0, or -EFAULT (nothing copied). */
int guest_ram_read(const struct guest_ram *ram, gpa_t gpa, void *buf,
		   size_t len) __must_check;
int guest_ram_write(const struct guest_ram *ram, gpa_t gpa, const void *buf,
		    size_t len) __must_check;
/* Zero [gpa, gpa + len).  0, or -EFAULT. */
int guest_ram_clear(const struct guest_ram *ram, gpa_t gpa,
		    uint64_t len) __must_check;

/*
 * guest_ram_offset_to_gpa - the gpa of byte @offset of guest RAM counted
 * without the hole (RAM offsets are how NUMA nodes are laid out: node 0
 * first).  @offset must be < ram->size.
 */
gpa_t guest_ram_offset_to_gpa(const struct guest_ram *ram, uint64_t offset);

/*
 * guest_ram_gpa_to_offset - the inverse: the RAM offset of @gpa, when
 * [gpa, gpa + len) lies wholly in one RAM region (as guest_ram_hva()).
 * 0, or -EFAULT (out of RAM, across the hole, overflow, len == 0).
 */
int guest_ram_gpa_to_offset(const struct guest_ram *ram, gpa_t gpa,
			    uint64_t len, uint64_t *offset) __must_check;

/* Bytes of RAM below 4 GiB / above it. */
uint64_t guest_ram_low_size(const struct guest_ram *ram);
uint64_t guest_ram_high_size(const struct guest_ram *ram);

#endif /* NUMAVM_VMM_GUEST_RAM_H */

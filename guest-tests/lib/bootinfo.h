/*
 * What the multiboot loader told us, copied into the image by
 * bootinfo_init() before anything can overwrite it: the boot magic, the
 * command line and the memory map.  Plus the bump allocator of physical
 * pages that starts at the end of the image.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#define MULTIBOOT_BOOT_MAGIC	0x2BADB002
#define BOOTINFO_MAX_REGIONS	32
#define BOOTINFO_CMDLINE_MAX	512
#define MEM_AVAILABLE		1

/* Highest address the identity page tables map. */
#define IDENTITY_MAP_END	(4UL << 30)

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type;		/* MEM_AVAILABLE or other e820 types */
};

struct bootinfo {
	uint32_t magic;		/* EAX at entry */
	uint32_t flags;		/* multiboot info flags */
	const char *loader;	/* boot_loader_name, or "?" */
	char cmdline[BOOTINFO_CMDLINE_MAX];
	int nr_regions;
	struct mem_region region[BOOTINFO_MAX_REGIONS];
};

extern struct bootinfo bootinfo;

/* The command line split at spaces (what main() receives). */
#define MAX_ARGS	32
extern int boot_argc;
extern char *boot_argv[MAX_ARGS + 1];

/* Copy the multiboot info at @mbi (called once, first thing). */
void bootinfo_init(uint32_t magic, uint32_t mbi);

/*
 * The available RAM at or above @from, below IDENTITY_MAP_END, in the
 * region that contains (or first follows) @from: [*start, *end).  Returns
 * false if there is none.
 */
bool mem_range_from(uint64_t from, uint64_t *start, uint64_t *end);

/* Total available RAM the map reports, in bytes. */
uint64_t mem_total(void);

/*
 * alloc_pages - @n physically contiguous 4 KiB pages after the image.
 * Not zeroed (untouched memory stays untouched).  Never freed.  Calls
 * abort() when RAM runs out.
 */
void *alloc_pages(unsigned long n);
/* First address alloc_pages() has not handed out. */
uint64_t alloc_top(void);

#endif /* GUEST_BOOTINFO_H */

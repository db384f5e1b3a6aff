/*
 * Multiboot information, boot arguments and the page allocator (see
 * bootinfo.h and libcflat.h).  The multiboot structure lives in loader
 * memory (0x9000 under QEMU and numavm) that the AP trampoline and test
 * buffers may reuse, so bootinfo_init() copies what we need first.
 */
#include "bootinfo.h"
#include "libcflat.h"
#include "smp.h"

#define MBI_FLAG_MEMORY		(1U << 0)
#define MBI_FLAG_CMDLINE	(1U << 2)
#define MBI_FLAG_MMAP		(1U << 6)
#define MBI_FLAG_LOADER		(1U << 9)

struct mbi {
	uint32_t flags;
	uint32_t mem_lower;
	uint32_t mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

struct mbi_mmap {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));

struct bootinfo bootinfo;
static char loader_name[32];

static char argbuf[BOOTINFO_CMDLINE_MAX];
int boot_argc;
char *boot_argv[MAX_ARGS + 1];

extern char _end[];
static uint64_t alloc_next;
static struct spinlock alloc_lock;

static void add_region(uint64_t base, uint64_t len, uint32_t type)
{
	if (bootinfo.nr_regions < BOOTINFO_MAX_REGIONS)
		bootinfo.region[bootinfo.nr_regions++] =
			(struct mem_region){ base, len, type };
}

static void split_args(void)
{
	char *p = argbuf;

	memcpy(argbuf, bootinfo.cmdline, sizeof(argbuf));
	while (*p && boot_argc < MAX_ARGS) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		boot_argv[boot_argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	boot_argv[boot_argc] = NULL;
}

void bootinfo_init(uint32_t magic, uint32_t mbi_addr)
{
	const struct mbi *mbi = (const void *)(uintptr_t)mbi_addr;
	uint32_t off;

	bootinfo.magic = magic;
	bootinfo.loader = "?";
	alloc_next = ALIGN_UP((uint64_t)(uintptr_t)_end, PAGE_SIZE);
	if (magic != MULTIBOOT_BOOT_MAGIC || !mbi_addr)
		return;
	bootinfo.flags = mbi->flags;
	if ((mbi->flags & MBI_FLAG_CMDLINE) && mbi->cmdline) {
		const char *s = (const char *)(uintptr_t)mbi->cmdline;
		size_t n = 0;

		while (s[n] && n < BOOTINFO_CMDLINE_MAX - 1) {
			bootinfo.cmdline[n] = s[n];
			n++;
		}
	}
	if ((mbi->flags & MBI_FLAG_LOADER) && mbi->boot_loader_name) {
		const char *s = (const char *)(uintptr_t)mbi->boot_loader_name;
		size_t n = 0;

		while (s[n] && n < sizeof(loader_name) - 1) {
			loader_name[n] = s[n];
			n++;
		}
		bootinfo.loader = loader_name;
	}
	if (mbi->flags & MBI_FLAG_MMAP) {
		for (off = 0; off + sizeof(struct mbi_mmap) <= mbi->mmap_length;) {
			const struct mbi_mmap *e =
				(const void *)(uintptr_t)(mbi->mmap_addr + off);

			add_region(e->addr, e->len, e->type);
			off += e->size + 4;
		}
	} else if (mbi->flags & MBI_FLAG_MEMORY) {
		add_region(0, (uint64_t)mbi->mem_lower * KiB, MEM_AVAILABLE);
		add_region(1 * MiB, (uint64_t)mbi->mem_upper * KiB,
			   MEM_AVAILABLE);
	}
	split_args();
}

bool mem_range_from(uint64_t from, uint64_t *start, uint64_t *end)
{
	uint64_t best_s = 0, best_e = 0;
	int i;

	for (i = 0; i < bootinfo.nr_regions; i++) {
		const struct mem_region *r = &bootinfo.region[i];
		uint64_t s = r->base, e = r->base + r->len;

		if (r->type != MEM_AVAILABLE || e <= from)
			continue;
		if (s < from)
			s = from;
		if (e > IDENTITY_MAP_END)
			e = IDENTITY_MAP_END;
		if (s >= e)
			continue;
		if (!best_e || s < best_s) {
			best_s = s;
			best_e = e;
		}
	}
	if (!best_e)
		return false;
	*start = best_s;
	*end = best_e;
	return true;
}

uint64_t mem_total(void)
{
	uint64_t total = 0;
	int i;

	for (i = 0; i < bootinfo.nr_regions; i++)
		if (bootinfo.region[i].type == MEM_AVAILABLE)
			total += bootinfo.region[i].len;
	return total;
}

void *alloc_pages(unsigned long n)
{
	uint64_t s, e, p;

	spin_lock(&alloc_lock);
	if (!mem_range_from(alloc_next, &s, &e) ||
	    (p = ALIGN_UP(s, PAGE_SIZE)) + n * PAGE_SIZE > e) {
		spin_unlock(&alloc_lock);
		printf("alloc_pages: out of memory for %lu pages\n", n);
		abort();
	}
	alloc_next = p + n * PAGE_SIZE;
	spin_unlock(&alloc_lock);
	return (void *)(uintptr_t)p;
}

uint64_t alloc_top(void)
{
	return alloc_next;
}

const char *boot_arg(const char *key)
{
	size_t klen = strlen(key);
	int i;

	for (i = 0; i < boot_argc; i++)
		if (!strncmp(boot_argv[i], key, klen) &&
		    boot_argv[i][klen] == '=')
			return boot_argv[i] + klen + 1;
	return NULL;
}

bool boot_flag(const char *word)
{
	int i;

	for (i = 0; i < boot_argc; i++)
		if (!strcmp(boot_argv[i], word))
			return true;
	return false;
}

uint64_t boot_arg_u64(const char *key, uint64_t def)
{
	const char *v = boot_arg(key);

	return v && *v ? strtou64(v, NULL) : def;
}

/*
 * Multiboot v1 loading, following QEMU's hw/i386/multiboot.c: the header
 * is searched on 4-byte boundaries in the first 8 KiB; with the a.out
 * kludge flag (bit 16) the header's address fields say what to load,
 * otherwise the file must be an ELF32 i386 executable whose PT_LOAD
 * segments are loaded at their physical addresses (bss zeroed).  The boot
 * information goes at QEMU's fixed low addresses (memory map at 0x9000,
 * info structure at 0x9500), so guests see the same layout under both.
 * Everything is validated before the first byte is written: a bad image
 * is rejected with the reason, never loaded halfway.
 */
#include "vmm/loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

#define LOADER_MAX_SEGMENTS	32
#define LOADER_MAX_IMAGE	(1ULL << 30)	/* refuse to read larger files */

/* Header flags we understand; the low 16 bits are "must know" ones. */
#define MULTIBOOT_KNOWN_FLAGS \
	(MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO | MULTIBOOT_VIDEO_MODE)

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
	uint32_t entry_addr;
};

/* A piece of the image to copy, then zero up to memsz. */
struct loader_segment {
	gpa_t gpa;
	uint64_t offset;	/* in the file */
	uint64_t filesz;
	uint64_t memsz;
};

struct loader_ctx {
	const struct guest_ram *ram;
	const uint8_t *image;
	size_t size;
	struct loader_segment seg[LOADER_MAX_SEGMENTS];
	unsigned int nr_seg;
	uint32_t entry;
	char *err;
	size_t errlen;
};

static int __printf(3, 4) loader_fail(struct loader_ctx *c, int ret,
				       const char *fmt, ...)
{
	va_list ap;

	if (c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static uint32_t get_le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/*
 * Find the header: 4-byte aligned, wholly inside the first 8 KiB and the
 * file, magic + flags + checksum == 0 (mod 2^32).  Returns the offset, or
 * -1 with the reason in @c.
 */
static long loader_find_header(struct loader_ctx *c, struct mb_header *h)
{
	size_t limit = min_t(size_t, c->size, MULTIBOOT_SEARCH);
	long bad_checksum = -1;
	size_t i;

	for (i = 0; i + 12 <= limit; i += 4) {
		const uint8_t *p = c->image + i;

		if (get_le32(p) != MULTIBOOT_HEADER_MAGIC)
			continue;
		if ((uint32_t)(get_le32(p) + get_le32(p + 4) + get_le32(p + 8))) {
			if (bad_checksum < 0)
				bad_checksum = i;
			continue;
		}
		memset(h, 0, sizeof(*h));
		h->magic = get_le32(p);
		h->flags = get_le32(p + 4);
		h->checksum = get_le32(p + 8);
		if (h->flags & MULTIBOOT_AOUT_KLUDGE) {
			if (i + 32 > c->size) {
				loader_fail(c, -ENOEXEC,
					    "multiboot header at offset %zu is truncated (address fields missing)",
					    i);
				return -1;
			}
			h->header_addr = get_le32(p + 12);
			h->load_addr = get_le32(p + 16);
			h->load_end_addr = get_le32(p + 20);
			h->bss_end_addr = get_le32(p + 24);
			h->entry_addr = get_le32(p + 28);
		}
		return i;
	}
	if (bad_checksum >= 0)
		loader_fail(c, -ENOEXEC,
			    "multiboot header at offset %ld has a bad checksum",
			    bad_checksum);
	else
		loader_fail(c, -ENOEXEC,
			    "no multiboot header (magic 0x%x) in the first %d bytes",
			    MULTIBOOT_HEADER_MAGIC, MULTIBOOT_SEARCH);
	return -1;
}

/* Is [gpa, gpa + len) loadable: in RAM and clear of the boot info area? */
static int loader_check_range(struct loader_ctx *c, const char *what,
			      gpa_t gpa, uint64_t len)
{
	if (len == 0)
		return 0;
	if (!guest_ram_contains(c->ram, gpa, len))
		return loader_fail(c, -EFAULT,
				   "%s [0x%llx-0x%llx) is outside guest RAM",
				   what, (unsigned long long)gpa,
				   (unsigned long long)(gpa + len));
	if (gpa < LOADER_INFO_END && gpa + len > LOADER_INFO_AREA)
		return loader_fail(c, -EFAULT,
				   "%s [0x%llx-0x%llx) overlaps the multiboot info area [0x%llx-0x%llx)",
				   what, (unsigned long long)gpa,
				   (unsigned long long)(gpa + len),
				   LOADER_INFO_AREA, LOADER_INFO_END);
	return 0;
}

static int loader_parse_aout(struct loader_ctx *c, const struct mb_header *h,
			     size_t hdr_off)
{
	uint64_t text_off, load_size, mem_size;

	if (h->header_addr < h->load_addr)
		return loader_fail(c, -ENOEXEC,
				   "invalid multiboot header: header_addr 0x%x below load_addr 0x%x",
				   h->header_addr, h->load_addr);
	if (h->header_addr - h->load_addr > hdr_off)
		return loader_fail(c, -ENOEXEC,
				   "invalid multiboot header: load_addr 0x%x lies before the start of the file",
				   h->load_addr);
	text_off = hdr_off - (h->header_addr - h->load_addr);

	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr)
			return loader_fail(c, -ENOEXEC,
					   "invalid multiboot header: load_end_addr 0x%x below load_addr 0x%x",
					   h->load_end_addr, h->load_addr);
		load_size = h->load_end_addr - h->load_addr;
		if (text_off + load_size > c->size)
			return loader_fail(c, -ENOEXEC,
					   "image truncated: load_end_addr needs %llu bytes from offset %llu, file has %zu",
					   (unsigned long long)load_size,
					   (unsigned long long)text_off, c->size);
	} else {
		load_size = c->size - text_off;
	}

	mem_size = load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + load_size)
			return loader_fail(c, -ENOEXEC,
					   "invalid multiboot header: bss_end_addr 0x%x below the end of the loaded image",
					   h->bss_end_addr);
		mem_size = h->bss_end_addr - h->load_addr;
	}
	if (mem_size == 0)
		return loader_fail(c, -ENOEXEC, "multiboot image loads nothing");

	c->seg[0] = (struct loader_segment){
		.gpa = h->load_addr, .offset = text_off,
		.filesz = load_size, .memsz = mem_size };
	c->nr_seg = 1;
	c->entry = h->entry_addr;
	return 0;
}

static int loader_parse_elf(struct loader_ctx *c)
{
	const uint8_t *id = c->image;
	Elf32_Ehdr eh;
	unsigned int i;

	if (c->size < EI_NIDENT || memcmp(id, ELFMAG, SELFMAG))
		return loader_fail(c, -ENOEXEC,
				   "not an ELF file and no a.out kludge (multiboot flag 16) in the header");
	if (id[EI_CLASS] == ELFCLASS64)
		return loader_fail(c, -ENOEXEC,
				   "ELF64 image: multiboot v1 loads 32-bit ELF images only");
	if (id[EI_CLASS] != ELFCLASS32 || id[EI_DATA] != ELFDATA2LSB)
		return loader_fail(c, -ENOEXEC,
				   "not a little-endian ELF32 image");
	if (c->size < sizeof(eh))
		return loader_fail(c, -ENOEXEC,
				   "image truncated: ELF header needs %zu bytes, file has %zu",
				   sizeof(eh), c->size);
	memcpy(&eh, c->image, sizeof(eh));
	if (eh.e_machine != EM_386)
		return loader_fail(c, -ENOEXEC,
				   "ELF machine %u is not i386 (%u)", eh.e_machine,
				   EM_386);
	if (eh.e_type != ET_EXEC)
		return loader_fail(c, -ENOEXEC,
				   "ELF type %u is not an executable", eh.e_type);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0)
		return loader_fail(c, -ENOEXEC,
				   "ELF image has no usable program headers");
	if ((uint64_t)eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) >
	    c->size)
		return loader_fail(c, -ENOEXEC,
				   "image truncated: program headers end past the file");

	c->nr_seg = 0;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, c->image + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return loader_fail(c, -ENOEXEC,
					   "ELF segment %u: file size 0x%x exceeds memory size 0x%x",
					   i, ph.p_filesz, ph.p_memsz);
		if ((uint64_t)ph.p_offset + ph.p_filesz > c->size)
			return loader_fail(c, -ENOEXEC,
					   "image truncated: ELF segment %u needs bytes [%u-%llu), file has %zu",
					   i, ph.p_offset,
					   (unsigned long long)ph.p_offset + ph.p_filesz,
					   c->size);
		if (c->nr_seg == LOADER_MAX_SEGMENTS)
			return loader_fail(c, -ENOEXEC,
					   "more than %d loadable ELF segments",
					   LOADER_MAX_SEGMENTS);
		c->seg[c->nr_seg++] = (struct loader_segment){
			.gpa = ph.p_paddr, .offset = ph.p_offset,
			.filesz = ph.p_filesz, .memsz = ph.p_memsz };
	}
	if (!c->nr_seg)
		return loader_fail(c, -ENOEXEC, "ELF image has no loadable segment");
	c->entry = eh.e_entry;
	return 0;
}

/* The e820-like map: what QEMU + SeaBIOS report for the same RAM. */
static unsigned int loader_build_mmap(const struct guest_ram *ram,
				      struct multiboot_mmap_entry *e)
{
	uint64_t low = guest_ram_low_size(ram), high = guest_ram_high_size(ram);
	unsigned int n = 0;

#define MMAP(a, l, t) (e[n++] = (struct multiboot_mmap_entry){ \
	.size = sizeof(*e) - 4, .addr = (a), .len = (l), .type = (t) })
	MMAP(0, 0x9fc00, MULTIBOOT_MEMORY_AVAILABLE);
	MMAP(0x9fc00, 0x400, MULTIBOOT_MEMORY_RESERVED);
	MMAP(0xf0000, 0x10000, MULTIBOOT_MEMORY_RESERVED);
	MMAP(0x100000, low - 0x100000, MULTIBOOT_MEMORY_AVAILABLE);
	if (high)
		MMAP(GUEST_RAM_HIGH_BASE, high, MULTIBOOT_MEMORY_AVAILABLE);
#undef MMAP
	return n;
}

static int loader_write_info(struct loader_ctx *c, const char *cmdline)
{
	static const char name[] = "numavm";
	struct multiboot_mmap_entry mmap[8];
	struct multiboot_info mbi;
	unsigned int n;
	size_t cmdlen = cmdline ? strlen(cmdline) + 1 : 0;

	if (cmdlen > LOADER_CMDLINE_MAX)
		return loader_fail(c, -E2BIG,
				   "command line of %zu bytes exceeds %llu",
				   cmdlen, LOADER_CMDLINE_MAX);

	n = loader_build_mmap(c->ram, mmap);
	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV |
		    MULTIBOOT_INFO_MODS | MULTIBOOT_INFO_MMAP |
		    MULTIBOOT_INFO_LOADER;
	mbi.mem_lower = 0x9fc00 / 1024;
	mbi.mem_upper = (guest_ram_low_size(c->ram) - 0x100000) / 1024;
	mbi.boot_device = 0x8000ffff;	/* as QEMU: first BIOS disk */
	mbi.mods_count = 0;
	mbi.mods_addr = LOADER_INFO_END;
	mbi.mmap_length = n * sizeof(mmap[0]);
	mbi.mmap_addr = LOADER_MMAP_ADDR;
	mbi.boot_loader_name = LOADER_NAME_ADDR;
	if (cmdline) {
		mbi.flags |= MULTIBOOT_INFO_CMDLINE;
		mbi.cmdline = LOADER_CMDLINE_ADDR;
	}

	if (guest_ram_clear(c->ram, LOADER_INFO_AREA,
			    LOADER_INFO_END - LOADER_INFO_AREA) ||
	    guest_ram_write(c->ram, LOADER_MMAP_ADDR, mmap, mbi.mmap_length) ||
	    guest_ram_write(c->ram, LOADER_MBI_ADDR, &mbi, sizeof(mbi)) ||
	    guest_ram_write(c->ram, LOADER_NAME_ADDR, name, sizeof(name)) ||
	    guest_ram_write(c->ram, LOADER_CMDLINE_ADDR, cmdline, cmdlen))
		return loader_fail(c, -EFAULT,
				   "guest RAM too small for the boot information");
	return 0;
}

int loader_multiboot(const struct guest_ram *ram, const void *image,
		     size_t size, const char *cmdline, struct loader_boot *boot,
		     char *err, size_t errlen)
{
	struct loader_ctx c = {
		.ram = ram, .image = image, .size = size,
		.err = err, .errlen = errlen,
	};
	gpa_t lo = UINT64_MAX, hi = 0;
	struct mb_header h;
	unsigned int i;
	long off;
	int ret;

	if (errlen)
		err[0] = '\0';
	off = loader_find_header(&c, &h);
	if (off < 0)
		return -ENOEXEC;
	if (h.flags & 0xffff & ~MULTIBOOT_KNOWN_FLAGS)
		return loader_fail(&c, -ENOEXEC,
				   "multiboot header requires unsupported features (flags 0x%x)",
				   h.flags);

	if (h.flags & MULTIBOOT_AOUT_KLUDGE)
		ret = loader_parse_aout(&c, &h, off);
	else
		ret = loader_parse_elf(&c);
	if (ret)
		return ret;

	for (i = 0; i < c.nr_seg; i++) {
		const struct loader_segment *s = &c.seg[i];
		char what[32];

		snprintf(what, sizeof(what), "segment %u", i);
		ret = loader_check_range(&c, what, s->gpa, s->memsz);
		if (ret)
			return ret;
		lo = min_t(gpa_t, lo, s->gpa);
		hi = max_t(gpa_t, hi, s->gpa + s->memsz);
	}
	if (!guest_ram_contains(ram, c.entry, 1))
		return loader_fail(&c, -EFAULT,
				   "entry point 0x%x is outside guest RAM", c.entry);

	ret = loader_write_info(&c, cmdline);
	if (ret)
		return ret;
	for (i = 0; i < c.nr_seg; i++) {
		const struct loader_segment *s = &c.seg[i];

		/* ranges were checked above: these cannot fail */
		if (guest_ram_write(ram, s->gpa, c.image + s->offset,
				    s->filesz) ||
		    guest_ram_clear(ram, s->gpa + s->filesz,
				    s->memsz - s->filesz))
			return loader_fail(&c, -EFAULT, "segment %u: write failed", i);
	}

	boot->entry = c.entry;
	boot->eax = MULTIBOOT_BOOT_MAGIC;
	boot->ebx = LOADER_MBI_ADDR;
	boot->image_start = lo;
	boot->image_end = hi;
	return 0;
}

int loader_load_file(const struct guest_ram *ram, const char *path,
		     const char *append, struct loader_boot *boot)
{
	char *cmdline = NULL;
	char err[256];
	struct stat st;
	void *buf = NULL;
	size_t done = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		pr_err("%s: %s", path, strerror(errno));
		goto err_close;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > LOADER_MAX_IMAGE) {
		ret = -EINVAL;
		pr_err("%s: not a regular file of at most %llu bytes", path,
		       LOADER_MAX_IMAGE);
		goto err_close;
	}
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		pr_err("%s: %s", path, strerror(ENOMEM));
		goto err_close;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, (char *)buf + done, st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			pr_err("%s: read: %s", path, strerror(-ret));
			goto err_free;
		}
		done += n;
	}

	if (asprintf(&cmdline, "%s %s", path, append ? append : "") < 0) {
		cmdline = NULL;
		ret = -ENOMEM;
		pr_err("%s: %s", path, strerror(ENOMEM));
		goto err_free;
	}
	ret = loader_multiboot(ram, buf, done, cmdline, boot, err, sizeof(err));
	if (ret)
		pr_err("%s: cannot boot: %s", path, err);
	else
		pr_debug("%s: loaded [0x%llx-0x%llx), entry 0x%x", path,
			 (unsigned long long)boot->image_start,
			 (unsigned long long)boot->image_end, boot->entry);
err_free:
	free(cmdline);
	free(buf);
err_close:
	close(fd);
	return ret;
}

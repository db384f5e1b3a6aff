/*
 * Multiboot v1 loader: places an ELF32 (or a.out-kludge) kernel image in
 * guest RAM the way QEMU's -kernel does, writes the multiboot information
 * structure and memory map at QEMU's addresses, and returns the register
 * state the BSP must start with.  It only touches guest RAM through
 * vmm/guest_ram.h, so it runs (and is tested) without KVM.  The Linux boot
 * protocol will get its own file next to this one.
 */
#ifndef NUMAVM_VMM_LOADER_H
#define NUMAVM_VMM_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "types.h"
#include "vmm/guest_ram.h"

#define MULTIBOOT_HEADER_MAGIC	0x1BADB002
#define MULTIBOOT_BOOT_MAGIC	0x2BADB002	/* in EAX at the entry point */
#define MULTIBOOT_SEARCH	8192		/* header lies in the first 8 KiB */

/* Header flags */
#define MULTIBOOT_PAGE_ALIGN	(1U << 0)
#define MULTIBOOT_MEMORY_INFO	(1U << 1)
#define MULTIBOOT_VIDEO_MODE	(1U << 2)
#define MULTIBOOT_AOUT_KLUDGE	(1U << 16)

/* Info flags */
#define MULTIBOOT_INFO_MEMORY	(1U << 0)
#define MULTIBOOT_INFO_BOOTDEV	(1U << 1)
#define MULTIBOOT_INFO_CMDLINE	(1U << 2)
#define MULTIBOOT_INFO_MODS	(1U << 3)
#define MULTIBOOT_INFO_MMAP	(1U << 6)
#define MULTIBOOT_INFO_LOADER	(1U << 9)

/* Where the boot information lives (QEMU's layout, below 640 KiB) */
#define LOADER_INFO_AREA	0x9000ULL	/* start of the reserved area */
#define LOADER_MMAP_ADDR	0x9000ULL	/* memory map entries */
#define LOADER_MBI_ADDR		0x9500ULL	/* struct multiboot_info */
#define LOADER_NAME_ADDR	0x9580ULL	/* "numavm\0" */
#define LOADER_CMDLINE_ADDR	0x9600ULL	/* command line */
#define LOADER_INFO_END		0xa000ULL	/* end of the reserved area */
#define LOADER_CMDLINE_MAX	(LOADER_INFO_END - LOADER_CMDLINE_ADDR)

#define MULTIBOOT_MEMORY_AVAILABLE	1
#define MULTIBOOT_MEMORY_RESERVED	2

/* The multiboot information structure (the fields we fill) */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB from 0 */
	uint32_t mem_upper;		/* KiB from 1 MiB to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;		/* bytes */
	uint32_t mmap_addr;
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_info) == 88, "multiboot_info size");

/* One memory map entry; size counts the bytes after itself (20) */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct multiboot_mmap_entry) == 24, "mmap entry size");

/* What the BSP starts with (32-bit protected mode, paging off) */
struct loader_boot {
	uint32_t entry;		/* EIP */
	uint32_t eax;		/* MULTIBOOT_BOOT_MAGIC */
	uint32_t ebx;		/* gpa of struct multiboot_info */
	gpa_t image_start;	/* lowest loaded byte */
	gpa_t image_end;	/* one past the highest (bss included) */
};

/*
 * loader_multiboot - load the multiboot image @image (@size bytes) into
 * @ram, write the boot information (memory map from @ram, @cmdline, may be
 * NULL) and fill @boot.  On error returns -ENOEXEC (not a loadable multiboot
 * image: no or bad header, unsupported flags, ELF64, truncated, ...),
 * -EFAULT (a segment or the entry point is outside guest RAM or overlaps
 * the boot information area) or -E2BIG (@cmdline too long), with a
 * one-line reason in @err (@errlen bytes); guest RAM may then be partly
 * written.
 */
int loader_multiboot(const struct guest_ram *ram, const void *image,
		     size_t size, const char *cmdline, struct loader_boot *boot,
		     char *err, size_t errlen) __must_check;

/*
 * loader_load_file - read @path and loader_multiboot() it.  The command
 * line is "@path @append" as QEMU builds it ("@path " when @append is
 * NULL).  Reports what failed (pr_err) and returns -errno.
 */
int loader_load_file(const struct guest_ram *ram, const char *path,
		     const char *append, struct loader_boot *boot) __must_check;

#endif /* NUMAVM_VMM_LOADER_H */

/*
 * The guest runtime's fixed memory layout and the constants shared by the
 * assembly entry code (cstart64.S) and the C runtime.  Only #defines: this
 * header is included from .S files.
 *
 *   0x00000000 - 0x00007fff  real-mode IVT/BDA, untouched
 *   0x00008000 - 0x00008fff  AP startup trampoline (copied there by smp_init)
 *   0x00009000 - 0x00009fff  multiboot info, memory map, cmdline (numavm and
 *                            QEMU); copied into the image at boot
 *   0x00100000 -             the image (text, data, page tables, bss)
 *   end of image -           page allocator (AP stacks, test buffers)
 *   0xfe000000 - 0xffffffff  MMIO (IOAPIC, LAPIC): mapped uncached
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define GUEST_LOAD_ADDR		0x100000	/* link address of the image */
#define SIPI_BASE		0x8000		/* AP trampoline, page aligned */
#define SIPI_VECTOR		(SIPI_BASE >> 12)

#define BOOT_STACK_SIZE		16384
#define AP_STACK_SIZE		16384

#define SEL_CODE32		0x08
#define SEL_DATA		0x10
#define SEL_CODE64		0x18

#define SMP_WAKE_VECTOR		0x20		/* IPI that wakes an idle AP */
#define SMP_MAX_CPUS		64		/* == NV_MAX_VCPUS */

#define APIC_BASE		0xfee00000
#define MMIO_UC_START		0xfe000000	/* mapped PCD|PWT from here up */

#endif /* GUEST_LAYOUT_H */

/*
 * Boot path of the guest runtime.  A multiboot v1 loader (QEMU's -kernel or
 * numavm) enters mb_entry in 32-bit protected mode with paging off, EAX =
 * 0x2BADB002 and EBX = the multiboot info.  We load our GDT, switch to long
 * mode on identity page tables built at assembly time (4 GiB in 2 MiB pages,
 * the MMIO top 32 MiB uncached) and call runtime_start() in C on the boot
 * stack.  Application processors start in the real-mode trampoline that
 * smp_init() copies to SIPI_BASE, go through the same long-mode switch, pick
 * a CPU number and a stack, and call smp_ap_main().  Exception and wake-up
 * IPI entry stubs live here too.
 */
#include "layout.h"

#define MB_HEADER_MAGIC	0x1BADB002
#define MB_HEADER_FLAGS	0x00000003	/* page-align modules, want memory info */

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_PWT		0x008
#define PTE_PCD		0x010
#define PTE_PS		0x080

	.section .multiboot, "a"
	.balign 4
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)

/* Identity map of the first 4 GiB: one PML4 entry, four PDPT entries. */
	.section .data
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + (PTE_P | PTE_W)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + (PTE_P | PTE_W)
	.quad pd + 0x1000 + (PTE_P | PTE_W)
	.quad pd + 0x2000 + (PTE_P | PTE_W)
	.quad pd + 0x3000 + (PTE_P | PTE_W)
	.fill 508, 8, 0
pd:
	i = 0
	.rept 2048
	.if (i << 21) >= MMIO_UC_START
	.quad (i << 21) | (PTE_P | PTE_W | PTE_PS | PTE_PWT | PTE_PCD)
	.else
	.quad (i << 21) | (PTE_P | PTE_W | PTE_PS)
	.endif
	i = i + 1
	.endr

	.balign 16
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* SEL_CODE32 */
	.quad 0x00cf92000000ffff	/* SEL_DATA */
	.quad 0x00af9a000000ffff	/* SEL_CODE64 */
gdt_end:
	.balign 8
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl mb_magic, mb_info
mb_magic:
	.long 0
mb_info:
	.long 0

/* Entry points of the exception stubs, read by idt_init(). */
	.globl exc_stubs
	.balign 8
exc_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad exc_stub_\n
	.endr

	.section .bss
	.balign 16
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:

/* Paging on, long mode on, far jump to 64-bit code at \target. */
.macro ENTER_LONG target
	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3
	mov	$MSR_EFER, %ecx
	rdmsr
	or	$EFER_LME, %eax
	wrmsr
	mov	%cr0, %eax
	or	$(CR0_PG | CR0_PE), %eax
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $\target
.endm

.macro LOAD_DATA_SEGS
	mov	$SEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
.endm

	.section .text
	.code32
	.globl mb_entry
mb_entry:
	cli
	cld
	mov	%eax, mb_magic
	mov	%ebx, mb_info
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	LOAD_DATA_SEGS
	mov	$boot_stack_top, %esp
	ENTER_LONG start64

/* APs arrive here from the trampoline, in protected mode on our GDT. */
ap_start32:
	LOAD_DATA_SEGS
	ENTER_LONG ap_start64

	.code64
start64:
	LOAD_DATA_SEGS
	mov	$boot_stack_top, %rsp
	xor	%ebp, %ebp
	mov	mb_magic, %edi
	mov	mb_info, %esi
	call	runtime_start
	jmp	park

/*
 * Every AP takes the next CPU number (1, 2, ...) and that number's stack,
 * prepared by smp_init().  An AP with no stack (more APs than announced)
 * parks forever.
 */
ap_start64:
	LOAD_DATA_SEGS
	mov	$1, %eax
	lock xaddl %eax, smp_next_id
	cmp	$SMP_MAX_CPUS, %eax
	jae	park
	mov	smp_ap_stacks(, %rax, 8), %rsp
	test	%rsp, %rsp
	jz	park
	xor	%ebp, %ebp
	mov	%eax, %edi
	call	smp_ap_main
park:
	cli
	hlt
	jmp	park

/* Exceptions: push a dummy error code where the CPU pushes none. */
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.balign 16
exc_stub_\n:
	.if (\n == 8) || (\n == 10) || (\n == 11) || (\n == 12) || (\n == 13) || (\n == 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	pushq	$0
	.endif
	pushq	$\n
	jmp	exc_common
	.endr

/* Builds a struct ex_regs on the stack (see processor.h). */
exc_common:
	push	%rax
	push	%rbx
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%rbp
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	call	do_exception
	jmp	park

/* The wake-up IPI only needs to end the HLT: acknowledge it and return. */
	.globl smp_wake_stub
	.balign 16
smp_wake_stub:
	push	%rax
	mov	$(APIC_BASE + 0xb0), %eax
	movl	$0, (%rax)
	pop	%rax
	iretq

/*
 * AP trampoline, copied to SIPI_BASE: the SIPI starts it in real mode at
 * CS:IP = (SIPI_BASE >> 4):0.  It loads our GDT and jumps to ap_start32.
 */
	.code16
	.globl sipi_start, sipi_end
sipi_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	SIPI_BASE + (sipi_gdt_desc - sipi_start)
	mov	%cr0, %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $ap_start32
	.balign 8
sipi_gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt
sipi_end:

	.section .note.GNU-stack, "", @progbits

/*
 * Runtime start-up and shutdown: runtime_start() brings the BSP from the
 * assembly entry to main(), exit() ends the run through the isa-debug-exit
 * compatible port, and unexpected exceptions are printed with their
 * registers instead of becoming silent triple faults.
 */
#include "bootinfo.h"
#include "hcall.h"
#include "layout.h"
#include "libcflat.h"
#include "processor.h"
#include "setup.h"
#include "smp.h"

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;		/* 0x8e: present, DPL 0, interrupt gate */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "idt entry");

static struct idt_entry idt[256] __aligned(16);

extern const uint64_t exc_stubs[32];
extern char smp_wake_stub[];

static void idt_set(int vec, uint64_t handler)
{
	idt[vec] = (struct idt_entry){
		.off_lo = handler & 0xffff,
		.sel = SEL_CODE64,
		.type = 0x8e,
		.off_mid = (handler >> 16) & 0xffff,
		.off_hi = handler >> 32,
	};
}

static void idt_init(void)
{
	int i;

	for (i = 0; i < 32; i++)
		idt_set(i, exc_stubs[i]);
	idt_set(SMP_WAKE_VECTOR, (uintptr_t)smp_wake_stub);
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) desc = { sizeof(idt) - 1, (uintptr_t)idt };

	asm volatile("lidt %0" : : "m"(desc));
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09",
	"#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
	"#VE", "#CP",
};

void do_exception(struct ex_regs *r)
{
	uint64_t cr2;
	const char *name = r->vector < 32 ? exc_names[r->vector] : NULL;

	asm volatile("mov %%cr2, %0" : "=r"(cr2));
	printf("CPU %d: unhandled exception %lu (%s) error 0x%lx\n", smp_id(),
	       r->vector, name ? name : "?", r->error_code);
	printf("  rip %016lx cs %04lx rflags %08lx rsp %016lx cr2 %016lx\n",
	       r->rip, r->cs, r->rflags, r->rsp, cr2);
	printf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", r->rax,
	       r->rbx, r->rcx, r->rdx);
	printf("  rsi %016lx rdi %016lx rbp %016lx\n", r->rsi, r->rdi, r->rbp);
	exit(EXIT_EXCEPTION);
}

void exit(int code)
{
	irq_disable();
	outl((uint32_t)code, NV_EXIT_PORT);
	/* still here: no debug-exit device; numavm's call, then stop */
	if (nv_present())
		nv_exit((uint32_t)code);
	for (;;)
		asm volatile("cli; hlt");
}

void abort(void)
{
	printf("abort() on CPU %d\n", smp_id());
	exit(EXIT_ABORT);
}

void runtime_start(uint32_t magic, uint32_t mbi)
{
	serial_init();
	bootinfo_init(magic, mbi);
	idt_init();
	idt_load();
	smp_init();
	exit(main(boot_argc, boot_argv));
}

/*
 * AP bring-up and cross-CPU calls (see smp.h).  The BSP copies the
 * real-mode trampoline to SIPI_BASE, gives each expected AP a stack in
 * smp_ap_stacks[], and broadcasts INIT then STARTUP to all but itself.
 * Each AP takes its number from smp_next_id (cstart64.S), enters
 * smp_ap_main() and idles in HLT with interrupts enabled only inside the
 * STI shadow; on_cpu_async() posts a function in the target's per-CPU
 * mailbox and sends SMP_WAKE_VECTOR to its APIC id.
 */
#include "apic.h"
#include "bootinfo.h"
#include "fwcfg.h"
#include "hcall.h"
#include "libcflat.h"
#include "processor.h"
#include "setup.h"
#include "smp.h"

struct percpu {
	uint32_t id;			/* must stay first: smp_id() reads %gs:0 */
	uint32_t apic_id;
	void (*volatile fn)(void *);	/* posted work, NULL when idle */
	void *volatile arg;
} __cacheline_aligned;

_Static_assert(SMP_MAX_CPUS == NV_MAX_VCPUS, "one CPU slot per numavm vCPU");

static struct percpu percpu[SMP_MAX_CPUS];
static int nr_online = 1;
static int nr_expected = 1;

/* Read by ap_start64 in cstart64.S */
uint32_t smp_next_id = 1;
uint64_t smp_ap_stacks[SMP_MAX_CPUS];

extern char sipi_start[], sipi_end[];

void smp_ap_main(uint32_t id);

int smp_id(void)
{
	uint32_t id;

	asm volatile("movl %%gs:0, %0" : "=r"(id));
	return id;
}

int cpu_count(void)
{
	return __atomic_load_n(&nr_online, __ATOMIC_ACQUIRE);
}

int cpu_expected(void)
{
	return nr_expected;
}

uint32_t cpu_apic_id(int cpu)
{
	return percpu[cpu].apic_id;
}

static void percpu_init(uint32_t id)
{
	percpu[id].id = id;
	percpu[id].apic_id = apic_id();
	wrmsr(MSR_GS_BASE, (uintptr_t)&percpu[id]);
}

/* How many CPUs the platform has: numavm's topology, else fw_cfg. */
static int smp_probe_cpus(void)
{
	struct nv_topology topo __aligned(64);
	int n = 1;

	if (nv_present()) {
		if (nv_topology(&topo) == 0)
			n = topo.nr_vcpus;
	} else if (fwcfg_present()) {
		n = (int)fwcfg_get(FW_CFG_NB_CPUS, 2);
	}
	if (n < 1)
		n = 1;
	if (n > SMP_MAX_CPUS) {
		printf("smp: %d CPUs, using the first %d\n", n, SMP_MAX_CPUS);
		n = SMP_MAX_CPUS;
	}
	return n;
}

void smp_ap_main(uint32_t id)
{
	struct percpu *pc = &percpu[id];

	percpu_init(id);
	idt_load();
	apic_enable();
	__atomic_add_fetch(&nr_online, 1, __ATOMIC_RELEASE);
	for (;;) {
		void (*fn)(void *);

		irq_disable();
		fn = __atomic_load_n(&pc->fn, __ATOMIC_ACQUIRE);
		if (!fn) {
			safe_halt();
			continue;
		}
		fn(pc->arg);
		__atomic_store_n(&pc->fn, NULL, __ATOMIC_RELEASE);
	}
}

static bool wait_online(int n, uint64_t cycles)
{
	uint64_t t0 = rdtsc();

	while (cpu_count() < n)
		if (rdtsc() - t0 > cycles)
			return false;
		else
			cpu_relax();
	return true;
}

void smp_init(void)
{
	int i;

	percpu_init(0);
	apic_enable();
	nr_expected = smp_probe_cpus();
	if (nr_expected == 1)
		return;
	memcpy((void *)SIPI_BASE, sipi_start, sipi_end - sipi_start);
	for (i = 1; i < nr_expected; i++)
		smp_ap_stacks[i] = (uintptr_t)alloc_pages(AP_STACK_SIZE /
							  PAGE_SIZE) +
				   AP_STACK_SIZE;
	apic_icr_write(APIC_DEST_ALLBUT | APIC_DM_INIT | APIC_LEVEL_ASSERT, 0);
	apic_icr_write(APIC_DEST_ALLBUT | APIC_DM_STARTUP | SIPI_VECTOR, 0);
	/* A few billion cycles: seconds, whatever the TSC rate */
	if (wait_online(nr_expected, 1ULL << 31))
		return;
	apic_icr_write(APIC_DEST_ALLBUT | APIC_DM_STARTUP | SIPI_VECTOR, 0);
	if (!wait_online(nr_expected, 1ULL << 33))
		printf("smp: only %d of %d CPUs came up\n", cpu_count(),
		       nr_expected);
}

void on_cpu_async(int cpu, void (*fn)(void *), void *arg)
{
	struct percpu *pc = &percpu[cpu];

	assert(cpu > 0 && cpu < cpu_count() && cpu != smp_id());
	on_cpu_wait(cpu);
	pc->arg = arg;
	__atomic_store_n(&pc->fn, fn, __ATOMIC_RELEASE);
	apic_icr_write(APIC_DM_FIXED | SMP_WAKE_VECTOR, pc->apic_id);
}

void on_cpu_wait(int cpu)
{
	while (__atomic_load_n(&percpu[cpu].fn, __ATOMIC_ACQUIRE))
		cpu_relax();
}

void on_cpu(int cpu, void (*fn)(void *), void *arg)
{
	if (cpu == smp_id()) {
		fn(arg);
		return;
	}
	on_cpu_async(cpu, fn, arg);
	on_cpu_wait(cpu);
}

void on_cpus(void (*fn)(void *), void *arg)
{
	int self = smp_id(), n = cpu_count(), i;

	for (i = 0; i < n; i++)
		if (i != self)
			on_cpu_async(i, fn, arg);
	fn(arg);
	for (i = 0; i < n; i++)
		if (i != self)
			on_cpu_wait(i);
}

static unsigned int barrier_count;
static unsigned int barrier_gen;

void smp_barrier(void)
{
	unsigned int gen = __atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&barrier_count, 1, __ATOMIC_ACQ_REL) ==
	    (unsigned int)cpu_count()) {
		__atomic_store_n(&barrier_count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&barrier_gen, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&barrier_gen, __ATOMIC_ACQUIRE) == gen)
		cpu_relax();
}

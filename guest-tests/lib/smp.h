/*
 * SMP for guest tests: the BSP starts every AP at boot (INIT-SIPI-SIPI to
 * all but self through the xAPIC); APs then sleep in HLT and run functions
 * handed to them with on_cpu()/on_cpus(), woken by an IPI.  CPU numbers are
 * dense, 0 (the BSP) .. cpu_count() - 1, in the order the APs arrived;
 * cpu_apic_id() maps them to APIC ids.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

struct spinlock {
	volatile int v;
};

static inline void spin_lock(struct spinlock *l)
{
	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (l->v)
			asm volatile("pause" : : : "memory");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* This CPU's number (read from the per-CPU area through GS). */
int smp_id(void);
/* Number of CPUs online (BSP included). */
int cpu_count(void);
/* Number of CPUs the platform announced (fw_cfg or topology hypercall). */
int cpu_expected(void);
uint32_t cpu_apic_id(int cpu);

/*
 * Bring up the APs.  Called once by runtime_start() before main(); waits a
 * bounded time for them and prints a line if some did not arrive.
 */
void smp_init(void);

/* Run fn(arg) on @cpu and wait for it to return (on self: just call it). */
void on_cpu(int cpu, void (*fn)(void *), void *arg);
/* Start fn(arg) on @cpu (not self) and return at once. */
void on_cpu_async(int cpu, void (*fn)(void *), void *arg);
/* Run fn(arg) on every online CPU, the caller included; wait for all. */
void on_cpus(void (*fn)(void *), void *arg);
/* Wait until @cpu has finished what on_cpu_async() gave it. */
void on_cpu_wait(int cpu);

/*
 * Rendezvous of every online CPU: returns once cpu_count() CPUs have
 * called it.  Use only when every CPU runs the caller (inside on_cpus()).
 */
void smp_barrier(void);

#endif /* GUEST_SMP_H */

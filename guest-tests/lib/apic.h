/*
 * The local xAPIC at APIC_BASE (mapped uncached): enable, identify, and
 * send IPIs.  Only what SMP bring-up and wake-ups need.
 */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdint.h>

#include "layout.h"

#define APIC_ID		0x020
#define APIC_EOI	0x0b0
#define APIC_SVR	0x0f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310

#define APIC_SVR_ENABLE		0x100
#define APIC_ICR_BUSY		(1U << 12)
#define APIC_DM_FIXED		0x000
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_LEVEL_ASSERT	0x4000
#define APIC_DEST_ALLBUT	0xc0000

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(APIC_BASE + reg);
}

static inline void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(APIC_BASE + reg) = v;
}

static inline uint32_t apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

/* Software-enable this CPU's APIC (spurious vector 0xff). */
void apic_enable(void);
/* Write ICR (high, then low which sends) once the previous IPI left. */
void apic_icr_write(uint32_t lo, uint32_t dest_apic_id);

#endif /* GUEST_APIC_H */

/*
 * Local xAPIC helpers (see apic.h).
 */
#include "apic.h"
#include "processor.h"

void apic_enable(void)
{
	apic_write(APIC_SVR, APIC_SVR_ENABLE | 0xff);
}

void apic_icr_write(uint32_t lo, uint32_t dest_apic_id)
{
	while (apic_read(APIC_ICR_LO) & APIC_ICR_BUSY)
		cpu_relax();
	apic_write(APIC_ICR_HI, dest_apic_id << 24);
	apic_write(APIC_ICR_LO, lo);
}

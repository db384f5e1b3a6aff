/*
 * Timing helpers on the TSC.  tsc_khz() finds the TSC rate once (CPUID
 * leaves 0x40000010 and 0x15, then kvmclock's scale under KVM, then a 10 ms
 * PIT channel 2 calibration when not under numavm, then CPUID 0x16) and
 * returns 0 when it is unknown: tests then print cycles only.
 */
#ifndef GUEST_TIMING_H
#define GUEST_TIMING_H

#include <stdint.h>

#include "processor.h"

uint64_t tsc_khz(void);
/* Source of the tsc_khz() figure ("cpuid-hv", "cpuid-15", "pit", ...) */
const char *tsc_khz_source(void);
/* @cycles in ns, or 0 if the rate is unknown. */
uint64_t cycles_to_ns(uint64_t cycles);
/* @count events in @cycles as events per second, or 0 if unknown. */
uint64_t per_second(uint64_t count, uint64_t cycles);

#endif /* GUEST_TIMING_H */

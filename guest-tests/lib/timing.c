/*
 * TSC rate discovery and conversions (see timing.h).
 */
#include "hcall.h"
#include "libcflat.h"
#include "timing.h"

#define PIT_CH2		0x42
#define PIT_CMD		0x43
#define PIT_GATE	0x61
#define PIT_HZ		1193182
#define PIT_MS		10

static uint64_t khz;
static const char *khz_src;

/* Mode 0 on channel 2: OUT2 (port 0x61 bit 5) rises after PIT_MS ms. */
static uint64_t pit_calibrate(void)
{
	const uint16_t latch = PIT_HZ / (1000 / PIT_MS);
	uint64_t t0, t1;
	unsigned long spin = 0;
	uint8_t gate;

	gate = inb(PIT_GATE);
	if (gate == 0xff)
		return 0;	/* nothing behind the port */
	outb((gate & ~0x02) | 0x01, PIT_GATE);
	outb(0xb0, PIT_CMD);
	outb(latch & 0xff, PIT_CH2);
	outb(latch >> 8, PIT_CH2);
	if (inb(PIT_GATE) & 0x20)
		return 0;	/* OUT2 should be low while counting */
	t0 = rdtsc();
	while (!(inb(PIT_GATE) & 0x20))
		if (++spin > 100000000UL)
			return 0;
	t1 = rdtsc();
	outb(gate, PIT_GATE);
	return (t1 - t0) / PIT_MS;
}

uint64_t tsc_khz(void)
{
	struct cpuid c;

	if (khz_src)
		return khz;
	khz_src = "unknown";
	if ((cpuid(1).c & (1U << 31)) && cpuid(0x40000000).a >= 0x40000010 &&
	    (c = cpuid(0x40000010)).a) {
		khz_src = "cpuid-0x40000010";
		return khz = c.a;
	}
	if (cpuid(0).a >= 0x15) {
		c = cpuid(0x15);
		if (c.a && c.b && c.c) {
			khz_src = "cpuid-0x15";
			return khz = (uint64_t)c.c * c.b / c.a / 1000;
		}
	}
	if (!nv_present() && (khz = pit_calibrate())) {
		khz_src = "pit";
		return khz;
	}
	if (cpuid(0).a >= 0x16 && (c = cpuid(0x16)).a) {
		khz_src = "cpuid-0x16";
		return khz = (uint64_t)c.a * 1000;
	}
	return khz = 0;
}

const char *tsc_khz_source(void)
{
	tsc_khz();
	return khz_src;
}

uint64_t cycles_to_ns(uint64_t cycles)
{
	uint64_t k = tsc_khz();

	return k ? cycles * 1000000 / k : 0;
}

uint64_t per_second(uint64_t count, uint64_t cycles)
{
	uint64_t k = tsc_khz();

	return k && cycles ? count * k * 1000 / cycles : 0;
}

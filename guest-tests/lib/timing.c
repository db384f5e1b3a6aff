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

#define KVM_SIGNATURE_EBX	0x4b4d564b	/* "KVMKVMKVM\0\0\0" */
#define KVM_SIGNATURE_ECX	0x564b4d56
#define KVM_SIGNATURE_EDX	0x0000004d
#define KVM_FEATURE_CLOCKSOURCE	(1U << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1U << 3)
#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_KVM_SYSTEM_TIME_NEW	0x4b564d01

/* KVM's per-vCPU clock page (Documentation/virt/kvm/x86/msr.rst) */
struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

static uint64_t khz;
static const char *khz_src;
static struct pvclock_vcpu_time_info pvclock __aligned(64);

static bool hypervisor_present(void)
{
	return cpuid(1).c & (1U << 31);
}

/*
 * Under KVM (numavm, or QEMU -accel kvm), kvmclock's scale factor is the
 * TSC rate: ns = ((cycles << shift) * mul) >> 32.  Enabled just long
 * enough to read it.
 */
static uint64_t kvmclock_khz(void)
{
	struct cpuid sig = cpuid(0x40000000);
	uint32_t features, msr, version, mul;
	int8_t shift;
	unsigned long spin = 0;
	uint64_t k;

	if (sig.b != KVM_SIGNATURE_EBX || sig.c != KVM_SIGNATURE_ECX ||
	    sig.d != KVM_SIGNATURE_EDX || sig.a < 0x40000001)
		return 0;
	features = cpuid(0x40000001).a;
	if (features & KVM_FEATURE_CLOCKSOURCE2)
		msr = MSR_KVM_SYSTEM_TIME_NEW;
	else if (features & KVM_FEATURE_CLOCKSOURCE)
		msr = MSR_KVM_SYSTEM_TIME;
	else
		return 0;
	memset(&pvclock, 0, sizeof(pvclock));
	wrmsr(msr, (uintptr_t)&pvclock | 1);
	do {
		version = READ_ONCE(pvclock.version);
		barrier();
		mul = pvclock.tsc_to_system_mul;
		shift = pvclock.tsc_shift;
		barrier();
	} while (((version & 1) || !version ||
		  version != READ_ONCE(pvclock.version)) && ++spin < 10000000);
	wrmsr(msr, 0);
	if (!mul || (version & 1) || !version)
		return 0;
	k = (1000000ULL << 32) / mul;
	return shift >= 0 ? k >> shift : k << -shift;
}

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
	if (hypervisor_present() && cpuid(0x40000000).a >= 0x40000010 &&
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
	if (hypervisor_present() && (khz = kvmclock_khz())) {
		khz_src = "kvmclock";
		return khz;
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

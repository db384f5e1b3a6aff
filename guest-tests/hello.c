/*
 * Boot and print: the smallest guest.  Checks what the boot path promises
 * (multiboot magic, long mode on our identity page tables, a memory map)
 * and that the runtime's printf formats correctly, then exits with PASS.
 */
#include "bootinfo.h"
#include "hcall.h"
#include "libcflat.h"
#include "processor.h"

extern char pml4[];

static void check_format(const char *want, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	report(!strcmp(buf, want), "printf \"%s\" -> \"%s\"", fmt, buf);
}

int main(int argc, char **argv)
{
	int i;

	printf("hello from the numavm guest runtime (loader \"%s\", %s)\n",
	       bootinfo.loader, nv_present() ? "numavm" : "not numavm");
	for (i = 0; i < argc; i++)
		printf("argv[%d] = \"%s\"\n", i, argv[i]);
	for (i = 0; i < bootinfo.nr_regions; i++)
		printf("mem [0x%09lx-0x%09lx) type %u\n",
		       bootinfo.region[i].base,
		       bootinfo.region[i].base + bootinfo.region[i].len,
		       bootinfo.region[i].type);

	report(bootinfo.magic == MULTIBOOT_BOOT_MAGIC,
	       "multiboot magic 0x%x", bootinfo.magic);
	report(rdmsr(MSR_EFER) & EFER_LMA, "long mode active");
	report((read_cr0() & 0x80000001) == 0x80000001 &&
	       read_cr3() == (uintptr_t)pml4,
	       "paging on with the identity tables (cr3 0x%lx)", read_cr3());
	report(bootinfo.nr_regions > 0 && mem_total() >= 16 * MiB,
	       "memory map: %d regions, %lu MiB available",
	       bootinfo.nr_regions, mem_total() / MiB);

	check_format("42 -7 ff FF 0x1000", "%d %i %x %X %p", 42, -7, 255,
		     255, (void *)0x1000);
	check_format("[  abc][abc  ][0042][  -5]", "[%5s][%-5s][%04d][%4d]",
		     "abc", "abc", 42, -5);
	check_format("18446744073709551615 ffffffffffffffff",
		     "%lu %lx", ~0UL, ~0UL);
	check_format("% (null) c", "%% %s %c", (char *)NULL, 'c');
	return report_summary();
}

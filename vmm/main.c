/*
 * numavm's command line: parse the options, then run the VM through the
 * steps of vmm/vm.c in order (init, load, KVM set-up, run, destroy) and
 * exit with the VM's status (enum vm_exit_status in vmm/vm.h).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"

#define DEFAULT_RAM	(128ULL << 20)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: numavm [options] GUEST\n"
		"Run the multiboot image GUEST under KVM; its serial port prints to stdout.\n"
		"\n"
		"  -m SIZE         guest RAM; suffix K, M, G or T (no suffix: MiB, as QEMU);\n"
		"                  2M..1T, a multiple of 4K (default 128M)\n"
		"  -smp N          number of vCPUs, 1..%d (default 1)\n"
		"  -append CMDLINE the guest's command line (after the image path, as QEMU)\n"
		"  --timeout SECS  stop the guest after SECS seconds of wall clock (0: never)\n"
		"  -v, --verbose   more messages (repeat for debug output)\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: the guest's (0..127 from the exit hypercall, odd from the\n"
		"isa-debug-exit port 0xf4), or numavm's own: %d usage, %d no KVM, %d guest\n"
		"image, %d VM set-up, %d guest shutdown/triple fault, %d KVM internal error,\n"
		"%d VM entry failure, %d MMIO outside RAM, %d timeout, %d unexpected exit.\n",
		NUMA_MAX_VCPUS, VM_EXIT_USAGE, VM_EXIT_NO_KVM, VM_EXIT_LOAD,
		VM_EXIT_SETUP, VM_EXIT_SHUTDOWN, VM_EXIT_INTERNAL,
		VM_EXIT_FAIL_ENTRY, VM_EXIT_MMIO, VM_EXIT_TIMEOUT,
		VM_EXIT_UNEXPECTED);
}

static void __noreturn __printf(1, 2) usage_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s", msg);
	fprintf(stderr, "Try 'numavm -h' for more information.\n");
	exit(VM_EXIT_USAGE);
}

/* "512M", "2G", "64" (MiB) -> bytes; 0 on a malformed or overflowing size */
static uint64_t parse_size(const char *s)
{
	unsigned int shift = 20;
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return 0;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return 0;
	}
	if (*end == 'i' || *end == 'B' || *end == 'b')	/* 512MiB, 512MB */
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return 0;
	return (uint64_t)v << shift;
}

static unsigned long parse_uint(const char *opt, const char *s,
				unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
		usage_error("%s '%s': expected an integer in %lu..%lu", opt, s,
			    min, max);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "smp", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "append", required_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg = {
		.ram_size = DEFAULT_RAM,
		.nr_vcpus = 1,
		.serial_fd = STDOUT_FILENO,
	};
	const char *append = NULL;
	struct vm vm;
	int c, ret, status;

	opterr = 0;
	while ((c = getopt_long_only(argc, argv, ":m:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			cfg.ram_size = parse_size(optarg);
			if (cfg.ram_size < GUEST_RAM_MIN ||
			    cfg.ram_size > GUEST_RAM_MAX ||
			    cfg.ram_size % PAGE_SIZE)
				usage_error("-m '%s': expected a size of 2M..1T, a multiple of 4K (e.g. 512M, 2G)",
					    optarg);
			break;
		case 's':
			cfg.nr_vcpus = parse_uint("-smp", optarg, 1,
						  NUMA_MAX_VCPUS);
			break;
		case 't':
			cfg.timeout_s = parse_uint("--timeout", optarg, 0,
						   1000000);
			break;
		case 'a':
			append = optarg;
			break;
		case 'v':
			if (log_level < LOG_DEBUG)
				log_level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			usage_error("option '%s' needs an argument",
				    argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		usage_error("no guest image given");
	if (optind + 1 < argc)
		usage_error("unexpected argument '%s' after the guest image",
			    argv[optind + 1]);

	/* init, load, KVM set-up, run, destroy: see vmm/vm.h */
	ret = vm_init(&vm, &cfg);
	if (ret) {
		status = VM_EXIT_SETUP;
		goto out;
	}
	ret = vm_load(&vm, argv[optind], append);
	if (ret) {
		status = VM_EXIT_LOAD;
		goto out;
	}
	ret = vm_kvm_setup(&vm);
	if (ret) {
		status = vm.kvm.fd < 0 ? VM_EXIT_NO_KVM : VM_EXIT_SETUP;
		goto out;
	}
	status = vm_run(&vm);
	pr_info("guest exited with status %d", status);
out:
	vm_destroy(&vm);
	return status;
}

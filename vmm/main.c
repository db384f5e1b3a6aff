/*
 * numavm's command line: parse it into a struct config (vmm/config.h: a
 * --config file, QEMU-style flags and numavm's options, validated before
 * anything is created), then run the VM through the steps of vmm/vm.c in
 * order (init, load, KVM set-up, run, destroy) and exit with the VM's
 * status (enum vm_exit_status in vmm/vm.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* The built-in guest, next to the numavm binary (the build directory) */
#define DEFAULT_GUEST	"guest-tests/numa-local.elf"

static void usage(FILE *f)
{
	config_usage(f, "numavm");
	fprintf(f,
		"\n"
		"Run the multiboot image GUEST under KVM; its serial port prints to stdout.\n"
		"Guest RAM starts unbacked: every first touch is placed by the faulting\n"
		"vCPU's NUMA policy on a virtual node's host pool (docs/fault.md).\n"
		"Without GUEST (on the command line or as the config's image=) numavm\n"
		"boots its built-in guest, %s in the directory of the numavm\n"
		"binary.  -m defaults to 128M, -smp to 1, one node holding everything.\n"
		"\n"
		"Exit status: the guest's (0..127 from the exit hypercall, odd from the\n"
		"isa-debug-exit port 0xf4), or numavm's own: %d usage or config error,\n"
		"%d no KVM, %d guest image, %d VM set-up, %d guest shutdown/triple fault,\n"
		"%d KVM internal error, %d VM entry failure, %d MMIO outside RAM,\n"
		"%d timeout, %d unexpected exit, %d out of guest memory (oom=stop),\n"
		"%d fault path failure.\n",
		DEFAULT_GUEST, VM_EXIT_USAGE, VM_EXIT_NO_KVM, VM_EXIT_LOAD,
		VM_EXIT_SETUP, VM_EXIT_SHUTDOWN, VM_EXIT_INTERNAL,
		VM_EXIT_FAIL_ENTRY, VM_EXIT_MMIO, VM_EXIT_TIMEOUT,
		VM_EXIT_UNEXPECTED, VM_EXIT_OOM, VM_EXIT_FAULT);
}

/* <directory of /proc/self/exe>/DEFAULT_GUEST into @buf; 0 or -errno */
static int default_guest(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", exe, DEFAULT_GUEST) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int main(int argc, char **argv)
{
	struct vm_config cfg = { .serial_fd = STDOUT_FILENO };
	char err[CONFIG_ERR_LEN];
	struct config *conf;
	struct vm *vm;
	int ret, status;

	conf = malloc(sizeof(*conf));
	vm = malloc(sizeof(*vm));
	if (!conf || !vm) {
		pr_err("%s", strerror(ENOMEM));
		return VM_EXIT_SETUP;
	}
	config_init(conf);
	ret = config_parse_argv(conf, argc, argv, err, sizeof(err));
	if (ret == CONFIG_HELP) {
		usage(stdout);
		status = 0;
		goto out_free;
	}
	if (ret < 0) {
		pr_err("%s", err);
		fprintf(stderr, "Try 'numavm -h' for more information.\n");
		status = VM_EXIT_USAGE;
		goto out_free;
	}
	if (conf->placement && conf->fault_around > VM_MAX_FAULT_AROUND) {
		pr_err("%s: fault-around %u: numavm places at most %d extra pages per fault (an aligned window of %d)",
		       conf->where.fault_around, conf->fault_around,
		       VM_MAX_FAULT_AROUND, VM_MAX_FAULT_AROUND + 1);
		status = VM_EXIT_USAGE;
		goto out_free;
	}
	if (conf->verbose)
		log_level = (enum log_level)min_t(
			int, LOG_DEBUG, (int)log_level + (int)conf->verbose);
	if (!conf->image[0]) {
		ret = default_guest(conf->image, sizeof(conf->image));
		if (ret) {
			pr_err("no guest image given, and the built-in one cannot be found: %s",
			       strerror(-ret));
			status = VM_EXIT_USAGE;
			goto out_free;
		}
		pr_info("no guest image given: booting %s", conf->image);
	}
	cfg.conf = conf;

	/* init, load, KVM set-up, run, destroy: see vmm/vm.h */
	ret = vm_init(vm, &cfg);
	if (ret) {
		status = VM_EXIT_SETUP;
		goto out;
	}
	ret = vm_load(vm, conf->image, conf->cmdline[0] ? conf->cmdline : NULL);
	if (ret) {
		status = vm_stopping(vm) ? vm->exit_status : VM_EXIT_LOAD;
		goto out;
	}
	ret = vm_kvm_setup(vm);
	if (ret) {
		status = vm->kvm.fd < 0 ? VM_EXIT_NO_KVM : VM_EXIT_SETUP;
		goto out;
	}
	status = vm_run(vm);
	pr_info("guest exited with status %d", status);
out:
	vm_destroy(vm);
out_free:
	free(vm);
	free(conf);
	return status;
}

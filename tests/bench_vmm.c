/*
 * Benchmark of the VMM's fixed costs: VM create-to-first-instruction (in
 * process: vm_init, image load, KVM set-up, the first KVM_RUN returning on
 * the guest's first port write) and boot-to-exit of the smallest guest as
 * a process, numavm against QEMU with KVM on the same image, side by side
 * with their ratio.  Prints figures only; never fails on timing.  Without
 * /dev/kvm it says so and measures nothing.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vmm/kvm.h"
#include "vmm/loader.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define RUNS		7
#define RAM_MIB		128

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* The smallest multiboot guest: mov $0,%al; out %al,$0xf4 (status 1). */
static int write_guest(char *path, size_t len)
{
	static const uint8_t code[] = { 0xb0, 0x00, 0xe6, 0xf4, 0xf4 };
	uint8_t img[0x200] = { 0 };
	Elf32_Ehdr *eh = (Elf32_Ehdr *)img;
	Elf32_Phdr *ph = (Elf32_Phdr *)(img + sizeof(*eh));
	uint32_t *mb = (uint32_t *)(img + 0x100);
	size_t size = 0x100 + 12 + sizeof(code);
	int fd;

	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x100000 + 12;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 1;
	ph->p_type = PT_LOAD;
	ph->p_offset = 0x100;
	ph->p_vaddr = ph->p_paddr = 0x100000;
	ph->p_filesz = ph->p_memsz = 12 + sizeof(code);
	ph->p_flags = PF_R | PF_X;
	mb[0] = MULTIBOOT_HEADER_MAGIC;
	mb[1] = MULTIBOOT_MEMORY_INFO;
	mb[2] = -(mb[0] + mb[1]);
	memcpy(img + 0x100 + 12, code, sizeof(code));

	snprintf(path, len, "/tmp/bench_vmm.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return -errno;
	if (write(fd, img, size) != (ssize_t)size) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* In process: create everything, run to the first exit, tear down. */
static int bench_first_instruction(const char *img, double *create_us,
				   double *destroy_us)
{
	struct vm_config cfg = {
		.ram_size = RAM_MIB << 20, .nr_vcpus = 1, .serial_fd = 1,
	};
	struct vm vm;
	double t0, t1, t2;
	int ret;

	t0 = now_us();
	ret = vm_init(&vm, &cfg);
	if (!ret)
		ret = vm_load(&vm, img, NULL);
	if (!ret)
		ret = vm_kvm_setup(&vm);
	if (!ret && (vcpu_run_once(&vm.vcpus[0]) != VCPU_STOP ||
		     vm.exit_status != 1))
		ret = -EPROTO;
	t1 = now_us();
	vm_destroy(&vm);
	t2 = now_us();
	*create_us = t1 - t0;
	*destroy_us = t2 - t1;
	return ret;
}

/* Run @argv to completion; its wall time in us, or -1. */
static double run_process(char *const argv[], int want_status)
{
	double t0 = now_us();
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != want_status)
		return -1;
	return now_us() - t0;
}

int main(void)
{
	char img[64], numavm[PATH_MAX], mem[16];
	double create[RUNS], destroy[RUNS], tn[RUNS], tq[RUNS];
	double n_med, q_med;
	bool have_qemu = true;
	ssize_t n;
	int i;

	printf("bench_vmm: VM create-to-first-instruction and boot-to-exit, numavm vs QEMU/KVM\n");
	if (access(KVM_DEV_PATH, R_OK | W_OK)) {
		printf("bench_vmm: SKIP: no /dev/kvm (%s): nothing to measure\n",
		       strerror(errno));
		return 0;
	}
	if (write_guest(img, sizeof(img))) {
		printf("bench_vmm: cannot write the guest image\n");
		return 1;
	}
	n = readlink("/proc/self/exe", numavm, sizeof(numavm) - 16);
	if (n <= 0)
		return 1;
	numavm[n] = '\0';
	strcpy(strrchr(numavm, '/') + 1, "numavm");
	snprintf(mem, sizeof(mem), "%d", RAM_MIB);

	for (i = 0; i < RUNS; i++) {
		if (bench_first_instruction(img, &create[i], &destroy[i])) {
			printf("bench_vmm: in-process run failed\n");
			unlink(img);
			return 1;
		}
	}
	printf("  create-to-first-instruction (in process, %d MiB, 1 vCPU): median %.0f us, teardown %.0f us (%d runs)\n",
	       RAM_MIB, median(create, RUNS), median(destroy, RUNS), RUNS);

	for (i = 0; i < RUNS; i++) {
		char *const an[] = { numavm, "-m", mem, img, NULL };
		char *const aq[] = { "qemu-system-x86_64", "-accel", "kvm",
				     "-nodefaults", "-display", "none",
				     "-monitor", "none", "-serial", "none",
				     "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
				     "-no-reboot", "-m", mem, "-kernel", img,
				     NULL };

		tn[i] = run_process(an, 1);
		tq[i] = have_qemu ? run_process(aq, 1) : -1;
		if (tn[i] < 0) {
			printf("bench_vmm: numavm run failed\n");
			unlink(img);
			return 1;
		}
		if (tq[i] < 0)
			have_qemu = false;
	}
	n_med = median(tn, RUNS);
	printf("  boot-to-exit, smallest guest, as a process:\n");
	printf("    numavm          %8.1f ms\n", n_med / 1e3);
	if (have_qemu) {
		q_med = median(tq, RUNS);
		printf("    qemu -accel kvm %8.1f ms\n", q_med / 1e3);
		printf("    ratio qemu/numavm %.1fx\n", q_med / n_med);
	} else {
		printf("    qemu -accel kvm: failed to run (not measured)\n");
	}
	unlink(img);
	return 0;
}

/*
 * vCPU creation, boot state and the exit loop, following kvmtool's
 * kvm-cpu.c.  The loop holds no lock: the port table is read-only while
 * vCPUs run and every device locks its own state.  Stopping uses
 * kvm_run->immediate_exit plus a signal (see vcpu_kick), so a vCPU blocked
 * in KVM_RUN -- halted, or an AP waiting for its SIPI -- leaves promptly.
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/fault.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_ET	(1ULL << 4)

#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_EDX_HTT		(1U << 28)
#define CPUID_6_ECX_EPB		(1U << 3)

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
	[KVM_EXIT_IO] = "KVM_EXIT_IO",
	[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
	[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
	[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
	[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
	[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
	[KVM_EXIT_SET_TPR] = "KVM_EXIT_SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "KVM_EXIT_TPR_ACCESS",
	[KVM_EXIT_NMI] = "KVM_EXIT_NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
};

const char *vcpu_exit_name(uint32_t reason)
{
	if (reason < ARRAY_SIZE(exit_names) && exit_names[reason])
		return exit_names[reason];
	return "unknown exit reason";
}

void vcpu_cpuid_fixup(struct kvm_cpuid2 *c, unsigned int id,
		      unsigned int nr_vcpus)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 1:
			e->ebx &= 0x0000ffff;
			e->ebx |= (id & 0xff) << 24;
			e->ebx |= min_t(unsigned int, nr_vcpus, 255) << 16;
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (nr_vcpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			break;
		case 6:
			e->ecx &= ~CPUID_6_ECX_EPB;
			break;
		case 0xb:
		case 0x1f:
			e->edx = id;	/* x2APIC id, every level */
			break;
		default:
			break;
		}
	}
}

static void vcpu_flat_segment(struct kvm_segment *seg, uint16_t selector,
			      uint8_t type)
{
	*seg = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = 1,	/* 32-bit */
		.s = 1,		/* code/data */
		.l = 0,
		.g = 1,		/* 4 KiB granularity */
	};
}

void vcpu_boot_regs(struct kvm_sregs *s, struct kvm_regs *r,
		    const struct loader_boot *boot)
{
	vcpu_flat_segment(&s->cs, 0x08, 0xb);	/* execute/read, accessed */
	vcpu_flat_segment(&s->ds, 0x10, 0x3);	/* read/write, accessed */
	s->es = s->fs = s->gs = s->ss = s->ds;
	/* as firmware leaves it: caches on (CD/NW clear), no paging */
	s->cr0 = X86_CR0_PE | X86_CR0_ET;
	s->cr3 = 0;
	s->cr4 = 0;
	s->efer = 0;

	memset(r, 0, sizeof(*r));
	r->rflags = 0x2;	/* reserved bit 1; IF and VM clear */
	r->rip = boot->entry;
	r->rax = boot->eax;
	r->rbx = boot->ebx;
}

static void vcpu_kick_handler(int sig)
{
	/* only there to interrupt KVM_RUN */
}

int vcpu_signal_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: KVM_RUN must return EINTR */
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL))
		return -errno;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->run)
		WRITE_ONCE(vcpu->run->immediate_exit, 1);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id)
{
	struct kvm_cpuid2 *cpuid;
	size_t cpuid_size;
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = -errno;
		pr_err("vcpu %u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		vcpu->fd = -1;
		return ret;
	}

	vcpu->run_size = vm->kvm.vcpu_mmap_size;
	vcpu->run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		pr_err("vcpu %u: mmap of the run area: %s", id, strerror(errno));
		vcpu->run = NULL;
		return ret;
	}

	cpuid_size = sizeof(*cpuid) +
		     vm->kvm.cpuid->nent * sizeof(cpuid->entries[0]);
	cpuid = malloc(cpuid_size);
	if (!cpuid) {
		pr_err("vcpu %u: %s", id, strerror(ENOMEM));
		return -ENOMEM;
	}
	memcpy(cpuid, vm->kvm.cpuid, cpuid_size);
	vcpu_cpuid_fixup(cpuid, id, vm->nr_vcpus);
	ret = ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid) ? -errno : 0;
	free(cpuid);
	if (ret) {
		pr_err("vcpu %u: KVM_SET_CPUID2: %s", id, strerror(-ret));
		return ret;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

static int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg,
		      const char *what)
{
	int ret;

	if (ioctl(vcpu->fd, req, arg) == 0)
		return 0;
	ret = -errno;
	pr_err("vcpu %u: %s: %s", vcpu->id, what, strerror(-ret));
	return ret;
}

int vcpu_set_boot_state(struct vcpu *vcpu, const struct loader_boot *boot)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	ret = vcpu_ioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	if (ret)
		return ret;
	vcpu_boot_regs(&sregs, &regs, boot);
	ret = vcpu_ioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	if (ret)
		return ret;
	return vcpu_ioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");
}

static unsigned long long vcpu_rip(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs))
		return ~0ULL;
	return regs.rip;
}

/* Report a fatal exit and stop the VM with @status. */
static enum vcpu_step __printf(3, 4) vcpu_fail(struct vcpu *vcpu, int status,
					       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a vCPU kicked because another one already stopped the VM is quiet */
	if (!vm_stopping(vcpu->vm)) {
		unsigned long long rip = vcpu_rip(vcpu);

		if (rip == ~0ULL)
			pr_err("vcpu %u: %s", vcpu->id, msg);
		else
			pr_err("vcpu %u: %s (rip 0x%llx)", vcpu->id, msg, rip);
	}
	vm_request_stop(vcpu->vm, status);
	return VCPU_STOP;
}

static enum vcpu_step vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	unsigned int size = run->io.size, i;
	int stop = 0;

	vcpu->stats.io_exits++;
	if ((size != 1 && size != 2 && size != 4) ||
	    run->io.data_offset + (uint64_t)size * run->io.count >
	    vcpu->run_size)
		return vcpu_fail(vcpu, VM_EXIT_UNEXPECTED,
				 "malformed KVM_EXIT_IO (size %u, count %u)",
				 size, run->io.count);

	/* string I/O (rep outs/ins) arrives as count elements */
	for (i = 0; i < run->io.count && !stop; i++, data += size) {
		uint32_t val = 0;

		if (is_write)
			memcpy(&val, data, size);
		stop = ioport_dispatch(&vcpu->vm->io, vcpu->id, run->io.port,
				       is_write, size, &val);
		if (!is_write)
			memcpy(data, &val, size);
	}
	return stop || vm_stopping(vcpu->vm) ? VCPU_STOP : VCPU_CONTINUE;
}

enum vcpu_step vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return vcpu_handle_io(vcpu);
	case KVM_EXIT_MMIO:
		vcpu->stats.mmio_exits++;
		return vcpu_fail(vcpu, VM_EXIT_MMIO,
				 "MMIO %s of %u bytes at gpa 0x%llx: outside guest RAM and emulated devices",
				 run->mmio.is_write ? "write" : "read",
				 run->mmio.len,
				 (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_SHUTDOWN:
		return vcpu_fail(vcpu, VM_EXIT_SHUTDOWN,
				 "guest shut down (triple fault)");
	case KVM_EXIT_SYSTEM_EVENT:
		return vcpu_fail(vcpu, VM_EXIT_SHUTDOWN,
				 "guest system event %u (%s)",
				 run->system_event.type,
				 run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
				 "reset" :
				 run->system_event.type == KVM_SYSTEM_EVENT_CRASH ?
				 "crash" : "shutdown");
	case KVM_EXIT_INTERNAL_ERROR:
		return vcpu_fail(vcpu, VM_EXIT_INTERNAL,
				 "KVM internal error, suberror %u%s (ndata %u, data[0] 0x%llx)",
				 run->internal.suberror,
				 run->internal.suberror ==
				 KVM_INTERNAL_ERROR_EMULATION ?
				 " (instruction emulation failed)" : "",
				 run->internal.ndata,
				 run->internal.ndata ?
				 (unsigned long long)run->internal.data[0] : 0ULL);
	case KVM_EXIT_FAIL_ENTRY:
		return vcpu_fail(vcpu, VM_EXIT_FAIL_ENTRY,
				 "VM entry failed, hardware reason 0x%llx on host cpu %u",
				 (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
				 run->fail_entry.cpu);
	case KVM_EXIT_HLT:
		/* only without an in-kernel LAPIC: nothing could wake it */
		return vcpu_fail(vcpu, VM_EXIT_UNEXPECTED,
				 "halted with no interrupt source");
	case KVM_EXIT_INTR:
		vcpu->stats.intr_exits++;
		return vm_stopping(vcpu->vm) ? VCPU_STOP : VCPU_CONTINUE;
	default:
		return vcpu_fail(vcpu, VM_EXIT_UNEXPECTED,
				 "unexpected exit %u (%s)", run->exit_reason,
				 vcpu_exit_name(run->exit_reason));
	}
}

enum vcpu_step vcpu_run_once(struct vcpu *vcpu)
{
	if (vm_stopping(vcpu->vm))
		return VCPU_STOP;
	if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			vcpu->stats.intr_exits++;
			return vm_stopping(vcpu->vm) ? VCPU_STOP : VCPU_CONTINUE;
		}
		return vcpu_fail(vcpu, VM_EXIT_UNEXPECTED, "KVM_RUN: %s",
				 strerror(errno));
	}
	vcpu->stats.exits++;
	return vcpu_handle_exit(vcpu);
}

/*
 * Before the first KVM_RUN: pin the thread to its host CPU (where a fault
 * handler is pinned too, docs/fault.md) and tell the fault path that this
 * thread's faults are this vCPU's (KVM reports them with our tid).
 */
static int vcpu_thread_setup(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	int cpu = vm->vcpu_cpu[vcpu->id], ret;

	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		ret = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (ret)
			pr_warning("vcpu %u: cannot pin to CPU %d: %s",
				   vcpu->id, cpu, strerror(ret));
	}
	if (vm->fault) {
		ret = fault_register_vcpu(vm->fault, (int)vcpu->id, gettid());
		if (ret) {
			pr_err("vcpu %u: fault path registration: %s",
			       vcpu->id, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;

	if (vcpu_thread_setup(vcpu)) {
		vm_request_stop(vcpu->vm, VM_EXIT_SETUP);
		return NULL;
	}
	while (vcpu_run_once(vcpu) == VCPU_CONTINUE)
		;
	/* a device handler asked to stop without saying why: never hang */
	if (!vm_stopping(vcpu->vm)) {
		pr_err("vcpu %u: stopped by a device without a status", vcpu->id);
		vm_request_stop(vcpu->vm, VM_EXIT_UNEXPECTED);
	}
	return NULL;
}

/*
 * A vCPU: its KVM fd, the shared kvm_run area, its thread and the exit
 * loop.  The loop (vcpu_run_once) dispatches each exit to the port table
 * or stops the VM with a report; it does no allocation, and logs only when
 * the VM stops or a guest misbehaves for the first time.  The pure pieces
 * (CPUID fix-up, boot segment state) are separate functions so that they
 * are tested without KVM.
 */
#ifndef NUMAVM_VMM_VCPU_H
#define NUMAVM_VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "vmm/loader.h"

struct vm;

/* Per-vCPU exit counters; only the vCPU's thread writes them. */
struct vcpu_stats {
	uint64_t exits;
	uint64_t io_exits;
	uint64_t mmio_exits;
	uint64_t intr_exits;		/* KVM_RUN interrupted by a signal */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;		/* KVM vcpu id = initial APIC id */
	int fd;				/* -1 if not created */
	struct kvm_run *run;		/* NULL if not mapped */
	size_t run_size;
	pthread_t thread;
	bool thread_started;
	struct vcpu_stats stats;
};

/* What the loop does after one exit. */
enum vcpu_step {
	VCPU_CONTINUE = 0,
	VCPU_STOP,		/* the VM is stopping (status recorded) */
};

/*
 * vcpu_create - KVM_CREATE_VCPU @id, map its run area and give it the
 * host's supported CPUID with its own APIC id.  Reports failures; returns
 * 0 or -errno, leaving @vcpu destroyable.
 */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned int id) __must_check;
void vcpu_destroy(struct vcpu *vcpu);

/*
 * vcpu_set_boot_state - multiboot entry state: 32-bit protected mode,
 * flat 4 GiB segments, paging off, interrupts off, EIP/EAX/EBX from @boot.
 * 0 or -errno (reported).
 */
int vcpu_set_boot_state(struct vcpu *vcpu, const struct loader_boot *boot)
	__must_check;

/*
 * vcpu_handle_exit - act on the exit described by vcpu->run (as left by
 * KVM_RUN): port I/O goes to the VM's port table, anything fatal is
 * reported and stops the VM with its status (enum vm_exit_status).
 */
enum vcpu_step vcpu_handle_exit(struct vcpu *vcpu);

/*
 * vcpu_run_once - one KVM_RUN and the handling of its exit.  Returns
 * VCPU_STOP once the VM is stopping (for any reason), else VCPU_CONTINUE.
 */
enum vcpu_step vcpu_run_once(struct vcpu *vcpu);

/* Thread body: vcpu_run_once() until VCPU_STOP.  @arg is the vcpu. */
void *vcpu_thread(void *arg);

/* Make the vCPU leave KVM_RUN soon (immediate_exit + signal). */
void vcpu_kick(struct vcpu *vcpu);

/* Install the (empty) kick signal handler; once per process. */
int vcpu_signal_init(void) __must_check;
#define VCPU_KICK_SIGNAL	SIGUSR1

/* Pure helpers, exposed for tests */

/*
 * vcpu_cpuid_fixup - adapt the supported CPUID @c for vCPU @id of
 * @nr_vcpus: initial APIC id (leaf 1 EBX[31:24], leaves 0xb/0x1f EDX),
 * logical processor count, the hypervisor bit; hide EPB (leaf 6).
 */
void vcpu_cpuid_fixup(struct kvm_cpuid2 *c, unsigned int id,
		      unsigned int nr_vcpus);

/* Fill @s (KVM's reset state) and @r for the multiboot entry @boot. */
void vcpu_boot_regs(struct kvm_sregs *s, struct kvm_regs *r,
		    const struct loader_boot *boot);

/* The name of a KVM exit reason, for reports ("KVM_EXIT_IO", ...). */
const char *vcpu_exit_name(uint32_t reason);

#endif /* NUMAVM_VMM_VCPU_H */

/*
 * One virtual machine: its configuration, the NUMA engine with one host
 * pool per node, guest RAM served by the userfaultfd fault path, devices,
 * the control socket, the KVM VM and its vCPUs.  vm.c holds the whole init
 * and teardown sequence, in order:
 *
 *   vm_init()       config -> node pools -> NUMA engine and its policies ->
 *                   guest RAM registered with userfaultfd -> fault handler
 *                   threads -> port devices, hypercalls -> control socket
 *                   (everything that needs no KVM)
 *   vm_load()       the guest image into RAM (vmm/loader.c); its writes
 *                   fault like any guest touch, attributed to the host context
 *   vm_kvm_setup()  /dev/kvm, the VM, irqchip, memslots, vCPUs
 *   vm_run()        one thread per vCPU (pinned, registered with the fault
 *                   path) until a stop, a failure or timeout
 *   vm_destroy()    everything above, in reverse
 *
 * The status numavm exits with is decided by the first vm_request_stop();
 * the statuses are listed here and in docs/abi.md.
 */
#ifndef NUMAVM_VMM_VM_H
#define NUMAVM_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "numa/topology.h"
#include "vmm/config.h"
#include "vmm/guest_ram.h"
#include "vmm/hc_mem.h"
#include "vmm/hypercall.h"
#include "vmm/ioport.h"
#include "vmm/kvm.h"
#include "vmm/loader.h"
#include "vmm/pool.h"
#include "vmm/qmp.h"
#include "vmm/uart.h"

/*
 * Exit statuses.  A guest ends with 0..127 through NV_HC_EXIT, or with an
 * odd status through the isa-debug-exit port; numavm's own statuses are
 * even and >= 160, so they never collide with either.
 */
enum vm_exit_status {
	VM_EXIT_USAGE = 160,		/* bad command line */
	VM_EXIT_NO_KVM = 162,		/* /dev/kvm missing or unusable */
	VM_EXIT_LOAD = 164,		/* guest image unreadable or not bootable */
	VM_EXIT_SETUP = 166,		/* VM creation failed (ioctl, memory) */
	VM_EXIT_SHUTDOWN = 168,		/* triple fault / shutdown / reset */
	VM_EXIT_INTERNAL = 170,		/* KVM_EXIT_INTERNAL_ERROR */
	VM_EXIT_FAIL_ENTRY = 172,	/* KVM_EXIT_FAIL_ENTRY */
	VM_EXIT_MMIO = 174,		/* access outside RAM and devices */
	VM_EXIT_TIMEOUT = 176,		/* --timeout elapsed */
	VM_EXIT_UNEXPECTED = 178,	/* other exit reason, KVM_RUN error */
	VM_EXIT_OOM = 180,		/* fault path out of memory (oom=stop) */
	VM_EXIT_FAULT = 182,		/* fault path could not place a frame */
};

/* Where KVM's real-mode TSS and identity map go: in the hole below 4 GiB */
#define VM_TSS_ADDR		0xfffbd000ULL
#define VM_IDENTITY_MAP_ADDR	0xfffbc000ULL

struct vcpu;
struct numa_vm;
struct fault_ctx;

/*
 * What vm_init() takes.  @conf (vmm/config.h, validated by config_validate)
 * is the one description of the VM; without it (tests) a VM of @ram_size
 * bytes and @nr_vcpus vCPUs with the config defaults is built, on @topo if
 * given (else one node).
 */
struct vm_config {
	const struct config *conf;	/* NULL: the three fields below */
	uint64_t ram_size;		/* bytes */
	unsigned int nr_vcpus;
	const struct numa_topology *topo;	/* NULL: one node */
	const char *kvm_path;		/* NULL: KVM_DEV_PATH */
	int serial_fd;			/* guest serial output (stdout) */
	unsigned int timeout_s;		/* 0: none (conf: its timeout) */
};

struct vm {
	struct vm_config cfg;
	struct config *conf;		/* owned copy: the source of truth */
	struct numa_topology topo;
	struct guest_ram ram;
	struct ioport_table io;
	struct uart uart;
	struct hypercall hc;
	struct hypercall_port hc_port;
	struct loader_boot boot;
	bool booted;			/* boot state valid (image loaded) */

	/* memory: NUMA engine, node pools, fault path (placement on) */
	struct numa_vm *nv;
	struct pool pools[NUMA_MAX_NODES];
	void *ram_map;			/* the userfaultfd-registered mapping */
	size_t ram_map_len;		/* its length, alignment slack included */
	struct fault_ctx *fault;	/* NULL with placement off */
	bool fault_started;
	int vcpu_cpu[NUMA_MAX_VCPUS];	/* host CPU of each vCPU, -1: unpinned */
	struct hc_mem hc_mem;

	/* control socket (--socket) */
	struct qmp_fault_backend qfb;
	struct qmp_fault_ops qfops;	/* qfb's ops taking guest addresses */
	struct qmp_numa_backend qnb;
	struct qmp_server *qmp;

	struct kvm kvm;
	int fd;				/* KVM VM fd, -1 if none */
	unsigned int nr_vcpus;
	struct vcpu *vcpus;		/* nr_vcpus of them, or NULL */
	unsigned int nr_slots;		/* memslots registered */

	/* stop protocol: see vm_request_stop() */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	atomic_bool stopping;
	int exit_status;		/* valid once stopping */
};

/*
 * vm_topology_default - one node with @ram_size bytes, @nr_vcpus vCPUs on
 * it.  Returns 0 or -EINVAL (nr_vcpus 0 or > NUMA_MAX_VCPUS).
 */
int vm_topology_default(struct numa_topology *t, uint64_t ram_size,
			unsigned int nr_vcpus) __must_check;

/*
 * vm_fault_window - the fault path's fault-around window for a config's
 * @extra pages (config.fault_around): the aligned power-of-two window of
 * at least extra + 1 pages, 0 when off.  The fault path takes at most
 * FAULT_MAX_AROUND (64) pages: numavm refuses more extra pages than 63.
 */
unsigned int vm_fault_window(unsigned int extra);
#define VM_MAX_FAULT_AROUND	63

/*
 * Everything that does not need KVM (see the top of this file).  Reports
 * failures; 0 or -errno; vm_destroy() cleans up either way.
 */
int vm_init(struct vm *vm, const struct vm_config *cfg) __must_check;
/*
 * Load a multiboot image with the command line "@path @append" (@append
 * may be NULL); reports failures; 0 or -errno (-ECANCELED when the fault
 * path stopped the VM while loading: exit_status says why).
 */
int vm_load(struct vm *vm, const char *path, const char *append) __must_check;
/*
 * Open KVM, create the VM and its vCPUs (BSP in the boot state of the
 * loaded image if any, APs waiting for INIT-SIPI).  Reports failures;
 * returns 0 or -errno; vm_destroy() cleans up either way.
 */
int vm_kvm_setup(struct vm *vm) __must_check;
/*
 * Run every vCPU on its own thread until the VM stops (guest exit,
 * failure, --timeout); all threads are joined on return.  Returns the exit
 * status (enum vm_exit_status or the guest's).
 */
int vm_run(struct vm *vm);
/* Tear down whatever was set up; safe after any failed step. */
void vm_destroy(struct vm *vm);

/*
 * vm_request_stop - make every vCPU leave KVM_RUN and stop.  The first
 * request's @status is the VM's exit status; later ones are ignored.
 * Callable from any thread, including vCPU threads and signal-free
 * contexts; does not block on other vCPUs.
 */
void vm_request_stop(struct vm *vm, int status);

static inline bool vm_stopping(struct vm *vm)
{
	return atomic_load_explicit(&vm->stopping, memory_order_acquire);
}

#endif /* NUMAVM_VMM_VM_H */

/*
 * The VM's lifetime in one place, top to bottom (STYLE 12).  Set-up that
 * needs no KVM (topology, guest RAM, devices, the image) comes first, so it
 * is checked -- and testable -- on hosts without /dev/kvm; then the KVM
 * objects; vm_destroy() releases everything in reverse.  The stop protocol:
 * the first vm_request_stop() records the exit status, sets `stopping`,
 * kicks every vCPU out of KVM_RUN and wakes vm_run(), which joins them.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vcpu.h"

int vm_topology_default(struct numa_topology *t, uint64_t ram_size,
			unsigned int nr_vcpus)
{
	if (!nr_vcpus || nr_vcpus > NUMA_MAX_VCPUS)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->nr_nodes = 1;
	t->nr_vcpus = nr_vcpus;
	t->node_mem[0] = ram_size;
	t->distance[0][0] = NUMA_LOCAL_DISTANCE;
	return 0;	/* vcpu_node[] all 0 */
}

int vm_topology_check(const struct numa_topology *t, uint64_t ram_size,
		      char *err, size_t errlen)
{
	uint64_t sum = 0;
	unsigned int i, j;

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)
	if (t->nr_nodes < 1 || t->nr_nodes > NUMA_MAX_NODES)
		BAD("%u nodes: must be 1..%d", t->nr_nodes, NUMA_MAX_NODES);
	if (t->nr_vcpus < 1 || t->nr_vcpus > NUMA_MAX_VCPUS)
		BAD("%u vCPUs: must be 1..%d", t->nr_vcpus, NUMA_MAX_VCPUS);
	for (i = 0; i < t->nr_nodes; i++) {
		if (!t->node_mem[i] || t->node_mem[i] % PAGE_SIZE)
			BAD("node %u: memory %llu is not a non-zero multiple of %lu",
			    i, (unsigned long long)t->node_mem[i], PAGE_SIZE);
		if (t->node_mem[i] > ram_size - sum)
			BAD("node memory adds up to more than the %llu bytes of RAM",
			    (unsigned long long)ram_size);
		sum += t->node_mem[i];
		for (j = 0; j < t->nr_nodes; j++) {
			unsigned int d = t->distance[i][j];

			if (i == j && d != NUMA_LOCAL_DISTANCE)
				BAD("distance %u->%u is %u, must be %d", i, j,
				    d, NUMA_LOCAL_DISTANCE);
			if (i != j && (d <= NUMA_LOCAL_DISTANCE ||
				       d > NUMA_MAX_DISTANCE))
				BAD("distance %u->%u is %u, must be %d..%d", i,
				    j, d, NUMA_LOCAL_DISTANCE + 1,
				    NUMA_MAX_DISTANCE);
		}
	}
	if (sum != ram_size)
		BAD("node memory adds up to %llu bytes, RAM is %llu",
		    (unsigned long long)sum, (unsigned long long)ram_size);
	for (i = 0; i < t->nr_vcpus; i++)
		if (t->vcpu_node[i] >= t->nr_nodes)
			BAD("vCPU %u is homed on node %u of %u", i,
			    t->vcpu_node[i], t->nr_nodes);
#undef BAD
	return 0;
}

static int vm_exit_port(void *opaque, unsigned int vcpu, uint16_t port,
			bool is_write, unsigned int size, uint32_t *val)
{
	struct vm *vm = opaque;

	if (!is_write) {
		*val = 0;
		return 0;
	}
	pr_debug("vcpu %u: isa-debug-exit value 0x%x", vcpu, *val);
	vm_request_stop(vm, ioport_debug_exit_status(*val));
	return 1;
}

static int vm_hypercall_exit(void *opaque, unsigned int vcpu, int status)
{
	struct vm *vm = opaque;

	pr_debug("vcpu %u: exit hypercall, status %d", vcpu, status);
	vm_request_stop(vm, status);
	return 1;
}

int vm_init(struct vm *vm, const struct vm_config *cfg)
{
	pthread_condattr_t ca;
	char err[160];
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->fd = -1;
	vm->kvm.fd = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&vm->stopping, false);

	/* 1. topology */
	if (cfg->topo) {
		vm->topo = *cfg->topo;
	} else {
		ret = vm_topology_default(&vm->topo, cfg->ram_size,
					  cfg->nr_vcpus);
		if (ret) {
			pr_err("-smp %u: must be 1..%d", cfg->nr_vcpus,
			       NUMA_MAX_VCPUS);
			return ret;
		}
	}
	ret = vm_topology_check(&vm->topo, cfg->ram_size, err, sizeof(err));
	if (ret) {
		pr_err("bad NUMA topology: %s", err);
		return ret;
	}
	vm->nr_vcpus = vm->topo.nr_vcpus;

	/* 2. guest RAM */
	ret = guest_ram_create(&vm->ram, cfg->ram_size);
	if (ret) {
		pr_err("guest RAM of %llu bytes: %s",
		       (unsigned long long)cfg->ram_size,
		       ret == -EINVAL ? "size must be a multiple of 4 KiB between 2 MiB and 1 TiB" :
		       strerror(-ret));
		return ret;
	}

	/* 3. devices on the port bus: serial, exit port, hypercalls */
	ioport_table_init(&vm->io);
	uart_init(&vm->uart, uart_out_fd, (void *)(intptr_t)cfg->serial_fd);
	hypercall_init(&vm->hc, &vm->ram, &vm->topo);
	vm->hc_port.hc = &vm->hc;
	vm->hc_port.exit = vm_hypercall_exit;
	vm->hc_port.opaque = vm;
	atomic_init(&vm->hc_port.bad_accesses, 0);
	ret = ioport_register(&vm->io, NV_SERIAL_PORT, UART_NR_PORTS, "uart",
			      uart_ioport, &vm->uart);
	if (!ret)
		ret = ioport_register(&vm->io, NV_EXIT_PORT, 4, "debug-exit",
				      vm_exit_port, vm);
	if (!ret)
		ret = ioport_register(&vm->io, NV_HCALL_PORT, 4, "hypercall",
				      hypercall_ioport, &vm->hc_port);
	if (ret) {
		pr_err("port I/O set-up: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int vm_load(struct vm *vm, const char *path, const char *append)
{
	int ret = loader_load_file(&vm->ram, path, append, &vm->boot);

	if (!ret)
		vm->booted = true;
	return ret;
}

static int vm_ioctl(struct vm *vm, unsigned long req, unsigned long arg,
		    const char *what)
{
	if (ioctl(vm->fd, req, arg) < 0) {
		int ret = -errno;

		pr_err("%s: %s", what, strerror(errno));
		return ret;
	}
	return 0;
}

int vm_kvm_setup(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = 0 };
	unsigned int i;
	int ret;

	/* 1. the KVM system fd, its version and capabilities */
	ret = kvm_open(&vm->kvm, vm->cfg.kvm_path ? vm->cfg.kvm_path :
			KVM_DEV_PATH);
	if (ret)
		return ret;
	if (vm->nr_vcpus > vm->kvm.max_vcpus) {
		pr_err("-smp %u: this host's KVM supports at most %u vCPUs",
		       vm->nr_vcpus, vm->kvm.max_vcpus);
		return -EINVAL;
	}

	/* 2. the VM */
	do {
		vm->fd = ioctl(vm->kvm.fd, KVM_CREATE_VM, 0);
	} while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0) {
		ret = -errno;
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}

	/* 3. x86 platform: real-mode TSS, identity map, irqchip, PIT */
	ret = vm_ioctl(vm, KVM_SET_TSS_ADDR, VM_TSS_ADDR, "KVM_SET_TSS_ADDR");
	if (ret)
		return ret;
	{
		uint64_t idmap = VM_IDENTITY_MAP_ADDR;

		ret = vm_ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR,
			       (unsigned long)&idmap,
			       "KVM_SET_IDENTITY_MAP_ADDR");
		if (ret)
			return ret;
	}
	ret = vm_ioctl(vm, KVM_CREATE_IRQCHIP, 0, "KVM_CREATE_IRQCHIP");
	if (ret)
		return ret;
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
		pr_warning("KVM_CREATE_PIT2: %s (running without a PIT)",
			strerror(errno));

	/* 4. guest RAM as memslots */
	for (i = 0; i < vm->ram.nr_regions; i++) {
		const struct guest_ram_region *r = &vm->ram.regions[i];
		struct kvm_userspace_memory_region slot = {
			.slot = i,
			.guest_phys_addr = r->gpa,
			.memory_size = r->size,
			.userspace_addr = (uintptr_t)r->hva,
		};

		ret = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION,
			       (unsigned long)&slot,
			       "KVM_SET_USER_MEMORY_REGION");
		if (ret)
			return ret;
		vm->nr_slots++;
	}

	/* 5. vCPUs: the BSP at the multiboot entry, APs wait for SIPI */
	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus) {
		pr_err("vCPUs: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(&vm->vcpus[i], vm, i);
		if (ret)
			return ret;
	}
	if (vm->booted) {
		ret = vcpu_set_boot_state(&vm->vcpus[0], &vm->boot);
		if (ret)
			return ret;
	}
	return 0;
}

void vm_request_stop(struct vm *vm, int status)
{
	unsigned int i;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm_stopping(vm)) {
		pthread_mutex_unlock(&vm->stop_lock);
		return;
	}
	vm->exit_status = status;
	atomic_store_explicit(&vm->stopping, true, memory_order_release);
	/* under the lock: vm_run() joins threads only after we are done */
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

int vm_run(struct vm *vm)
{
	struct timespec deadline;
	unsigned int i, started = 0;
	int ret;

	ret = vcpu_signal_init();
	if (ret) {
		pr_err("vCPU kick signal: %s", strerror(-ret));
		return VM_EXIT_SETUP;
	}

	/*
	 * Mark every thread as started before creating any, under the stop
	 * lock, so that a stop racing with the start kicks each one.
	 */
	pthread_mutex_lock(&vm->stop_lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
				     &vm->vcpus[i]);
		if (ret)
			break;
		vm->vcpus[i].thread_started = true;
		started++;
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (started < vm->nr_vcpus) {
		pr_err("vCPU %u thread: %s", started, strerror(ret));
		vm_request_stop(vm, VM_EXIT_SETUP);
	}

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += vm->cfg.timeout_s;
	pthread_mutex_lock(&vm->stop_lock);
	while (!vm_stopping(vm)) {
		if (!vm->cfg.timeout_s) {
			pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
			continue;
		}
		if (pthread_cond_timedwait(&vm->stop_cond, &vm->stop_lock,
					   &deadline) == ETIMEDOUT &&
		    !vm_stopping(vm)) {
			pthread_mutex_unlock(&vm->stop_lock);
			pr_err("guest still running after %u s (--timeout): stopping it",
			       vm->cfg.timeout_s);
			vm_request_stop(vm, VM_EXIT_TIMEOUT);
			pthread_mutex_lock(&vm->stop_lock);
		}
	}
	pthread_mutex_unlock(&vm->stop_lock);

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus[i].thread_started)
			continue;
		pthread_join(vm->vcpus[i].thread, NULL);
		vm->vcpus[i].thread_started = false;
	}
	uart_flush(&vm->uart);

	/* the counters, now that nobody writes them (shown with -v) */
	for (i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *st = &vm->vcpus[i].stats;

		pr_info("vcpu %u: %llu exits: %llu port I/O, %llu MMIO, %llu interrupted",
			i, (unsigned long long)st->exits,
			(unsigned long long)st->io_exits,
			(unsigned long long)st->mmio_exits,
			(unsigned long long)st->intr_exits);
	}
	pr_info("hypercalls: %lu failed, %lu unknown, %lu dropped blocks; %lu unknown port accesses",
		atomic_load(&vm->hc.errors), atomic_load(&vm->hc.unknown),
		atomic_load(&vm->hc.bad_blocks),
		atomic_load(&vm->io.unknown_accesses));
	return vm->exit_status;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	/* 5. vCPUs (threads were joined by vm_run) */
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	/* 4-2. memslots, irqchip and PIT go with the VM fd */
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	/* 1. KVM */
	kvm_close(&vm->kvm);
	/* devices, then RAM */
	if (vm->uart.out)
		uart_destroy(&vm->uart);
	guest_ram_destroy(&vm->ram);
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->stop_lock);
}

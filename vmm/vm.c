/*
 * The VM's lifetime in one place, top to bottom (STYLE 12).  Set-up that
 * needs no KVM comes first -- node pools, the NUMA engine with the
 * configured policies, guest RAM registered with userfaultfd and the fault
 * handlers serving it, devices, hypercalls, the control socket -- so that
 * it is checked, and testable, on hosts without /dev/kvm; then the image,
 * then the KVM objects; vm_destroy() releases everything in reverse.  The
 * stop protocol: the first vm_request_stop() records the exit status, sets
 * `stopping`, kicks every vCPU out of KVM_RUN and wakes vm_run(), which
 * joins them.
 *
 * Addresses: the fault path works in RAM offsets (its mapping is guest RAM
 * without the 3-4 GiB hole), numa/ and the socket in guest physical
 * addresses (range policies are gpa ranges).  The translation is done here,
 * in the fault ops and the socket's fault ops, and in vmm/hc_mem.c.
 */
#include "vmm/vm.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "numa/numa.h"
#include "vmm/fault.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"

#define VM_ERR_LEN	512
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23	/* Linux 5.14 */
#endif
#define VM_HUGE_ALIGN	(2ULL << 20)

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

/* ---- the fault path's view of numa/, in guest physical addresses ------ */

static int vm_fault_alloc(void *priv, int vcpu, gpa_t off, unsigned int order,
			  struct fault_frame *out)
{
	struct vm *vm = priv;

	return fault_numa_ops.alloc(vm->nv, vcpu,
				    guest_ram_offset_to_gpa(&vm->ram, off),
				    order, out);
}

static int vm_fault_free(void *priv, int vcpu, const struct fault_frame *f,
			 unsigned int order)
{
	struct vm *vm = priv;

	return fault_numa_ops.free(vm->nv, vcpu, f, order);
}

static const struct fault_alloc_ops vm_fault_ops = {
	.alloc = vm_fault_alloc,
	.free = vm_fault_free,
};

/*
 * fault_opts.on_oom, on a handler thread: the OOM event for the socket,
 * the report (vCPU, gpa, policy, free pages per node), and with oom=stop
 * (or a placement failure) the stop.  Rare, so it may print.
 */
static void vm_fault_oom(void *arg, const struct fault_oom_event *ev)
{
	struct vm *vm = arg;
	struct fault_oom_event e = *ev;
	char msg[VM_ERR_LEN];

	e.gpa = guest_ram_offset_to_gpa(&vm->ram, ev->gpa);
	qmp_fault_on_oom(&vm->qfb, &e);
	fault_numa_oom_message(vm->nv, &e, msg, sizeof(msg));
	if (ev->fatal) {
		pr_err("%s", msg);
		vm_request_stop(vm, VM_EXIT_FAULT);
	} else if (vm->conf->oom == CONFIG_OOM_STOP) {
		pr_err("%s: stopping the VM (oom=stop)", msg);
		vm_request_stop(vm, VM_EXIT_OOM);
	} else {
		pr_warning("%s: %s parked until memory is freed or the policy changes (oom=wait)",
			   msg, ev->vcpu == FAULT_HOST ? "host context" : "vCPU");
	}
}

/* The socket's fault ops: qfb's, with node_of taking a gpa */
static int vm_qmp_node_of(void *opaque, gpa_t gpa)
{
	struct vm *vm = opaque;
	uint64_t off;

	if (guest_ram_gpa_to_offset(&vm->ram, gpa, 1, &off))
		return -EINVAL;
	return vm->qfb.ops.node_of(vm->qfb.ops.opaque, off);
}

static int vm_qmp_faults(void *opaque, struct qmp_faults *out)
{
	struct vm *vm = opaque;

	return vm->qfb.ops.faults(vm->qfb.ops.opaque, out);
}

static int vm_qmp_vcpu_faults(void *opaque, unsigned int vcpu,
			      uint64_t *faults)
{
	struct vm *vm = opaque;

	return vm->qfb.ops.vcpu_faults(vm->qfb.ops.opaque, vcpu, faults);
}

static void vm_qmp_policy_changed(void *opaque)
{
	struct vm *vm = opaque;

	vm->qfb.ops.policy_changed(vm->qfb.ops.opaque);
}

/* The socket's quit: a clean stop, as the guest's exit with status 0 */
static int vm_qmp_quit(void *opaque)
{
	struct vm *vm = container_of(opaque, struct vm, qnb);

	vm_request_stop(vm, 0);
	return 0;
}

/* ---- vm_init steps ----------------------------------------------------- */

/* The VM's config: a copy of @cfg->conf, or the defaults for a test VM */
static int vm_init_config(struct vm *vm, const struct vm_config *cfg)
{
	struct config *c;
	char err[VM_ERR_LEN];
	uint64_t sum = 0;
	unsigned int i;
	int ret;

	c = malloc(sizeof(*c));
	if (!c) {
		pr_err("config: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	vm->conf = c;
	if (cfg->conf) {
		*c = *cfg->conf;
		vm->cfg.timeout_s = c->timeout;
		vm->topo = c->topo;
		return 0;
	}
	config_init(c);
	c->ram_size = cfg->ram_size;
	c->nr_vcpus = cfg->nr_vcpus;
	c->timeout = cfg->timeout_s;
	if (cfg->topo) {
		c->topo = *cfg->topo;
	} else if (vm_topology_default(&c->topo, cfg->ram_size,
				       cfg->nr_vcpus)) {
		pr_err("-smp %u: must be 1..%d", cfg->nr_vcpus, NUMA_MAX_VCPUS);
		return -EINVAL;
	}
	/* what config_validate() checks beyond topo_validate() */
	for (i = 0; i < c->topo.nr_nodes && i < NUMA_MAX_NODES; i++)
		sum += c->topo.node_mem[i];
	if (sum != c->ram_size) {
		pr_err("bad NUMA topology: node memory adds up to %llu bytes, RAM is %llu",
		       (unsigned long long)sum,
		       (unsigned long long)c->ram_size);
		return -EINVAL;
	}
	ret = topo_validate(&c->topo, err, sizeof(err));
	if (ret) {
		pr_err("bad NUMA topology: %s", err);
		return ret;
	}
	vm->topo = c->topo;
	return 0;
}

/* One pool per node with memory (memfd; anonymous for 2 MiB MOVE) */
static int vm_init_pools(struct vm *vm)
{
	const struct config *c = vm->conf;
	unsigned int i, flags = 0;
	char err[VM_ERR_LEN], name[32];
	int ret;

	for (i = 0; i < NUMA_MAX_NODES; i++)
		vm->pools[i] = (struct pool){ .fd = -1 };
	if (c->granule == VM_HUGE_ALIGN)
		flags = POOL_ANON | POOL_PREALLOC | POOL_THP;
	if (c->prealloc)
		flags |= POOL_PREALLOC;
	if (c->thp)
		flags |= POOL_THP;
	for (i = 0; i < vm->topo.nr_nodes; i++) {
		if (!vm->topo.node_mem[i])
			continue;	/* memoryless node: no pool */
		if (vm->topo.host_nodes[i] && c->host_mode[i] != MPOL_BIND)
			pr_warning("node %u: host binding mode %s is applied as bind (node pools are bound with MPOL_BIND)",
				   i, config_mode_name(c->host_mode[i]));
		snprintf(name, sizeof(name), "numavm-node%u", i);
		ret = pool_create(&vm->pools[i], name, vm->topo.node_mem[i],
				  vm->topo.host_nodes[i], flags, err,
				  sizeof(err));
		if (ret) {
			vm->pools[i] = (struct pool){ .fd = -1 };
			pr_err("node %u pool: %s", i, err);
			return ret;
		}
	}
	return 0;
}

/* The configured policies: every vCPU's, the host context's, the ranges */
static int vm_init_policies(struct vm *vm)
{
	const struct config *c = vm->conf;
	char err[VM_ERR_LEN];
	unsigned int i;
	int ret;

	for (i = 0; i < vm->topo.nr_vcpus; i++) {
		if (!(c->vcpu_pol_set & (1ULL << i)))
			continue;
		ret = numa_set_vcpu_policy(vm->nv, i, &c->vcpu_pol[i], err,
					   sizeof(err));
		if (ret) {
			pr_err("%s: vCPU %u policy: %s", c->where.vcpu_pol[i],
			       i, err);
			return ret;
		}
	}
	ret = numa_set_vcpu_policy(vm->nv, NUMA_HOST, &c->host_pol, err,
				   sizeof(err));
	if (ret) {
		pr_err("%s: host policy: %s", c->where.host_pol, err);
		return ret;
	}
	for (i = 0; i < c->nr_ranges; i++) {
		const struct config_range *r = &c->ranges[i];

		ret = numa_set_range_policy(vm->nv, r->start, r->len, &r->pol,
					    err, sizeof(err));
		if (ret) {
			pr_err("%s: range policy: %s", c->where.range[i], err);
			return ret;
		}
	}
	return 0;
}

/*
 * Where vCPUs and handlers run (docs/fault.md, "Where the handler runs"):
 * vCPU i on the i-th allowed host CPU (round robin), and one fault handler
 * pinned on each CPU that runs a vCPU.
 */
static void vm_init_cpus(struct vm *vm, struct fault_opts *o)
{
	int cpus[FAULT_MAX_HANDLERS];
	unsigned int i, n = 0;
	cpu_set_t set;

	for (i = 0; i < NUMA_MAX_VCPUS; i++)
		vm->vcpu_cpu[i] = -1;
	o->nr_handlers = 1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (i = 0; i < CPU_SETSIZE && n < FAULT_MAX_HANDLERS; i++)
		if (CPU_ISSET(i, &set))
			cpus[n++] = (int)i;
	if (!n)
		return;
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpu_cpu[i] = cpus[i % n];
	o->nr_handlers = min_t(unsigned int, vm->nr_vcpus, n);
	o->pin_handlers = true;
	for (i = 0; i < o->nr_handlers; i++)
		o->handler_cpu[i] = cpus[i];
}

unsigned int vm_fault_window(unsigned int extra)
{
	unsigned int w = 1;

	if (!extra)
		return 0;
	while (w < extra + 1)
		w <<= 1;
	return w;
}

/*
 * Guest RAM: a private anonymous mapping, 2 MiB aligned (THPs, the 2 MiB
 * granule), registered with userfaultfd by the fault context, unbacked
 * until touched.  The handlers start here, before anything writes RAM.
 */
static int vm_init_fault_ram(struct vm *vm)
{
	const struct config *c = vm->conf;
	struct fault_opts o = { 0 };
	char err[VM_ERR_LEN];
	uintptr_t base;
	int ret;

	vm->ram_map_len = c->ram_size + VM_HUGE_ALIGN;
	vm->ram_map = mmap(NULL, vm->ram_map_len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->ram_map == MAP_FAILED) {
		ret = -errno;
		vm->ram_map = NULL;
		pr_err("guest RAM of %llu bytes: mmap: %s",
		       (unsigned long long)c->ram_size, strerror(-ret));
		return ret;
	}
	base = ((uintptr_t)vm->ram_map + VM_HUGE_ALIGN - 1) &
	       ~(uintptr_t)(VM_HUGE_ALIGN - 1);
	ret = guest_ram_init(&vm->ram, (void *)base, c->ram_size);
	if (ret) {
		pr_err("guest RAM of %llu bytes: size must be a multiple of 4 KiB between 2 MiB and 1 TiB",
		       (unsigned long long)c->ram_size);
		return ret;
	}

	o.granule_shift = (unsigned int)__builtin_ctzll(c->granule);
	o.fault_around = vm_fault_window(c->fault_around);
	o.mech = c->granule == VM_HUGE_ALIGN ? FAULT_MECH_MOVE :
					       FAULT_MECH_MAP;
	o.oom = c->oom == CONFIG_OOM_WAIT ? FAULT_OOM_WAIT : FAULT_OOM_STOP;
	o.thp = c->granule == VM_HUGE_ALIGN;
	o.on_oom = vm_fault_oom;
	o.cb_arg = vm;
	vm_init_cpus(vm, &o);
	qmp_fault_backend_init(&vm->qfb, vm->nv, NULL);
	vm->fault = fault_ctx_create(&vm_fault_ops, vm, vm->pools,
				     vm->topo.nr_nodes, (void *)base,
				     c->ram_size, &o, err, sizeof(err));
	if (!vm->fault) {
		ret = errno ? -errno : -EINVAL;
		pr_err("fault path: %s", err);
		return ret;
	}
	vm->qfb.ctx = vm->fault;
	ret = fault_start(vm->fault);
	if (ret) {
		pr_err("fault handler threads: %s", strerror(-ret));
		return ret;
	}
	vm->fault_started = true;
	return 0;
}

/*
 * placement=off: plain anonymous RAM demand-paged by the host kernel
 * (QEMU's default), or populated at start with prealloc (the floor any
 * first touch can reach).
 */
static int vm_init_plain_ram(struct vm *vm)
{
	uint64_t size = vm->conf->ram_size;
	int ret = guest_ram_create(&vm->ram, size);

	if (ret) {
		pr_err("guest RAM of %llu bytes: %s", (unsigned long long)size,
		       ret == -EINVAL ? "size must be a multiple of 4 KiB between 2 MiB and 1 TiB" :
		       strerror(-ret));
		return ret;
	}
	if (vm->conf->prealloc &&
	    madvise(vm->ram.base, size, MADV_POPULATE_WRITE)) {
		ret = -errno;
		pr_err("guest RAM of %llu bytes: prealloc (MADV_POPULATE_WRITE): %s",
		       (unsigned long long)size, strerror(-ret));
		return ret;
	}
	return 0;
}

/* Port devices: serial, exit port, hypercalls (with the memory calls) */
static int vm_init_devices(struct vm *vm)
{
	int ret;

	ioport_table_init(&vm->io);
	uart_init(&vm->uart, uart_out_fd, (void *)(intptr_t)vm->cfg.serial_fd);
	hypercall_init(&vm->hc, &vm->ram, &vm->topo);
	vm->hc_port.hc = &vm->hc;
	vm->hc_port.exit = vm_hypercall_exit;
	vm->hc_port.opaque = vm;
	atomic_init(&vm->hc_port.bad_accesses, 0);
	vm->hc_mem = (struct hc_mem){
		.nv = vm->nv, .fault = vm->fault, .ram = &vm->ram,
		.granule = vm->fault ? vm->conf->granule : PAGE_SIZE,
	};
	ret = hc_mem_install(&vm->hc, &vm->hc_mem);
	if (!ret)
		ret = ioport_register(&vm->io, NV_SERIAL_PORT, UART_NR_PORTS,
				      "uart", uart_ioport, &vm->uart);
	if (!ret)
		ret = ioport_register(&vm->io, NV_EXIT_PORT, 4, "debug-exit",
				      vm_exit_port, vm);
	if (!ret)
		ret = ioport_register(&vm->io, NV_HCALL_PORT, 4, "hypercall",
				      hypercall_ioport, &vm->hc_port);
	if (ret)
		pr_err("port I/O set-up: %s", strerror(-ret));
	return ret;
}

/* The control socket (--socket): numa/ figures plus the fault path's */
static int vm_init_socket(struct vm *vm)
{
	char err[VM_ERR_LEN];
	int ret;

	if (vm->fault) {
		vm->qfops = (struct qmp_fault_ops){
			.opaque = vm,
			.node_of = vm_qmp_node_of,
			.faults = vm_qmp_faults,
			.vcpu_faults = vm_qmp_vcpu_faults,
			.policy_changed = vm_qmp_policy_changed,
		};
		qmp_numa_backend_init(&vm->qnb, vm->nv, &vm->qfops);
	} else {
		qmp_numa_backend_init(&vm->qnb, vm->nv, NULL);
	}
	vm->qnb.be.quit = vm_qmp_quit;
	ret = qmp_server_start(vm->conf->socket, &vm->qnb.be, NULL, &vm->qmp,
			       err, sizeof(err));
	if (ret) {
		vm->qmp = NULL;
		pr_err("control socket %s: %s", vm->conf->socket, err);
		return ret;
	}
	qmp_fault_set_server(&vm->qfb, vm->qmp);
	return 0;
}

int vm_init(struct vm *vm, const struct vm_config *cfg)
{
	void *pool_base[NUMA_MAX_NODES] = { NULL };
	pthread_condattr_t ca;
	char err[VM_ERR_LEN];
	unsigned int i;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = *cfg;
	vm->fd = -1;
	vm->kvm.fd = -1;
	for (i = 0; i < NUMA_MAX_NODES; i++)
		vm->pools[i].fd = -1;
	for (i = 0; i < NUMA_MAX_VCPUS; i++)
		vm->vcpu_cpu[i] = -1;
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->stop_cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&vm->stopping, false);

	/* 1. the configuration: topology, policies, memory options */
	ret = vm_init_config(vm, cfg);
	if (ret)
		return ret;
	vm->nr_vcpus = vm->topo.nr_vcpus;

	/* 2. one host pool per node (placement only) */
	if (vm->conf->placement) {
		ret = vm_init_pools(vm);
		if (ret)
			return ret;
		for (i = 0; i < NUMA_MAX_NODES; i++)
			pool_base[i] = vm->pools[i].base;
	}

	/* 3. the NUMA engine over those pools, then the configured policies */
	vm->nv = numa_vm_create(&vm->topo, pool_base, err, sizeof(err));
	if (!vm->nv) {
		ret = errno ? -errno : -EINVAL;
		pr_err("bad NUMA topology: %s", err);
		return ret;
	}
	ret = vm_init_policies(vm);
	if (ret)
		return ret;

	/*
	 * 4. guest RAM: registered with userfaultfd and served by the fault
	 * handlers (started here, before the loader writes the image), or
	 * plain anonymous memory demand-paged by the host kernel
	 */
	if (vm->conf->placement) {
		ret = vm_init_fault_ram(vm);
	} else {
		ret = vm_init_plain_ram(vm);
	}
	if (ret)
		return ret;

	/* 5. devices on the port bus, hypercalls */
	ret = vm_init_devices(vm);
	if (ret)
		return ret;

	/* 6. the control socket */
	if (vm->conf->socket[0]) {
		ret = vm_init_socket(vm);
		if (ret)
			return ret;
	}

	if (vm->fault)
		pr_info("%llu MiB of guest RAM on %u nodes, %u vCPUs: fault path with %llu KiB granules, fault-around %u pages, oom=%s%s%s",
			(unsigned long long)(vm->conf->ram_size >> 20),
			vm->topo.nr_nodes, vm->nr_vcpus,
			(unsigned long long)(vm->conf->granule >> 10),
			vm_fault_window(vm->conf->fault_around),
			vm->conf->oom == CONFIG_OOM_WAIT ? "wait" : "stop",
			vm->qmp ? ", control socket " : "",
			vm->qmp ? vm->conf->socket : "");
	else
		pr_info("%llu MiB of guest RAM on %u nodes, %u vCPUs: plain RAM %s by the host kernel (placement off)%s%s",
			(unsigned long long)(vm->conf->ram_size >> 20),
			vm->topo.nr_nodes, vm->nr_vcpus,
			vm->conf->prealloc ? "populated at start" : "paged",
			vm->qmp ? ", control socket " : "",
			vm->qmp ? vm->conf->socket : "");
	return 0;
}

int vm_load(struct vm *vm, const char *path, const char *append)
{
	int ret = loader_load_file(&vm->ram, path, append, &vm->boot);
	struct fault_stats st;

	if (ret)
		return ret;
	/*
	 * The fault path stopped the VM under the loader (the host policy
	 * cannot hold the image, oom=stop, or a placement failure: already
	 * reported): the image is not all there, so it is not booted.
	 */
	if (vm_stopping(vm)) {
		pr_err("guest image %s: not loaded: the VM stopped while loading it",
		       path);
		return -ECANCELED;
	}
	vm->booted = true;
	if (vm->fault && !fault_get_stats(vm->fault, FAULT_HOST, &st))
		pr_info("image loaded: %llu granules placed for the host context",
			(unsigned long long)st.granules);
	return 0;
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
	if (vm->fault) {
		struct fault_stats fs;

		if (!fault_get_stats(vm->fault, FAULT_ALL, &fs))
			pr_info("fault path: %llu faults, %llu granules placed (%llu by fault-around), %llu races, %llu OOM, %llu freed; p50 %llu ns, p99 %llu ns",
				(unsigned long long)fs.faults,
				(unsigned long long)fs.granules,
				(unsigned long long)fs.around,
				(unsigned long long)fs.races,
				(unsigned long long)fs.oom,
				(unsigned long long)fs.frees,
				(unsigned long long)fault_hist_percentile(&fs, 50),
				(unsigned long long)fault_hist_percentile(&fs, 99));
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

	/* vCPUs (threads were joined by vm_run) */
	for (i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	/* memslots, irqchip and PIT go with the VM fd */
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	kvm_close(&vm->kvm);
	/* 6. the socket: no new OOM event, no handler inside one, then stop */
	qmp_fault_set_server(&vm->qfb, NULL);
	if (vm->fault_started)
		fault_stop(vm->fault);
	vm->fault_started = false;
	if (vm->qmp)
		qmp_server_stop(vm->qmp);
	vm->qmp = NULL;
	/* 5. devices */
	if (vm->uart.out)
		uart_destroy(&vm->uart);
	/* 4. guest RAM and its fault path */
	if (vm->fault)
		fault_ctx_destroy(vm->fault);
	vm->fault = NULL;
	guest_ram_destroy(&vm->ram);
	if (vm->ram_map)
		munmap(vm->ram_map, vm->ram_map_len);
	vm->ram_map = NULL;
	/* 3. the NUMA engine, 2. its pools */
	if (vm->nv)
		numa_vm_destroy(vm->nv);
	vm->nv = NULL;
	for (i = 0; i < NUMA_MAX_NODES; i++)
		if (vm->pools[i].base)
			pool_destroy(&vm->pools[i]);
	/* 1. the config */
	free(vm->conf);
	vm->conf = NULL;
	pthread_cond_destroy(&vm->stop_cond);
	pthread_mutex_destroy(&vm->stop_lock);
}

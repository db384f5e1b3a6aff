/*
 * Host simulator of the guest placement tests: runs a guest test program
 * (guest-tests/<topic>.c, compiled for the host with main renamed
 * guest_main) on host threads that play the vCPUs of a real numavm VM
 * built by vm_init() - config, NUMA engine, node pools, guest RAM
 * registered with userfaultfd and served by the fault path, hypercalls -
 * everything but KVM.  Each thread registers its tid as its vCPU with the
 * fault path, so its first touch of a guest page is a userfaultfd fault
 * placed by that vCPU's policy, exactly as a KVM vCPU's EPT fault is; its
 * hypercalls go through hypercall_dispatch() from a block in guest RAM.
 * So the placement assertions run where there is no /dev/kvm
 * (run_tests.sh --sim), under ASan too.
 *
 *   guest-tests/sim/<topic> [numavm options]   (the GUEST image is ignored)
 *
 * What it does not simulate: the boot path, APIC/SMP bring-up, the serial
 * port and the exit port (the guest runtime's own tests cover those under
 * QEMU and numavm).  Guest RAM is reached at place_ram_base + gpa.  Exit
 * status as numavm's: (guest_main's value << 1) | 1, or the VM's stop
 * status (VM_EXIT_OOM when the fault path ran out of memory), 176 after
 * --timeout.  When the guest is done (or the VM stopped), the host side
 * checks what it can see: every node's buddy allocator is consistent
 * (buddy_check) and its pages in use (managed - free - pcp) are exactly the
 * pages the fault path says that node backs - no frame leaked or doubly
 * used; a failure turns a pass into status 3 and an expected OOM stop into
 * status 3 as well.
 *
 * --hold (the sim's own option, anywhere) keeps a passing VM up after
 * those checks when it has a control socket (--socket): it prints "sim:
 * holding" and serves the socket until its quit command (then exits with
 * the pass status) or SIM_HOLD_S seconds (VM_EXIT_TIMEOUT), so that a
 * client can read the finished VM (guest-tests/live_socket.sh).  The
 * socket file is removed on the way out.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootinfo.h"
#include "hcall.h"
#include "mm/buddy.h"
#include "numa/numa.h"
#include "smp.h"
#include "vmm/config.h"
#include "vmm/fault.h"
#include "vmm/hypercall.h"
#include "vmm/qmp.h"
#include "vmm/vm.h"

/* The parts of libcflat.h the tests use (it clashes with libc's headers) */
int guest_main(int argc, char **argv);
void report(bool pass, const char *fmt, ...) __printf(2, 3);
void report_skip(const char *fmt, ...) __printf(1, 2);
void report_info(const char *fmt, ...) __printf(1, 2);
int report_summary(void);
const char *boot_arg(const char *key);
bool boot_flag(const char *word);
uint64_t boot_arg_u64(const char *key, uint64_t def);
uint64_t strtou64(const char *s, const char **end);

extern uintptr_t place_ram_base;	/* guest-tests/lib/place.c */

#define SIM_SCRATCH	0x10000ULL	/* per-CPU hypercall page: + id * 4K */
#define SIM_BUF_OFF	0x400		/* bounce buffer inside that page */
#define SIM_WEIGHTS_OFF	0xe00
#define SIM_LOW_END	(3ULL << 30)	/* RAM above is not identity mapped */
#define SIM_HOLD_S	20		/* --hold: longest wait for quit */

struct sim_cpu {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*fn)(void *);
	void *arg;
	bool pending;
};

static struct vm *vm;
static unsigned int nr_cpus;
static struct sim_cpu cpus[SMP_MAX_CPUS];
static __thread int this_cpu = -1;
static pthread_barrier_t barrier;
static int sim_argc;
static char *sim_argv[MAX_ARGS + 1];
static char cmdline[1024];

static atomic_bool main_done;
static int main_code;

static pthread_mutex_t report_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int nr_tests, nr_failed, nr_skipped;

/* --- report.c's API ---------------------------------------------------- */

static void vreport(const char *tag, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	pthread_mutex_lock(&report_lock);
	printf("%s: %s\n", tag, buf);
	pthread_mutex_unlock(&report_lock);
}

void report(bool pass, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(pass ? "PASS" : "FAIL", fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&report_lock);
	nr_tests++;
	nr_failed += !pass;
	pthread_mutex_unlock(&report_lock);
}

void report_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("SKIP", fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&report_lock);
	nr_tests++;
	nr_skipped++;
	pthread_mutex_unlock(&report_lock);
}

void report_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport("INFO", fmt, ap);
	va_end(ap);
}

int report_summary(void)
{
	printf("SUMMARY: %u tests, %u unexpected failures, %u skipped\n",
	       nr_tests, nr_failed, nr_skipped);
	if (nr_failed)
		return 1;
	return nr_tests && nr_tests == nr_skipped ? 77 : 0;
}

/* --- boot arguments ---------------------------------------------------- */

uint64_t strtou64(const char *s, const char **end)
{
	char *e;
	uint64_t v = strtoull(s, &e, 0);

	if (*s == '-' || *s == '+' || *s == ' ')
		e = (char *)s, v = 0;
	*end = e;
	return v;
}

const char *boot_arg(const char *key)
{
	size_t klen = strlen(key);
	int i;

	for (i = 0; i < sim_argc; i++)
		if (!strncmp(sim_argv[i], key, klen) && sim_argv[i][klen] == '=')
			return sim_argv[i] + klen + 1;
	return NULL;
}

bool boot_flag(const char *word)
{
	int i;

	for (i = 0; i < sim_argc; i++)
		if (!strcmp(sim_argv[i], word))
			return true;
	return false;
}

uint64_t boot_arg_u64(const char *key, uint64_t def)
{
	const char *s = boot_arg(key), *e;
	uint64_t v;

	if (!s)
		return def;
	v = strtou64(s, &e);
	return e == s ? def : v;
}

/* --- memory map -------------------------------------------------------- */

bool mem_range_from(uint64_t from, uint64_t *start, uint64_t *end)
{
	uint64_t e = vm->ram.size < SIM_LOW_END ? vm->ram.size : SIM_LOW_END;

	if (from < 1ULL << 20)
		from = 1ULL << 20;
	if (from >= e)
		return false;
	*start = from;
	*end = e;
	return true;
}

/* Nothing is loaded: the "image" and AP stacks end below 2 MiB */
uint64_t alloc_top(void)
{
	return 2ULL << 20;
}

/* --- SMP ------------------------------------------------------------------ */

int smp_id(void)
{
	return this_cpu;
}

int cpu_count(void)
{
	return (int)nr_cpus;
}

void smp_barrier(void)
{
	pthread_barrier_wait(&barrier);
}

void on_cpus(void (*fn)(void *), void *arg)
{
	unsigned int i;

	for (i = 0; i < nr_cpus; i++) {
		if ((int)i == this_cpu)
			continue;
		pthread_mutex_lock(&cpus[i].lock);
		cpus[i].fn = fn;
		cpus[i].arg = arg;
		cpus[i].pending = true;
		pthread_cond_broadcast(&cpus[i].cond);
		pthread_mutex_unlock(&cpus[i].lock);
	}
	fn(arg);
	for (i = 0; i < nr_cpus; i++) {
		if ((int)i == this_cpu)
			continue;
		pthread_mutex_lock(&cpus[i].lock);
		while (cpus[i].pending)
			pthread_cond_wait(&cpus[i].cond, &cpus[i].lock);
		pthread_mutex_unlock(&cpus[i].lock);
	}
}

/* --- hypercalls: a block in this CPU's scratch page of guest RAM ---------- */

static uint64_t scratch(void)
{
	return SIM_SCRATCH + (uint64_t)this_cpu * 4096;
}

int32_t nv_hcall(uint32_t nr, uint64_t a0, uint64_t a1, uint64_t a2,
		 uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct nv_hcall *hc = (struct nv_hcall *)(place_ram_base + scratch());
	int status = 0;

	*hc = (struct nv_hcall){ .nr = nr, .ret = NV_ENOSYS,
				 .args = { a0, a1, a2, a3, a4, a5 } };
	if (hypercall_dispatch(&vm->hc, (unsigned int)this_cpu, scratch(),
			       &status) == HYPERCALL_EXIT) {
		fflush(stdout);
		_exit(status);
	}
	return __atomic_load_n(&hc->ret, __ATOMIC_ACQUIRE);
}

bool nv_present(void)
{
	return true;
}

int32_t nv_abi_version(void)
{
	return nv_hcall(NV_HC_ABI_VERSION, 0, 0, 0, 0, 0, 0);
}

int32_t nv_topology(struct nv_topology *t)
{
	uint64_t buf = scratch() + SIM_BUF_OFF;
	int32_t ret;

	ret = nv_hcall(NV_HC_TOPOLOGY, buf, sizeof(*t), 0, 0, 0, 0);
	if (!ret)
		memcpy(t, (void *)(place_ram_base + buf), sizeof(*t));
	return ret;
}

static uint64_t weights_gpa(const uint8_t *w)
{
	uint64_t gpa = scratch() + SIM_WEIGHTS_OFF;

	if (!w)
		return 0;
	memcpy((void *)(place_ram_base + gpa), w, NV_MAX_NODES);
	return gpa;
}

int32_t nv_set_policy(uint32_t mode, uint64_t nodemask,
		      const uint8_t *weights)
{
	return nv_hcall(NV_HC_SET_POLICY, mode, nodemask, weights_gpa(weights),
			0, 0, 0);
}

int32_t nv_mbind(uint64_t gpa, uint64_t len, uint32_t mode,
		 uint64_t nodemask, const uint8_t *weights)
{
	return nv_hcall(NV_HC_MBIND, gpa, len, mode, nodemask,
			weights_gpa(weights), 0);
}

int32_t nv_get_node(uint64_t gpa)
{
	return nv_hcall(NV_HC_GET_NODE, gpa, 0, 0, 0, 0, 0);
}

int32_t nv_free_range(uint64_t gpa, uint64_t len)
{
	return nv_hcall(NV_HC_FREE_RANGE, gpa, len, 0, 0, 0, 0);
}

/* --- the vCPU threads ------------------------------------------------------ */

static void *cpu_thread(void *opaque)
{
	struct sim_cpu *c = opaque;
	int ret;

	this_cpu = (int)(c - cpus);
	ret = fault_register_vcpu(vm->fault, this_cpu, gettid());
	if (ret) {
		fprintf(stderr, "sim: vCPU %d: fault_register_vcpu: %s\n",
			this_cpu, strerror(-ret));
		fflush(stdout);
		_exit(VM_EXIT_SETUP);
	}
	/* the hypercall page: this vCPU's first touch, placed by its policy */
	memset((void *)(place_ram_base + scratch()), 0, 4096);
	pthread_barrier_wait(&barrier);

	if (this_cpu == 0) {
		main_code = guest_main(sim_argc, sim_argv);
		atomic_store(&main_done, true);
		return NULL;
	}
	for (;;) {
		void (*fn)(void *);
		void *arg;

		pthread_mutex_lock(&c->lock);
		while (!c->pending)
			pthread_cond_wait(&c->cond, &c->lock);
		fn = c->fn;
		arg = c->arg;
		pthread_mutex_unlock(&c->lock);
		fn(arg);
		pthread_mutex_lock(&c->lock);
		c->pending = false;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/*
 * The host-side view after the run.  Returns true if it is consistent;
 * prints one report line per node (after the guest's SUMMARY line).
 */
static bool host_check(void)
{
	uint64_t granule = vm->conf->granule, off, backed[NUMA_MAX_NODES] = { 0 };
	unsigned int n, nr = numa_nr_nodes(vm->nv);
	struct buddy_info bi;
	bool ok = true;
	char msg[256];
	int node;

	for (off = 0; off < vm->ram.size; off += granule) {
		node = fault_get_node(vm->fault, off, NULL);
		if (node >= 0 && node < NUMA_MAX_NODES)
			backed[node] += granule / PAGE_SIZE;
	}
	for (n = 0; n < nr; n++) {
		struct buddy *b = numa_node_buddy(vm->nv, n);
		unsigned long used;
		bool good;

		if (!b) {
			good = !backed[n];
			printf("%s: host: node %u has no memory, backs %llu pages\n",
			       good ? "PASS" : "FAIL", n,
			       (unsigned long long)backed[n]);
			ok &= good;
			continue;
		}
		msg[0] = 0;
		good = !buddy_check(b, msg, sizeof(msg));
		buddy_get_info(b, &bi);
		used = bi.managed_pages - bi.free_pages - bi.pcp_pages;
		good &= used == backed[n];
		printf("%s: host: node %u: buddy %s, %lu pages in use (%lu free, %lu in pcp), %llu backing guest RAM\n",
		       good ? "PASS" : "FAIL", n, msg[0] ? msg : "consistent",
		       used, bi.free_pages, bi.pcp_pages,
		       (unsigned long long)backed[n]);
		ok &= good;
	}
	return ok;
}

/*
 * --hold: serve the socket until quit stops the VM (status 0: keep the
 * pass) or SIM_HOLD_S seconds pass; then stop the server, which removes
 * the socket file.  The guest is done, so no fault can raise an OOM event.
 */
static int hold(int status)
{
	struct timespec t0, t;

	printf("sim: holding, control socket %s, until quit or %d s\n",
	       vm->conf->socket, SIM_HOLD_S);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!vm_stopping(vm)) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec >= SIM_HOLD_S) {
			fprintf(stderr, "sim: no quit after %d s\n", SIM_HOLD_S);
			status = VM_EXIT_TIMEOUT;
			break;
		}
		usleep(2000);
	}
	if (vm_stopping(vm) && vm->exit_status)
		status = vm->exit_status;
	qmp_fault_set_server(&vm->qfb, NULL);
	qmp_server_stop(vm->qmp);
	vm->qmp = NULL;
	printf("sim: %s, exit status %d\n",
	       status == VM_EXIT_TIMEOUT ? "hold timed out" : "quit", status);
	return status;
}

static void split_cmdline(const char *s)
{
	char *p;

	snprintf(cmdline, sizeof(cmdline), "%s", s);
	for (p = strtok(cmdline, " "); p && sim_argc < MAX_ARGS;
	     p = strtok(NULL, " "))
		sim_argv[sim_argc++] = p;
	sim_argv[sim_argc] = NULL;
}

int main(int argc, char **argv)
{
	struct vm_config cfg = { .serial_fd = STDOUT_FILENO };
	char err[CONFIG_ERR_LEN];
	struct config *conf;
	struct timespec t0, t;
	bool hold_vm = false;
	unsigned int i, n;
	int ret, status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* --hold is the sim's own option: take it out before numavm's parser */
	for (i = 1, n = 1; i < (unsigned int)argc; i++) {
		if (!strcmp(argv[i], "--hold"))
			hold_vm = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	argc = (int)n;
	conf = calloc(1, sizeof(*conf));
	vm = calloc(1, sizeof(*vm));
	if (!conf || !vm)
		return VM_EXIT_SETUP;
	config_init(conf);
	ret = config_parse_argv(conf, argc, argv, err, sizeof(err));
	if (ret < 0 || ret == CONFIG_HELP) {
		fprintf(stderr, "sim: %s\n", ret < 0 ? err : "usage: as numavm");
		return VM_EXIT_USAGE;
	}
	if (!conf->placement) {
		fprintf(stderr, "sim: needs the fault path (no --no-placement)\n");
		return VM_EXIT_USAGE;
	}
	cfg.conf = conf;
	if (vm_init(vm, &cfg) || !vm->fault) {
		fprintf(stderr, "sim: VM set-up failed\n");
		return VM_EXIT_SETUP;
	}
	place_ram_base = (uintptr_t)vm->ram.base;
	split_cmdline(conf->cmdline);
	nr_cpus = vm->nr_vcpus;
	printf("sim: %u vCPUs as host threads, %llu MiB of guest RAM, cmdline '%s'\n",
	       nr_cpus, (unsigned long long)(vm->ram.size >> 20), conf->cmdline);

	pthread_barrier_init(&barrier, NULL, nr_cpus);
	for (i = 0; i < nr_cpus; i++) {
		pthread_mutex_init(&cpus[i].lock, NULL);
		pthread_cond_init(&cpus[i].cond, NULL);
		if (pthread_create(&cpus[i].thread, NULL, cpu_thread,
				   &cpus[i])) {
			fprintf(stderr, "sim: cannot start vCPU thread %u\n", i);
			return VM_EXIT_SETUP;
		}
	}

	/* like vm_run: until the guest returns, the VM stops, or timeout */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (atomic_load(&main_done)) {
			status = (main_code << 1) | 1;
			break;
		}
		if (vm_stopping(vm)) {
			status = vm->exit_status;
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (conf->timeout && t.tv_sec - t0.tv_sec >= (long)conf->timeout) {
			fprintf(stderr, "sim: timeout after %u s\n",
				conf->timeout);
			status = VM_EXIT_TIMEOUT;
			break;
		}
		usleep(2000);
	}
	if (status != VM_EXIT_TIMEOUT && !host_check())
		status = 3;
	if (hold_vm && status == 1 && vm->qmp)
		status = hold(status);
	fflush(stdout);
	fflush(stderr);
	/* vCPU threads may be blocked in a fault (OOM): no teardown */
	_exit(status);
}

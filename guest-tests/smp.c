/*
 * SMP: every vCPU comes up and reports its APIC id; cross-CPU calls,
 * barriers and spinlocks work on all of them; under numavm every vCPU also
 * asks the topology hypercall who it is and which node is its home, and
 * the answers must agree with the topology table.  The numavm-only part is
 * skipped under QEMU.
 */
#include "apic.h"
#include "hcall.h"
#include "libcflat.h"
#include "smp.h"

#define LOCK_ROUNDS	20000
#define BARRIER_ROUNDS	50

static uint32_t seen_apic[SMP_MAX_CPUS];
static int ran[SMP_MAX_CPUS];

static struct spinlock counter_lock;
static unsigned long counter;

static int arrivals[BARRIER_ROUNDS];
static int barrier_errors;

static struct nv_topology topo_of[SMP_MAX_CPUS] __aligned(64);
static int32_t topo_ret[SMP_MAX_CPUS];

static void record_id(void *arg)
{
	int id = smp_id();

	seen_apic[id] = apic_id();
	ran[id]++;
	printf("CPU %d: APIC id %u\n", id, seen_apic[id]);
}

static void lock_work(void *arg)
{
	int i;

	for (i = 0; i < LOCK_ROUNDS; i++) {
		spin_lock(&counter_lock);
		counter++;
		spin_unlock(&counter_lock);
	}
}

/* Round r: everyone arrives, barrier, everyone checks all arrived. */
static void barrier_work(void *arg)
{
	int r, n = cpu_count();

	for (r = 0; r < BARRIER_ROUNDS; r++) {
		__atomic_add_fetch(&arrivals[r], 1, __ATOMIC_RELAXED);
		smp_barrier();
		if (__atomic_load_n(&arrivals[r], __ATOMIC_RELAXED) != n)
			__atomic_add_fetch(&barrier_errors, 1,
					   __ATOMIC_RELAXED);
		smp_barrier();
	}
}

static void topo_work(void *arg)
{
	int id = smp_id();

	topo_ret[id] = nv_topology(&topo_of[id]);
}

static void check_ids(void)
{
	int n = cpu_count(), i, j;
	bool all_ran = true, unique = true;

	on_cpus(record_id, NULL);
	for (i = 0; i < n; i++) {
		all_ran &= ran[i] == 1;
		for (j = 0; j < i; j++)
			unique &= seen_apic[i] != seen_apic[j];
	}
	report(all_ran, "on_cpus ran once on each of %d CPUs", n);
	report(unique, "APIC ids are distinct");
	for (i = 0; i < n; i++)
		if (seen_apic[i] != cpu_apic_id(i))
			break;
	report(i == n, "cpu_apic_id() agrees with each CPU's APIC");
}

static void check_topology(void)
{
	int n = cpu_count(), i;
	bool ok = true;

	if (!nv_present()) {
		report_skip("topology hypercall: not running under numavm");
		return;
	}
	on_cpus(topo_work, NULL);
	for (i = 0; i < n; i++) {
		const struct nv_topology *t = &topo_of[i];

		if (topo_ret[i]) {
			printf("CPU %d: topology hypercall returned %d (%s)\n",
			       i, topo_ret[i], nv_strerror(topo_ret[i]));
			ok = false;
			continue;
		}
		printf("CPU %d: APIC id %u, vCPU %u, home node %u of %u\n", i,
		       seen_apic[i], t->this_vcpu, t->home_node, t->nr_nodes);
		ok &= t->nr_vcpus == (uint32_t)n && t->nr_nodes >= 1 &&
		      t->nr_nodes <= NV_MAX_NODES &&
		      t->home_node < t->nr_nodes &&
		      t->this_vcpu < NV_MAX_VCPUS &&
		      t->home_node == t->vcpu_node[t->this_vcpu];
	}
	report(ok, "every vCPU gets its id and a valid home node");
	for (i = 1; i < n; i++)
		if (topo_of[i].this_vcpu == topo_of[0].this_vcpu)
			break;
	report(i == n, "vCPU ids differ between CPUs");
}

int main(int argc, char **argv)
{
	int n = cpu_count(), want = (int)boot_arg_u64("cpus", 0);

	report(n == cpu_expected(), "%d of %d CPUs online", n,
	       cpu_expected());
	if (want)
		report(n == want, "%d CPUs as asked (cpus=%d)", n, want);
	check_ids();

	on_cpus(lock_work, NULL);
	report(counter == (unsigned long)n * LOCK_ROUNDS,
	       "spinlock: %lu increments from %d CPUs", counter, n);

	on_cpus(barrier_work, NULL);
	report(!barrier_errors, "barrier: %d rounds, %d early exits",
	       BARRIER_ROUNDS, barrier_errors);

	check_topology();
	return report_summary();
}

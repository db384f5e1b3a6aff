/*
 * Shared by the config fuzz harnesses (tests/fuzz_ini.c, fuzz_xml.c,
 * fuzz_argv.c) and tests/configcheck.c: a quiet config, the invariants
 * every config that passes config_validate() must hold (a violation traps
 * so libFuzzer records the input), and config_engine_check(): the NUMA
 * engine (numa/topo_validate(), mpol_create()) accepts what the config
 * validation accepted.
 */
#ifndef NUMAVM_TESTS_FUZZ_CONFIG_H
#define NUMAVM_TESTS_FUZZ_CONFIG_H

#include <string.h>

#include "numa/topology.h"
#include "vmm/config.h"

static inline void fuzz_quiet(void *arg, const char *msg)
{
	/* warnings must be proper strings */
	if (strlen(msg) >= CONFIG_ERR_LEN)
		__builtin_trap();
}

static inline void fuzz_init(struct config *c)
{
	config_init(c);
	c->warn = fuzz_quiet;
}

/* @ret: what the parser returned; @err: its message */
static inline void fuzz_check(const struct config *c, int ret, const char *err)
{
	const struct numa_topology *t = &c->topo;
	uint64_t sum = 0;
	unsigned int i, j;

	if (ret == CONFIG_HELP)
		return;
	if (ret) {
		/* an error always says something */
		if (ret > 0 || !err[0] || strlen(err) >= CONFIG_ERR_LEN)
			__builtin_trap();
		return;
	}
	if (!t->nr_nodes || t->nr_nodes > NUMA_MAX_NODES || !c->nr_vcpus ||
	    c->nr_vcpus > NUMA_MAX_VCPUS || t->nr_vcpus != c->nr_vcpus ||
	    !c->ram_size || c->ram_size % c->granule ||
	    c->nr_ranges > CONFIG_MAX_RANGES)
		__builtin_trap();
	for (i = 0; i < t->nr_nodes; i++) {
		sum += t->node_mem[i];
		for (j = 0; j < t->nr_nodes; j++)
			if ((i == j) != (t->distance[i][j] == 10) ||
			    t->distance[i][j] > NUMA_MAX_DISTANCE)
				__builtin_trap();
	}
	if (sum != c->ram_size)
		__builtin_trap();
	for (i = 0; i < c->nr_vcpus; i++)
		if (t->vcpu_node[i] >= t->nr_nodes ||
		    !(c->node_cpus[t->vcpu_node[i]] & (1ULL << i)))
			__builtin_trap();
	for (i = 0; i < c->nr_ranges; i++) {
		if (c->ranges[i].start % c->granule || !c->ranges[i].len ||
		    c->ranges[i].start + c->ranges[i].len > c->ram_size)
			__builtin_trap();
		if (i && c->ranges[i - 1].start + c->ranges[i - 1].len >
				 c->ranges[i].start)
			__builtin_trap();
	}
	if (memchr(c->image, 0, sizeof(c->image)) == NULL ||
	    memchr(c->socket, 0, sizeof(c->socket)) == NULL)
		__builtin_trap();
}

static inline int config_engine_check(const struct config *c, char *err,
				      size_t len);

/* fuzz_check() plus the engine's agreement */
static inline void fuzz_check_engine(const struct config *c, int ret,
				     const char *err)
{
	char msg[256];

	fuzz_check(c, ret, err);
	if (!ret && config_engine_check(c, msg, sizeof(msg)))
		__builtin_trap();
}

/*
 * The engine's verdict on a validated config: 0, or -EINVAL with the
 * engine's message in @err.
 */
static inline int config_engine_check(const struct config *c, char *err,
				      size_t len)
{
	nodemask_t allowed = topo_mem_nodes(&c->topo);
	struct mempolicy pol;
	unsigned int i;
	int ret;

	ret = topo_validate(&c->topo, err, len);
	for (i = 0; !ret && i < c->nr_vcpus; i++)
		ret = mpol_create(&pol, &c->vcpu_pol[i], allowed,
				  c->topo.nr_nodes, err, len);
	for (i = 0; !ret && i < c->nr_ranges; i++)
		ret = mpol_create(&pol, &c->ranges[i].pol, allowed,
				  c->topo.nr_nodes, err, len);
	if (!ret)
		ret = mpol_create(&pol, &c->host_pol, allowed, c->topo.nr_nodes,
				  err, len);
	return ret;
}

#endif /* NUMAVM_TESTS_FUZZ_CONFIG_H */

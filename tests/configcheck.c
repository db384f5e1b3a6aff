/*
 * configcheck: parse and validate numavm config files (INI or libvirt XML)
 * without starting anything, and print what each describes.  make
 * check-configs runs it on every file in configs/; -q prints only errors.
 * A valid config must also be accepted by the NUMA engine (topo_validate(),
 * mpol_create()), so the two validations cannot drift apart.
 * Exit status: 0 if every file is valid, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz_config.h"
#include "vmm/config.h"

static void print_config(const char *path, const struct config *c)
{
	char b[32], b2[32];
	unsigned int i, j, v;

	printf("%s: %s RAM, %u vCPUs, %u nodes, granule %s, image '%s'\n", path,
	       config_fmt_size(b, sizeof(b), c->ram_size), c->nr_vcpus,
	       c->topo.nr_nodes, config_fmt_size(b2, sizeof(b2), c->granule),
	       c->image);
	for (i = 0; i < c->topo.nr_nodes; i++) {
		printf("  node %u: %s, vcpus 0x%llx, host 0x%llx, dist", i,
		       config_fmt_size(b, sizeof(b), c->topo.node_mem[i]),
		       (unsigned long long)c->node_cpus[i],
		       (unsigned long long)c->topo.host_nodes[i]);
		for (j = 0; j < c->topo.nr_nodes; j++)
			printf(" %u", c->topo.distance[i][j]);
		printf("\n");
	}
	for (v = 0; v < c->nr_vcpus; v++)
		if (c->vcpu_pol_set & (1ULL << v))
			printf("  vcpu %u: %s nodes 0x%x\n", v,
			       config_mode_name(c->vcpu_pol[v].mode),
			       c->vcpu_pol[v].nodes);
	for (i = 0; i < c->nr_ranges; i++)
		printf("  range 0x%llx+0x%llx: %s nodes 0x%x\n",
		       (unsigned long long)c->ranges[i].start,
		       (unsigned long long)c->ranges[i].len,
		       config_mode_name(c->ranges[i].pol.mode),
		       c->ranges[i].pol.nodes);
}

int main(int argc, char **argv)
{
	struct config *c = malloc(sizeof(*c));
	char err[CONFIG_ERR_LEN];
	bool quiet = false;
	int i, bad = 0;

	if (!c)
		return 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q")) {
			quiet = true;
			continue;
		}
		config_init(c);
		if (config_parse_file(c, argv[i], err, sizeof(err)) ||
		    config_validate(c, err, sizeof(err))) {
			fprintf(stderr, "configcheck: %s\n", err);
			bad = 1;
			continue;
		}
		if (config_engine_check(c, err, sizeof(err))) {
			fprintf(stderr,
				"configcheck: %s: valid, but the NUMA "
				"engine refuses it: %s\n",
				argv[i], err);
			bad = 1;
			continue;
		}
		if (!quiet)
			print_config(argv[i], c);
	}
	free(c);
	return bad;
}

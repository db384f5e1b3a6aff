/*
 * The configuration of one VM, as read from a native INI file, a libvirt
 * domain XML file and/or a QEMU-style command line: guest RAM and vCPUs, the
 * virtual NUMA topology (struct numa_topology), the initial policy of every
 * vCPU, range policies on guest physical addresses, the fault path's options
 * (granularity, fault-around, prealloc, THP, OOM behaviour), the control
 * socket, the guest image and a timeout.  Parsing never creates a VM: every
 * structural problem is reported with where it comes from (file:line for INI,
 * file:line: /element/path for XML, "command line" for flags) before anything
 * runs.  docs/config.md documents every key, its default and its unit.
 *
 * Typical use (vmm/main.c):
 *
 *	struct config *c = malloc(sizeof(*c));
 *	char err[CONFIG_ERR_LEN];
 *	int ret;
 *
 *	config_init(c);
 *	ret = config_parse_argv(c, argc, argv, err, sizeof(err));
 *	if (ret == CONFIG_HELP) { config_usage(stdout, argv[0]); exit(0); }
 *	if (ret < 0) { fprintf(stderr, "numavm: %s\n", err); exit(2); }
 *	... c is complete and validated; c->topo is ready for numa/ ...
 *
 * (struct vm_config in vmm/vm.h is something else: the few parameters
 * vm_init() takes, which main.c fills from this struct config.)
 *
 * The struct holds no pointers to heap memory: it may be copied, and there is
 * nothing to free.  Nothing here is thread-safe; parse once at startup.
 */
#ifndef NUMAVM_VMM_CONFIG_H
#define NUMAVM_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compiler.h"
#include "types.h"
#include "numa/mempolicy.h"
#include "numa/topology.h"
#include "vmm/guest_ram.h"

#define CONFIG_MAX_RANGES	32		/* range policies in a config */
#define CONFIG_PATH_MAX		1024		/* guest image path, bytes + NUL */
#define CONFIG_SOCKET_MAX	108		/* sizeof(sun_path) */
#define CONFIG_ORIGIN_LEN	128		/* "file:line: ..." of an item */
#define CONFIG_ERR_LEN		512		/* a good size for @err buffers */
#define CONFIG_FILE_MAX		(1U << 20)	/* config files are read whole */
#define CONFIG_MAX_RAM		(1ULL << 40)	/* 1 TiB */
#define CONFIG_MIN_RAM		(2ULL << 20)	/* a loader and its stack */
#define CONFIG_MAX_FAULT_AROUND	512		/* pages: one 2 MiB block */
#define CONFIG_MAX_TIMEOUT	(7U * 24 * 3600)

/* Defaults (see docs/config.md) */
#define CONFIG_DEFAULT_RAM	(128ULL << 20)	/* QEMU's default -m */
#define CONFIG_DEFAULT_GRANULE	4096ULL

/* config_parse_argv() asked for -h / --help */
#define CONFIG_HELP		1

enum config_oom {
	CONFIG_OOM_STOP = 0,	/* stop the VM with a report (default) */
	CONFIG_OOM_WAIT,	/* park the vCPU until memory is freed */
};

/* A policy on the guest physical range [start, start + len) */
struct config_range {
	gpa_t start;
	uint64_t len;
	struct mpol_spec pol;
};

/* Where each item was set, "file:line" or "command line: -m"; for errors */
struct config_origins {
	char ram[CONFIG_ORIGIN_LEN];
	char vcpus[CONFIG_ORIGIN_LEN];
	char node[NUMA_MAX_NODES][CONFIG_ORIGIN_LEN];
	char vcpu_pol[NUMA_MAX_VCPUS][CONFIG_ORIGIN_LEN];
	char range[CONFIG_MAX_RANGES][CONFIG_ORIGIN_LEN];
	char host_pol[CONFIG_ORIGIN_LEN];
	char granule[CONFIG_ORIGIN_LEN];
	char fault_around[CONFIG_ORIGIN_LEN];
};

/* Receives each warning (one line, no newline); NULL prints to stderr. */
typedef void (*config_warn_fn)(void *arg, const char *msg);

struct config {
	/* [machine] */
	uint64_t ram_size;		/* bytes; 0 until set (see defaults) */
	unsigned int nr_vcpus;		/* 0 until set */
	char image[CONFIG_PATH_MAX];	/* guest image, "" = not given */
	char cmdline[CONFIG_PATH_MAX];	/* guest command line, "" = none */
	unsigned int timeout;		/* seconds, 0 = none */

	/*
	 * Topology.  topo.nr_nodes == 0 until a node is configured; then
	 * topo.node_mem/host_nodes/distance are filled as read, and
	 * config_validate() fills topo.nr_vcpus and topo.vcpu_node from
	 * node_cpus.  dist_set records which distances were given (the
	 * others default to the reverse direction, else 20).
	 */
	struct numa_topology topo;
	uint64_t node_cpus[NUMA_MAX_NODES];	/* bit v: vCPU v lives here */
	enum mpol_mode host_mode[NUMA_MAX_NODES];	/* pool binding: bind,
						 * preferred or interleave */
	uint32_t dist_set[NUMA_MAX_NODES];	/* bit j: distance[i][j] given */
	nodemask_t node_declared;		/* nodes some source configured */

	/* Policies.  vCPUs not in vcpu_pol_set get MPOL_DEFAULT (local). */
	struct mpol_spec vcpu_pol[NUMA_MAX_VCPUS];
	uint64_t vcpu_pol_set;
	struct mpol_spec host_pol;	/* host context (loader, devices) */
	unsigned int nr_ranges;
	struct config_range ranges[CONFIG_MAX_RANGES];	/* sorted by validate */

	/* [memory] */
	uint64_t granule;		/* 4096, 65536 or 2097152 bytes */
	unsigned int fault_around;	/* extra 4 KiB pages per fault, 0 = off */
	bool prealloc;			/* populate the node pools at start */
	bool thp;			/* MADV_HUGEPAGE on the node pools */
	bool placement;			/* false: plain anonymous guest RAM,
					 * demand-paged by the host kernel */
	enum config_oom oom;

	/* [socket] */
	char socket[CONFIG_SOCKET_MAX];	/* stats/control socket, "" = none */

	unsigned int verbose;		/* number of -v on the command line */

	config_warn_fn warn;		/* set after config_init() if wanted */
	void *warn_arg;

	struct config_origins where;
};

/* config_init - every field to its default; no warning callback. */
void config_init(struct config *c);

/*
 * config_parse_argv - parse the whole numavm command line into @c (which
 * config_init() prepared; a warning callback may be set first):
 *
 *   numavm [--config FILE] [QEMU-style flags] [numavm options] [GUEST]
 *
 * --config FILE is read first (INI or libvirt XML, see config_parse_file());
 * every other option then overrides what the file said, whatever the order
 * on the command line.  QEMU-style flags: -m, -smp, -numa node|dist,
 * -object memory-backend-ram (a -numa node on the command line replaces the
 * file's whole topology), -append CMDLINE.  numavm options: --timeout SEC, --granule SIZE,
 * --fault-around PAGES, --prealloc/--no-prealloc, --thp/--no-thp,
 * --oom stop|wait, --socket PATH, -v/--verbose, -h/--help.  Every option
 * takes one or two dashes (-smp, --smp), and "--opt=value" works too.
 * GUEST (at most one) is the guest image and overrides the file's.
 * argv[0] is skipped.  Ends with config_validate().
 *
 * Returns 0 when @c is complete and valid, CONFIG_HELP for -h/--help (the
 * caller prints config_usage() and exits 0), or -EINVAL / -ENOENT / -EIO /
 * -ENOMEM with a one-line message in @err naming the file and line, XML
 * element or argument at fault and what is wrong.  No VM is created.
 */
int config_parse_argv(struct config *c, int argc, char **argv, char *err,
		      size_t len) __must_check;

/* Print the command line synopsis to @f. */
void config_usage(FILE *f, const char *prog);

/*
 * config_parse_file - read @path into @c: libvirt domain XML if the content
 * starts with '<' (after blanks and a UTF-8 BOM), else the native INI format.
 * Does not validate (the command line may still change @c).  Returns 0, or
 * -errno with "path:line: ..." in @err; @c may be partly filled on error.
 */
int config_parse_file(struct config *c, const char *path, char *err,
		      size_t len) __must_check;

/*
 * config_parse_ini / config_parse_xml - parse @size bytes at @buf (need not
 * be NUL-terminated) named @name in messages.  Same contract as
 * config_parse_file().  Exposed for the tests and the fuzzers.
 */
int config_parse_ini(struct config *c, const char *name, const char *buf,
		     size_t size, char *err, size_t len) __must_check;
int config_parse_xml(struct config *c, const char *name, const char *buf,
		     size_t size, char *err, size_t len) __must_check;

/*
 * config_parse_qemu - apply one QEMU-style option: @opt is "-m", "-smp",
 * "-numa" or "-object", @arg its argument.  -numa node/-object are collected
 * in @c's pending state and take effect in config_qemu_finish(), which
 * config_parse_argv() calls once after the last option.
 * Returns 0 or -EINVAL with "command line: -numa 'node,...': ..." in @err.
 */
struct config_qemu;
int config_parse_qemu(struct config_qemu *q, struct config *c,
		      const char *opt, const char *arg, char *err,
		      size_t len) __must_check;
struct config_qemu *config_qemu_new(void) __must_check;
int config_qemu_finish(struct config_qemu *q, struct config *c, char *err,
		       size_t len) __must_check;
void config_qemu_free(struct config_qemu *q);

/*
 * config_validate - fill the derived fields (default RAM, vCPU count and
 * single node; unset distances; topo.vcpu_node) and check every structural
 * rule: sizes, granule alignment, node memory adding up to RAM, every vCPU
 * in exactly one node, SLIT distances, policies (mode, flags, nodes, weights)
 * and ranges (aligned, inside RAM, not overlapping).  Returns 0 or -EINVAL
 * with the first problem, prefixed by where the item came from.
 * The policy engine (numa/mpol_create()) checks policies again at start.
 */
int config_validate(struct config *c, char *err, size_t len) __must_check;

/*
 * Helpers shared by the three parsers; each returns 0 or -EINVAL with a
 * message (without location) in @err.
 *
 * config_parse_size: "64M", "0x100000", "2G", "4096"; suffixes K, M, G, T
 * (powers of 1024, optionally followed by "iB" or "B"), case-insensitive;
 * a bare number is multiplied by @unit.
 * config_parse_list: "0-3,6,^2" into the bit mask @mask; every number must
 * be < @max ("^n" removes n, as libvirt's cpusets).
 * config_parse_u32: a decimal number in [min, max].
 * config_parse_bool: yes/no, true/false, on/off, 1/0.
 * config_parse_mode: default, local, preferred, preferred-many, bind,
 * interleave, weighted-interleave ('_' may replace '-').
 * config_parse_flags: "static", "relative" ("-nodes" suffix optional),
 * comma-separated, or "none".
 * config_parse_weights: "node:weight,..." into @spec->weights.
 */
int config_parse_size(const char *s, uint64_t unit, uint64_t *out, char *err,
		      size_t len) __must_check;
int config_parse_list(const char *s, unsigned int max, uint64_t *mask,
		      char *err, size_t len) __must_check;
int config_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
		     char *err, size_t len) __must_check;
int config_parse_bool(const char *s, bool *out, char *err,
		      size_t len) __must_check;
int config_parse_mode(const char *s, enum mpol_mode *mode, char *err,
		      size_t len) __must_check;
int config_parse_flags(const char *s, unsigned int *flags, char *err,
		       size_t len) __must_check;
int config_parse_weights(const char *s, struct mpol_spec *spec, char *err,
			 size_t len) __must_check;
int config_parse_granule(const char *s, uint64_t *out, char *err,
			 size_t len) __must_check;
int config_parse_oom(const char *s, enum config_oom *out, char *err,
		     size_t len) __must_check;

/* Name of @mode as config files spell it ("?" if invalid). */
const char *config_mode_name(enum mpol_mode mode);

/*
 * config_declare_node - node @id exists (topo.nr_nodes grows to cover it);
 * @origin is recorded the first time.  config_set_vcpu_policy - give each
 * vCPU of @vcpus the policy @spec, failing if one already has one.
 * Return 0 or -EINVAL with a message in @err.
 */
int config_declare_node(struct config *c, unsigned int id,
			const char *origin, char *err, size_t len) __must_check;
int config_set_vcpu_policy(struct config *c, uint64_t vcpus,
			   const struct mpol_spec *spec, const char *origin,
			   char *err, size_t len);
/* Append a range policy; -ENOSPC beyond CONFIG_MAX_RANGES. */
int config_add_range(struct config *c, gpa_t start, uint64_t size,
		     const struct mpol_spec *spec, const char *origin, char *err,
		     size_t len) __must_check;

/* "64M", "2G", "4K" when exact, else the number of bytes. */
const char *config_fmt_size(char *buf, size_t len, uint64_t bytes);

/* Report a warning through c->warn (or to stderr). */
void config_warn(const struct config *c, const char *fmt, ...)
	__printf(2, 3);

/*
 * config_gpa_in_ram - does [start, start + len) lie inside guest RAM of
 * @ram_size bytes laid out as vmm/guest_ram.h does (the first 3 GiB at
 * gpa 0, the rest from 4 GiB), within one of the two parts?  False for
 * len 0, an overflowing range, the hole or beyond the end.  Used by the
 * config's range policies and by the control socket's set-range-policy.
 */
static inline bool config_gpa_in_ram(uint64_t ram_size, gpa_t start,
				     uint64_t len)
{
	uint64_t low = ram_size < GUEST_RAM_LOW_MAX ? ram_size :
						      GUEST_RAM_LOW_MAX;
	uint64_t high = ram_size - low;

	if (!len || start + len < start)
		return false;
	if (start < low)
		return len <= low - start;
	if (start < GUEST_RAM_HIGH_BASE)
		return false;
	start -= GUEST_RAM_HIGH_BASE;
	return start < high && len <= high - start;
}

#endif /* NUMAVM_VMM_CONFIG_H */

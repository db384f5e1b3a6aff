/*
 * Check suite for the VM configuration (vmm/config.h): the native INI
 * format, libvirt domain XML and QEMU-style flags, every key, defaults,
 * command-line overrides, and every kind of bad input with the exact
 * message (file:line, XML element path or argument, and what is wrong).
 */
#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/config.h"

static struct config *c;
static char err[CONFIG_ERR_LEN];
static char warnings[4096];
static unsigned int nr_warnings;

static void capture_warn(void *arg, const char *msg)
{
	size_t n = strlen(warnings);

	nr_warnings++;
	snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

static void setup(void)
{
	c = malloc(sizeof(*c));
	ck_assert_ptr_nonnull(c);
	config_init(c);
	c->warn = capture_warn;
	err[0] = '\0';
	warnings[0] = '\0';
	nr_warnings = 0;
}

static void teardown(void)
{
	free(c);
	c = NULL;
}

/* A fresh config inside a test */
static void reset(void)
{
	config_init(c);
	c->warn = capture_warn;
	err[0] = '\0';
	warnings[0] = '\0';
	nr_warnings = 0;
}

/* Parse @text as t.ini and validate; 0 or the error */
static int ini(const char *text)
{
	int ret = config_parse_ini(c, "t.ini", text, strlen(text), err,
				   sizeof(err));

	return ret ? ret : config_validate(c, err, sizeof(err));
}

static int xml(const char *text)
{
	int ret = config_parse_xml(c, "t.xml", text, strlen(text), err,
				   sizeof(err));

	return ret ? ret : config_validate(c, err, sizeof(err));
}

#define ck_ini_err(text, msg)                                                  \
	do {                                                                   \
		ck_assert_int_lt(ini(text), 0);                                \
		ck_assert_str_eq(err, msg);                                    \
	} while (0)

#define ck_xml_err(text, msg)                                                  \
	do {                                                                   \
		ck_assert_int_lt(xml(text), 0);                                \
		ck_assert_str_eq(err, msg);                                    \
	} while (0)

/* config_parse_argv on a NULL-terminated list (argv[0] added) */
static int argv_parse(const char *first, ...)
{
	char *argv[64];
	const char *a;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)"numavm";
	va_start(ap, first);
	for (a = first; a; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return config_parse_argv(c, argc, argv, err, sizeof(err));
}

#define ck_argv_err(msg, ...)                                                  \
	do {                                                                   \
		ck_assert_int_lt(argv_parse(__VA_ARGS__, NULL), 0);            \
		ck_assert_str_eq(err, msg);                                    \
	} while (0)

/* A temporary file holding @text; the name ends with @suffix */
static char tmpname[64];

static const char *tmpfile_with(const char *text, const char *suffix)
{
	int fd;

	snprintf(tmpname, sizeof(tmpname), "/tmp/check_config_XXXXXX%s",
		 suffix);
	fd = mkstemps(tmpname, (int)strlen(suffix));
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return tmpname;
}

/* ---- INI: good ---------------------------------------------------------- */

static const char full_ini[] = "; every key\n"
			       "# comments both ways\n"
			       "[machine]\n"
			       "memory = 256M\n"
			       "vcpus = 4\n"
			       "image = build/guest-tests/x.elf\n"
			       "cmdline = a=1 b\n"
			       "timeout = 42 ; inline comment\n"
			       "\n"
			       "[node0]\n"
			       "memory = 128M\n"
			       "cpus = 0-1\n"
			       "host-nodes = 0\n"
			       "distances = 10,30\n"
			       "\n"
			       "[node \"1\"]\n"
			       "memory = 0x8000000\n"
			       "cpus = 2,3\n"
			       "host-nodes = 0-1\n"
			       "host-policy = interleave\n"
			       "\n"
			       "[vcpu 0]\n"
			       "mode = preferred\n"
			       "nodes = 1\n"
			       "flags = static\n"
			       "\n"
			       "[vcpu \"1-2\"]\n"
			       "mode = weighted-interleave\n"
			       "nodes = 0-1\n"
			       "weights = 0:3,1:1\n"
			       "\n"
			       "[range 0x100000-0x200000]\n"
			       "mode = bind\n"
			       "nodes = 1\n"
			       "flags = relative\n"
			       "\n"
			       "[range \"64M+2M\"]\n"
			       "mode = interleave\n"
			       "nodes = 0-1\n"
			       "\n"
			       "[host]\n"
			       "mode = preferred_many\n"
			       "nodes = 0,1\n"
			       "\n"
			       "[memory]\n"
			       "granularity = 64K\n"
			       "fault-around = 0\n"
			       "prealloc = yes\n"
			       "thp = on\n"
			       "oom = wait\n"
			       "\n"
			       "[socket]\n"
			       "path = /tmp/numavm.sock\n";

START_TEST(ini_every_key)
{
	ck_assert_int_eq(ini(full_ini), 0);
	ck_assert_uint_eq(c->ram_size, 256ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_str_eq(c->image, "build/guest-tests/x.elf");
	ck_assert_str_eq(c->cmdline, "a=1 b");
	ck_assert_uint_eq(c->timeout, 42);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.nr_vcpus, 4);
	ck_assert_uint_eq(c->topo.node_mem[0], 128ULL << 20);
	ck_assert_uint_eq(c->topo.node_mem[1], 128ULL << 20);
	ck_assert_uint_eq(c->node_cpus[0], 0x3);
	ck_assert_uint_eq(c->node_cpus[1], 0xc);
	ck_assert_uint_eq(c->topo.vcpu_node[0], 0);
	ck_assert_uint_eq(c->topo.vcpu_node[1], 0);
	ck_assert_uint_eq(c->topo.vcpu_node[2], 1);
	ck_assert_uint_eq(c->topo.vcpu_node[3], 1);
	ck_assert_uint_eq(c->topo.host_nodes[0], 1);
	ck_assert_uint_eq(c->topo.host_nodes[1], 3);
	ck_assert_int_eq(c->host_mode[0], MPOL_BIND);
	ck_assert_int_eq(c->host_mode[1], MPOL_INTERLEAVE);
	/* row 0 given, row 1 mirrored */
	ck_assert_uint_eq(c->topo.distance[0][0], 10);
	ck_assert_uint_eq(c->topo.distance[0][1], 30);
	ck_assert_uint_eq(c->topo.distance[1][0], 30);
	ck_assert_uint_eq(c->topo.distance[1][1], 10);

	ck_assert_uint_eq(c->vcpu_pol_set, 0x7);
	ck_assert_int_eq(c->vcpu_pol[0].mode, MPOL_PREFERRED);
	ck_assert_uint_eq(c->vcpu_pol[0].nodes, 0x2);
	ck_assert_uint_eq(c->vcpu_pol[0].flags, MPOL_F_STATIC_NODES);
	ck_assert_int_eq(c->vcpu_pol[1].mode, MPOL_WEIGHTED_INTERLEAVE);
	ck_assert_int_eq(c->vcpu_pol[2].mode, MPOL_WEIGHTED_INTERLEAVE);
	ck_assert_uint_eq(c->vcpu_pol[2].weights[0], 3);
	ck_assert_uint_eq(c->vcpu_pol[2].weights[1], 1);
	ck_assert_int_eq(c->vcpu_pol[3].mode, MPOL_DEFAULT);

	ck_assert_uint_eq(c->nr_ranges, 2);
	ck_assert_uint_eq(c->ranges[0].start, 0x100000);
	ck_assert_uint_eq(c->ranges[0].len, 0x100000);
	ck_assert_int_eq(c->ranges[0].pol.mode, MPOL_BIND);
	ck_assert_uint_eq(c->ranges[0].pol.flags, MPOL_F_RELATIVE_NODES);
	ck_assert_uint_eq(c->ranges[1].start, 64ULL << 20);
	ck_assert_uint_eq(c->ranges[1].len, 2ULL << 20);
	ck_assert_int_eq(c->ranges[1].pol.mode, MPOL_INTERLEAVE);

	ck_assert_int_eq(c->host_pol.mode, MPOL_PREFERRED_MANY);
	ck_assert_uint_eq(c->host_pol.nodes, 0x3);
	ck_assert_uint_eq(c->granule, 65536);
	ck_assert_uint_eq(c->fault_around, 0);
	ck_assert(c->prealloc);
	ck_assert(c->thp);
	ck_assert_int_eq(c->oom, CONFIG_OOM_WAIT);
	ck_assert_str_eq(c->socket, "/tmp/numavm.sock");
	ck_assert_uint_eq(nr_warnings, 0);
}
END_TEST

START_TEST(ini_defaults)
{
	ck_assert_int_eq(ini("; nothing\n"), 0);
	ck_assert_uint_eq(c->ram_size, CONFIG_DEFAULT_RAM);
	ck_assert_uint_eq(c->nr_vcpus, 1);
	ck_assert_uint_eq(c->topo.nr_nodes, 1);
	ck_assert_uint_eq(c->topo.node_mem[0], CONFIG_DEFAULT_RAM);
	ck_assert_uint_eq(c->node_cpus[0], 1);
	ck_assert_uint_eq(c->topo.distance[0][0], 10);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0);
	ck_assert_uint_eq(c->granule, 4096);
	ck_assert_uint_eq(c->fault_around, 0);
	ck_assert(!c->prealloc);
	ck_assert(!c->thp);
	ck_assert_int_eq(c->oom, CONFIG_OOM_STOP);
	ck_assert_uint_eq(c->timeout, 0);
	ck_assert_str_eq(c->socket, "");
	ck_assert_str_eq(c->image, "");
	ck_assert_uint_eq(c->vcpu_pol_set, 0);
	ck_assert_int_eq(c->host_pol.mode, MPOL_DEFAULT);
	ck_assert_uint_eq(c->nr_ranges, 0);
}
END_TEST

START_TEST(ini_derived_defaults)
{
	/* RAM = sum of nodes, vCPUs = highest listed + 1, distances 20 */
	ck_assert_int_eq(ini("[node0]\nmemory=32M\ncpus=0-2\n"
			     "[node1]\nmemory=16M\ncpus=3\n"
			     "[node2]\nmemory=0\n"),
			 0);
	ck_assert_uint_eq(c->ram_size, 48ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_uint_eq(c->topo.nr_nodes, 3);
	ck_assert_uint_eq(c->topo.distance[0][2], 20);
	ck_assert_uint_eq(c->topo.distance[2][1], 20);
	ck_assert_uint_eq(c->topo.vcpu_node[3], 1);
	/* no machine memory, single implicit node with all vCPUs */
	config_init(c);
	ck_assert_int_eq(ini("[machine]\nvcpus=3\n[memory]\n"
			     "fault-around=16\n"),
			 0);
	ck_assert_uint_eq(c->node_cpus[0], 0x7);
	ck_assert_uint_eq(c->fault_around, 16);
}
END_TEST

START_TEST(ini_sizes_and_lists)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "4096", 4096 },     { "4K", 4096 },
		{ "4KiB", 4096 },     { "4kb", 4096 },
		{ "2M", 2 << 20 },    { "1G", 1ULL << 30 },
		{ "1T", 1ULL << 40 }, { "0x200000", 2 << 20 },
		{ "0x2M", 2 << 20 },  { "12B", 12 },
	};
	static const char *const bad[] = { "",		"M",
					   "-1",	"1.5G",
					   "12Q",	"1 G",
					   "0x",	"99999999999999999999",
					   "16777216T", "4Kx" };
	uint64_t v, m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		ck_assert_int_eq(
			config_parse_size(ok[i].s, 1, &v, err, sizeof(err)), 0);
		ck_assert_uint_eq(v, ok[i].v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		ck_assert_int_eq(
			config_parse_size(bad[i], 1, &v, err, sizeof(err)),
			-EINVAL);
	ck_assert_int_eq(
		config_parse_size("128", 1 << 20, &v, err, sizeof(err)), 0);
	ck_assert_uint_eq(v, 128ULL << 20);
	ck_assert_int_eq(config_parse_size("12Q", 1, &v, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "bad size '12Q': unknown suffix 'Q' (K, M, G "
			      "or T)");

	ck_assert_int_eq(config_parse_list("0-3,6", 64, &m, err, sizeof(err)),
			 0);
	ck_assert_uint_eq(m, 0x4f);
	ck_assert_int_eq(
		config_parse_list("0-7,^2,^5", 64, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, 0xdb);
	ck_assert_int_eq(config_parse_list("63", 64, &m, err, sizeof(err)), 0);
	ck_assert_uint_eq(m, 1ULL << 63);
	ck_assert_int_eq(config_parse_list("3-1", 64, &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "bad range 3-1 in '3-1': end before start");
	ck_assert_int_eq(config_parse_list("16", 16, &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "16 in '16' is out of range (0..15)");
	ck_assert_int_eq(config_parse_list("1,", 16, &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(config_parse_list("a", 16, &m, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "bad list 'a': expected numbers and ranges "
			      "like 0-3,6");
	ck_assert_int_eq(config_parse_list("0x1", 16, &m, err, sizeof(err)),
			 -EINVAL);
}
END_TEST

START_TEST(ini_value_parsers)
{
	struct mpol_spec s;
	enum mpol_mode mode;
	unsigned int f;
	bool b;
	unsigned int i;

	for (i = 0; i < MPOL_MAX; i++) {
		ck_assert_int_eq(config_parse_mode(config_mode_name(i), &mode,
						   err, sizeof(err)),
				 0);
		ck_assert_int_eq(mode, i);
	}
	ck_assert_int_eq(config_parse_mode("Weighted_Interleave", &mode, err,
					   sizeof(err)),
			 0);
	ck_assert_int_eq(mode, MPOL_WEIGHTED_INTERLEAVE);
	ck_assert_int_eq(config_parse_mode("strict", &mode, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "unknown mode 'strict' (default, local, "
			      "preferred, preferred-many, bind, interleave, "
			      "weighted-interleave)");
	ck_assert_int_eq(config_parse_flags("static,relative-nodes", &f, err,
					    sizeof(err)),
			 0);
	ck_assert_uint_eq(f, MPOL_MODE_FLAGS);
	ck_assert_int_eq(config_parse_flags("none", &f, err, sizeof(err)), 0);
	ck_assert_uint_eq(f, 0);
	ck_assert_int_eq(config_parse_flags("sticky", &f, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "unknown flag 'sticky' (static, relative or "
			      "none)");
	ck_assert_int_eq(config_parse_flags("static,", &f, err, sizeof(err)),
			 -EINVAL);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(
		config_parse_weights("0:1,15:255", &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.weights[15], 255);
	ck_assert_int_eq(config_parse_weights("0:256", &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "weight 256 of node 0 is out of range (1..255)");
	ck_assert_int_eq(config_parse_weights("0:0", &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(config_parse_weights("16:1", &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "weight for node 16: nodes are 0..15");
	ck_assert_int_eq(config_parse_weights("0:1,0:2", &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "node 0 has two weights");
	ck_assert_int_eq(config_parse_weights("3,1", &s, err, sizeof(err)),
			 -EINVAL);
	ck_assert_int_eq(config_parse_bool("Off", &b, err, sizeof(err)), 0);
	ck_assert(!b);
	ck_assert_int_eq(config_parse_bool("TRUE", &b, err, sizeof(err)), 0);
	ck_assert(b);
	ck_assert_int_eq(config_parse_bool("maybe", &b, err, sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "'maybe' is not a boolean (yes/no, true/false, "
			      "on/off, 1/0)");
}
END_TEST

/* ---- INI: bad input ----------------------------------------------------- */

START_TEST(ini_bad_syntax)
{
	ck_ini_err("[machine]\nmemory = 64M\nthis is not ini\n",
		   "t.ini:3: syntax error: expected [section] or key = value");
	reset();
	ck_ini_err("[machine\nmemory = 64M\n",
		   "t.ini:1: syntax error: expected [section] or key = value");
	reset();
	ck_ini_err("memory = 64M\n",
		   "t.ini:1: 'memory' is outside any section");
	reset();
	ck_ini_err(
		"[machine]\nmemory = 64M\n[foo]\nbar = 1\n",
		"t.ini:4: unknown section [foo] (machine, node N, vcpu LIST, "
		"range START-END, host, memory, socket)");
	reset();
	ck_ini_err("[machine 1]\nmemory = 64M\n",
		   "t.ini:2: unknown section [machine 1] (machine, node N, "
		   "vcpu LIST, range START-END, host, memory, socket)");
	reset();
	ck_ini_err(
		"[machine]\n\nmem = 64M\n",
		"t.ini:3: [machine] unknown key 'mem' (memory, vcpus, image, "
		"cmdline, timeout)");
	reset();
	ck_ini_err("[machine]\nmemory = 64M\nmemory = 32M\n",
		   "t.ini:3: [machine] memory: set twice (first at line 2)");
	reset();
	ck_ini_err("[machine]\nmemory = 64Q\n",
		   "t.ini:2: [machine] memory: bad size '64Q': unknown suffix "
		   "'Q' (K, M, G or T)");
	reset();
	ck_ini_err("[machine]\nmemory = \n",
		   "t.ini:2: [machine] memory: bad size '': expected a number "
		   "with an optional K, M, G or T suffix");
	reset();
	ck_ini_err("[machine]\nvcpus = 65\n",
		   "t.ini:2: [machine] vcpus: 65 is out of range (1..64)");
	reset();
	/* a continuation line (inih multi-line value) is a second value */
	ck_ini_err("[machine]\nimage = a\n  b\n",
		   "t.ini:3: [machine] image: set twice (first at line 2)");
}
END_TEST

START_TEST(ini_bad_reader)
{
	char long_line[300];
	static const char nul[] = "[machine]\nmemory = 64M\0\n";

	memset(long_line, 'x', sizeof(long_line));
	memcpy(long_line, "[machine]\nimage = ", 18);
	long_line[sizeof(long_line) - 1] = '\0';
	ck_ini_err(long_line, "t.ini:2: line is longer than 197 characters");
	reset();
	/* the boundary: 197 characters pass, with or without a newline */
	long_line[10 + 197] = '\0';
	ck_assert_msg(!ini(long_line), "%s", err);
	ck_assert_uint_eq(strlen(c->image), 197 - 8);
	reset();
	long_line[10 + 197] = '\n';
	long_line[10 + 198] = '\0';
	ck_assert_msg(!ini(long_line), "%s", err);
	reset();
	long_line[10 + 197] = 'x';
	long_line[10 + 198] = '\n';
	long_line[10 + 199] = '\0';
	ck_ini_err(long_line, "t.ini:2: line is longer than 197 characters");
	reset();
	long_line[10 + 198] = '\0';
	ck_ini_err(long_line, "t.ini:2: line is longer than 197 characters");
	reset();
	ck_assert_int_eq(config_parse_ini(c, "t.ini", nul, sizeof(nul) - 1, err,
					  sizeof(err)),
			 -EINVAL);
	ck_assert_str_eq(err, "t.ini:2: NUL byte in the file");
	reset();
	ck_ini_err(
		"[range 0x0000000000000000000000000000000000-0x00000000001000]"
		"\nmode = local\n",
		"t.ini:1: section name is longer than 49 characters");
}
END_TEST

START_TEST(ini_bad_nodes)
{
	ck_ini_err("[machine]\nmemory=128M\nvcpus=2\n"
		   "[node0]\nmemory=64M\ncpus=0-1\n"
		   "[node1]\nmemory=64M\ncpus=1\n",
		   "t.ini:8: vCPU 1 is in node 1 and in node 0 (t.ini:5)");
	reset();
	ck_ini_err("[machine]\nmemory=128M\nvcpus=3\n"
		   "[node0]\nmemory=64M\ncpus=0\n"
		   "[node1]\nmemory=64M\ncpus=1\n",
		   "t.ini:5: vCPU 2 is in no node (3 vCPUs, t.ini:3)");
	reset();
	ck_ini_err("[machine]\nvcpus=2\n[node0]\nmemory=64M\ncpus=0-2\n",
		   "t.ini:4: node 0 lists vCPU 2, but there are 2 vCPUs "
		   "(t.ini:2)");
	reset();
	ck_ini_err("[machine]\nmemory=128M\n"
		   "[node0]\nmemory=64M\ncpus=0\n"
		   "[node1]\nmemory=32M\n",
		   "t.ini:7: node memory adds up to 96M, but guest RAM is 128M "
		   "(t.ini:2)");
	reset();
	ck_ini_err("[node0]\nmemory=64M\ncpus=0\n[node2]\nmemory=64M\n",
		   "t.ini:5: node 2 is configured but node 1 is not: nodes are "
		   "numbered 0..N-1");
	reset();
	ck_ini_err(
		"[node0]\ncpus=0\n",
		"t.ini:2: [node 0]: 'memory' is required (0 for a memoryless "
		"node)");
	reset();
	ck_ini_err("[node16]\nmemory=64M\n",
		   "t.ini:2: [node16]: bad node number: 16 is out of range "
		   "(0..15)");
	reset();
	ck_ini_err("[node x]\nmemory=64M\n",
		   "t.ini:2: [node x]: bad node number: 'x' is not a number");
	reset();
	ck_ini_err(
		"[node0]\nmemory=64M\ncpus=0\n[Node \"00\"]\nmemory=32M\n",
		"t.ini:5: [Node \"00\"] memory: set twice (first at line 2)");
	reset();
	ck_ini_err("[machine]\nvcpus=1\n[ MACHINE ]\nvcpus=2\n",
		   "t.ini:4: [ MACHINE ] vcpus: set twice (first at line 2)");
	reset();
	ck_ini_err("[node0]\nmemory=64M\nmem=1\n",
		   "t.ini:3: [node0] unknown key 'mem' (memory, cpus, "
		   "host-nodes, host-policy, distances)");
	reset();
	ck_ini_err(
		"[node0]\nmemory=6K\ncpus=0\n",
		"t.ini:2: node 0 memory 6K is not a multiple of the 4K fault "
		"granularity (default)");
	reset();
	ck_ini_err(
		"[node0]\nmemory=64M\ncpus=0\n[memory]\ngranularity=3K\n",
		"t.ini:5: [memory] granularity: granularity '3K' must be 4K, "
		"64K or 2M");
	reset();
	ck_ini_err(
		"[machine]\nmemory=63M\n[memory]\ngranularity=2M\n",
		"t.ini:2: guest RAM 63M is not a non-zero multiple of the 2M "
		"fault granularity (t.ini:4)");
	reset();
	ck_ini_err("[node0]\nmemory=64M\nhost-nodes=\n",
		   "t.ini:3: [node0] host-nodes: empty list");
	reset();
	ck_ini_err("[node0]\nmemory=64M\nhost-policy=local\n",
		   "t.ini:3: [node0] host-policy: 'local' must be bind, "
		   "preferred or interleave");
	reset();
	ck_ini_err("[node0]\nmemory=64M\ncpus=0\nhost-nodes=0-1\n"
		   "host-policy=preferred\n",
		   "t.ini:2: node 0 host policy preferred takes exactly one "
		   "host node, not 0-1");
}
END_TEST

START_TEST(ini_bad_distances)
{
	static const char head[] = "[node0]\nmemory=64M\ncpus=0\n";
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "%sdistances=10,20,30\n[node1]\n"
		 "memory=64M\n",
		 head);
	ck_ini_err(buf, "t.ini:4: [node 0] distances: 3 values, but there are "
			"2 nodes");
	reset();
	snprintf(buf, sizeof(buf), "%sdistances=11,20\n[node1]\nmemory=64M\n",
		 head);
	ck_ini_err(buf, "t.ini:2: distance from node 0 to itself is 11: it "
			"must be 10");
	reset();
	snprintf(buf, sizeof(buf), "%sdistances=10,10\n[node1]\nmemory=64M\n",
		 head);
	ck_ini_err(buf, "t.ini:2: distance from node 0 to node 1 is 10: it "
			"must be 11..254");
	reset();
	snprintf(buf, sizeof(buf), "%s[node1]\nmemory=64M\ndistances=255,10\n",
		 head);
	ck_ini_err(buf, "t.ini:5: distance from node 1 to node 0 is 255: it "
			"must be 11..254");
	reset();
	snprintf(buf, sizeof(buf), "%sdistances=10,256\n", head);
	ck_ini_err(buf, "t.ini:4: [node0] distances: 256 is out of range "
			"(0..255)");
	reset();
	snprintf(buf, sizeof(buf), "%sdistances=10,,20\n", head);
	ck_ini_err(buf, "t.ini:4: [node0] distances: bad list '10,,20': "
			"expected one distance per node, like 10,20");
}
END_TEST

static const char two_nodes[] = "[machine]\nmemory=128M\nvcpus=2\n"
				"[node0]\nmemory=64M\ncpus=0\n"
				"[node1]\nmemory=64M\ncpus=1\n";

/* two_nodes followed by @tail */
static int ini2(const char *tail)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%s", two_nodes, tail);
	return ini(buf);
}

#define ck_ini2_err(tail, msg)                                                 \
	do {                                                                   \
		ck_assert_int_lt(ini2(tail), 0);                               \
		ck_assert_str_eq(err, msg);                                    \
	} while (0)

START_TEST(ini_bad_policies)
{
	ck_ini2_err("[vcpu 0]\nmode=bind\nnodes=2\n",
		    "t.ini:11: policy of vCPU 0: node 2 does not exist (nodes "
		    "are 0-1)");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=bind\n",
		    "t.ini:11: policy of vCPU 0: mode bind needs a non-empty "
		    "node set");
	reset();
	ck_ini2_err("[vcpu 0]\nnodes=1\n",
		    "t.ini:11: [vcpu 0]: 'mode' is required");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=strict\n",
		    "t.ini:11: [vcpu 0] mode: unknown mode 'strict' (default, "
		    "local, preferred, preferred-many, bind, interleave, "
		    "weighted-interleave)");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=local\nnodes=1\n",
		    "t.ini:11: policy of vCPU 0: mode local takes no nodes");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=default\nflags=static\n",
		    "t.ini:11: policy of vCPU 0: mode default takes no flags");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=bind\nnodes=0\nflags=static,relative\n",
		    "t.ini:11: policy of vCPU 0: flags static and relative "
		    "exclude each other");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=preferred\nnodes=0-1\n",
		    "t.ini:11: policy of vCPU 0: mode preferred takes exactly "
		    "one node, not 0-1 (use preferred-many for several)");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=interleave\nnodes=0-1\nweights=0:2\n",
		    "t.ini:11: policy of vCPU 0: weights are only for mode "
		    "weighted-interleave, not interleave");
	reset();
	ck_ini2_err(
		"[vcpu 1]\nmode=weighted-interleave\nnodes=0\n"
		"weights=1:2\n",
		"t.ini:11: policy of vCPU 1: weight for node 1, which is not "
		"in nodes 0");
	reset();
	ck_ini2_err(
		"[vcpu 1]\nmode=weighted-interleave\nnodes=0\n"
		"weights=0:300\n",
		"t.ini:13: [vcpu 1] weights: weight 300 of node 0 is out of "
		"range (1..255)");
	reset();
	ck_ini2_err(
		"[vcpu 0-1]\nmode=local\n[vcpu 1]\nmode=local\n",
		"t.ini:13: [vcpu 1]: vCPU 1 already has a policy (t.ini:11)");
	reset();
	ck_ini2_err("[vcpu 2]\nmode=local\n",
		    "t.ini:11: policy for vCPU 2, but there are 2 vCPUs "
		    "(t.ini:3)");
	reset();
	ck_ini2_err("[vcpu 64]\nmode=local\n",
		    "t.ini:11: [vcpu 64]: bad vCPU list: 64 in '64' is out of "
		    "range (0..63)");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=bind\nnodes=0\nflags=sticky\n",
		    "t.ini:13: [vcpu 0] flags: unknown flag 'sticky' (static, "
		    "relative or none)");
	reset();
	ck_ini2_err("[vcpu 0]\nmode=bind\nnodes=0\ncolour=red\n",
		    "t.ini:13: [vcpu 0] unknown key 'colour' (mode, nodes, "
		    "weights, flags)");
	reset();
	ck_ini2_err("[host]\nmode=bind\nnodes=5\n",
		    "t.ini:11: host policy: node 5 does not exist (nodes are "
		    "0-1)");
	reset();
	/* a memoryless node cannot back a policy alone */
	ck_ini_err("[node0]\nmemory=64M\ncpus=0\n[node1]\nmemory=0\n"
		   "[vcpu 0]\nmode=bind\nnodes=1\n",
		   "t.ini:7: policy of vCPU 0: nodes 1 have no memory");
	reset();
	/* relative nodes may name nodes beyond the VM's (folded) */
	ck_assert_int_eq(ini2("[vcpu 0]\nmode=bind\nnodes=7\n"
			      "flags=relative\n"),
			 0);
}
END_TEST

START_TEST(ini_bad_ranges)
{
	ck_ini2_err("[range 0-64K]\nmode=bind\nnodes=0\n"
		    "[range 32K+64K]\nmode=bind\nnodes=1\n",
		    "t.ini:14: range 0x8000+64K overlaps range 0x0+64K "
		    "(t.ini:11)");
	reset();
	ck_ini2_err("[range 0x1800+4K]\nmode=bind\nnodes=0\n"
		    "[memory]\ngranularity=4K\n",
		    "t.ini:11: range 0x1800+4K is not aligned to the 4K fault "
		    "granularity");
	reset();
	ck_ini2_err(
		"[range 120M+16M]\nmode=bind\nnodes=0\n",
		"t.ini:11: range 0x7800000+16M ends beyond guest RAM (128M)");
	reset();
	/* above 3 GiB RAM continues at 4 GiB: the hole is not RAM */
	ck_ini_err("[machine]\nmemory=6G\nvcpus=1\n"
		   "[range 3G+16M]\nmode=local\n",
		   "t.ini:5: range 0xc0000000+16M is not inside guest RAM (6G: "
		   "gpa 0-3G and 4G-7G, the hole 3G-4G is not RAM)");
	reset();
	ck_ini_err("[machine]\nmemory=6G\nvcpus=1\n"
		   "[range 0xbf000000+32M]\nmode=local\n",
		   "t.ini:5: range 0xbf000000+32M is not inside guest RAM (6G: "
		   "gpa 0-3G and 4G-7G, the hole 3G-4G is not RAM)");
	reset();
	ck_assert_int_eq(ini("[machine]\nmemory=6G\nvcpus=1\n"
			     "[range 0x1bf000000+16M]\nmode=local\n"),
			 0);
	reset();
	ck_ini_err("[machine]\nmemory=6G\nvcpus=1\n"
		   "[range 7G+4K]\nmode=local\n",
		   "t.ini:5: range 0x1c0000000+4K is not inside guest RAM (6G: "
		   "gpa 0-3G and 4G-7G, the hole 3G-4G is not RAM)");
	reset();
	ck_ini2_err("[range 2M-1M]\nmode=bind\nnodes=0\n",
		    "t.ini:11: [range 2M-1M]: bad range '2M-1M': end is not "
		    "above start");
	reset();
	ck_ini2_err(
		"[range 1M]\nmode=bind\nnodes=0\n",
		"t.ini:11: [range 1M]: bad range '1M': expected START-END or "
		"START+SIZE");
	reset();
	ck_ini2_err("[range 0+0]\nmode=bind\nnodes=0\n",
		    "t.ini:11: range 0x0+0 is empty");
	reset();
	ck_ini2_err("[range 0+1M]\nmode=bind\nnodes=0\n[memory]\n"
		    "granularity=2M\n",
		    "t.ini:11: range 0x0+1M is not aligned to the 2M fault "
		    "granularity");
}
END_TEST

START_TEST(ini_bad_memory)
{
	ck_ini_err("[memory]\ngranularity=2M\nfault-around=16\n",
		   "t.ini:3: fault-around applies to the 4K granularity only, "
		   "not 2M (t.ini:2)");
	reset();
	ck_ini_err("[memory]\nfault-around=513\n",
		   "t.ini:2: [memory] fault-around: 513 is out of range "
		   "(0..512)");
	reset();
	ck_ini_err("[memory]\nprealloc=sometimes\n",
		   "t.ini:2: [memory] prealloc: 'sometimes' is not a boolean "
		   "(yes/no, true/false, on/off, 1/0)");
	reset();
	ck_ini_err("[memory]\noom=panic\n",
		   "t.ini:2: [memory] oom: oom 'panic' must be stop or wait");
	reset();
	ck_ini_err("[memory]\nhuge=1\n",
		   "t.ini:2: [memory] unknown key 'huge' (granularity, "
		   "fault-around, prealloc, thp, oom)");
	reset();
	ck_ini_err(
		"[socket]\npath=/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaa\n",
		"t.ini:2: [socket] path: must be 1..107 bytes");
	reset();
	ck_ini_err("[socket]\nfile=x\n",
		   "t.ini:2: [socket] unknown key 'file' (path)");
	reset();
	ck_ini_err("[machine]\ntimeout=forever\n",
		   "t.ini:2: [machine] timeout: 'forever' is not a number");
}
END_TEST

/* ---- files -------------------------------------------------------------- */

START_TEST(file_errors)
{
	const char *p;

	ck_assert_int_eq(
		config_parse_file(c, "/nonexistent/x.ini", err, sizeof(err)),
		-ENOENT);
	ck_assert_str_eq(err, "/nonexistent/x.ini: cannot open: No such file "
			      "or directory");
	ck_assert_int_eq(config_parse_file(c, "/tmp", err, sizeof(err)),
			 -EISDIR);
	ck_assert_str_eq(err, "/tmp: cannot read: is a directory");
	/* format detected by content, whatever the name */
	p = tmpfile_with("  <domain type='kvm'><memory>65536</memory>"
			 "</domain>",
			 ".conf");
	ck_assert_int_eq(config_parse_file(c, p, err, sizeof(err)), 0);
	ck_assert_uint_eq(c->ram_size, 64ULL << 20);
	unlink(p);
	p = tmpfile_with("[machine]\nmemory=32M\n", ".cfg");
	ck_assert_int_eq(config_parse_file(c, p, err, sizeof(err)), 0);
	ck_assert_uint_eq(c->ram_size, 32ULL << 20);
	unlink(p);
	/* .xml forces XML */
	p = tmpfile_with("[machine]\n", ".xml");
	ck_assert_int_eq(config_parse_file(c, p, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, ":1: XML syntax error: "));
	unlink(p);
}
END_TEST

/* ---- XML ---------------------------------------------------------------- */

static const char full_xml[] =
	"<domain type='kvm'>\n" /* 1 */
	"  <name>full</name>\n"
	"  <uuid>c7a5fdbd-edaf-9455-926a-d65c16db1809</uuid>\n"
	"  <metadata>\n"
	"    <other:stuff xmlns:other='urn:other'/>\n" /* 5 */
	"    <numavm:config xmlns:numavm='urn:numavm:config:1'>\n"
	"      <numavm:machine image='build/x.elf' timeout='9'/>\n"
	"      <numavm:vcpu vcpus='0-1' mode='interleave' nodes='0-1'/>\n"
	"      <numavm:vcpu vcpus='3' mode='weighted-interleave' "
	"nodes='0-1' weights='0:5,1:2' flags='static'/>\n"
	"      <numavm:range start='0x200000' size='2M' mode='bind' "
	"nodes='1'/>\n" /* 10 */
	"      <numavm:range start='8M' end='12M' mode='preferred' "
	"nodes='0'/>\n"
	"      <numavm:host mode='bind' nodes='0'/>\n"
	"      <numavm:memory granularity='2M' prealloc='on' thp='yes' "
	"oom='wait'/>\n"
	"      <numavm:socket path='/run/n.sock'/>\n"
	"    </numavm:config>\n" /* 15 */
	"  </metadata>\n"
	"  <memory unit='GiB'>1</memory>\n"
	"  <currentMemory unit='MiB'>1024</currentMemory>\n"
	"  <vcpu placement='static'>4</vcpu>\n"
	"  <numatune>\n" /* 20 */
	"    <memory mode='interleave' nodeset='0-1'/>\n"
	"    <memnode cellid='1' mode='preferred' nodeset='3'/>\n"
	"  </numatune>\n"
	"  <os>\n"
	"    <type arch='x86_64'>hvm</type>\n" /* 25 */
	"    <kernel>/boot/guest.elf</kernel>\n"
	"    <cmdline>console=ttyS0</cmdline>\n"
	"  </os>\n"
	"  <cpu>\n"
	"    <numa>\n" /* 30 */
	"      <cell id='0' cpus='0-1' memory='524288'>\n"
	"        <distances><sibling id='0' value='10'/>"
	"<sibling id='1' value='21'/></distances>\n"
	"      </cell>\n"
	"      <cell id='1' cpus='2-3' memory='512' unit='MiB'/>\n"
	"    </numa>\n" /* 35 */
	"  </cpu>\n"
	"</domain>\n";

START_TEST(xml_every_element)
{
	ck_assert_int_eq(xml(full_xml), 0);
	ck_assert_uint_eq(nr_warnings, 0);
	ck_assert_uint_eq(c->ram_size, 1ULL << 30);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_str_eq(c->image, "build/x.elf"); /* metadata wins */
	ck_assert_str_eq(c->cmdline, "console=ttyS0");
	ck_assert_uint_eq(c->timeout, 9);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.node_mem[0], 512ULL << 20);
	ck_assert_uint_eq(c->topo.node_mem[1], 512ULL << 20);
	ck_assert_uint_eq(c->node_cpus[0], 0x3);
	ck_assert_uint_eq(c->node_cpus[1], 0xc);
	ck_assert_uint_eq(c->topo.distance[0][1], 21);
	ck_assert_uint_eq(c->topo.distance[1][0], 21);
	/* numatune: memory for cell 0, memnode for cell 1 */
	ck_assert_uint_eq(c->topo.host_nodes[0], 0x3);
	ck_assert_int_eq(c->host_mode[0], MPOL_INTERLEAVE);
	ck_assert_uint_eq(c->topo.host_nodes[1], 0x8);
	ck_assert_int_eq(c->host_mode[1], MPOL_PREFERRED);
	ck_assert_uint_eq(c->vcpu_pol_set, 0xb);
	ck_assert_int_eq(c->vcpu_pol[1].mode, MPOL_INTERLEAVE);
	ck_assert_int_eq(c->vcpu_pol[3].mode, MPOL_WEIGHTED_INTERLEAVE);
	ck_assert_uint_eq(c->vcpu_pol[3].weights[0], 5);
	ck_assert_uint_eq(c->vcpu_pol[3].flags, MPOL_F_STATIC_NODES);
	ck_assert_uint_eq(c->nr_ranges, 2);
	ck_assert_uint_eq(c->ranges[0].start, 2 << 20);
	ck_assert_uint_eq(c->ranges[1].start, 8 << 20);
	ck_assert_uint_eq(c->ranges[1].len, 4 << 20);
	ck_assert_int_eq(c->ranges[1].pol.mode, MPOL_PREFERRED);
	ck_assert_int_eq(c->host_pol.mode, MPOL_BIND);
	ck_assert_uint_eq(c->granule, 2 << 20);
	ck_assert(c->prealloc && c->thp);
	ck_assert_int_eq(c->oom, CONFIG_OOM_WAIT);
	ck_assert_str_eq(c->socket, "/run/n.sock");
}
END_TEST

START_TEST(xml_defaults_and_kernel)
{
	ck_assert_int_eq(xml("<domain type='kvm'><name>x</name>"
			     "<memory>131072</memory><vcpu>2</vcpu>"
			     "<os><type>hvm</type><kernel>/k.elf</kernel></os>"
			     "</domain>"),
			 0);
	ck_assert_uint_eq(c->ram_size, 128ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 2);
	ck_assert_str_eq(c->image, "/k.elf");
	ck_assert_uint_eq(c->topo.nr_nodes, 1);
	ck_assert_uint_eq(c->node_cpus[0], 0x3);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0);
	/* numatune without cells binds the single node */
	reset();
	ck_assert_int_eq(xml("<domain><memory unit='M'>64</memory>"
			     "<numatune><memory mode='restrictive' "
			     "nodeset='1'/></numatune></domain>"),
			 0);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0x2);
	ck_assert_int_eq(c->host_mode[0], MPOL_BIND);
	ck_assert_uint_eq(c->topo.node_mem[0], 64ULL << 20);
	/* units */
	reset();
	ck_assert_int_eq(xml("<domain><memory unit='bytes'>67108864</memory>"
			     "</domain>"),
			 0);
	ck_assert_uint_eq(c->ram_size, 64ULL << 20);
}
END_TEST

START_TEST(xml_warnings)
{
	ck_assert_int_eq(xml("<domain type='kvm'>\n"
			     "<memory unit='MiB'>64</memory>\n"
			     "<vcpu cpuset='0-1'>1</vcpu>\n"
			     "<devices><serial/></devices>\n"
			     "<devices/>\n"
			     "<clock offset='utc'/>\n"
			     "<cpu mode='host-passthrough'><topology/></cpu>\n"
			     "</domain>\n"),
			 0);
	ck_assert_uint_eq(nr_warnings, 5);
	ck_assert_str_eq(
		warnings,
		"t.xml:4: /domain/devices[1]: element <devices> is not "
		"supported by numavm, ignored\n"
		"t.xml:6: /domain/clock: element <clock> is not "
		"supported by numavm, ignored\n"
		"t.xml:3: /domain/vcpu: attribute cpuset of <vcpu> is "
		"not supported by numavm, ignored\n"
		"t.xml:7: /domain/cpu: attribute mode of <cpu> is not "
		"supported by numavm, ignored\n"
		"t.xml:7: /domain/cpu/topology: element <topology> is "
		"not supported by numavm, ignored\n");
}
END_TEST

START_TEST(xml_bad)
{
	ck_xml_err("<domain>\n<memory>64</memory\n</domain>\n",
		   "t.xml:3: XML syntax error: expected '>'");
	reset();
	ck_xml_err("<vm/>", "t.xml:1: /vm: the root element must be <domain>, "
			    "not <vm>");
	reset();
	ck_xml_err("<?xml version='1.0'?>\n<!DOCTYPE domain [<!ENTITY a "
		   "'b'>]>\n<domain/>",
		   "t.xml:2: a DTD (<!DOCTYPE>) is not accepted in a numavm "
		   "config");
	reset();
	ck_xml_err("<domain>\n<memory unit='PB'>1</memory></domain>",
		   "t.xml:2: /domain/memory: unknown unit 'PB' (b, KiB, MiB, "
		   "GiB, TiB, KB, MB, GB, TB)");
	reset();
	ck_xml_err("<domain>\n<memory>64M</memory></domain>",
		   "t.xml:2: /domain/memory: memory '64M' is not a number");
	reset();
	ck_xml_err("<domain><memory>65536</memory>\n"
		   "<currentMemory>32768</currentMemory></domain>",
		   "t.xml:2: /domain/currentMemory: currentMemory 32M differs "
		   "from memory 64M: numavm has no balloon");
	reset();
	ck_xml_err("<domain><memory>65536</memory><memory>1</memory></domain>",
		   "t.xml:1: /domain/memory[2]: second <memory> element");
	reset();
	ck_xml_err("<domain><vcpu current='1'>2</vcpu></domain>",
		   "t.xml:1: /domain/vcpu: current=1 differs from 2 vCPUs: "
		   "numavm has no vCPU hotplug");
	reset();
	ck_xml_err("<domain><vcpu>0</vcpu></domain>",
		   "t.xml:1: /domain/vcpu: vCPU count: 0 is out of range "
		   "(1..64)");
	reset();
	ck_xml_err("<domain><os><type>exe</type></os></domain>",
		   "t.xml:1: /domain/os/type: os type 'exe': numavm runs hvm "
		   "guests only");
}
END_TEST

static const char cells_head[] =
	"<domain>\n<memory unit='MiB'>128</memory>\n<vcpu>2</vcpu>\n"
	"<cpu><numa>\n";

/* cells_head + @cells + </numa></cpu> + @tail + </domain> */
static int xml_cells(const char *cells, const char *tail)
{
	char buf[2048];

	snprintf(buf, sizeof(buf), "%s%s</numa></cpu>\n%s</domain>\n",
		 cells_head, cells, tail);
	return xml(buf);
}

#define ck_cells_err(cells, tail, msg)                                         \
	do {                                                                   \
		ck_assert_int_lt(xml_cells(cells, tail), 0);                   \
		ck_assert_str_eq(err, msg);                                    \
	} while (0)

static const char cell01[] = "<cell id='0' cpus='0' memory='64' unit='MiB'/>\n"
			     "<cell id='1' cpus='1' memory='64' unit='MiB'/>\n";

START_TEST(xml_bad_cells)
{
	ck_cells_err("<cell id='0' cpus='0-1' memory='64' unit='MiB'/>\n"
		     "<cell id='1' cpus='1' memory='64' unit='MiB'/>\n",
		     "",
		     "t.xml:6: /domain/cpu/numa/cell[2]: vCPU 1 is in node 1 "
		     "and in node 0 (t.xml:5: /domain/cpu/numa/cell[1])");
	reset();
	ck_cells_err("<cell id='0' cpus='0' memory='64' unit='MiB'/>\n"
		     "<cell id='1' memory='64' unit='MiB'/>\n",
		     "",
		     "t.xml:5: /domain/cpu/numa/cell[1]: vCPU 1 is in no node "
		     "(2 vCPUs, t.xml:3: /domain/vcpu)");
	reset();
	ck_cells_err("<cell id='0' cpus='0-1' memory='64' unit='MiB'/>\n", "",
		     "t.xml:5: /domain/cpu/numa/cell: node memory adds up to "
		     "64M, but guest RAM is 128M (t.xml:2: /domain/memory)");
	reset();
	ck_cells_err("<cell id='0' cpus='0-1' unit='MiB'/>\n", "",
		     "t.xml:5: /domain/cpu/numa/cell: attribute 'memory' is "
		     "required");
	reset();
	ck_cells_err(
		"<cell id='0' cpus='0' memory='64' unit='MiB'/>\n"
		"<cell id='0' cpus='1' memory='64' unit='MiB'/>\n",
		"", "t.xml:6: /domain/cpu/numa/cell[2]: second cell with id 0");
	reset();
	ck_cells_err("<cell id='0' cpus='0' memory='64' unit='MiB'>\n"
		     "<distances><sibling id='1' value='300'/></distances>"
		     "</cell>\n"
		     "<cell id='1' cpus='1' memory='64' unit='MiB'/>\n",
		     "",
		     "t.xml:6: /domain/cpu/numa/cell[1]/distances/sibling: "
		     "value: 300 is out of range (0..255)");
	reset();
	ck_cells_err("<cell id='0' cpus='0' memory='64' unit='MiB'>\n"
		     "<distances><sibling id='1' value='5'/></distances>"
		     "</cell>\n"
		     "<cell id='1' cpus='1' memory='64' unit='MiB'/>\n",
		     "",
		     "t.xml:5: /domain/cpu/numa/cell[1]: distance from node 0 "
		     "to node 1 is 5: it must be 11..254");
	reset();
	ck_cells_err("<cell id='0' cpus='0' memory='64' unit='MiB'>\n"
		     "<distances><sibling id='2' value='20'/></distances>"
		     "</cell>\n"
		     "<cell id='1' cpus='1' memory='64' unit='MiB'/>\n",
		     "",
		     "t.xml:5: /domain/cpu/numa/cell[1]: distance between node "
		     "0 and node 2, which does not exist (2 nodes)");
	reset();
	ck_cells_err(cell01,
		     "<numatune><memnode cellid='2' mode='strict' "
		     "nodeset='0'/></numatune>\n",
		     "t.xml:8: /domain/numatune/memnode: cellid 2 names no "
		     "<cell> of /domain/cpu/numa");
	reset();
	ck_cells_err(
		cell01,
		"<numatune><memory mode='loose' nodeset='0'/></numatune>\n",
		"t.xml:8: /domain/numatune/memory: mode 'loose' must be "
		"strict, restrictive, preferred or interleave");
	reset();
	ck_cells_err(cell01,
		     "<numatune><memory mode='preferred' nodeset='0-1'/>"
		     "</numatune>\n",
		     "t.xml:8: /domain/numatune/memory: mode preferred takes "
		     "exactly one host node");
	reset();
	ck_cells_err(cell01, "<numatune><memory mode='strict'/></numatune>\n",
		     "t.xml:8: /domain/numatune/memory: attribute 'nodeset' is "
		     "required");
}
END_TEST

START_TEST(xml_bad_metadata)
{
	static const char pre[] =
		"<metadata><n:config xmlns:n='urn:numavm:config:1'>\n";
	char buf[1024];

#define META(x)                                                                \
	(snprintf(buf, sizeof(buf), "%s%s</n:config></metadata>\n", pre, x),   \
	 buf)
	ck_cells_err(cell01, META("<n:vcpu vcpus='0' mode='bind' nodes='4'/>"),
		     "t.xml:9: /domain/metadata/n:config/n:vcpu: policy of "
		     "vCPU 0: node 4 does not exist (nodes are 0-1)");
	reset();
	ck_cells_err(cell01, META("<n:vcpu vcpus='0' nodes='1'/>"),
		     "t.xml:9: /domain/metadata/n:config/n:vcpu: attribute "
		     "'mode' is required");
	reset();
	ck_cells_err(cell01,
		     META("<n:vcpu vcpus='0' mode='local'/>"
			  "<n:vcpu vcpus='0-1' mode='local'/>"),
		     "t.xml:9: /domain/metadata/n:config/n:vcpu[2]: vCPU 0 "
		     "already has a policy (t.xml:9: "
		     "/domain/metadata/n:config/n:vcpu[1])");
	reset();
	ck_cells_err(cell01,
		     META("<n:range start='0' mode='bind' "
			  "nodes='0'/>"),
		     "t.xml:9: /domain/metadata/n:config/n:range: give exactly "
		     "one of 'size' and 'end'");
	reset();
	ck_cells_err(cell01,
		     META("<n:range start='0' size='1M' mode='bind' "
			  "nodes='0'/>\n<n:range start='512K' "
			  "size='1M' mode='bind' nodes='1'/>"),
		     "t.xml:10: /domain/metadata/n:config/n:range[2]: range "
		     "0x80000+1M overlaps range 0x0+1M (t.xml:9: "
		     "/domain/metadata/n:config/n:range[1])");
	reset();
	ck_cells_err(cell01, META("<n:memory granularity='1M'/>"),
		     "t.xml:9: /domain/metadata/n:config/n:memory: "
		     "granularity: granularity '1M' must be 4K, 64K or 2M");
	reset();
	ck_cells_err(cell01, META("<n:gpu/>"),
		     "t.xml:9: /domain/metadata/n:config/n:gpu: unknown numavm "
		     "element <gpu> (vcpu, range, host, memory, socket, "
		     "machine)");
#undef META
}
END_TEST

/* ---- command line ----------------------------------------------------- */

START_TEST(argv_options)
{
	ck_assert_int_eq(argv_parse("--timeout", "5", "--granule=64K",
				    "--prealloc", "--thp", "--oom", "wait",
				    "--socket", "/tmp/s", "-m", "256", "-smp",
				    "4", "-append", "quiet", "guest.elf", NULL),
			 0);
	ck_assert_uint_eq(c->timeout, 5);
	ck_assert_uint_eq(c->granule, 65536);
	ck_assert(c->prealloc && c->thp);
	ck_assert_int_eq(c->oom, CONFIG_OOM_WAIT);
	ck_assert_str_eq(c->socket, "/tmp/s");
	ck_assert_uint_eq(c->ram_size, 256ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_str_eq(c->cmdline, "quiet");
	ck_assert_str_eq(c->image, "guest.elf");
	ck_assert_uint_eq(c->topo.nr_nodes, 1);
	ck_assert_uint_eq(c->node_cpus[0], 0xf);
	reset();
	ck_assert_int_eq(
		argv_parse("--fault-around", "16", "--", "-odd.elf", NULL), 0);
	ck_assert_uint_eq(c->fault_around, 16);
	ck_assert_str_eq(c->image, "-odd.elf");
	reset();
	/* one or two dashes, = or a separate word */
	reset();
	ck_assert_int_eq(argv_parse("--smp", "3", "-timeout=9", "--m=96", "-v",
				    "--verbose", "-granule", "2M", NULL),
			 0);
	ck_assert_uint_eq(c->nr_vcpus, 3);
	ck_assert_uint_eq(c->timeout, 9);
	ck_assert_uint_eq(c->ram_size, 96ULL << 20);
	ck_assert_uint_eq(c->verbose, 2);
	ck_assert_uint_eq(c->granule, 2 << 20);
	reset();
	ck_assert_int_eq(argv_parse("-m", "64", "-h", NULL), CONFIG_HELP);
	reset();
	ck_assert_int_eq(argv_parse("--help", NULL), CONFIG_HELP);
}
END_TEST

START_TEST(argv_bad)
{
	ck_argv_err("command line: unknown option '-x' (see --help)", "-x");
	reset();
	ck_argv_err("command line: option --timeout needs a value",
		    "--timeout");
	reset();
	ck_argv_err("command line: option --prealloc takes no value",
		    "--prealloc=yes");
	reset();
	ck_argv_err("command line: more than one guest image ('a' and 'b')",
		    "a", "b");
	reset();
	ck_argv_err("command line: more than one --config ('a' and 'b')",
		    "--config", "a", "--config=b");
	reset();
	ck_argv_err("command line: --timeout '-1': '-1' is not a number",
		    "--timeout", "-1");
	reset();
	ck_argv_err("command line: --granule '8K': granularity '8K' must be "
		    "4K, 64K or 2M",
		    "--granule", "8K");
	reset();
	ck_argv_err("command line: --oom 'later': oom 'later' must be stop or "
		    "wait",
		    "--oom", "later");
	reset();
	ck_argv_err(
		"command line: --fault-around 8: fault-around applies to the "
		"4K granularity only, not 2M (command line: --granule 2M)",
		"--granule", "2M", "--fault-around", "8");
	reset();
	ck_argv_err("/nonexistent.ini: cannot open: No such file or directory",
		    "--config", "/nonexistent.ini");
}
END_TEST

/* A numatune binding without guest NUMA leaves RAM and vCPUs to -m/-smp */
START_TEST(argv_overrides_xml_numatune)
{
	const char *p = tmpfile_with(
		"<domain type='kvm'><name>x</name>"
		"<memory unit='MiB'>64</memory><vcpu>1</vcpu>"
		"<numatune><memory mode='preferred' nodeset='0'/></numatune>"
		"</domain>\n",
		".xml");
	char path[64];

	snprintf(path, sizeof(path), "%s", p);
	ck_assert_msg(!argv_parse("--config", path, "-m", "512", "-smp", "2",
				  NULL),
		      "%s", err);
	ck_assert_uint_eq(c->ram_size, 512ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 2);
	ck_assert_uint_eq(c->topo.nr_nodes, 1);
	ck_assert_uint_eq(c->topo.node_mem[0], 512ULL << 20);
	ck_assert_uint_eq(c->node_cpus[0], 0x3);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0x1);
	ck_assert_int_eq(c->host_mode[0], MPOL_PREFERRED);
	/* the file alone */
	reset();
	ck_assert_int_eq(argv_parse("--config", path, NULL), 0);
	ck_assert_uint_eq(c->topo.node_mem[0], 64ULL << 20);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0x1);
	/* -numa replaces the topology, binding included */
	reset();
	ck_assert_int_eq(argv_parse("--config", path, "-m", "128", "-smp", "2",
				    "-numa", "node,cpus=0,mem=64",
				    "-numa", "node,cpus=1,mem=64", NULL),
			 0);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0);
	unlink(path);
}
END_TEST

START_TEST(argv_overrides_file)
{
	const char *p = tmpfile_with("[machine]\nmemory=128M\nvcpus=2\n"
				     "image=file.elf\ntimeout=30\n"
				     "[node0]\nmemory=64M\ncpus=0\n"
				     "[node1]\nmemory=64M\ncpus=1\n"
				     "[memory]\noom=wait\n",
				     ".ini");
	char path[64];

	snprintf(path, sizeof(path), "%s", p);
	/* options before and after --config both win over the file */
	ck_assert_int_eq(argv_parse("--timeout", "7", "--config", path, "--oom",
				    "stop", "cli.elf", NULL),
			 0);
	ck_assert_uint_eq(c->timeout, 7);
	ck_assert_int_eq(c->oom, CONFIG_OOM_STOP);
	ck_assert_str_eq(c->image, "cli.elf");
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	reset();
	ck_assert_int_eq(argv_parse("--config", path, NULL), 0);
	ck_assert_uint_eq(c->timeout, 30);
	ck_assert_str_eq(c->image, "file.elf");
	ck_assert_int_eq(c->oom, CONFIG_OOM_WAIT);
	/* -m over a file topology that no longer adds up */
	reset();
	ck_assert_int_lt(argv_parse("-m", "256", "--config", path, NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, ":10: node memory adds up to 128M, "
					  "but guest RAM is 256M (command "
					  "line: -m 256)"));
	/* -numa nodes replace the file's topology */
	reset();
	ck_assert_int_eq(argv_parse("--config", path, "-m", "96M", "-smp", "3",
				    "-numa", "node,nodeid=0,cpus=0-2,mem=32",
				    "-numa", "node,nodeid=1,mem=32M", "-numa",
				    "node,mem=32M", NULL),
			 0);
	ck_assert_uint_eq(c->topo.nr_nodes, 3);
	ck_assert_uint_eq(c->node_cpus[0], 0x7);
	ck_assert_uint_eq(c->node_cpus[1], 0);
	ck_assert_uint_eq(c->topo.node_mem[2], 32ULL << 20);
	ck_assert_str_eq(c->image, "file.elf");
	/* -smp over file nodes: vCPU 2 in no node */
	reset();
	ck_assert_int_lt(argv_parse("--config", path, "-smp", "3", NULL), 0);
	ck_assert_ptr_nonnull(strstr(err, ":7: vCPU 2 is in no node (3 "
					  "vCPUs, command line: -smp 3)"));
	/* -numa dist alone adjusts the file's distances */
	reset();
	ck_assert_int_eq(argv_parse("--config", path, "-numa",
				    "dist,src=1,dst=0,val=33", NULL),
			 0);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.distance[1][0], 33);
	ck_assert_uint_eq(c->topo.distance[0][1], 33);
	ck_assert_uint_eq(c->topo.node_mem[1], 64ULL << 20);
	/* the XML form through --config */
	reset();
	p = tmpfile_with("<domain><memory unit='MiB'>64</memory>"
			 "<vcpu>1</vcpu></domain>",
			 ".xml");
	snprintf(path, sizeof(path), "%s", p);
	ck_assert_int_eq(argv_parse("--config", path, "-smp", "2", NULL), 0);
	ck_assert_uint_eq(c->nr_vcpus, 2);
	ck_assert_uint_eq(c->ram_size, 64ULL << 20);
	unlink(path);
	unlink(tmpname);
}
END_TEST

START_TEST(qemu_numa)
{
	ck_assert_int_eq(
		argv_parse(
			"-m", "256M", "-smp", "cpus=4,sockets=2,cores=2",
			"-object",
			"memory-backend-ram,id=m0,size=128M,policy=bind,"
			"host-nodes=0",
			"-object",
			"memory-backend-ram,id=m1,size=128M,policy=interleave,"
			"host-nodes=0-1,host-nodes=3,prealloc=on",
			"-numa", "node,nodeid=1,cpus=2,cpus=3,memdev=m1",
			"-numa", "node,nodeid=0,cpus=0-1,memdev=m0", "-numa",
			"dist,src=0,dst=1,val=21", NULL),
		0);
	ck_assert_uint_eq(c->ram_size, 256ULL << 20);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->node_cpus[0], 0x3);
	ck_assert_uint_eq(c->node_cpus[1], 0xc);
	ck_assert_uint_eq(c->topo.host_nodes[0], 0x1);
	ck_assert_int_eq(c->host_mode[0], MPOL_BIND);
	ck_assert_uint_eq(c->topo.host_nodes[1], 0xb);
	ck_assert_int_eq(c->host_mode[1], MPOL_INTERLEAVE);
	ck_assert_uint_eq(c->topo.distance[0][1], 21);
	ck_assert_uint_eq(c->topo.distance[1][0], 21);
	ck_assert(c->prealloc);
	ck_assert_uint_eq(nr_warnings, 0);
	/* -m size=, -smp from the topology, an unused backend warns */
	reset();
	ck_assert_int_eq(argv_parse("-m", "size=1G", "-smp",
				    "sockets=2,threads=2", "-object",
				    "memory-backend-memfd,id=x,size=4M", NULL),
			 0);
	ck_assert_uint_eq(c->ram_size, 1ULL << 30);
	ck_assert_uint_eq(c->nr_vcpus, 4);
	ck_assert_str_eq(warnings, "command line: -object "
				   "memory-backend-memfd,id=x,size=4M: memory "
				   "backend 'x' is not used by any -numa node, "
				   "ignored\n");
}
END_TEST

/* What QEMU accepts: derived -smp topology, fractional sizes, memoryless
 * nodes, memory-backend keys numavm has no use for */
START_TEST(qemu_compat)
{
	static const struct {
		const char *smp;
		unsigned int cpus;
	} smp[] = {
		{ "8,sockets=2", 8 },	 /* cores = 4 */
		{ "8,cores=2", 8 },	 /* sockets = 4 */
		{ "6,threads=2", 6 },	 /* cores = 3 */
		{ "sockets=2,cores=2,threads=2", 8 },
		{ "maxcpus=4", 4 },
		{ "4,maxcpus=4,sockets=1,dies=2", 4 },
		{ "cpus=2,sockets=2,cores=1,threads=1", 2 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(smp); i++) {
		reset();
		ck_assert_msg(!argv_parse("-smp", smp[i].smp, NULL), "%s: %s",
			      smp[i].smp, err);
		ck_assert_uint_eq(c->nr_vcpus, smp[i].cpus);
	}
	reset();
	ck_assert_msg(!argv_parse("-m", "1.5G", NULL), "%s", err);
	ck_assert_uint_eq(c->ram_size, 3ULL << 29);
	reset();
	ck_assert_msg(!argv_parse("-m", "96.5", NULL), "%s", err);
	ck_assert_uint_eq(c->ram_size, 193ULL << 19);
	reset();
	ck_assert_msg(!argv_parse("-m", "size=0.25G", "-numa",
				  "node,cpus=0,mem=0.125G", "-numa",
				  "node,mem=128M",
				  NULL),
		      "%s", err);
	ck_assert_uint_eq(c->ram_size, 256ULL << 20);
	ck_assert_uint_eq(c->topo.node_mem[0], 128ULL << 20);
	/* a memoryless node: no mem= */
	reset();
	ck_assert_msg(!argv_parse("-m", "64", "-smp", "2", "-numa",
				  "node,nodeid=0,cpus=0,mem=64", "-numa",
				  "node,nodeid=1,cpus=1", NULL),
		      "%s", err);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.node_mem[0], 64ULL << 20);
	ck_assert_uint_eq(c->topo.node_mem[1], 0);
	ck_assert_uint_eq(c->node_cpus[1], 0x2);
	/* ... also next to memdev= nodes */
	reset();
	ck_assert_msg(!argv_parse("-m", "64", "-object",
				  "memory-backend-ram,id=m,size=64M", "-numa",
				  "node,cpus=0,memdev=m", "-numa", "node", NULL),
		      "%s", err);
	ck_assert_uint_eq(c->topo.nr_nodes, 2);
	ck_assert_uint_eq(c->topo.node_mem[1], 0);
	/* backend keys without meaning here: accepted, each warned about */
	reset();
	ck_assert_msg(!argv_parse("-m", "64", "-object",
				  "memory-backend-memfd,id=m,size=64M,share=on,"
				  "merge=off,dump=off,prealloc-threads=4",
				  "-numa", "node,cpus=0,memdev=m", NULL),
		      "%s", err);
	ck_assert_uint_eq(nr_warnings, 4);
	ck_assert_ptr_nonnull(strstr(warnings, ": share=on is ignored\n"));
	ck_assert_ptr_nonnull(strstr(warnings, ": merge=off is ignored\n"));
	ck_assert_ptr_nonnull(strstr(warnings, ": dump=off is ignored\n"));
	ck_assert_ptr_nonnull(strstr(warnings, ": prealloc-threads is ignored\n"));
}
END_TEST

START_TEST(qemu_bad)
{
	ck_argv_err("command line: -m '64,maxmem=1G': maxmem: memory hotplug "
		    "is not supported",
		    "-m", "64,maxmem=1G");
	reset();
	ck_argv_err("command line: -m '0': size must not be 0", "-m", "0");
	reset();
	ck_argv_err("command line: -smp '2,maxcpus=4': maxcpus=4 above "
		    "cpus=2: CPU hotplug is not supported",
		    "-smp", "2,maxcpus=4");
	reset();
	/* QEMU: cores = 4 / 3 = 1, and 3 * 1 != 4 */
	ck_argv_err("command line: -smp '4,sockets=3': the topology (sockets 3 "
		    "* dies 1 * clusters 1 * cores 1 * threads 1) has 3 CPUs, "
		    "not maxcpus 4",
		    "-smp", "4,sockets=3");
	reset();
	ck_argv_err("command line: -smp '8,sockets=2,cores=4,threads=2': the "
		    "topology (sockets 2 * dies 1 * clusters 1 * cores 4 * "
		    "threads 2) has 16 CPUs, not maxcpus 8",
		    "-smp", "8,sockets=2,cores=4,threads=2");
	reset();
	ck_argv_err("command line: -smp '4,maxcpus=2': maxcpus=2 is below "
		    "cpus=4",
		    "-smp", "4,maxcpus=2");
	reset();
	ck_argv_err("command line: -m '1.5B': bad size '1.5B': a fraction of "
		    "a byte",
		    "-m", "1.5B");
	reset();
	ck_argv_err("command line: -object 'memory-backend-ram,id=m,size=64M,"
		    "share=maybe': share 'maybe' must be on or off",
		    "-object", "memory-backend-ram,id=m,size=64M,share=maybe");
	reset();
	ck_argv_err("command line: -smp '65': 65 vCPUs: at most 64", "-smp",
		    "65");
	reset();
	ck_argv_err("command line: -numa 'cpu,node-id=0': 'cpu' is not "
		    "supported (node, dist)",
		    "-numa", "cpu,node-id=0");
	reset();
	ck_argv_err("command line: -numa 'node,mem=64,memdev=m': mem= and "
		    "memdev= exclude each other",
		    "-numa", "node,mem=64,memdev=m");
	reset();
	ck_argv_err("command line: -numa 'node,mem=64,initiator=0': unknown "
		    "key 'initiator' (nodeid, cpus, mem, memdev)",
		    "-numa", "node,mem=64,initiator=0");
	reset();
	ck_argv_err("command line: -numa 'node,nodeid=0,mem=64': node 0 is "
		    "already defined",
		    "-numa", "node,mem=64", "-numa", "node,nodeid=0,mem=64");
	reset();
	ck_argv_err("command line: -numa 'node,mem=64,cpus=0-1^1': cpus: "
		    "expected N or N-M",
		    "-numa", "node,mem=64,cpus=0-1^1");
	reset();
	ck_argv_err("command line: -numa node,memdev=m: memdev 'm': no "
		    "-object with that id",
		    "-numa", "node,memdev=m");
	reset();
	ck_argv_err("command line: -numa node: memdev= must be given for "
		    "either all or no nodes",
		    "-object", "memory-backend-ram,id=m,size=64M", "-numa",
		    "node,memdev=m", "-numa", "node,mem=64");
	reset();
	ck_argv_err("command line: -numa node,nodeid=1,memdev=m: memdev 'm' is "
		    "already used by another node",
		    "-object", "memory-backend-ram,id=m,size=64M", "-numa",
		    "node,memdev=m", "-numa", "node,nodeid=1,memdev=m");
	reset();
	ck_argv_err("command line: -numa 'dist,src=0,dst=0,val=20': the "
		    "distance from a node to itself must be 10",
		    "-numa", "dist,src=0,dst=0,val=20");
	reset();
	ck_argv_err("command line: -numa 'dist,src=0,dst=1,val=9': distance 9 "
		    "between distinct nodes must be 11..254",
		    "-numa", "dist,src=0,dst=1,val=9");
	reset();
	ck_argv_err("command line: -numa 'dist,src=0,dst=1': val= is required",
		    "-numa", "dist,src=0,dst=1");
	reset();
	ck_argv_err("command line: -numa dist,src=0,dst=2,val=20: distance "
		    "between node 0 and node 2, which does not exist",
		    "-numa", "node,mem=64,cpus=0", "-numa", "node,mem=64",
		    "-numa", "dist,src=0,dst=2,val=20");
	reset();
	ck_argv_err("command line: -object 'memory-backend-ram,id=m,size=64M,"
		    "policy=bind': host-nodes must be set for policy bind",
		    "-object", "memory-backend-ram,id=m,size=64M,policy=bind");
	reset();
	ck_argv_err("command line: -object 'memory-backend-ram,id=m,size=64M,"
		    "host-nodes=0': host-nodes must be empty for policy "
		    "default, or you should explicitly specify a policy other "
		    "than default",
		    "-object", "memory-backend-ram,id=m,size=64M,host-nodes=0");
	reset();
	ck_argv_err("command line: -object 'memory-backend-file,id=m,size=1M': "
		    "type 'memory-backend-file' is not supported "
		    "(memory-backend-ram, memory-backend-memfd)",
		    "-object", "memory-backend-file,id=m,size=1M");
	reset();
	ck_argv_err("command line: -object 'memory-backend-ram,id=m,size=1M,"
		    "reserve=on': unknown key 'reserve' (id, size, policy, "
		    "host-nodes, prealloc, share, merge, dump, "
		    "prealloc-threads)",
		    "-object", "memory-backend-ram,id=m,size=1M,reserve=on");
	reset();
	ck_argv_err("command line: -object 'memory-backend-ram,size=1M': id= "
		    "is required",
		    "-object", "memory-backend-ram,size=1M");
	reset();
	ck_argv_err(
		"command line: -object 'memory-backend-ram,id=m,size=1M,"
		"policy=local,host-nodes=0': policy 'local' must be default, "
		"preferred, bind or interleave",
		"-object",
		"memory-backend-ram,id=m,size=1M,policy=local,host-nodes=0");
	reset();
	/* the QEMU topology is validated like any other */
	ck_argv_err("command line: -numa node,nodeid=1,mem=64: node memory "
		    "adds up to 128M, but guest RAM is 64M (command line: -m "
		    "64)",
		    "-m", "64", "-numa", "node,nodeid=0,cpus=0,mem=64", "-numa",
		    "node,nodeid=1,mem=64");
}
END_TEST

/* ---- shipped configs ---------------------------------------------------- */

START_TEST(shipped_configs)
{
	static const char *const files[] = {
		"configs/default.ini",
		"configs/default.xml",
		"configs/two-node-local.ini",
		"configs/two-node-local.xml",
		"configs/two-node-interleave.ini",
		"configs/two-node-interleave.xml",
		"configs/four-node-asym.ini",
		"configs/four-node-asym.xml",
		"configs/weighted-interleave.ini",
		"configs/weighted-interleave.xml",
		"configs/bind-oom.ini",
		"configs/bind-oom.xml",
	};
	struct config *ini_c = malloc(sizeof(*ini_c));
	size_t i;

	ck_assert_ptr_nonnull(ini_c);
	/* each INI and its XML twin describe the same VM */
	for (i = 0; i < ARRAY_SIZE(files); i += 2) {
		config_init(ini_c);
		ck_assert_msg(
			config_parse_file(ini_c, files[i], err, sizeof(err)) ==
					0 &&
				config_validate(ini_c, err, sizeof(err)) == 0,
			"%s", err);
		reset();
		ck_assert_msg(config_parse_file(c, files[i + 1], err,
						sizeof(err)) == 0 &&
				      config_validate(c, err, sizeof(err)) == 0,
			      "%s", err);
		ck_assert_uint_eq(nr_warnings, 0);
		ck_assert_uint_eq(c->ram_size, ini_c->ram_size);
		ck_assert_uint_eq(c->nr_vcpus, ini_c->nr_vcpus);
		ck_assert_str_eq(c->image, ini_c->image);
		ck_assert_uint_eq(c->timeout, ini_c->timeout);
		ck_assert_uint_eq(c->topo.nr_nodes, ini_c->topo.nr_nodes);
		ck_assert_mem_eq(c->topo.node_mem, ini_c->topo.node_mem,
				 sizeof(c->topo.node_mem));
		ck_assert_mem_eq(c->topo.distance, ini_c->topo.distance,
				 sizeof(c->topo.distance));
		ck_assert_mem_eq(c->topo.vcpu_node, ini_c->topo.vcpu_node,
				 sizeof(c->topo.vcpu_node));
		ck_assert_uint_eq(c->vcpu_pol_set, ini_c->vcpu_pol_set);
		ck_assert_mem_eq(c->vcpu_pol, ini_c->vcpu_pol,
				 sizeof(c->vcpu_pol));
		ck_assert_uint_eq(c->nr_ranges, ini_c->nr_ranges);
		ck_assert_mem_eq(c->ranges, ini_c->ranges, sizeof(c->ranges));
		ck_assert_int_eq(c->oom, ini_c->oom);
		ck_assert_mem_eq(c->topo.host_nodes, ini_c->topo.host_nodes,
				 sizeof(c->topo.host_nodes));
		ck_assert_mem_eq(c->host_mode, ini_c->host_mode,
				 sizeof(c->host_mode));
		ck_assert_mem_eq(c->node_cpus, ini_c->node_cpus,
				 sizeof(c->node_cpus));
		ck_assert_mem_eq(&c->host_pol, &ini_c->host_pol,
				 sizeof(c->host_pol));
		ck_assert_str_eq(c->cmdline, ini_c->cmdline);
		ck_assert_uint_eq(c->granule, ini_c->granule);
		ck_assert_uint_eq(c->fault_around, ini_c->fault_around);
		ck_assert_int_eq(c->prealloc, ini_c->prealloc);
		ck_assert_int_eq(c->thp, ini_c->thp);
		ck_assert_int_eq(c->placement, ini_c->placement);
		ck_assert_str_eq(c->socket, ini_c->socket);
	}
	free(ini_c);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("ini");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, ini_every_key);
	tcase_add_test(tc, ini_defaults);
	tcase_add_test(tc, ini_derived_defaults);
	tcase_add_test(tc, ini_sizes_and_lists);
	tcase_add_test(tc, ini_value_parsers);
	tcase_add_test(tc, ini_bad_syntax);
	tcase_add_test(tc, ini_bad_reader);
	tcase_add_test(tc, ini_bad_nodes);
	tcase_add_test(tc, ini_bad_distances);
	tcase_add_test(tc, ini_bad_policies);
	tcase_add_test(tc, ini_bad_ranges);
	tcase_add_test(tc, ini_bad_memory);
	tcase_add_test(tc, file_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("xml");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, xml_every_element);
	tcase_add_test(tc, xml_defaults_and_kernel);
	tcase_add_test(tc, xml_warnings);
	tcase_add_test(tc, xml_bad);
	tcase_add_test(tc, xml_bad_cells);
	tcase_add_test(tc, xml_bad_metadata);
	suite_add_tcase(s, tc);

	tc = tcase_create("argv");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, argv_options);
	tcase_add_test(tc, argv_bad);
	tcase_add_test(tc, argv_overrides_file);
	tcase_add_test(tc, argv_overrides_xml_numatune);
	tcase_add_test(tc, qemu_numa);
	tcase_add_test(tc, qemu_bad);
	tcase_add_test(tc, qemu_compat);
	tcase_add_test(tc, shipped_configs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

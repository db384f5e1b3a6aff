/*
 * The VM configuration common to every format: defaults, the value parsers
 * the INI, XML and QEMU-flag readers share (sizes, lists, modes, flags,
 * weights), structural validation with messages naming where each item came
 * from, reading a config file (format detected by content), and the numavm
 * command line, where options override the file whatever their order.
 */
#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

void config_init(struct config *c)
{
	unsigned int i;

	memset(c, 0, sizeof(*c));
	c->granule = CONFIG_DEFAULT_GRANULE;
	c->oom = CONFIG_OOM_STOP;
	c->placement = true;
	c->host_pol.mode = MPOL_DEFAULT;
	for (i = 0; i < NUMA_MAX_NODES; i++)
		c->host_mode[i] = MPOL_BIND;
	for (i = 0; i < NUMA_MAX_VCPUS; i++)
		c->vcpu_pol[i].mode = MPOL_DEFAULT;
	snprintf(c->where.ram, CONFIG_ORIGIN_LEN, "default");
	snprintf(c->where.vcpus, CONFIG_ORIGIN_LEN, "default");
	snprintf(c->where.granule, CONFIG_ORIGIN_LEN, "default");
	snprintf(c->where.fault_around, CONFIG_ORIGIN_LEN, "default");
	snprintf(c->where.host_pol, CONFIG_ORIGIN_LEN, "default");
}

void config_warn(const struct config *c, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->warn)
		c->warn(c->warn_arg, msg);
	else
		fprintf(stderr, "numavm: warning: %s\n", msg);
}

const char *config_fmt_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int i;

	for (i = 3; i >= 0; i--) {
		uint64_t u = 1ULL << (10 * (i + 1));

		if (bytes && bytes % u == 0) {
			snprintf(buf, len, "%llu%c",
				 (unsigned long long)(bytes / u), units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", (unsigned long long)bytes);
	return buf;
}

/* ---- value parsers ---------------------------------------------------- */

/* strtoull without its leniency: no sign, no blanks, decimal or 0x hex */
static int parse_u64(const char *s, const char **end, uint64_t *out)
{
	int base = 10;
	uint64_t v = 0;
	const char *p = s;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2])) {
		base = 16;
		p += 2;
	}
	if (!isxdigit((unsigned char)*p) ||
	    (base == 10 && !isdigit((unsigned char)*p)))
		return -EINVAL;
	for (; *p; p++) {
		unsigned int d;

		if (isdigit((unsigned char)*p))
			d = (unsigned int)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned int)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / (uint64_t)base)
			return -ERANGE;
		v = v * (uint64_t)base + d;
	}
	*end = p;
	*out = v;
	return 0;
}

int config_parse_size(const char *s, uint64_t unit, uint64_t *out, char *err,
		      size_t len)
{
	const char *end;
	uint64_t v, mul = unit;
	int ret;

	ret = parse_u64(s, &end, &v);
	if (ret == -ERANGE)
		return errmsg(err, len, "size '%s' is too large", s);
	if (ret)
		return errmsg(err, len, "bad size '%s': expected a number "
			    "with an optional K, M, G or T suffix", s);
	if (*end) {
		switch (toupper((unsigned char)*end)) {
		case 'B':
			mul = 1;
			break;
		case 'K':
			mul = 1ULL << 10;
			break;
		case 'M':
			mul = 1ULL << 20;
			break;
		case 'G':
			mul = 1ULL << 30;
			break;
		case 'T':
			mul = 1ULL << 40;
			break;
		default:
			return errmsg(err, len, "bad size '%s': unknown suffix "
				    "'%s' (K, M, G or T)", s, end);
		}
		if (mul == 1)
			end++;
		else if (!strcasecmp(end + 1, "iB"))
			end += 3;
		else if (!strcasecmp(end + 1, "B"))
			end += 2;
		else
			end++;
		if (*end)
			return errmsg(err, len, "bad size '%s': unknown suffix "
				    "(K, M, G or T)", s);
	}
	if (v && mul > UINT64_MAX / v)
		return errmsg(err, len, "size '%s' is too large", s);
	*out = v * mul;
	return 0;
}

int config_parse_u32(const char *s, uint32_t min, uint32_t max, uint32_t *out,
		     char *err, size_t len)
{
	const char *end;
	uint64_t v;

	if (parse_u64(s, &end, &v) || *end)
		return errmsg(err, len, "'%s' is not a number", s);
	if (v < min || v > max)
		return errmsg(err, len, "%s is out of range (%u..%u)", s, min,
			    max);
	*out = (uint32_t)v;
	return 0;
}

int config_parse_list(const char *s, unsigned int max, uint64_t *mask,
		      char *err, size_t len)
{
	uint64_t m = 0;
	const char *p = s;

	if (!*s)
		return errmsg(err, len, "empty list");
	for (;;) {
		uint64_t a, b;
		bool neg = false;
		const char *end;

		if (*p == '^') {
			neg = true;
			p++;
		}
		if (!isdigit((unsigned char)*p) || parse_u64(p, &end, &a) ||
		    (p[0] == '0' && p[1] == 'x'))
			return errmsg(err, len, "bad list '%s': expected numbers "
				    "and ranges like 0-3,6", s);
		b = a;
		p = end;
		if (*p == '-' && !neg) {
			if (!isdigit((unsigned char)p[1]) || p[2] == 'x' ||
			    parse_u64(p + 1, &end, &b))
				return errmsg(err, len, "bad list '%s': expected "
					    "numbers and ranges like 0-3,6", s);
			p = end;
		}
		if (b < a)
			return errmsg(err, len, "bad range %llu-%llu in '%s': "
				    "end before start", (unsigned long long)a,
				    (unsigned long long)b, s);
		if (b >= max)
			return errmsg(err, len, "%llu in '%s' is out of range "
				    "(0..%u)", (unsigned long long)b, s,
				    max - 1);
		for (; a <= b; a++) {
			if (neg)
				m &= ~(1ULL << a);
			else
				m |= 1ULL << a;
		}
		if (!*p)
			break;
		if (*p != ',' || !p[1])
			return errmsg(err, len, "bad list '%s': expected numbers "
				    "and ranges like 0-3,6", s);
		p++;
	}
	*mask = m;
	return 0;
}

int config_parse_bool(const char *s, bool *out, char *err, size_t len)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return errmsg(err, len, "'%s' is not a boolean (yes/no, true/false, "
		    "on/off, 1/0)", s);
}

const char *config_mode_name(enum mpol_mode mode)
{
	const char *name = mpol_mode_name(mode);

	return name ? name : "?";
}

/* Compare names with '_' and '-' equal, case-insensitive */
static bool name_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
		char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return !*a && !*b;
}

int config_parse_mode(const char *s, enum mpol_mode *mode, char *err,
		      size_t len)
{
	unsigned int i;

	for (i = 0; i < MPOL_MAX; i++) {
		if (name_eq(s, mpol_mode_name(i))) {
			*mode = (enum mpol_mode)i;
			return 0;
		}
	}
	return errmsg(err, len, "unknown mode '%s' (default, local, preferred, "
		    "preferred-many, bind, interleave, weighted-interleave)",
		    s);
}

int config_parse_flags(const char *s, unsigned int *flags, char *err,
		       size_t len)
{
	unsigned int f = 0;
	const char *p = s;

	if (name_eq(s, "none")) {
		*flags = 0;
		return 0;
	}
	while (*p) {
		char word[32];
		size_t n = strcspn(p, ",");

		if (n == 0 || n >= sizeof(word))
			return errmsg(err, len, "bad flags '%s' (static, "
				    "relative or none)", s);
		memcpy(word, p, n);
		word[n] = '\0';
		if (name_eq(word, "static") || name_eq(word, "static-nodes"))
			f |= MPOL_F_STATIC_NODES;
		else if (name_eq(word, "relative") ||
			 name_eq(word, "relative-nodes"))
			f |= MPOL_F_RELATIVE_NODES;
		else
			return errmsg(err, len, "unknown flag '%s' (static, "
				    "relative or none)", word);
		p += n;
		if (*p == ',' && !*++p)
			return errmsg(err, len, "bad flags '%s'", s);
	}
	if (!*s)
		return errmsg(err, len, "empty flags (static, relative or none)");
	*flags = f;
	return 0;
}

int config_parse_weights(const char *s, struct mpol_spec *spec, char *err,
			 size_t len)
{
	uint8_t w[NUMA_MAX_NODES] = { 0 };
	const char *p = s;

	if (!*s)
		return errmsg(err, len, "empty weights (expected node:weight,...)");
	for (;;) {
		uint64_t node, weight;
		const char *end;

		if (parse_u64(p, &end, &node) || *end != ':' ||
		    parse_u64(end + 1, &end, &weight))
			return errmsg(err, len, "bad weights '%s': expected "
				    "node:weight pairs like 0:3,1:1", s);
		if (node >= NUMA_MAX_NODES)
			return errmsg(err, len, "weight for node %llu: nodes are "
				    "0..%d", (unsigned long long)node,
				    NUMA_MAX_NODES - 1);
		if (weight < 1 || weight > MPOL_MAX_WEIGHT)
			return errmsg(err, len, "weight %llu of node %llu is out "
				    "of range (1..%d)",
				    (unsigned long long)weight,
				    (unsigned long long)node, MPOL_MAX_WEIGHT);
		if (w[node])
			return errmsg(err, len, "node %llu has two weights",
				    (unsigned long long)node);
		w[node] = (uint8_t)weight;
		p = end;
		if (!*p)
			break;
		if (*p != ',')
			return errmsg(err, len, "bad weights '%s': expected "
				    "node:weight pairs like 0:3,1:1", s);
		p++;
	}
	memcpy(spec->weights, w, sizeof(w));
	return 0;
}

int config_parse_granule(const char *s, uint64_t *out, char *err, size_t len)
{
	uint64_t v;

	if (config_parse_size(s, 1, &v, err, len))
		return -EINVAL;
	if (v != 4096 && v != 65536 && v != (2ULL << 20))
		return errmsg(err, len, "granularity '%s' must be 4K, 64K or 2M",
			    s);
	*out = v;
	return 0;
}

int config_parse_oom(const char *s, enum config_oom *out, char *err,
		     size_t len)
{
	if (!strcasecmp(s, "stop"))
		*out = CONFIG_OOM_STOP;
	else if (!strcasecmp(s, "wait"))
		*out = CONFIG_OOM_WAIT;
	else
		return errmsg(err, len, "oom '%s' must be stop or wait", s);
	return 0;
}

/* ---- building ----------------------------------------------------------- */

int config_declare_node(struct config *c, unsigned int id,
			const char *origin, char *err, size_t len)
{
	if (id >= NUMA_MAX_NODES)
		return errmsg(err, len, "node %u: at most %d nodes (0..%d)", id,
			    NUMA_MAX_NODES, NUMA_MAX_NODES - 1);
	if (!(c->node_declared & (1U << id)))
		snprintf(c->where.node[id], CONFIG_ORIGIN_LEN, "%s", origin);
	c->node_declared |= 1U << id;
	if (c->topo.nr_nodes <= id)
		c->topo.nr_nodes = id + 1;
	return 0;
}

int config_set_vcpu_policy(struct config *c, uint64_t vcpus,
			   const struct mpol_spec *spec, const char *origin,
			   char *err, size_t len)
{
	uint64_t dup = vcpus & c->vcpu_pol_set;
	unsigned int v;

	if (dup) {
		v = (unsigned int)__builtin_ctzll(dup);
		return errmsg(err, len, "vCPU %u already has a policy (%s)", v,
			    c->where.vcpu_pol[v]);
	}
	for (v = 0; v < NUMA_MAX_VCPUS; v++) {
		if (!(vcpus & (1ULL << v)))
			continue;
		c->vcpu_pol[v] = *spec;
		snprintf(c->where.vcpu_pol[v], CONFIG_ORIGIN_LEN, "%s", origin);
	}
	c->vcpu_pol_set |= vcpus;
	return 0;
}

int config_add_range(struct config *c, gpa_t start, uint64_t size,
		     const struct mpol_spec *spec, const char *origin, char *err,
		     size_t len)
{
	struct config_range *r;

	if (c->nr_ranges >= CONFIG_MAX_RANGES) {
		errmsg(err, len, "too many range policies (at most %d)",
		     CONFIG_MAX_RANGES);
		return -ENOSPC;
	}
	r = &c->ranges[c->nr_ranges];
	r->start = start;
	r->len = size;
	r->pol = *spec;
	snprintf(c->where.range[c->nr_ranges], CONFIG_ORIGIN_LEN, "%s",
		 origin);
	c->nr_ranges++;
	return 0;
}

/* ---- validation ------------------------------------------------------- */

/* "0-1,3" for messages */
static const char *fmt_mask(char *buf, size_t len, uint64_t m)
{
	size_t off = 0;
	unsigned int i = 0;

	buf[0] = '\0';
	while (i < 64 && off < len) {
		unsigned int j;

		if (!(m & (1ULL << i))) {
			i++;
			continue;
		}
		for (j = i; j + 1 < 64 && (m & (1ULL << (j + 1))); j++)
			;
		if (j == i)
			off += (size_t)snprintf(buf + off, len - off, "%s%u",
						off ? "," : "", i);
		else
			off += (size_t)snprintf(buf + off, len - off,
						"%s%u-%u", off ? "," : "", i,
						j);
		i = j + 1;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
	return buf;
}

/*
 * Structural check of one policy against a VM of @nr_nodes nodes with
 * memory on @mem_nodes; @what names it ("policy of vCPU 1").
 */
static int check_spec(const struct mpol_spec *s, unsigned int nr_nodes,
		      nodemask_t mem_nodes, const char *origin,
		      const char *what, char *err, size_t len)
{
	nodemask_t all = nr_nodes >= 32 ? ~0U : (1U << nr_nodes) - 1;
	const char *mode = config_mode_name(s->mode);
	char b1[64], b2[64];
	unsigned int n;
	bool has_w = false;

	if ((unsigned int)s->mode >= MPOL_MAX)
		return errmsg(err, len, "%s: %s: invalid mode %d", origin, what,
			    (int)s->mode);
	if (s->flags & ~MPOL_MODE_FLAGS)
		return errmsg(err, len, "%s: %s: invalid flags 0x%x", origin,
			    what, s->flags);
	if ((s->flags & MPOL_MODE_FLAGS) == MPOL_MODE_FLAGS)
		return errmsg(err, len, "%s: %s: flags static and relative "
			    "exclude each other", origin, what);
	for (n = 0; n < NUMA_MAX_NODES; n++)
		has_w |= s->weights[n] != 0;
	if (has_w && s->mode != MPOL_WEIGHTED_INTERLEAVE)
		return errmsg(err, len, "%s: %s: weights are only for mode "
			    "weighted-interleave, not %s", origin, what, mode);
	if (s->mode == MPOL_DEFAULT || s->mode == MPOL_LOCAL) {
		if (s->nodes)
			return errmsg(err, len, "%s: %s: mode %s takes no nodes",
				    origin, what, mode);
		if (s->flags)
			return errmsg(err, len, "%s: %s: mode %s takes no flags",
				    origin, what, mode);
		return 0;
	}
	if (!s->nodes)
		return errmsg(err, len, "%s: %s: mode %s needs a non-empty node "
			    "set", origin, what, mode);
	if (s->mode == MPOL_PREFERRED && nodes_weight(s->nodes) != 1)
		return errmsg(err, len, "%s: %s: mode preferred takes exactly one "
			    "node, not %s (use preferred-many for several)",
			    origin, what, fmt_mask(b1, sizeof(b1), s->nodes));
	if (!(s->flags & MPOL_F_RELATIVE_NODES)) {
		if (s->nodes & ~all)
			return errmsg(err, len, "%s: %s: node %u does not exist "
				    "(nodes are %s)", origin, what,
				    first_node(s->nodes & ~all),
				    fmt_mask(b1, sizeof(b1), all));
		if (!(s->nodes & mem_nodes))
			return errmsg(err, len, "%s: %s: nodes %s have no memory",
				    origin, what,
				    fmt_mask(b1, sizeof(b1), s->nodes));
	}
	for (n = 0; n < NUMA_MAX_NODES; n++) {
		if (s->weights[n] && !node_isset(n, s->nodes))
			return errmsg(err, len, "%s: %s: weight for node %u, "
				    "which is not in nodes %s", origin, what,
				    n, fmt_mask(b2, sizeof(b2), s->nodes));
	}
	return 0;
}

/* Fill the defaults that depend on what was configured */
static int validate_defaults(struct config *c, char *err, size_t len)
{
	unsigned int i, n = c->topo.nr_nodes;
	uint64_t sum = 0, cpus = 0;

	if (!c->node_declared) {
		if (!c->ram_size)
			c->ram_size = CONFIG_DEFAULT_RAM;
		if (!c->nr_vcpus)
			c->nr_vcpus = 1;
		if (c->nr_vcpus > NUMA_MAX_VCPUS)
			return errmsg(err, len, "%s: %u vCPUs: at most %d",
				    c->where.vcpus, c->nr_vcpus,
				    NUMA_MAX_VCPUS);
		c->topo.nr_nodes = 1;
		c->node_declared = 1;
		c->topo.node_mem[0] = c->ram_size;
		c->node_cpus[0] = c->nr_vcpus == 64 ?
			~0ULL : (1ULL << c->nr_vcpus) - 1;
		snprintf(c->where.node[0], CONFIG_ORIGIN_LEN,
			 "default node 0");
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!(c->node_declared & (1U << i)))
			return errmsg(err, len, "%s: node %u is configured but "
				    "node %u is not: nodes are numbered "
				    "0..N-1", c->where.node[n - 1], n - 1, i);
		sum += c->topo.node_mem[i];
		cpus |= c->node_cpus[i];
	}
	if (!c->ram_size) {
		c->ram_size = sum;
		snprintf(c->where.ram, CONFIG_ORIGIN_LEN, "%s",
			 c->where.node[0]);
	}
	if (!c->nr_vcpus) {
		c->nr_vcpus = cpus ? 64 - (unsigned int)__builtin_clzll(cpus) :
			1;
		snprintf(c->where.vcpus, CONFIG_ORIGIN_LEN, "%s",
			 c->where.node[0]);
	}
	return 0;
}

/* Before the RAM checks: a bad node size is the real culprit */
static int validate_node_sizes(const struct config *c, char *err,
			       size_t len)
{
	const struct numa_topology *t = &c->topo;
	char b1[32], b2[32];
	unsigned int i;

	for (i = 0; i < t->nr_nodes; i++) {
		if (t->node_mem[i] > CONFIG_MAX_RAM)
			return errmsg(err, len, "%s: node %u memory is too large",
				    c->where.node[i], i);
		if (t->node_mem[i] % c->granule)
			return errmsg(err, len, "%s: node %u memory %s is not a "
				    "multiple of the %s fault granularity (%s)",
				    c->where.node[i], i,
				    config_fmt_size(b1, sizeof(b1),
						    t->node_mem[i]),
				    config_fmt_size(b2, sizeof(b2),
						    c->granule),
				    c->where.granule);
	}
	return 0;
}

static int validate_nodes(struct config *c, char *err, size_t len)
{
	struct numa_topology *t = &c->topo;
	uint64_t sum = 0, seen = 0;
	unsigned int i, j, v;
	char b1[32], b2[32], b3[32];

	for (i = 0; i < t->nr_nodes; i++)
		sum += t->node_mem[i];
	if (sum != c->ram_size)
		return errmsg(err, len, "%s: node memory adds up to %s, but guest "
			    "RAM is %s (%s)", c->where.node[t->nr_nodes - 1],
			    config_fmt_size(b1, sizeof(b1), sum),
			    config_fmt_size(b2, sizeof(b2), c->ram_size),
			    c->where.ram);

	for (i = 0; i < t->nr_nodes; i++) {
		uint64_t extra = c->node_cpus[i] &
				 ~(c->nr_vcpus >= 64 ?
					   ~0ULL :
					   (1ULL << c->nr_vcpus) - 1);

		if (extra)
			return errmsg(err, len, "%s: node %u lists vCPU %u, but "
				    "there are %u vCPUs (%s)",
				    c->where.node[i], i,
				    (unsigned int)__builtin_ctzll(extra),
				    c->nr_vcpus, c->where.vcpus);
		if (c->node_cpus[i] & seen) {
			v = (unsigned int)__builtin_ctzll(c->node_cpus[i] &
							  seen);
			for (j = 0; j < i; j++)
				if (c->node_cpus[j] & (1ULL << v))
					break;
			return errmsg(err, len, "%s: vCPU %u is in node %u and in "
				    "node %u (%s)", c->where.node[i], v, i, j,
				    c->where.node[j]);
		}
		seen |= c->node_cpus[i];
		for (v = 0; v < NUMA_MAX_VCPUS; v++)
			if (c->node_cpus[i] & (1ULL << v))
				t->vcpu_node[v] = (uint8_t)i;
	}
	for (v = 0; v < c->nr_vcpus; v++)
		if (!(seen & (1ULL << v)))
			return errmsg(err, len, "%s: vCPU %u is in no node (%u "
				    "vCPUs, %s)", c->where.node[0], v,
				    c->nr_vcpus, c->where.vcpus);
	t->nr_vcpus = c->nr_vcpus;

	for (i = 0; i < NUMA_MAX_NODES; i++) {
		uint32_t beyond = t->nr_nodes >= 32 ?
					  0 :
					  c->dist_set[i] & ~((1U << t->nr_nodes) - 1);

		if (i >= t->nr_nodes && c->dist_set[i])
			beyond = c->dist_set[i];
		if (beyond)
			return errmsg(err, len, "%s: distance between node %u and "
				    "node %u, which does not exist (%u nodes)",
				    i < t->nr_nodes ? c->where.node[i] :
						      "config",
				    i, (unsigned int)__builtin_ctz(beyond),
				    t->nr_nodes);
	}
	for (i = 0; i < t->nr_nodes; i++) {
		for (j = 0; j < t->nr_nodes; j++) {
			unsigned int d;

			if (!(c->dist_set[i] & (1U << j))) {
				if (i == j)
					d = NUMA_LOCAL_DISTANCE;
				else if (c->dist_set[j] & (1U << i))
					d = t->distance[j][i];
				else
					d = NUMA_REMOTE_DISTANCE;
				t->distance[i][j] = (uint8_t)d;
				continue;
			}
			d = t->distance[i][j];
			if (i == j && d != NUMA_LOCAL_DISTANCE)
				return errmsg(err, len, "%s: distance from node %u "
					    "to itself is %u: it must be %d",
					    c->where.node[i], i, d,
					    NUMA_LOCAL_DISTANCE);
			if (i != j &&
			    (d <= NUMA_LOCAL_DISTANCE || d > NUMA_MAX_DISTANCE))
				return errmsg(err, len, "%s: distance from node %u "
					    "to node %u is %u: it must be "
					    "%d..%d", c->where.node[i], i, j,
					    d, NUMA_LOCAL_DISTANCE + 1,
					    NUMA_MAX_DISTANCE);
		}
	}
	for (i = 0; i < t->nr_nodes; i++) {
		enum mpol_mode m = c->host_mode[i];

		if (!t->host_nodes[i])
			continue;
		if (m != MPOL_BIND && m != MPOL_PREFERRED &&
		    m != MPOL_INTERLEAVE)
			return errmsg(err, len, "%s: node %u host policy %s: it "
				    "must be bind, preferred or interleave",
				    c->where.node[i], i, config_mode_name(m));
		if (m == MPOL_PREFERRED &&
		    __builtin_popcountll(t->host_nodes[i]) != 1)
			return errmsg(err, len, "%s: node %u host policy preferred "
				    "takes exactly one host node, not %s",
				    c->where.node[i], i,
				    fmt_mask(b3, sizeof(b3),
					     t->host_nodes[i]));
	}
	return 0;
}

static void swap_ranges(struct config *c, unsigned int a, unsigned int b)
{
	struct config_range r = c->ranges[a];
	char o[CONFIG_ORIGIN_LEN];

	c->ranges[a] = c->ranges[b];
	c->ranges[b] = r;
	memcpy(o, c->where.range[a], sizeof(o));
	memcpy(c->where.range[a], c->where.range[b], sizeof(o));
	memcpy(c->where.range[b], o, sizeof(o));
}

static int validate_policies(struct config *c, char *err, size_t len)
{
	nodemask_t mem = 0;
	unsigned int i, j, v;
	char what[64], b1[32], b2[32];
	int ret;

	for (i = 0; i < c->topo.nr_nodes; i++)
		if (c->topo.node_mem[i])
			mem |= 1U << i;
	for (v = 0; v < NUMA_MAX_VCPUS; v++) {
		if (!(c->vcpu_pol_set & (1ULL << v)))
			continue;
		if (v >= c->nr_vcpus)
			return errmsg(err, len, "%s: policy for vCPU %u, but there "
				    "are %u vCPUs (%s)", c->where.vcpu_pol[v],
				    v, c->nr_vcpus, c->where.vcpus);
		snprintf(what, sizeof(what), "policy of vCPU %u", v);
		ret = check_spec(&c->vcpu_pol[v], c->topo.nr_nodes, mem,
				 c->where.vcpu_pol[v], what, err, len);
		if (ret)
			return ret;
	}
	ret = check_spec(&c->host_pol, c->topo.nr_nodes, mem,
			 c->where.host_pol, "host policy", err, len);
	if (ret)
		return ret;

	for (i = 0; i < c->nr_ranges; i++) {
		struct config_range *r = &c->ranges[i];

		snprintf(what, sizeof(what), "range 0x%llx+%s",
			 (unsigned long long)r->start,
			 config_fmt_size(b1, sizeof(b1), r->len));
		if (!r->len)
			return errmsg(err, len, "%s: %s is empty",
				    c->where.range[i], what);
		if (r->start % c->granule || r->len % c->granule)
			return errmsg(err, len, "%s: %s is not aligned to the %s "
				    "fault granularity", c->where.range[i],
				    what,
				    config_fmt_size(b2, sizeof(b2),
						    c->granule));
		if (!config_gpa_in_ram(c->ram_size, r->start, r->len)) {
			if (c->ram_size <= GUEST_RAM_LOW_MAX)
				return errmsg(err, len, "%s: %s ends beyond "
					    "guest RAM (%s)", c->where.range[i],
					    what, config_fmt_size(b2, sizeof(b2),
							c->ram_size));
			return errmsg(err, len, "%s: %s is not inside guest "
				    "RAM (%s: gpa 0-3G and 4G-%s, the hole "
				    "3G-4G is not RAM)", c->where.range[i], what,
				    config_fmt_size(b2, sizeof(b2), c->ram_size),
				    config_fmt_size(b1, sizeof(b1),
						    c->ram_size + (1ULL << 30)));
		}
		ret = check_spec(&r->pol, c->topo.nr_nodes, mem,
				 c->where.range[i], what, err, len);
		if (ret)
			return ret;
	}
	/* few ranges: insertion sort, then neighbours must not overlap */
	for (i = 1; i < c->nr_ranges; i++)
		for (j = i; j > 0 &&
			    c->ranges[j - 1].start > c->ranges[j].start; j--)
			swap_ranges(c, j - 1, j);
	for (i = 1; i < c->nr_ranges; i++) {
		struct config_range *a = &c->ranges[i - 1], *b = &c->ranges[i];

		if (a->start + a->len > b->start)
			return errmsg(err, len, "%s: range 0x%llx+%s overlaps "
				    "range 0x%llx+%s (%s)", c->where.range[i],
				    (unsigned long long)b->start,
				    config_fmt_size(b1, sizeof(b1), b->len),
				    (unsigned long long)a->start,
				    config_fmt_size(b2, sizeof(b2), a->len),
				    c->where.range[i - 1]);
	}
	return 0;
}

int config_validate(struct config *c, char *err, size_t len)
{
	char b1[32], b2[32];
	bool implicit;
	int ret;

	if (c->granule != 4096 && c->granule != 65536 &&
	    c->granule != (2ULL << 20))
		return errmsg(err, len, "%s: granularity %llu must be 4K, 64K or "
			    "2M", c->where.granule,
			    (unsigned long long)c->granule);
	if (c->fault_around > CONFIG_MAX_FAULT_AROUND)
		return errmsg(err, len, "%s: fault-around %u is out of range "
			    "(0..%d pages)", c->where.fault_around,
			    c->fault_around, CONFIG_MAX_FAULT_AROUND);
	if (c->fault_around && c->granule != 4096)
		return errmsg(err, len, "%s: fault-around applies to the 4K "
			    "granularity only, not %s (%s)",
			    c->where.fault_around,
			    config_fmt_size(b1, sizeof(b1), c->granule),
			    c->where.granule);
	if (c->oom != CONFIG_OOM_STOP && c->oom != CONFIG_OOM_WAIT)
		return errmsg(err, len, "invalid oom behaviour %d", (int)c->oom);
	if (c->timeout > CONFIG_MAX_TIMEOUT)
		return errmsg(err, len, "timeout %u is out of range (0..%u s)",
			    c->timeout, CONFIG_MAX_TIMEOUT);

	implicit = !c->node_declared;
	ret = validate_defaults(c, err, len);
	if (!ret && !implicit)
		ret = validate_node_sizes(c, err, len);
	if (ret)
		return ret;
	if (c->ram_size > CONFIG_MAX_RAM)
		return errmsg(err, len, "%s: guest RAM %s is too large (at most "
			    "%s)", c->where.ram,
			    config_fmt_size(b1, sizeof(b1), c->ram_size),
			    config_fmt_size(b2, sizeof(b2), CONFIG_MAX_RAM));
	if (c->ram_size && c->ram_size < CONFIG_MIN_RAM)
		return errmsg(err, len, "%s: guest RAM %s is too small (at least "
			    "%s)", c->where.ram,
			    config_fmt_size(b1, sizeof(b1), c->ram_size),
			    config_fmt_size(b2, sizeof(b2), CONFIG_MIN_RAM));
	if (!c->ram_size || c->ram_size % c->granule)
		return errmsg(err, len, "%s: guest RAM %s is not a non-zero "
			    "multiple of the %s fault granularity (%s)",
			    c->where.ram,
			    config_fmt_size(b1, sizeof(b1), c->ram_size),
			    config_fmt_size(b2, sizeof(b2), c->granule),
			    c->where.granule);
	if (c->nr_vcpus < 1 || c->nr_vcpus > NUMA_MAX_VCPUS)
		return errmsg(err, len, "%s: %u vCPUs: it must be 1..%d",
			    c->where.vcpus, c->nr_vcpus, NUMA_MAX_VCPUS);
	ret = validate_nodes(c, err, len);
	if (ret)
		return ret;
	return validate_policies(c, err, len);
}

/* ---- files ------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcasecmp(s + a - b, suffix);
}

static bool looks_like_xml(const char *buf, size_t size)
{
	size_t i = 0;

	if (size >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < size && isspace((unsigned char)buf[i]))
		i++;
	return i < size && buf[i] == '<';
}

int config_parse_file(struct config *c, const char *path, char *err,
		      size_t len)
{
	struct stat st;
	char *buf = NULL;
	size_t size = 0;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, len, "%s: cannot open: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, len, "%s: cannot read: is a directory", path);
		ret = -EISDIR;
		goto err_close;
	}
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf) {
		snprintf(err, len, "%s: out of memory", path);
		ret = -ENOMEM;
		goto err_close;
	}
	for (;;) {
		ssize_t n = read(fd, buf + size, CONFIG_FILE_MAX + 1 - size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, len, "%s: cannot read: %s", path,
				 strerror(errno));
			goto err_free;
		}
		if (n == 0)
			break;
		size += (size_t)n;
		if (size > CONFIG_FILE_MAX) {
			snprintf(err, len, "%s: file is larger than %u bytes",
				 path, CONFIG_FILE_MAX);
			ret = -EFBIG;
			goto err_free;
		}
	}
	if (ends_with(path, ".xml") || looks_like_xml(buf, size))
		ret = config_parse_xml(c, path, buf, size, err, len);
	else
		ret = config_parse_ini(c, path, buf, size, err, len);
err_free:
	free(buf);
err_close:
	close(fd);
	return ret;
}

/* ---- command line ------------------------------------------------------- */

void config_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [--config FILE] [options] [GUEST]\n"
		"\n"
		"  --config FILE        native INI or libvirt domain XML config\n"
		"  GUEST                guest image (overrides the config's)\n"
		"QEMU-style flags (QEMU's meanings, see docs/config.md):\n"
		"  -m SIZE              guest RAM (bare number: MiB)\n"
		"  -smp N[,sockets=,cores=,threads=]\n"
		"  -numa node,nodeid=N,cpus=A[-B][,cpus=..],mem=SIZE|memdev=ID\n"
		"  -numa dist,src=N,dst=M,val=D\n"
		"  -object memory-backend-ram,id=ID,size=SIZE"
		"[,policy=P,host-nodes=L]\n"
		"  -append CMDLINE      guest command line\n"
		"numavm options:\n"
		"  --timeout SEC        stop the guest after SEC s (0 = never)\n"
		"  --granule SIZE       fault granularity: 4K, 64K or 2M\n"
		"  --fault-around N     also place N neighbouring 4K pages\n"
		"  --prealloc, --no-prealloc  populate node pools at start\n"
		"  --thp, --no-thp      transparent huge pages for the pools\n"
		"  --no-placement       plain anonymous guest RAM, paged by the host\n"
		"                       kernel (no fault path; with --prealloc:\n"
		"                       populated at start; --placement: default)\n"
		"  --oom stop|wait      on OOM: stop the VM, or park the vCPU\n"
		"  --socket PATH        stats/control socket\n"
		"  -v, --verbose        more messages (repeatable)\n"
		"  -h, --help           this help\n"
		"Options take one or two dashes, and --opt=value or --opt value;\n"
		"they override the config file whatever their order.\n",
		prog ? prog : "numavm");
}

enum opt_kind {
	OPT_QEMU,		/* handed to config_parse_qemu() */
	OPT_CONFIG,
	OPT_TIMEOUT,
	OPT_GRANULE,
	OPT_FAULT_AROUND,
	OPT_PREALLOC,
	OPT_NO_PREALLOC,
	OPT_THP,
	OPT_NO_THP,
	OPT_PLACEMENT,
	OPT_NO_PLACEMENT,
	OPT_OOM,
	OPT_SOCKET,
	OPT_HELP,
	OPT_APPEND,
	OPT_VERBOSE,
};

struct opt {
	const char *name;
	enum opt_kind kind;
	bool arg;
};

static const struct opt opts[] = {
	{ "-m", OPT_QEMU, true },
	{ "-smp", OPT_QEMU, true },
	{ "-numa", OPT_QEMU, true },
	{ "-object", OPT_QEMU, true },
	{ "-append", OPT_APPEND, true },
	{ "--config", OPT_CONFIG, true },
	{ "--timeout", OPT_TIMEOUT, true },
	{ "--granule", OPT_GRANULE, true },
	{ "--fault-around", OPT_FAULT_AROUND, true },
	{ "--prealloc", OPT_PREALLOC, false },
	{ "--no-prealloc", OPT_NO_PREALLOC, false },
	{ "--thp", OPT_THP, false },
	{ "--no-thp", OPT_NO_THP, false },
	{ "--placement", OPT_PLACEMENT, false },
	{ "--no-placement", OPT_NO_PLACEMENT, false },
	{ "--oom", OPT_OOM, true },
	{ "--socket", OPT_SOCKET, true },
	{ "-v", OPT_VERBOSE, false },
	{ "--verbose", OPT_VERBOSE, false },
	{ "-h", OPT_HELP, false },
	{ "--help", OPT_HELP, false },
};

/*
 * Decode argv[*i]: the option, its argument (next word or "--opt=value").
 * Returns the option, NULL for a positional (*arg = the word), or sets
 * *bad for an unknown option or a missing argument.
 */
static const struct opt *next_opt(int argc, char **argv, int *i,
				  bool *positional_only, const char **arg,
				  char *err, size_t len, int *bad)
{
	const char *w = argv[*i], *eq, *name;
	size_t n;
	unsigned int k;

	*bad = 0;
	*arg = NULL;
	if (*positional_only || w[0] != '-' || !w[1]) {
		*arg = w;
		return NULL;
	}
	if (!strcmp(w, "--")) {
		*positional_only = true;
		*arg = NULL;
		return NULL;
	}
	/* one or two dashes, like QEMU and getopt_long_only() */
	name = w + (w[1] == '-' ? 2 : 1);
	eq = strchr(name, '=');
	n = eq ? (size_t)(eq - name) : strlen(name);
	for (k = 0; k < ARRAY_SIZE(opts); k++) {
		const char *o = opts[k].name + (opts[k].name[1] == '-' ? 2 : 1);

		if (strlen(o) != n || strncmp(o, name, n))
			continue;
		if (!opts[k].arg) {
			if (eq) {
				*bad = errmsg(err, len, "command line: option "
					    "%s takes no value", opts[k].name);
				return NULL;
			}
			return &opts[k];
		}
		if (eq) {
			*arg = eq + 1;
		} else if (*i + 1 < argc) {
			*arg = argv[++*i];
		} else {
			*bad = errmsg(err, len, "command line: option %s needs "
				    "a value", opts[k].name);
			return NULL;
		}
		return &opts[k];
	}
	*bad = errmsg(err, len, "command line: unknown option '%s' (see --help)",
		    w);
	return NULL;
}

static int apply_opt(struct config *c, struct config_qemu *q,
		     const struct opt *o, const char *arg, char *err,
		     size_t len)
{
	char msg[CONFIG_ERR_LEN];
	uint32_t u;
	int ret = 0;

	switch (o->kind) {
	case OPT_QEMU:
		return config_parse_qemu(q, c, o->name, arg, err, len);
	case OPT_CONFIG:
	case OPT_HELP:
		return 0;
	case OPT_TIMEOUT:
		ret = config_parse_u32(arg, 0, CONFIG_MAX_TIMEOUT, &u, msg,
				       sizeof(msg));
		if (!ret)
			c->timeout = u;
		break;
	case OPT_GRANULE:
		ret = config_parse_granule(arg, &c->granule, msg, sizeof(msg));
		snprintf(c->where.granule, CONFIG_ORIGIN_LEN,
			 "command line: --granule %.64s", arg);
		break;
	case OPT_FAULT_AROUND:
		ret = config_parse_u32(arg, 0, CONFIG_MAX_FAULT_AROUND, &u, msg,
				       sizeof(msg));
		if (!ret)
			c->fault_around = u;
		snprintf(c->where.fault_around, CONFIG_ORIGIN_LEN,
			 "command line: --fault-around %.64s", arg);
		break;
	case OPT_VERBOSE:
		c->verbose++;
		break;
	case OPT_PREALLOC:
	case OPT_NO_PREALLOC:
		c->prealloc = o->kind == OPT_PREALLOC;
		break;
	case OPT_THP:
	case OPT_NO_THP:
		c->thp = o->kind == OPT_THP;
		break;
	case OPT_PLACEMENT:
	case OPT_NO_PLACEMENT:
		c->placement = o->kind == OPT_PLACEMENT;
		break;
	case OPT_OOM:
		ret = config_parse_oom(arg, &c->oom, msg, sizeof(msg));
		break;
	case OPT_APPEND:
		if (strlen(arg) >= CONFIG_PATH_MAX) {
			ret = -EINVAL;
			snprintf(msg, sizeof(msg), "longer than %d bytes",
				 CONFIG_PATH_MAX - 1);
			break;
		}
		snprintf(c->cmdline, sizeof(c->cmdline), "%s", arg);
		break;
	case OPT_SOCKET:
		if (!*arg || strlen(arg) >= CONFIG_SOCKET_MAX) {
			ret = -EINVAL;
			snprintf(msg, sizeof(msg), "socket path must be 1..%d "
				 "bytes", CONFIG_SOCKET_MAX - 1);
			break;
		}
		snprintf(c->socket, sizeof(c->socket), "%s", arg);
		break;
	}
	if (ret)
		return errmsg(err, len, "command line: %s '%s': %s", o->name, arg,
			    msg);
	return 0;
}

int config_parse_argv(struct config *c, int argc, char **argv, char *err,
		      size_t len)
{
	const char *config = NULL, *guest = NULL, *arg;
	struct config_qemu *q;
	bool pos_only = false;
	const struct opt *o;
	int i, bad, ret;

	/* pass 1: the config file and -h, so the rest can override it */
	for (i = 1; i < argc; i++) {
		o = next_opt(argc, argv, &i, &pos_only, &arg, err, len, &bad);
		if (bad)
			return bad;
		if (!o) {
			if (!arg)
				continue;
			if (guest)
				return errmsg(err, len, "command line: more than "
					    "one guest image ('%s' and '%s')",
					    guest, arg);
			guest = arg;
			continue;
		}
		if (o->kind == OPT_HELP)
			return CONFIG_HELP;
		if (o->kind == OPT_CONFIG) {
			if (config)
				return errmsg(err, len, "command line: more than "
					    "one --config ('%s' and '%s')",
					    config, arg);
			config = arg;
		}
	}
	if (config) {
		ret = config_parse_file(c, config, err, len);
		if (ret)
			return ret;
	}

	/* pass 2: everything else, over the file */
	q = config_qemu_new();
	if (!q)
		return errmsg(err, len, "out of memory"), -ENOMEM;
	pos_only = false;
	for (i = 1; i < argc; i++) {
		o = next_opt(argc, argv, &i, &pos_only, &arg, err, len, &bad);
		if (bad) {
			ret = bad;
			goto out;
		}
		if (!o)
			continue;
		ret = apply_opt(c, q, o, arg, err, len);
		if (ret)
			goto out;
	}
	ret = config_qemu_finish(q, c, err, len);
	if (ret)
		goto out;
	if (guest) {
		if (strlen(guest) >= sizeof(c->image)) {
			ret = errmsg(err, len, "command line: guest image path is "
				   "longer than %d bytes", CONFIG_PATH_MAX - 1);
			goto out;
		}
		snprintf(c->image, sizeof(c->image), "%s", guest);
	}
	ret = config_validate(c, err, len);
out:
	config_qemu_free(q);
	return ret;
}

/*
 * libvirt domain XML, read with libxml2: the subset that describes what a
 * numavm config does.  <memory>/<currentMemory>, <vcpu>, <cpu><numa><cell>
 * with <distances>, <numatune> (which in libvirt binds guest memory to HOST
 * nodes: here it fills each node's host_nodes and host_mode), <os><kernel>
 * for the guest image, and numavm's own settings (vCPU and range policies,
 * fault options) in a namespaced element under <metadata>, the place libvirt
 * reserves for applications.  Anything else is reported once per element or
 * attribute name through config_warn(), never dropped silently.  Errors name
 * the file, the line and the element path ("/domain/cpu/numa/cell[2]").
 * Documents with a DTD are refused (no entity expansion, no network).
 */
#include "vmm/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#define NUMAVM_XMLNS	"urn:numavm:config:1"
#define XML_MAX_WARN	64

struct xml_state {
	struct config *c;
	const char *name;
	char *err;
	size_t len;
	unsigned int nr_warned;
	char warned[XML_MAX_WARN][64];
	nodemask_t memnode_set;		/* cells with a <memnode> */
	bool have_cells;
};

static const char *cname(const xmlNode *n)
{
	return (const char *)n->name;
}

/* "file:line: /path: message" for @n; always returns -EINVAL */
static int __printf(3, 4) xfail(struct xml_state *s, xmlNode *n,
				const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	xmlChar *path = xmlGetNodePath(n);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->len, "%s:%ld: %s: %s", s->name, xmlGetLineNo(n),
		 path ? (const char *)path : "?", msg);
	xmlFree(path);
	return -EINVAL;
}

/* "file:line: /path" for origins */
static void xorigin(struct xml_state *s, xmlNode *n, char *buf)
{
	xmlChar *path = xmlGetNodePath(n);

	snprintf(buf, CONFIG_ORIGIN_LEN, "%s:%ld: %s", s->name,
		 xmlGetLineNo(n), path ? (const char *)path : "?");
	xmlFree(path);
}

/* Warn once per @what ("element <devices>", "attribute cpuset of <vcpu>") */
static void xwarn(struct xml_state *s, xmlNode *n, const char *what)
{
	xmlChar *path;
	unsigned int i;

	for (i = 0; i < s->nr_warned; i++)
		if (!strcmp(s->warned[i], what))
			return;
	if (s->nr_warned < XML_MAX_WARN)
		snprintf(s->warned[s->nr_warned++], sizeof(s->warned[0]), "%s",
			 what);
	path = xmlGetNodePath(n);
	config_warn(s->c, "%s:%ld: %s: %s is not supported by numavm, ignored",
		    s->name, xmlGetLineNo(n), path ? (const char *)path : "?",
		    what);
	xmlFree(path);
}

static void warn_element(struct xml_state *s, xmlNode *n)
{
	char what[64];

	snprintf(what, sizeof(what), "element <%.32s>", cname(n));
	xwarn(s, n, what);
}

/* Warn about each attribute of @n not in the NULL-terminated @allowed */
static void check_attrs(struct xml_state *s, xmlNode *n,
			const char *const *allowed)
{
	const xmlAttr *a;
	size_t i;

	for (a = n->properties; a; a = a->next) {
		char what[64];

		for (i = 0; allowed[i]; i++)
			if (!strcmp((const char *)a->name, allowed[i]))
				break;
		if (allowed[i])
			continue;
		snprintf(what, sizeof(what), "attribute %.16s of <%.16s>",
			 (const char *)a->name, cname(n));
		xwarn(s, n, what);
	}
}

/* Attribute @name of @n copied into @buf; false if absent */
static bool attr(xmlNode *n, const char *name, char *buf, size_t len)
{
	xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);

	if (!v)
		return false;
	snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	return true;
}

/*
 * A required integer attribute of @n in [min, max]; 0, or -EINVAL with
 * "attribute 'NAME' is required" / "NAME: why" reported through xfail().
 */
static int attr_u32(struct xml_state *s, xmlNode *n, const char *name,
		    uint32_t min, uint32_t max, uint32_t *out)
{
	char val[32], msg[CONFIG_ERR_LEN];

	if (!attr(n, name, val, sizeof(val)))
		return xfail(s, n, "attribute '%s' is required", name);
	if (config_parse_u32(val, min, max, out, msg, sizeof(msg)))
		return xfail(s, n, "%s: %s", name, msg);
	return 0;
}

/* Text content of @n, blanks trimmed */
static void text(xmlNode *n, char *buf, size_t len)
{
	xmlChar *v = xmlNodeGetContent(n);
	const char *p = v ? (const char *)v : "";
	size_t m;

	while (isspace((unsigned char)*p))
		p++;
	snprintf(buf, len, "%s", p);
	m = strlen(buf);
	while (m && isspace((unsigned char)buf[m - 1]))
		buf[--m] = '\0';
	xmlFree(v);
}

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns &&
	       !strcmp(cname(n), name);
}

/* libvirt's scaled integers: unit names of its schema, default KiB */
static int unit_scale(const char *unit, uint64_t *mul)
{
	static const struct {
		const char *name;
		uint64_t mul;
	} units[] = {
		{ "b", 1 },
		{ "bytes", 1 },
		{ "KB", 1000ULL },
		{ "k", 1ULL << 10 },
		{ "KiB", 1ULL << 10 },
		{ "MB", 1000000ULL },
		{ "M", 1ULL << 20 },
		{ "MiB", 1ULL << 20 },
		{ "GB", 1000000000ULL },
		{ "G", 1ULL << 30 },
		{ "GiB", 1ULL << 30 },
		{ "TB", 1000000000000ULL },
		{ "T", 1ULL << 40 },
		{ "TiB", 1ULL << 40 },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcasecmp(unit, units[i].name)) {
			*mul = units[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}

/* A libvirt size: @value (digits only) in @unit (NULL = KiB) */
static int xml_size(struct xml_state *s, xmlNode *n, const char *what,
		    const char *value, const char *unit, uint64_t *out)
{
	char msg[CONFIG_ERR_LEN];
	uint64_t mul = 1024;
	const char *p;

	if (unit && unit_scale(unit, &mul))
		return xfail(s, n, "unknown unit '%s' (b, KiB, MiB, GiB, TiB, "
			     "KB, MB, GB, TB)", unit);
	for (p = value; isdigit((unsigned char)*p); p++)
		;
	if (!*value || *p)
		return xfail(s, n, "%s '%s' is not a number", what, value);
	if (config_parse_size(value, mul, out, msg, sizeof(msg)))
		return xfail(s, n, "%s: %s", what, msg);
	return 0;
}

static int xml_memory(struct xml_state *s, xmlNode *n, bool current)
{
	static const char *const ok[] = { "unit", NULL };
	char val[64], unit[16];
	uint64_t v;
	int ret;

	check_attrs(s, n, ok);
	text(n, val, sizeof(val));
	ret = xml_size(s, n, cname(n), val,
		       attr(n, "unit", unit, sizeof(unit)) ? unit : NULL, &v);
	if (ret)
		return ret;
	if (!v)
		return xfail(s, n, "memory must not be 0");
	if (!current) {
		s->c->ram_size = v;
		xorigin(s, n, s->c->where.ram);
	} else if (v != s->c->ram_size) {
		char b1[32], b2[32];

		return xfail(s, n, "currentMemory %s differs from memory %s: "
			     "numavm has no balloon",
			     config_fmt_size(b1, sizeof(b1), v),
			     config_fmt_size(b2, sizeof(b2),
					     s->c->ram_size));
	}
	return 0;
}

static int xml_vcpu(struct xml_state *s, xmlNode *n)
{
	static const char *const ok[] = { "placement", "current", NULL };
	char val[32], msg[CONFIG_ERR_LEN];
	uint32_t u, cur;

	check_attrs(s, n, ok);
	text(n, val, sizeof(val));
	if (config_parse_u32(val, 1, NUMA_MAX_VCPUS, &u, msg, sizeof(msg)))
		return xfail(s, n, "vCPU count: %s", msg);
	if (attr(n, "current", val, sizeof(val))) {
		if (config_parse_u32(val, 1, NUMA_MAX_VCPUS, &cur, msg,
				     sizeof(msg)))
			return xfail(s, n, "current: %s", msg);
		if (cur != u)
			return xfail(s, n, "current=%u differs from %u vCPUs: "
				     "numavm has no vCPU hotplug", cur, u);
	}
	if (attr(n, "placement", val, sizeof(val)) && strcmp(val, "static"))
		xwarn(s, n, "placement other than static");
	s->c->nr_vcpus = u;
	xorigin(s, n, s->c->where.vcpus);
	return 0;
}

static int xml_distances(struct xml_state *s, xmlNode *d, unsigned int cell)
{
	static const char *const ok[] = { "id", "value", NULL };
	xmlNode *n;
	uint32_t id, v;

	for (n = d->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!is(n, "sibling")) {
			warn_element(s, n);
			continue;
		}
		check_attrs(s, n, ok);
		if (attr_u32(s, n, "id", 0, NUMA_MAX_NODES - 1, &id) ||
		    attr_u32(s, n, "value", 0, 255, &v))
			return -EINVAL;
		if (s->c->dist_set[cell] & (1U << id))
			return xfail(s, n, "second distance from cell %u to "
				     "cell %u", cell, id);
		s->c->topo.distance[cell][id] = (uint8_t)v;
		s->c->dist_set[cell] |= 1U << id;
	}
	return 0;
}

static int xml_cell(struct xml_state *s, xmlNode *n, unsigned int index)
{
	static const char *const ok[] = { "id", "cpus", "memory", "unit",
					  NULL };
	struct config *c = s->c;
	char val[256], unit[16], msg[CONFIG_ERR_LEN];
	char org[CONFIG_ORIGIN_LEN];
	uint32_t id = index;
	uint64_t m;
	xmlNode *k;
	int ret;

	check_attrs(s, n, ok);
	if (attr(n, "id", val, sizeof(val)) &&
	    config_parse_u32(val, 0, NUMA_MAX_NODES - 1, &id, msg,
			     sizeof(msg)))
		return xfail(s, n, "id: %s", msg);
	if (c->node_declared & (1U << id))
		return xfail(s, n, "second cell with id %u", id);
	xorigin(s, n, org);
	if (config_declare_node(c, id, org, msg, sizeof(msg)))
		return xfail(s, n, "%s", msg);
	if (!attr(n, "memory", val, sizeof(val)))
		return xfail(s, n, "attribute 'memory' is required");
	ret = xml_size(s, n, "memory", val,
		       attr(n, "unit", unit, sizeof(unit)) ? unit : NULL,
		       &c->topo.node_mem[id]);
	if (ret)
		return ret;
	if (attr(n, "cpus", val, sizeof(val))) {
		if (config_parse_list(val, NUMA_MAX_VCPUS, &m, msg,
				      sizeof(msg)))
			return xfail(s, n, "cpus: %s", msg);
		c->node_cpus[id] = m;
	}
	for (k = n->children; k; k = k->next) {
		if (k->type != XML_ELEMENT_NODE)
			continue;
		if (!is(k, "distances")) {
			warn_element(s, k);
			continue;
		}
		check_attrs(s, k, (const char *const[]){ NULL });
		ret = xml_distances(s, k, id);
		if (ret)
			return ret;
	}
	return 0;
}

static int xml_cpu(struct xml_state *s, xmlNode *cpu)
{
	xmlNode *n, *k;
	unsigned int index = 0;
	int ret;

	check_attrs(s, cpu, (const char *const[]){ NULL });
	for (n = cpu->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (!is(n, "numa")) {
			warn_element(s, n);
			continue;
		}
		check_attrs(s, n, (const char *const[]){ NULL });
		for (k = n->children; k; k = k->next) {
			if (k->type != XML_ELEMENT_NODE)
				continue;
			if (!is(k, "cell")) {
				warn_element(s, k);
				continue;
			}
			ret = xml_cell(s, k, index++);
			if (ret)
				return ret;
			s->have_cells = true;
		}
	}
	return 0;
}

/*
 * numatune mode -> host binding of the node pool: strict and restrictive
 * bind the pool to the nodeset (restrictive is libvirt's cgroup-only
 * strict), preferred prefers its single host node, interleave interleaves
 * the pool's pages over the nodeset.
 */
static int xml_tune_mode(struct xml_state *s, xmlNode *n,
			 enum mpol_mode *mode)
{
	char val[32];

	if (!attr(n, "mode", val, sizeof(val)) || !strcmp(val, "strict") ||
	    !strcmp(val, "restrictive"))
		*mode = MPOL_BIND;
	else if (!strcmp(val, "preferred"))
		*mode = MPOL_PREFERRED;
	else if (!strcmp(val, "interleave"))
		*mode = MPOL_INTERLEAVE;
	else
		return xfail(s, n, "mode '%s' must be strict, restrictive, "
			     "preferred or interleave", val);
	return 0;
}

static int xml_tune_nodeset(struct xml_state *s, xmlNode *n, uint64_t *mask)
{
	char val[256], msg[CONFIG_ERR_LEN];

	if (!attr(n, "nodeset", val, sizeof(val)))
		return xfail(s, n, "attribute 'nodeset' is required");
	if (config_parse_list(val, 64, mask, msg, sizeof(msg)))
		return xfail(s, n, "nodeset: %s", msg);
	if (!*mask)
		return xfail(s, n, "nodeset: empty set");
	return 0;
}

static int xml_numatune(struct xml_state *s, xmlNode *tune)
{
	static const char *const ok_mem[] = { "mode", "nodeset", "placement",
					      NULL };
	static const char *const ok_node[] = { "cellid", "mode", "nodeset",
					       NULL };
	struct config *c = s->c;
	char val[32];
	xmlNode *n, *global = NULL;
	enum mpol_mode mode;
	uint64_t mask;
	uint32_t id;
	unsigned int i;
	int ret;

	check_attrs(s, tune, (const char *const[]){ NULL });
	for (n = tune->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "memory")) {
			global = n;
			continue;
		}
		if (!is(n, "memnode")) {
			warn_element(s, n);
			continue;
		}
		check_attrs(s, n, ok_node);
		if (attr_u32(s, n, "cellid", 0, NUMA_MAX_NODES - 1, &id))
			return -EINVAL;
		if (!(c->node_declared & (1U << id)))
			return xfail(s, n, "cellid %u names no <cell> of "
				     "/domain/cpu/numa", id);
		if (s->memnode_set & (1U << id))
			return xfail(s, n, "second memnode for cell %u", id);
		ret = xml_tune_mode(s, n, &mode);
		if (!ret)
			ret = xml_tune_nodeset(s, n, &mask);
		if (ret)
			return ret;
		if (mode == MPOL_PREFERRED && __builtin_popcountll(mask) != 1)
			return xfail(s, n, "mode preferred takes exactly one "
				     "host node");
		c->topo.host_nodes[id] = mask;
		c->host_mode[id] = mode;
		s->memnode_set |= 1U << id;
	}
	if (!global)
		return 0;
	n = global;
	check_attrs(s, n, ok_mem);
	if (attr(n, "placement", val, sizeof(val)) && strcmp(val, "static")) {
		xwarn(s, n, "placement other than static");
		return 0;
	}
	ret = xml_tune_mode(s, n, &mode);
	if (!ret)
		ret = xml_tune_nodeset(s, n, &mask);
	if (ret)
		return ret;
	if (mode == MPOL_PREFERRED && __builtin_popcountll(mask) != 1)
		return xfail(s, n, "mode preferred takes exactly one host node");
	if (!s->have_cells) {
		/*
		 * No guest NUMA: the binding is for the implicit node 0 that
		 * config_validate() creates from the final RAM size and vCPU
		 * count (so -m and -smp still apply).  Declaring node 0 here
		 * would freeze both.  -numa on the command line replaces it
		 * with the rest of the topology.
		 */
		c->topo.host_nodes[0] = mask;
		c->host_mode[0] = mode;
		return 0;
	}
	for (i = 0; i < c->topo.nr_nodes; i++) {
		if (s->memnode_set & (1U << i))
			continue;
		c->topo.host_nodes[i] = mask;
		c->host_mode[i] = mode;
	}
	return 0;
}

static int xml_os(struct xml_state *s, xmlNode *os)
{
	struct config *c = s->c;
	char val[CONFIG_PATH_MAX + 1];
	xmlNode *n;

	check_attrs(s, os, (const char *const[]){ NULL });
	for (n = os->children; n; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "type")) {
			text(n, val, sizeof(val));
			if (strcmp(val, "hvm"))
				return xfail(s, n, "os type '%s': numavm runs "
					     "hvm guests only", val);
			continue;
		}
		if (is(n, "cmdline")) {
			text(n, val, sizeof(val));
			if (strlen(val) >= sizeof(c->cmdline))
				return xfail(s, n, "cmdline is longer than %d "
					     "bytes", CONFIG_PATH_MAX - 1);
			memcpy(c->cmdline, val, strlen(val) + 1);
			continue;
		}
		if (!is(n, "kernel")) {
			warn_element(s, n);
			continue;
		}
		text(n, val, sizeof(val));
		if (!*val || strlen(val) >= sizeof(c->image))
			return xfail(s, n, "kernel path must be 1..%d bytes",
				     CONFIG_PATH_MAX - 1);
		memcpy(c->image, val, strlen(val) + 1);
	}
	return 0;
}

/* mode/nodes/weights/flags attributes of a numavm policy element */
static int xml_spec(struct xml_state *s, xmlNode *n, struct mpol_spec *spec)
{
	char val[256], msg[CONFIG_ERR_LEN];
	uint64_t m;

	memset(spec, 0, sizeof(*spec));
	if (!attr(n, "mode", val, sizeof(val)))
		return xfail(s, n, "attribute 'mode' is required");
	if (config_parse_mode(val, &spec->mode, msg, sizeof(msg)))
		return xfail(s, n, "mode: %s", msg);
	if (attr(n, "nodes", val, sizeof(val))) {
		if (config_parse_list(val, NUMA_MAX_NODES, &m, msg,
				      sizeof(msg)))
			return xfail(s, n, "nodes: %s", msg);
		spec->nodes = (nodemask_t)m;
	}
	if (attr(n, "weights", val, sizeof(val)) &&
	    config_parse_weights(val, spec, msg, sizeof(msg)))
		return xfail(s, n, "weights: %s", msg);
	if (attr(n, "flags", val, sizeof(val)) &&
	    config_parse_flags(val, &spec->flags, msg, sizeof(msg)))
		return xfail(s, n, "flags: %s", msg);
	return 0;
}

static int xml_numavm_memory(struct xml_state *s, xmlNode *n)
{
	static const char *const ok[] = { "granularity", "fault-around",
					  "prealloc", "thp", "oom", NULL };
	struct config *c = s->c;
	char val[64], msg[CONFIG_ERR_LEN];
	uint32_t u;

	check_attrs(s, n, ok);
	if (attr(n, "granularity", val, sizeof(val))) {
		if (config_parse_granule(val, &c->granule, msg, sizeof(msg)))
			return xfail(s, n, "granularity: %s", msg);
		xorigin(s, n, c->where.granule);
	}
	if (attr(n, "fault-around", val, sizeof(val))) {
		if (config_parse_u32(val, 0, CONFIG_MAX_FAULT_AROUND, &u, msg,
				     sizeof(msg)))
			return xfail(s, n, "fault-around: %s", msg);
		c->fault_around = u;
		xorigin(s, n, c->where.fault_around);
	}
	if (attr(n, "prealloc", val, sizeof(val)) &&
	    config_parse_bool(val, &c->prealloc, msg, sizeof(msg)))
		return xfail(s, n, "prealloc: %s", msg);
	if (attr(n, "thp", val, sizeof(val)) &&
	    config_parse_bool(val, &c->thp, msg, sizeof(msg)))
		return xfail(s, n, "thp: %s", msg);
	if (attr(n, "oom", val, sizeof(val)) &&
	    config_parse_oom(val, &c->oom, msg, sizeof(msg)))
		return xfail(s, n, "oom: %s", msg);
	return 0;
}

static int xml_numavm_range(struct xml_state *s, xmlNode *n)
{
	static const char *const ok[] = { "start", "size", "end", "mode",
					  "nodes", "weights", "flags", NULL };
	char val[64], msg[CONFIG_ERR_LEN], org[CONFIG_ORIGIN_LEN];
	struct mpol_spec spec;
	uint64_t start, size, end;
	bool has_size, has_end;
	int ret;

	check_attrs(s, n, ok);
	if (!attr(n, "start", val, sizeof(val)))
		return xfail(s, n, "attribute 'start' is required");
	if (config_parse_size(val, 1, &start, msg, sizeof(msg)))
		return xfail(s, n, "start: %s", msg);
	has_size = attr(n, "size", val, sizeof(val));
	if (has_size && config_parse_size(val, 1, &size, msg, sizeof(msg)))
		return xfail(s, n, "size: %s", msg);
	has_end = attr(n, "end", val, sizeof(val));
	if (has_end && config_parse_size(val, 1, &end, msg, sizeof(msg)))
		return xfail(s, n, "end: %s", msg);
	if (has_size == has_end)
		return xfail(s, n, "give exactly one of 'size' and 'end'");
	if (has_end) {
		if (end <= start)
			return xfail(s, n, "end is not above start");
		size = end - start;
	}
	ret = xml_spec(s, n, &spec);
	if (ret)
		return ret;
	xorigin(s, n, org);
	if (config_add_range(s->c, start, size, &spec, org, msg, sizeof(msg)))
		return xfail(s, n, "%s", msg);
	return 0;
}

/* <metadata><numavm:config xmlns:numavm="urn:numavm:config:1"> */
static int xml_numavm(struct xml_state *s, xmlNode *cfg)
{
	static const char *const ok_pol[] = { "vcpus", "mode", "nodes",
					      "weights", "flags", NULL };
	static const char *const ok_host[] = { "mode", "nodes", "weights",
					       "flags", NULL };
	struct config *c = s->c;
	char val[256], msg[CONFIG_ERR_LEN], org[CONFIG_ORIGIN_LEN];
	struct mpol_spec spec;
	uint32_t u;
	uint64_t m;
	xmlNode *n;
	int ret;

	for (n = cfg->children; n; n = n->next) {
		const char *nm;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		nm = cname(n);
		if (!n->ns || strcmp((const char *)n->ns->href, NUMAVM_XMLNS)) {
			warn_element(s, n);
			continue;
		}
		ret = 0;
		if (!strcmp(nm, "vcpu")) {
			check_attrs(s, n, ok_pol);
			if (!attr(n, "vcpus", val, sizeof(val)))
				return xfail(s, n, "attribute 'vcpus' is "
					     "required");
			if (config_parse_list(val, NUMA_MAX_VCPUS, &m, msg,
					      sizeof(msg)))
				return xfail(s, n, "vcpus: %s", msg);
			if (!m)
				return xfail(s, n, "vcpus: empty set");
			ret = xml_spec(s, n, &spec);
			if (ret)
				return ret;
			xorigin(s, n, org);
			if (config_set_vcpu_policy(c, m, &spec, org, msg,
						   sizeof(msg)))
				return xfail(s, n, "%s", msg);
		} else if (!strcmp(nm, "range")) {
			ret = xml_numavm_range(s, n);
		} else if (!strcmp(nm, "host")) {
			check_attrs(s, n, ok_host);
			ret = xml_spec(s, n, &c->host_pol);
			xorigin(s, n, c->where.host_pol);
		} else if (!strcmp(nm, "memory")) {
			ret = xml_numavm_memory(s, n);
		} else if (!strcmp(nm, "socket")) {
			check_attrs(s, n, (const char *const[]){ "path", NULL });
			if (!attr(n, "path", val, sizeof(val)) || !*val ||
			    strlen(val) >= CONFIG_SOCKET_MAX)
				return xfail(s, n, "path: must be 1..%d bytes",
					     CONFIG_SOCKET_MAX - 1);
			memcpy(c->socket, val, strlen(val) + 1);
		} else if (!strcmp(nm, "machine")) {
			check_attrs(s, n,
				    (const char *const[]){ "timeout", "image",
							   NULL });
			if (attr(n, "image", c->image, sizeof(c->image)) &&
			    (!c->image[0] ||
			     strlen(c->image) >= sizeof(c->image) - 1))
				return xfail(s, n, "image: path must be 1..%d "
					     "bytes", CONFIG_PATH_MAX - 2);
			if (attr(n, "timeout", val, sizeof(val))) {
				if (config_parse_u32(val, 0, CONFIG_MAX_TIMEOUT,
						     &u, msg, sizeof(msg)))
					return xfail(s, n, "timeout: %s", msg);
				c->timeout = u;
			}
		} else {
			return xfail(s, n, "unknown numavm element <%s> "
				     "(vcpu, range, host, memory, socket, "
				     "machine)", nm);
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* Elements numavm takes without a second thought */
static bool identity(const xmlNode *n)
{
	return is(n, "name") || is(n, "uuid") || is(n, "title") ||
	       is(n, "description");
}

static int xml_domain(struct xml_state *s, xmlNode *root)
{
	static const char *const ok[] = { "type", "id", NULL };
	xmlNode *n, *memory = NULL, *current = NULL, *vcpu = NULL;
	xmlNode *cpu = NULL, *tune = NULL, *os = NULL, *meta = NULL;
	int ret;

	if (root->type != XML_ELEMENT_NODE || strcmp(cname(root), "domain") ||
	    root->ns)
		return xfail(s, root, "the root element must be <domain>, not "
			     "<%s>", cname(root));
	check_attrs(s, root, ok);
	for (n = root->children; n; n = n->next) {
		xmlNode **slot = NULL;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is(n, "memory"))
			slot = &memory;
		else if (is(n, "currentMemory"))
			slot = &current;
		else if (is(n, "vcpu"))
			slot = &vcpu;
		else if (is(n, "cpu"))
			slot = &cpu;
		else if (is(n, "numatune"))
			slot = &tune;
		else if (is(n, "os"))
			slot = &os;
		else if (is(n, "metadata"))
			slot = &meta;
		else if (!identity(n))
			warn_element(s, n);
		if (!slot)
			continue;
		if (*slot)
			return xfail(s, n, "second <%s> element", cname(n));
		*slot = n;
	}
	/* in dependency order, whatever the document order */
	if (memory && (ret = xml_memory(s, memory, false)))
		return ret;
	if (current && !memory)
		return xfail(s, current, "<currentMemory> without <memory>");
	if (current && (ret = xml_memory(s, current, true)))
		return ret;
	if (vcpu && (ret = xml_vcpu(s, vcpu)))
		return ret;
	if (cpu && (ret = xml_cpu(s, cpu)))
		return ret;
	if (tune && (ret = xml_numatune(s, tune)))
		return ret;
	if (os && (ret = xml_os(s, os)))
		return ret;
	if (meta) {
		for (n = meta->children; n; n = n->next) {
			if (n->type != XML_ELEMENT_NODE || !n->ns ||
			    strcmp((const char *)n->ns->href, NUMAVM_XMLNS))
				continue;	/* other applications' data */
			if (strcmp(cname(n), "config"))
				return xfail(s, n, "unknown numavm element "
					     "<%s> (config)", cname(n));
			ret = xml_numavm(s, n);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int config_parse_xml(struct config *c, const char *name, const char *buf,
		     size_t size, char *err, size_t len)
{
	struct xml_state *s;
	xmlDoc *doc;
	int ret;

	if (size > CONFIG_FILE_MAX) {
		snprintf(err, len, "%s: file is larger than %u bytes", name,
			 CONFIG_FILE_MAX);
		return -EFBIG;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, len, "%s: out of memory", name);
		return -ENOMEM;
	}
	s->c = c;
	s->name = name;
	s->err = err;
	s->len = len;

	xmlResetLastError();
	doc = xmlReadMemory(buf, (int)size, name, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
	if (!doc) {
		const xmlError *e = xmlGetLastError();
		char msg[256];
		size_t m;

		snprintf(msg, sizeof(msg), "%s",
			 e && e->message ? e->message : "unreadable XML");
		m = strlen(msg);
		while (m && isspace((unsigned char)msg[m - 1]))
			msg[--m] = '\0';
		snprintf(err, len, "%s:%d: XML syntax error: %s", name,
			 e ? e->line : 0, msg);
		ret = -EINVAL;
		goto out;
	}
	if (doc->intSubset || doc->extSubset) {
		const char *dt = memmem(buf, size, "<!DOCTYPE", 9);
		const char *p;
		int line = 1;

		for (p = buf; dt && p < dt; p++)
			line += *p == '\n';
		snprintf(err, len, "%s:%d: a DTD (<!DOCTYPE>) is not accepted "
			 "in a numavm config", name, line);
		ret = -EINVAL;
		goto out_doc;
	}
	if (!xmlDocGetRootElement(doc)) {
		snprintf(err, len, "%s: no root element", name);
		ret = -EINVAL;
		goto out_doc;
	}
	ret = xml_domain(s, xmlDocGetRootElement(doc));
out_doc:
	xmlFreeDoc(doc);
out:
	free(s);
	return ret;
}

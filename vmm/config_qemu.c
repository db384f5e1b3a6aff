/*
 * QEMU-style flags, so the memory/NUMA part of a QEMU command line can be
 * pasted in: -m, -smp, -numa node|dist and -object memory-backend-ram (or
 * -memfd), with QEMU's meanings and QEMU's own consistency rules (a bare -m
 * or mem= size is in MiB; cpus= and host-nodes= repeat and take ranges;
 * policy= needs host-nodes= and the reverse; every node uses mem= or every
 * node uses memdev=; a distance given one way only applies both ways).
 * -numa node and -object are collected and resolved by config_qemu_finish()
 * since a node may name a backend defined after it; nodes given on the
 * command line replace the config file's whole topology, while -numa dist
 * alone adjusts the file's distances.  Only the subset in docs/config.md is
 * accepted; any other key is an error naming it.
 */
#include "vmm/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errmsg.h"

#define QEMU_MAX_BACKENDS	NUMA_MAX_NODES
#define QEMU_MAX_DISTS		(NUMA_MAX_NODES * NUMA_MAX_NODES)
#define QEMU_MAX_KEYS		32
#define QEMU_ID_MAX		64

struct qemu_node {
	bool has_mem;
	uint64_t mem;
	char memdev[QEMU_ID_MAX];
	uint64_t cpus;
	char origin[CONFIG_ORIGIN_LEN];
};

struct qemu_backend {
	char id[QEMU_ID_MAX];
	uint64_t size;
	enum mpol_mode policy;
	uint64_t host_nodes;
	bool used;
	char origin[CONFIG_ORIGIN_LEN];
};

struct qemu_dist {
	unsigned int src, dst, val;
	char origin[CONFIG_ORIGIN_LEN];
};

struct config_qemu {
	unsigned int nr_nodes;		/* -numa node options seen */
	nodemask_t declared;
	struct qemu_node nodes[NUMA_MAX_NODES];
	unsigned int nr_dists;
	struct qemu_dist dists[QEMU_MAX_DISTS];
	unsigned int nr_backends;
	struct qemu_backend backends[QEMU_MAX_BACKENDS];
	bool prealloc;
};

/* One option string split QEMU's way: "a=1,b=2", ",," is a comma */
struct qemu_opts {
	unsigned int nr;
	char *key[QEMU_MAX_KEYS];
	char *val[QEMU_MAX_KEYS];	/* NULL for a bare word */
	char buf[1024];
};

static int __printf(5, 6) qfail(char *err, size_t len, const char *opt,
				const char *arg, const char *fmt, ...)
{
	char msg[CONFIG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, len, "command line: %s '%.200s': %s", opt, arg, msg);
	return -EINVAL;
}

static int split_opts(struct qemu_opts *o, const char *arg)
{
	const char *p = arg;
	char *w = o->buf, *end = o->buf + sizeof(o->buf) - 1;

	o->nr = 0;
	if (strlen(arg) >= sizeof(o->buf))
		return -E2BIG;
	for (;;) {
		char *start = w;

		if (o->nr == QEMU_MAX_KEYS)
			return -E2BIG;
		while (*p && w < end) {
			if (*p == ',' && p[1] == ',') {
				*w++ = ',';
				p += 2;
				continue;
			}
			if (*p == ',')
				break;
			*w++ = *p++;
		}
		*w++ = '\0';
		o->key[o->nr] = start;
		o->val[o->nr] = strchr(start, '=');
		if (o->val[o->nr])
			*o->val[o->nr]++ = '\0';
		o->nr++;
		if (*p != ',')
			break;
		p++;
	}
	return 0;
}

static int parse_onoff(const char *s, bool *out)
{
	char msg[CONFIG_ERR_LEN];

	return config_parse_bool(s, out, msg, sizeof(msg));
}

/*
 * A size as QEMU's qemu_strtosz() reads it: config_parse_size() (@unit
 * without a suffix), plus a decimal fraction ("1.5G", "0.5" in @unit),
 * truncated to whole bytes; a fraction of a byte is refused, as QEMU does.
 */
static int qemu_size(const char *v, uint64_t unit, uint64_t *out, char *msg,
		     size_t len)
{
	char ip[32], one[16];
	const char *dot = strchr(v, '.'), *p;
	unsigned __int128 frac = 0, scale = 1, b;
	uint64_t whole, mul;
	int ret;

	if (!dot)
		return config_parse_size(v, unit, out, msg, len);
	for (p = dot + 1; *p >= '0' && *p <= '9'; p++) {
		if (p - dot > 18)
			return errmsg(msg, len, "bad size '%s': too many "
				      "decimals", v);
		frac = frac * 10 + (unsigned int)(*p - '0');
		scale *= 10;
	}
	if ((size_t)(dot - v) >= sizeof(ip) || strlen(p) >= sizeof(one) - 1 ||
	    (dot == v && p == dot + 1))
		return errmsg(msg, len, "bad size '%s'", v);
	/* the whole part and the multiplier, both with the suffix */
	snprintf(ip, sizeof(ip), "%.*s%s", (int)(dot - v), v, p);
	snprintf(one, sizeof(one), "1%s", p);
	if (dot == v)
		snprintf(ip, sizeof(ip), "0%s", p);
	ret = config_parse_size(ip, unit, &whole, msg, len);
	if (!ret)
		ret = config_parse_size(one, unit, &mul, msg, len);
	if (ret)
		return ret;
	if (mul == 1 && frac)
		return errmsg(msg, len, "bad size '%s': a fraction of a byte",
			      v);
	b = (unsigned __int128)whole + (unsigned __int128)mul * frac / scale;
	if (b > UINT64_MAX)
		return errmsg(msg, len, "size '%s' is too large", v);
	*out = (uint64_t)b;
	return 0;
}

static int qemu_m(struct config *c, const char *arg, struct qemu_opts *o,
		  char *err, size_t len)
{
	char msg[CONFIG_ERR_LEN];
	unsigned int i;

	for (i = 0; i < o->nr; i++) {
		const char *k = o->key[i], *v = o->val[i];

		if (i == 0 && !v) {
			v = k;
			k = "size";
		}
		if (!v)
			return qfail(err, len, "-m", arg, "expected key=value, "
				     "not '%s'", k);
		if (!strcmp(k, "size")) {
			if (qemu_size(v, 1ULL << 20, &c->ram_size, msg,
				      sizeof(msg)))
				return qfail(err, len, "-m", arg, "%s", msg);
			if (!c->ram_size)
				return qfail(err, len, "-m", arg,
					     "size must not be 0");
			/* QEMU rounds the RAM size up to 8 KiB */
			if (c->ram_size > UINT64_MAX - 8191)
				return qfail(err, len, "-m", arg,
					     "size is too large");
			c->ram_size = (c->ram_size + 8191) & ~8191ULL;
		} else if (!strcmp(k, "slots") || !strcmp(k, "maxmem")) {
			return qfail(err, len, "-m", arg, "%s: memory hotplug "
				     "is not supported", k);
		} else {
			return qfail(err, len, "-m", arg, "unknown key '%s' "
				     "(size)", k);
		}
	}
	snprintf(c->where.ram, CONFIG_ORIGIN_LEN, "command line: -m %.64s",
		 arg);
	return 0;
}

/*
 * -smp as QEMU's machine_parse_smp_config() (QEMU 6.2 and later, which
 * prefer cores over sockets): omitted sockets, cores or threads are
 * derived from cpus (or maxcpus), then sockets * dies * clusters * cores *
 * threads must equal maxcpus.  maxcpus above cpus is CPU hotplug, which
 * numavm does not do.
 */
static int qemu_smp(struct config *c, const char *arg, struct qemu_opts *o,
		    char *err, size_t len)
{
	static const char *const keys[] = { "cpus", "maxcpus", "sockets",
					    "dies", "clusters", "cores",
					    "threads" };
	enum { CPUS, MAXCPUS, SOCKETS, DIES, CLUSTERS, CORES, THREADS };
	char msg[CONFIG_ERR_LEN];
	uint64_t v[ARRAY_SIZE(keys)] = { 0 }, total, below;
	uint32_t u;
	unsigned int i, k;

	for (i = 0; i < o->nr; i++) {
		const char *key = o->key[i], *val = o->val[i];

		if (i == 0 && !val) {
			val = key;
			key = "cpus";
		}
		if (!val)
			return qfail(err, len, "-smp", arg, "expected "
				     "key=value, not '%s'", key);
		for (k = 0; k < ARRAY_SIZE(keys); k++)
			if (!strcmp(key, keys[k]))
				break;
		if (k == ARRAY_SIZE(keys))
			return qfail(err, len, "-smp", arg, "unknown key '%s' "
				     "(cpus, maxcpus, sockets, dies, clusters, "
				     "cores, threads)", key);
		if (config_parse_u32(val, 1, 1024, &u, msg, sizeof(msg)))
			return qfail(err, len, "-smp", arg, "%s: %s", key, msg);
		v[k] = u;
	}
	if (!v[DIES])
		v[DIES] = 1;
	if (!v[CLUSTERS])
		v[CLUSTERS] = 1;
	if (!v[CPUS] && !v[MAXCPUS]) {
		for (k = SOCKETS; k <= THREADS; k++)
			if (!v[k])
				v[k] = 1;
	} else {
		uint64_t max = v[MAXCPUS] ? v[MAXCPUS] : v[CPUS];

		v[MAXCPUS] = max;

		below = v[DIES] * v[CLUSTERS];
		if (!v[CORES]) {
			if (!v[SOCKETS])
				v[SOCKETS] = 1;
			if (!v[THREADS])
				v[THREADS] = 1;
			v[CORES] = max / (v[SOCKETS] * below * v[THREADS]);
		} else if (!v[SOCKETS]) {
			if (!v[THREADS])
				v[THREADS] = 1;
			v[SOCKETS] = max / (below * v[CORES] * v[THREADS]);
		}
		if (!v[THREADS])
			v[THREADS] = max / (v[SOCKETS] * below * v[CORES]);
	}
	total = v[SOCKETS] * v[DIES] * v[CLUSTERS] * v[CORES] * v[THREADS];
	if (!v[MAXCPUS])
		v[MAXCPUS] = total;
	if (!v[CPUS])
		v[CPUS] = v[MAXCPUS];
	if (total != v[MAXCPUS])
		return qfail(err, len, "-smp", arg, "the topology (sockets "
			     "%llu * dies %llu * clusters %llu * cores %llu * "
			     "threads %llu) has %llu CPUs, not maxcpus %llu",
			     (unsigned long long)v[SOCKETS],
			     (unsigned long long)v[DIES],
			     (unsigned long long)v[CLUSTERS],
			     (unsigned long long)v[CORES],
			     (unsigned long long)v[THREADS],
			     (unsigned long long)total,
			     (unsigned long long)v[MAXCPUS]);
	if (v[MAXCPUS] < v[CPUS])
		return qfail(err, len, "-smp", arg, "maxcpus=%llu is below "
			     "cpus=%llu", (unsigned long long)v[MAXCPUS],
			     (unsigned long long)v[CPUS]);
	if (v[MAXCPUS] > v[CPUS])
		return qfail(err, len, "-smp", arg, "maxcpus=%llu above "
			     "cpus=%llu: CPU hotplug is not supported",
			     (unsigned long long)v[MAXCPUS],
			     (unsigned long long)v[CPUS]);
	if (v[CPUS] > NUMA_MAX_VCPUS)
		return qfail(err, len, "-smp", arg, "%llu vCPUs: at most %d",
			     (unsigned long long)v[CPUS], NUMA_MAX_VCPUS);
	c->nr_vcpus = (unsigned int)v[CPUS];
	snprintf(c->where.vcpus, CONFIG_ORIGIN_LEN,
		 "command line: -smp %.64s", arg);
	return 0;
}

static int qemu_node(struct config_qemu *q, const char *arg,
		     struct qemu_opts *o, char *err, size_t len)
{
	char msg[CONFIG_ERR_LEN];
	struct qemu_node n;
	bool has_id = false;
	uint32_t id = q->nr_nodes;
	uint64_t m;
	unsigned int i;

	memset(&n, 0, sizeof(n));
	for (i = 1; i < o->nr; i++) {
		const char *k = o->key[i], *v = o->val[i];

		if (!v)
			return qfail(err, len, "-numa", arg, "expected "
				     "key=value, not '%s'", k);
		if (!strcmp(k, "nodeid")) {
			if (config_parse_u32(v, 0, NUMA_MAX_NODES - 1, &id, msg,
					     sizeof(msg)))
				return qfail(err, len, "-numa", arg,
					     "nodeid: %s", msg);
			has_id = true;
		} else if (!strcmp(k, "cpus")) {
			if (config_parse_list(v, NUMA_MAX_VCPUS, &m, msg,
					      sizeof(msg)) || strchr(v, '^'))
				return qfail(err, len, "-numa", arg, "cpus: %s",
					     strchr(v, '^') ?
						     "expected N or N-M" :
						     msg);
			n.cpus |= m;
		} else if (!strcmp(k, "mem")) {
			if (n.has_mem)
				return qfail(err, len, "-numa", arg,
					     "mem= given twice");
			if (qemu_size(v, 1ULL << 20, &n.mem, msg,
				      sizeof(msg)))
				return qfail(err, len, "-numa", arg, "mem: %s",
					     msg);
			n.has_mem = true;
		} else if (!strcmp(k, "memdev")) {
			if (!*v || strlen(v) >= QEMU_ID_MAX || n.memdev[0])
				return qfail(err, len, "-numa", arg,
					     "bad memdev '%s'", v);
			snprintf(n.memdev, sizeof(n.memdev), "%s", v);
		} else {
			return qfail(err, len, "-numa", arg, "unknown key '%s' "
				     "(nodeid, cpus, mem, memdev)", k);
		}
	}
	if (!has_id && q->nr_nodes >= NUMA_MAX_NODES)
		return qfail(err, len, "-numa", arg, "at most %d nodes",
			     NUMA_MAX_NODES);
	if (q->declared & (1U << id))
		return qfail(err, len, "-numa", arg, "node %u is already "
			     "defined", id);
	if (n.has_mem && n.memdev[0])
		return qfail(err, len, "-numa", arg, "mem= and memdev= exclude "
			     "each other");
	snprintf(n.origin, sizeof(n.origin), "command line: -numa %.80s",
		 arg);
	q->nodes[id] = n;
	q->declared |= 1U << id;
	q->nr_nodes++;
	return 0;
}

static int qemu_dist(struct config_qemu *q, const char *arg,
		     struct qemu_opts *o, char *err, size_t len)
{
	char msg[CONFIG_ERR_LEN];
	uint32_t v[3];
	bool set[3] = { false, false, false };
	static const char *const keys[] = { "src", "dst", "val" };
	unsigned int i, k;

	for (i = 1; i < o->nr; i++) {
		if (!o->val[i])
			return qfail(err, len, "-numa", arg, "expected "
				     "key=value, not '%s'", o->key[i]);
		for (k = 0; k < 3; k++)
			if (!strcmp(o->key[i], keys[k]))
				break;
		if (k == 3)
			return qfail(err, len, "-numa", arg, "unknown key '%s' "
				     "(src, dst, val)", o->key[i]);
		if (config_parse_u32(o->val[i], 0,
				     k == 2 ? 255 : NUMA_MAX_NODES - 1, &v[k],
				     msg, sizeof(msg)))
			return qfail(err, len, "-numa", arg, "%s: %s", keys[k],
				     msg);
		set[k] = true;
	}
	for (k = 0; k < 3; k++)
		if (!set[k])
			return qfail(err, len, "-numa", arg, "%s= is required",
				     keys[k]);
	for (i = 0; i < q->nr_dists; i++)
		if (q->dists[i].src == v[0] && q->dists[i].dst == v[1])
			return qfail(err, len, "-numa", arg, "distance %u->%u "
				     "given twice", v[0], v[1]);
	if (v[0] == v[1] && v[2] != NUMA_LOCAL_DISTANCE)
		return qfail(err, len, "-numa", arg, "the distance from a node "
			     "to itself must be %d", NUMA_LOCAL_DISTANCE);
	if (v[0] != v[1] &&
	    (v[2] <= NUMA_LOCAL_DISTANCE || v[2] > NUMA_MAX_DISTANCE))
		return qfail(err, len, "-numa", arg, "distance %u between "
			     "distinct nodes must be %d..%d", v[2],
			     NUMA_LOCAL_DISTANCE + 1, NUMA_MAX_DISTANCE);
	q->dists[q->nr_dists].src = v[0];
	q->dists[q->nr_dists].dst = v[1];
	q->dists[q->nr_dists].val = v[2];
	snprintf(q->dists[q->nr_dists].origin, CONFIG_ORIGIN_LEN,
		 "command line: -numa %.80s", arg);
	q->nr_dists++;
	return 0;
}

static int qemu_object(struct config_qemu *q, struct config *c,
		       const char *arg, struct qemu_opts *o, char *err,
		       size_t len)
{
	char msg[CONFIG_ERR_LEN];
	struct qemu_backend b;
	bool has_size = false, has_policy = false, pre;
	uint64_t m;
	unsigned int i;

	if (strcmp(o->key[0], "memory-backend-ram") &&
	    strcmp(o->key[0], "memory-backend-memfd"))
		return qfail(err, len, "-object", arg, "type '%s' is not "
			     "supported (memory-backend-ram, "
			     "memory-backend-memfd)", o->key[0]);
	if (o->val[0])
		return qfail(err, len, "-object", arg, "the first word must be "
			     "the object type");
	memset(&b, 0, sizeof(b));
	b.policy = MPOL_DEFAULT;
	for (i = 1; i < o->nr; i++) {
		const char *k = o->key[i], *v = o->val[i];

		if (!v)
			return qfail(err, len, "-object", arg, "expected "
				     "key=value, not '%s'", k);
		if (!strcmp(k, "id")) {
			if (!*v || strlen(v) >= QEMU_ID_MAX)
				return qfail(err, len, "-object", arg,
					     "bad id '%s'", v);
			snprintf(b.id, sizeof(b.id), "%s", v);
		} else if (!strcmp(k, "size")) {
			if (qemu_size(v, 1, &b.size, msg, sizeof(msg)))
				return qfail(err, len, "-object", arg,
					     "size: %s", msg);
			has_size = true;
		} else if (!strcmp(k, "policy")) {
			if (!strcmp(v, "default"))
				b.policy = MPOL_DEFAULT;
			else if (!strcmp(v, "preferred"))
				b.policy = MPOL_PREFERRED;
			else if (!strcmp(v, "bind"))
				b.policy = MPOL_BIND;
			else if (!strcmp(v, "interleave"))
				b.policy = MPOL_INTERLEAVE;
			else
				return qfail(err, len, "-object", arg,
					     "policy '%s' must be default, "
					     "preferred, bind or interleave",
					     v);
			has_policy = true;
		} else if (!strcmp(k, "host-nodes")) {
			if (config_parse_list(v, 64, &m, msg, sizeof(msg)) ||
			    strchr(v, '^'))
				return qfail(err, len, "-object", arg,
					     "host-nodes: %s",
					     strchr(v, '^') ?
						     "expected N or N-M" :
						     msg);
			b.host_nodes |= m;
		} else if (!strcmp(k, "prealloc")) {
			if (parse_onoff(v, &pre))
				return qfail(err, len, "-object", arg,
					     "prealloc '%s' must be on or off",
					     v);
			q->prealloc |= pre;
		} else if (!strcmp(k, "share") || !strcmp(k, "merge") ||
			   !strcmp(k, "dump")) {
			/* sharing, KSM, core dumps: nothing numavm does */
			if (parse_onoff(v, &pre))
				return qfail(err, len, "-object", arg,
					     "%s '%s' must be on or off", k, v);
			config_warn(c, "command line: -object %.80s: %s=%s is "
				    "ignored", arg, k, v);
		} else if (!strcmp(k, "prealloc-threads")) {
			uint32_t nt;

			if (config_parse_u32(v, 1, 4096, &nt, msg, sizeof(msg)))
				return qfail(err, len, "-object", arg,
					     "prealloc-threads: %s", msg);
			config_warn(c, "command line: -object %.80s: "
				    "prealloc-threads is ignored", arg);
		} else {
			return qfail(err, len, "-object", arg, "unknown key '%s' "
				     "(id, size, policy, host-nodes, prealloc, "
				     "share, merge, dump, prealloc-threads)",
				     k);
		}
	}
	if (!b.id[0])
		return qfail(err, len, "-object", arg, "id= is required");
	if (!has_size || !b.size)
		return qfail(err, len, "-object", arg, "size= is required and "
			     "must not be 0");
	if (b.host_nodes && b.policy == MPOL_DEFAULT)
		return qfail(err, len, "-object", arg, "host-nodes must be "
			     "empty for policy default, or you should "
			     "explicitly specify a policy other than default");
	if (!b.host_nodes && has_policy && b.policy != MPOL_DEFAULT)
		return qfail(err, len, "-object", arg, "host-nodes must be set "
			     "for policy %s", config_mode_name(b.policy));
	if (b.policy == MPOL_PREFERRED && __builtin_popcountll(b.host_nodes) != 1)
		return qfail(err, len, "-object", arg, "policy preferred takes "
			     "exactly one host node");
	for (i = 0; i < q->nr_backends; i++)
		if (!strcmp(q->backends[i].id, b.id))
			return qfail(err, len, "-object", arg, "duplicate id "
				     "'%s'", b.id);
	if (q->nr_backends == QEMU_MAX_BACKENDS)
		return qfail(err, len, "-object", arg, "at most %d memory "
			     "backends", QEMU_MAX_BACKENDS);
	snprintf(b.origin, sizeof(b.origin), "command line: -object %.80s",
		 arg);
	q->backends[q->nr_backends++] = b;
	return 0;
}

struct config_qemu *config_qemu_new(void)
{
	return calloc(1, sizeof(struct config_qemu));
}

void config_qemu_free(struct config_qemu *q)
{
	free(q);
}

int config_parse_qemu(struct config_qemu *q, struct config *c,
		      const char *opt, const char *arg, char *err, size_t len)
{
	struct qemu_opts *o;
	int ret;

	o = malloc(sizeof(*o));
	if (!o) {
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	if (split_opts(o, arg) || !*arg) {
		ret = qfail(err, len, opt, arg, "%s", *arg ? "too long" :
			    "empty");
		goto out;
	}
	if (!strcmp(opt, "-m")) {
		ret = qemu_m(c, arg, o, err, len);
	} else if (!strcmp(opt, "-smp")) {
		ret = qemu_smp(c, arg, o, err, len);
	} else if (!strcmp(opt, "-numa")) {
		if (!strcmp(o->key[0], "node") && !o->val[0])
			ret = qemu_node(q, arg, o, err, len);
		else if (!strcmp(o->key[0], "dist") && !o->val[0])
			ret = qemu_dist(q, arg, o, err, len);
		else
			ret = qfail(err, len, opt, arg, "'%s' is not supported "
				    "(node, dist)", o->key[0]);
	} else if (!strcmp(opt, "-object")) {
		ret = qemu_object(q, c, arg, o, err, len);
	} else {
		ret = qfail(err, len, opt, arg, "unknown option");
	}
out:
	free(o);
	return ret;
}

/* Nodes given on the command line replace the file's topology */
static int qemu_nodes(struct config_qemu *q, struct config *c, char *err,
		      size_t len)
{
	unsigned int i, j, nr_mem = 0, nr_dev = 0;
	char msg[CONFIG_ERR_LEN];

	c->topo.nr_nodes = 0;
	c->node_declared = 0;
	memset(c->topo.node_mem, 0, sizeof(c->topo.node_mem));
	memset(c->topo.host_nodes, 0, sizeof(c->topo.host_nodes));
	memset(c->topo.distance, 0, sizeof(c->topo.distance));
	memset(c->node_cpus, 0, sizeof(c->node_cpus));
	memset(c->dist_set, 0, sizeof(c->dist_set));
	for (i = 0; i < NUMA_MAX_NODES; i++)
		c->host_mode[i] = MPOL_BIND;

	for (i = 0; i < NUMA_MAX_NODES; i++) {
		struct qemu_node *n = &q->nodes[i];

		if (!(q->declared & (1U << i)))
			continue;
		if (config_declare_node(c, i, n->origin, msg, sizeof(msg))) {
			snprintf(err, len, "%s: %s", n->origin, msg);
			return -EINVAL;
		}
		c->node_cpus[i] = n->cpus;
		if (!n->has_mem && !n->memdev[0])
			continue;	/* memoryless, as QEMU allows */
		if (n->has_mem) {
			c->topo.node_mem[i] = n->mem;
			nr_mem++;
			continue;
		}
		nr_dev++;
		for (j = 0; j < q->nr_backends; j++)
			if (!strcmp(q->backends[j].id, n->memdev))
				break;
		if (j == q->nr_backends) {
			snprintf(err, len, "%s: memdev '%s': no -object with "
				 "that id", n->origin, n->memdev);
			return -EINVAL;
		}
		if (q->backends[j].used) {
			snprintf(err, len, "%s: memdev '%s' is already used by "
				 "another node", n->origin, n->memdev);
			return -EINVAL;
		}
		q->backends[j].used = true;
		c->topo.node_mem[i] = q->backends[j].size;
		c->topo.host_nodes[i] = q->backends[j].host_nodes;
		if (q->backends[j].host_nodes)
			c->host_mode[i] = q->backends[j].policy;
	}
	if (nr_mem && nr_dev) {
		snprintf(err, len, "command line: -numa node: memdev= must be "
			 "given for either all or no nodes");
		return -EINVAL;
	}
	return 0;
}

int config_qemu_finish(struct config_qemu *q, struct config *c, char *err,
		       size_t len)
{
	unsigned int i;
	int ret;

	if (q->declared) {
		ret = qemu_nodes(q, c, err, len);
		if (ret)
			return ret;
	}
	for (i = 0; i < q->nr_backends; i++)
		if (!q->backends[i].used)
			config_warn(c, "%s: memory backend '%s' is not used by "
				    "any -numa node, ignored",
				    q->backends[i].origin, q->backends[i].id);
	if (q->prealloc)
		c->prealloc = true;
	for (i = 0; i < q->nr_dists; i++) {
		struct qemu_dist *d = &q->dists[i];

		if (!(c->node_declared & (1U << d->src)) ||
		    !(c->node_declared & (1U << d->dst))) {
			snprintf(err, len, "%s: distance between node %u and "
				 "node %u, which does not exist", d->origin,
				 d->src, d->dst);
			return -EINVAL;
		}
		c->topo.distance[d->src][d->dst] = (uint8_t)d->val;
		c->dist_set[d->src] |= 1U << d->dst;
	}
	return 0;
}

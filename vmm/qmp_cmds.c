/*
 * The control socket's command table and handlers (docs/protocol.md lists
 * every command).  A request is checked in layers: the envelope (an object
 * with "execute", optional "arguments" and "id", nothing else), the
 * negotiation state, the command name, then the argument names and types;
 * only then is the backend called, which validates the semantics (node sets,
 * modes, ranges) exactly as the numa engine does for every other caller.
 * Every handler returns 0 with its "return" value, or -errno with a message
 * that becomes a GenericError.
 */
#include "vmm/qmp_cmds.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "mm/buddy.h"
#include "numa/numa.h"
#include "vmm/config.h"

#define QMP_VERSION_MAJOR	0
#define QMP_VERSION_MINOR	1
#define QMP_VERSION_MICRO	0

struct qmp_cmd {
	const char *name;
	const char *const *args;	/* accepted argument names, NULL-ended */
	int (*fn)(const struct qmp_backend *be, struct json_object *args,
		  struct json_object **ret, char *err, size_t errlen);
};

const char *qmp_mode_name(enum mpol_mode mode)
{
	const char *n = mpol_mode_name(mode);

	return n ? n : "unknown";
}

int qmp_mode_parse(const char *name, enum mpol_mode *mode)
{
	return mpol_mode_from_name(name, mode);
}

struct json_object *qmp_error_reply(const char *cls, const char *fmt, ...)
{
	struct json_object *reply, *e;
	char desc[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);

	reply = json_object_new_object();
	e = json_object_new_object();
	if (!reply || !e) {
		json_object_put(reply);
		json_object_put(e);
		return NULL;
	}
	json_object_object_add(e, "class", json_object_new_string(cls));
	json_object_object_add(e, "desc", json_object_new_string(desc));
	json_object_object_add(reply, "error", e);
	return reply;
}

struct json_object *qmp_greeting(void)
{
	struct json_object *g, *q, *v, *nv;

	g = json_object_new_object();
	q = json_object_new_object();
	v = json_object_new_object();
	nv = json_object_new_object();
	if (!g || !q || !v || !nv) {
		json_object_put(g);
		json_object_put(q);
		json_object_put(v);
		json_object_put(nv);
		return NULL;
	}
	json_object_object_add(nv, "major", json_object_new_int(QMP_VERSION_MAJOR));
	json_object_object_add(nv, "minor", json_object_new_int(QMP_VERSION_MINOR));
	json_object_object_add(nv, "micro", json_object_new_int(QMP_VERSION_MICRO));
	json_object_object_add(v, "numavm", nv);
	json_object_object_add(v, "package", json_object_new_string("numavm"));
	json_object_object_add(q, "version", v);
	json_object_object_add(q, "capabilities", json_object_new_array());
	json_object_object_add(g, "QMP", q);
	return g;
}

/* ---- argument helpers ---- */

/* A non-negative JSON integer; -ENOENT if absent (and !required). */
static int arg_u64(struct json_object *args, const char *key, bool required,
		   uint64_t *val, char *err, size_t errlen)
{
	struct json_object *o;

	if (!args || !json_object_object_get_ex(args, key, &o)) {
		if (required)
			snprintf(err, errlen, "Parameter '%s' is missing", key);
		return required ? -EINVAL : -ENOENT;
	}
	if (!json_object_is_type(o, json_type_int) ||
	    json_object_get_int64(o) < 0) {
		snprintf(err, errlen,
			 "Invalid parameter type for '%s', expected: unsigned integer",
			 key);
		return -EINVAL;
	}
	*val = json_object_get_uint64(o);
	return 0;
}

static int check_arg_names(const struct qmp_cmd *cmd, struct json_object *args,
			   char *err, size_t errlen)
{
	const char *const *a;

	if (!args)
		return 0;
	json_object_object_foreach(args, key, val) {
		(void)val;
		for (a = cmd->args; a && *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!a || !*a) {
			snprintf(err, errlen, "Parameter '%.64s' is unexpected",
				 key);
			return -EINVAL;
		}
	}
	return 0;
}

static void obj_add_u64(struct json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* ---- policies ---- */

struct json_object *qmp_policy_to_json(const struct mpol_spec *spec)
{
	struct json_object *o, *nodes, *flags, *weights = NULL;
	unsigned int n;

	o = json_object_new_object();
	nodes = json_object_new_array();
	flags = json_object_new_array();
	if (spec->mode == MPOL_WEIGHTED_INTERLEAVE)
		weights = json_object_new_array();
	if (!o || !nodes || !flags ||
	    (spec->mode == MPOL_WEIGHTED_INTERLEAVE && !weights)) {
		json_object_put(o);
		json_object_put(nodes);
		json_object_put(flags);
		json_object_put(weights);
		return NULL;
	}
	for (n = 0; n < NUMA_MAX_NODES; n++) {
		if (!(spec->nodes & (1U << n)))
			continue;
		json_object_array_add(nodes, json_object_new_int(n));
		if (weights)
			json_object_array_add(weights, json_object_new_int(
				spec->weights[n] ? spec->weights[n] : 1));
	}
	if (spec->flags & MPOL_F_STATIC_NODES)
		json_object_array_add(flags, json_object_new_string("static-nodes"));
	if (spec->flags & MPOL_F_RELATIVE_NODES)
		json_object_array_add(flags, json_object_new_string("relative-nodes"));
	json_object_object_add(o, "mode",
			       json_object_new_string(qmp_mode_name(spec->mode)));
	json_object_object_add(o, "nodes", nodes);
	json_object_object_add(o, "flags", flags);
	if (weights)
		json_object_object_add(o, "weights", weights);
	return o;
}

int qmp_policy_from_json(struct json_object *obj, struct mpol_spec *spec,
			 char *err, size_t errlen)
{
	struct json_object *mode, *nodes = NULL, *flags = NULL, *weights = NULL;
	size_t i, n;

	memset(spec, 0, sizeof(*spec));
	if (!json_object_is_type(obj, json_type_object)) {
		snprintf(err, errlen, "'policy' must be an object");
		return -EINVAL;
	}
	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (strcmp(key, "mode") && strcmp(key, "nodes") &&
		    strcmp(key, "flags") && strcmp(key, "weights")) {
			snprintf(err, errlen, "Policy member '%.64s' is unexpected",
				 key);
			return -EINVAL;
		}
	}
	if (!json_object_object_get_ex(obj, "mode", &mode) ||
	    !json_object_is_type(mode, json_type_string)) {
		snprintf(err, errlen, "Policy needs a string 'mode'");
		return -EINVAL;
	}
	if (qmp_mode_parse(json_object_get_string(mode), &spec->mode)) {
		snprintf(err, errlen, "Unknown policy mode '%.64s'",
			 json_object_get_string(mode));
		return -EINVAL;
	}
	json_object_object_get_ex(obj, "nodes", &nodes);
	json_object_object_get_ex(obj, "flags", &flags);
	json_object_object_get_ex(obj, "weights", &weights);

	if (nodes) {
		if (!json_object_is_type(nodes, json_type_array)) {
			snprintf(err, errlen, "'nodes' must be an array of node ids");
			return -EINVAL;
		}
		n = json_object_array_length(nodes);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(nodes, i);
			int64_t id;

			if (!json_object_is_type(e, json_type_int)) {
				snprintf(err, errlen, "'nodes' must be an array of node ids");
				return -EINVAL;
			}
			id = json_object_get_int64(e);
			if (id < 0 || id >= NUMA_MAX_NODES) {
				snprintf(err, errlen, "node %lld out of range 0..%d",
					 (long long)id, NUMA_MAX_NODES - 1);
				return -EINVAL;
			}
			if (spec->nodes & (1U << id)) {
				snprintf(err, errlen, "node %lld listed twice",
					 (long long)id);
				return -EINVAL;
			}
			spec->nodes |= 1U << id;
		}
	}
	if (flags) {
		if (!json_object_is_type(flags, json_type_array)) {
			snprintf(err, errlen, "'flags' must be an array of strings");
			return -EINVAL;
		}
		n = json_object_array_length(flags);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(flags, i);
			const char *s;

			if (!json_object_is_type(e, json_type_string)) {
				snprintf(err, errlen, "'flags' must be an array of strings");
				return -EINVAL;
			}
			s = json_object_get_string(e);
			if (!strcmp(s, "static-nodes")) {
				spec->flags |= MPOL_F_STATIC_NODES;
			} else if (!strcmp(s, "relative-nodes")) {
				spec->flags |= MPOL_F_RELATIVE_NODES;
			} else {
				snprintf(err, errlen, "Unknown policy flag '%.64s'", s);
				return -EINVAL;
			}
		}
	}
	if (weights) {
		unsigned int node = 0;

		if (!json_object_is_type(weights, json_type_array) || !nodes ||
		    json_object_array_length(weights) !=
			    json_object_array_length(nodes)) {
			snprintf(err, errlen,
				 "'weights' must be an array with one weight per entry of 'nodes'");
			return -EINVAL;
		}
		n = json_object_array_length(weights);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(weights, i);
			int64_t w;

			if (!json_object_is_type(e, json_type_int)) {
				snprintf(err, errlen, "'weights' must be integers");
				return -EINVAL;
			}
			w = json_object_get_int64(e);
			if (w < 1 || w > MPOL_MAX_WEIGHT) {
				snprintf(err, errlen, "weight %lld out of range 1..%d",
					 (long long)w, MPOL_MAX_WEIGHT);
				return -EINVAL;
			}
			node = json_object_get_int(json_object_array_get_idx(nodes, i));
			spec->weights[node] = (uint8_t)w;
		}
	}
	return 0;
}

/* ---- handlers ---- */

static int cmd_capabilities(const struct qmp_backend *be,
			    struct json_object *args, struct json_object **ret,
			    char *err, size_t errlen)
{
	struct json_object *en;

	/* We offer no capabilities: "enable" may only list none. */
	if (args && json_object_object_get_ex(args, "enable", &en) &&
	    (!json_object_is_type(en, json_type_array) ||
	     json_object_array_length(en))) {
		snprintf(err, errlen, "No capability can be enabled");
		return -EINVAL;
	}
	*ret = json_object_new_object();
	return *ret ? 0 : -ENOMEM;
}

static int cmd_query_numastat(const struct qmp_backend *be,
			      struct json_object *args,
			      struct json_object **ret, char *err,
			      size_t errlen)
{
	struct qmp_numastat st[NUMA_MAX_NODES];
	struct json_object *a;
	unsigned int n;
	int r;

	if (!be->numastat)
		return -ENOSYS;
	r = be->numastat(be->opaque, st);
	if (r)
		return r;
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (n = 0; n < be->nr_nodes; n++) {
		struct json_object *o = json_object_new_object();

		if (!o)
			goto err_nomem;
		json_object_object_add(o, "node", json_object_new_int(n));
		obj_add_u64(o, "numa_hit", st[n].numa_hit);
		obj_add_u64(o, "numa_miss", st[n].numa_miss);
		obj_add_u64(o, "numa_foreign", st[n].numa_foreign);
		obj_add_u64(o, "interleave_hit", st[n].interleave_hit);
		obj_add_u64(o, "local_node", st[n].local_node);
		obj_add_u64(o, "other_node", st[n].other_node);
		obj_add_u64(o, "pages_used", st[n].pages_used);
		obj_add_u64(o, "pages_free", st[n].pages_free);
		json_object_array_add(a, o);
	}
	*ret = a;
	return 0;

err_nomem:
	json_object_put(a);
	return -ENOMEM;
}

static int cmd_query_buddyinfo(const struct qmp_backend *be,
			       struct json_object *args,
			       struct json_object **ret, char *err,
			       size_t errlen)
{
	struct qmp_zone z[NUMA_MAX_NODES];
	struct json_object *a;
	unsigned int n, o;
	int r;

	if (!be->zones)
		return -ENOSYS;
	r = be->zones(be->opaque, z);
	if (r)
		return r;
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (n = 0; n < be->nr_nodes; n++) {
		struct json_object *e = json_object_new_object();
		struct json_object *fr = json_object_new_array();

		if (!e || !fr) {
			json_object_put(e);
			json_object_put(fr);
			json_object_put(a);
			return -ENOMEM;
		}
		for (o = 0; o < QMP_MAX_ORDER; o++)
			json_object_array_add(fr, json_object_new_uint64(z[n].nr_free[o]));
		json_object_object_add(e, "node", json_object_new_int(n));
		json_object_object_add(e, "zone", json_object_new_string("Normal"));
		json_object_object_add(e, "free", fr);
		json_object_array_add(a, e);
	}
	*ret = a;
	return 0;
}

static int cmd_query_zoneinfo(const struct qmp_backend *be,
			      struct json_object *args,
			      struct json_object **ret, char *err,
			      size_t errlen)
{
	struct qmp_zone z[NUMA_MAX_NODES];
	struct json_object *a;
	unsigned int n;
	int r;

	if (!be->zones)
		return -ENOSYS;
	r = be->zones(be->opaque, z);
	if (r)
		return r;
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (n = 0; n < be->nr_nodes; n++) {
		struct json_object *e = json_object_new_object();

		if (!e) {
			json_object_put(a);
			return -ENOMEM;
		}
		json_object_object_add(e, "node", json_object_new_int(n));
		json_object_object_add(e, "zone", json_object_new_string("Normal"));
		obj_add_u64(e, "free", z[n].free);
		obj_add_u64(e, "pcp", z[n].pcp);
		obj_add_u64(e, "managed", z[n].managed);
		obj_add_u64(e, "min", z[n].min);
		obj_add_u64(e, "low", z[n].low);
		obj_add_u64(e, "high", z[n].high);
		json_object_array_add(a, e);
	}
	*ret = a;
	return 0;
}

static int cmd_query_vcpus(const struct qmp_backend *be,
			   struct json_object *args, struct json_object **ret,
			   char *err, size_t errlen)
{
	struct json_object *a;
	unsigned int c, n;
	int r;

	if (!be->vcpu)
		return -ENOSYS;
	a = json_object_new_array();
	if (!a)
		return -ENOMEM;
	for (c = 0; c < be->nr_vcpus; c++) {
		struct json_object *e, *al, *pol;
		struct qmp_vcpu v;

		r = be->vcpu(be->opaque, c, &v);
		if (r) {
			snprintf(err, errlen, "vcpu %u: %s", c, strerror(-r));
			json_object_put(a);
			return r;
		}
		e = json_object_new_object();
		al = json_object_new_array();
		pol = qmp_policy_to_json(&v.policy);
		if (!e || !al || !pol) {
			json_object_put(e);
			json_object_put(al);
			json_object_put(pol);
			json_object_put(a);
			return -ENOMEM;
		}
		for (n = 0; n < be->nr_nodes; n++)
			json_object_array_add(al, json_object_new_uint64(v.alloc[n]));
		json_object_object_add(e, "vcpu", json_object_new_int(c));
		json_object_object_add(e, "home-node", json_object_new_int(v.home_node));
		json_object_object_add(e, "policy", pol);
		obj_add_u64(e, "faults", v.faults);
		json_object_object_add(e, "alloc", al);
		json_object_array_add(a, e);
	}
	*ret = a;
	return 0;
}

static int add_run(struct json_object *runs, gpa_t start, gpa_t end, int node)
{
	struct json_object *r = json_object_new_object();

	if (!r)
		return -ENOMEM;
	obj_add_u64(r, "start", start);
	obj_add_u64(r, "end", end);
	json_object_object_add(r, "node",
			       node >= 0 ? json_object_new_int(node) : NULL);
	json_object_array_add(runs, r);
	return 0;
}

/*
 * The node of each page of [start, end) as runs of equal placement.  At most
 * QMP_MAX_PLACEMENT_RUNS runs go into one reply (a finely interleaved range
 * would otherwise build one JSON object per page, gigabytes for 4 GiB): the
 * scan then stops where the next run would begin, the reply's "end" is that
 * address, "truncated" is true and "next" is where to continue from.
 */
static int cmd_query_placement(const struct qmp_backend *be,
			       struct json_object *args,
			       struct json_object **ret, char *err,
			       size_t errlen)
{
	struct qmp_range rg[QMP_MAX_RANGES];
	uint64_t start, end, pages[NUMA_MAX_NODES + 1] = { 0 };
	struct json_object *res, *runs, *ranges, *cnt;
	gpa_t gpa, run_start;
	int r, node, run_node;
	unsigned int n, nr_runs = 0;
	bool truncated = false;

	if (!be->node_of)
		return -ENOSYS;
	r = arg_u64(args, "start", true, &start, err, errlen);
	if (r)
		return r;
	start &= PAGE_MASK;
	r = arg_u64(args, "end", false, &end, err, errlen);
	if (r == -ENOENT)
		end = start + PAGE_SIZE;	/* 0 if start is the last page */
	else if (r)
		return r;
	/* the last page of the address space is never guest RAM */
	if (be->node_of(be->opaque, start) == -EINVAL ||
	    start > (UINT64_MAX & PAGE_MASK) - PAGE_SIZE) {
		snprintf(err, errlen, "0x%llx is outside guest RAM",
			 (unsigned long long)start);
		return -EINVAL;
	}
	if (end <= start || end - start > QMP_MAX_PLACEMENT_PAGES * PAGE_SIZE) {
		snprintf(err, errlen,
			 "'end' must be above 'start' and the range at most %lu pages",
			 QMP_MAX_PLACEMENT_PAGES);
		return -EINVAL;
	}
	end = (end + PAGE_SIZE - 1) & PAGE_MASK;	/* no wrap: see above */

	res = json_object_new_object();
	runs = json_object_new_array();
	ranges = json_object_new_array();
	cnt = json_object_new_object();
	if (!res || !runs || !ranges || !cnt)
		goto err_nomem;

	run_start = start;
	run_node = -2;
	for (gpa = start; gpa < end; gpa += PAGE_SIZE) {
		node = be->node_of(be->opaque, gpa);
		if (node == -EINVAL) {
			snprintf(err, errlen, "0x%llx is outside guest RAM",
				 (unsigned long long)gpa);
			r = -EINVAL;
			goto err_put;
		}
		if (node < 0 || node >= NUMA_MAX_NODES)
			node = -1;
		if (node != run_node) {
			if (run_node != -2) {
				if (nr_runs + 1 == QMP_MAX_PLACEMENT_RUNS) {
					truncated = true;
					end = gpa;
					break;
				}
				if (add_run(runs, run_start, gpa, run_node))
					goto err_nomem;
				nr_runs++;
			}
			run_start = gpa;
			run_node = node;
		}
		pages[node + 1]++;
	}
	if (add_run(runs, run_start, end, run_node))
		goto err_nomem;

	if (be->ranges) {
		int i, nr = be->ranges(be->opaque, start, end, rg, QMP_MAX_RANGES);

		for (i = 0; i < nr; i++) {
			struct json_object *o = json_object_new_object();
			struct json_object *p = qmp_policy_to_json(&rg[i].policy);

			if (!o || !p) {
				json_object_put(o);
				json_object_put(p);
				goto err_nomem;
			}
			obj_add_u64(o, "start", rg[i].start);
			obj_add_u64(o, "end", rg[i].end);
			json_object_object_add(o, "policy", p);
			json_object_array_add(ranges, o);
		}
	}
	for (n = 0; n < be->nr_nodes; n++) {
		char key[16];

		snprintf(key, sizeof(key), "%u", n);
		obj_add_u64(cnt, key, pages[n + 1]);
	}
	obj_add_u64(res, "start", start);
	obj_add_u64(res, "end", end);
	json_object_object_add(res, "truncated",
			       json_object_new_boolean(truncated));
	if (truncated)
		obj_add_u64(res, "next", end);
	json_object_object_add(res, "pages", cnt);
	obj_add_u64(res, "unbacked", pages[0]);
	json_object_object_add(res, "runs", runs);
	json_object_object_add(res, "ranges", ranges);
	*ret = res;
	return 0;

err_nomem:
	r = -ENOMEM;
err_put:
	json_object_put(res);
	json_object_put(runs);
	json_object_put(ranges);
	json_object_put(cnt);
	return r;
}

static uint64_t log2_percentile(const struct qmp_faults *f, unsigned int pct)
{
	uint64_t total = 0, want, acc = 0;
	unsigned int i;

	for (i = 0; i < QMP_LAT_BUCKETS; i++)
		total += f->bucket[i];
	if (!total)
		return 0;
	/* rank of the percentile fault, rounded up, at least 1 */
	want = (total * pct + 99) / 100;
	if (!want)
		want = 1;
	for (i = 0; i < QMP_LAT_BUCKETS; i++) {
		acc += f->bucket[i];
		if (acc >= want)
			break;
	}
	if (i >= QMP_LAT_BUCKETS - 1)
		return f->max_ns;
	return min_t(uint64_t, 1ULL << i, f->max_ns);
}

void qmp_faults_fill_percentiles(struct qmp_faults *f)
{
	f->p50_ns = log2_percentile(f, 50);
	f->p90_ns = log2_percentile(f, 90);
	f->p99_ns = log2_percentile(f, 99);
}

static int cmd_query_faults(const struct qmp_backend *be,
			    struct json_object *args, struct json_object **ret,
			    char *err, size_t errlen)
{
	struct json_object *o, *h;
	struct qmp_faults f;
	unsigned int i;
	int r;

	if (!be->faults)
		return -ENOSYS;
	memset(&f, 0, sizeof(f));
	r = be->faults(be->opaque, &f);
	if (r)
		return r;
	o = json_object_new_object();
	h = json_object_new_array();
	if (!o || !h) {
		json_object_put(o);
		json_object_put(h);
		return -ENOMEM;
	}
	for (i = 0; i < QMP_LAT_BUCKETS; i++) {
		struct json_object *b;

		if (!f.bucket[i])
			continue;
		b = json_object_new_object();
		if (!b) {
			json_object_put(o);
			json_object_put(h);
			return -ENOMEM;
		}
		if (i < QMP_LAT_BUCKETS - 1)
			obj_add_u64(b, "lt-ns", 1ULL << i);
		else
			json_object_object_add(b, "lt-ns", NULL);
		obj_add_u64(b, "count", f.bucket[i]);
		json_object_array_add(h, b);
	}
	obj_add_u64(o, "count", f.count);
	obj_add_u64(o, "p50-ns", f.p50_ns);
	obj_add_u64(o, "p90-ns", f.p90_ns);
	obj_add_u64(o, "p99-ns", f.p99_ns);
	obj_add_u64(o, "max-ns", f.max_ns);
	json_object_object_add(o, "histogram", h);
	*ret = o;
	return 0;
}

static int get_policy_arg(struct json_object *args, struct mpol_spec *spec,
			  char *err, size_t errlen)
{
	struct json_object *p;

	if (!args || !json_object_object_get_ex(args, "policy", &p)) {
		snprintf(err, errlen, "Parameter 'policy' is missing");
		return -EINVAL;
	}
	return qmp_policy_from_json(p, spec, err, errlen);
}

static int cmd_set_vcpu_policy(const struct qmp_backend *be,
			       struct json_object *args,
			       struct json_object **ret, char *err,
			       size_t errlen)
{
	struct mpol_spec spec;
	uint64_t cpu;
	int r;

	if (!be->set_vcpu_policy)
		return -ENOSYS;
	r = arg_u64(args, "vcpu", true, &cpu, err, errlen);
	if (r)
		return r;
	if (cpu >= be->nr_vcpus) {
		snprintf(err, errlen, "vcpu %llu does not exist (%u vCPUs)",
			 (unsigned long long)cpu, be->nr_vcpus);
		return -EINVAL;
	}
	r = get_policy_arg(args, &spec, err, errlen);
	if (r)
		return r;
	r = be->set_vcpu_policy(be->opaque, cpu, &spec, err, errlen);
	if (r)
		return r;
	*ret = json_object_new_object();
	return *ret ? 0 : -ENOMEM;
}

static int cmd_set_range_policy(const struct qmp_backend *be,
				struct json_object *args,
				struct json_object **ret, char *err,
				size_t errlen)
{
	struct mpol_spec spec;
	uint64_t start, size;
	int r;

	if (!be->set_range_policy)
		return -ENOSYS;
	r = arg_u64(args, "start", true, &start, err, errlen);
	if (!r)
		r = arg_u64(args, "size", true, &size, err, errlen);
	if (!r)
		r = get_policy_arg(args, &spec, err, errlen);
	if (r)
		return r;
	r = be->set_range_policy(be->opaque, start, size, &spec, err, errlen);
	if (r)
		return r;
	*ret = json_object_new_object();
	return *ret ? 0 : -ENOMEM;
}

static int cmd_quit(const struct qmp_backend *be, struct json_object *args,
		    struct json_object **ret, char *err, size_t errlen)
{
	int r;

	if (!be->quit)
		return -ENOSYS;
	r = be->quit(be->opaque);
	if (r)
		return r;
	*ret = json_object_new_object();
	return *ret ? 0 : -ENOMEM;
}

static int cmd_query_commands(const struct qmp_backend *be,
			      struct json_object *args,
			      struct json_object **ret, char *err,
			      size_t errlen);

static const char *const no_args[] = { NULL };
static const char *const cap_args[] = { "enable", NULL };
static const char *const placement_args[] = { "start", "end", NULL };
static const char *const vcpu_policy_args[] = { "vcpu", "policy", NULL };
static const char *const range_policy_args[] = { "start", "size", "policy", NULL };

static const struct qmp_cmd qmp_cmds[] = {
	{ "qmp_capabilities", cap_args, cmd_capabilities },
	{ "query-commands", no_args, cmd_query_commands },
	{ "query-numastat", no_args, cmd_query_numastat },
	{ "query-buddyinfo", no_args, cmd_query_buddyinfo },
	{ "query-zoneinfo", no_args, cmd_query_zoneinfo },
	{ "query-vcpus", no_args, cmd_query_vcpus },
	{ "query-placement", placement_args, cmd_query_placement },
	{ "query-faults", no_args, cmd_query_faults },
	{ "set-vcpu-policy", vcpu_policy_args, cmd_set_vcpu_policy },
	{ "set-range-policy", range_policy_args, cmd_set_range_policy },
	{ "quit", no_args, cmd_quit },
};

static int cmd_query_commands(const struct qmp_backend *be,
			      struct json_object *args,
			      struct json_object **ret, char *err,
			      size_t errlen)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	if (!a)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(qmp_cmds); i++) {
		struct json_object *o = json_object_new_object();

		if (!o) {
			json_object_put(a);
			return -ENOMEM;
		}
		json_object_object_add(o, "name",
				       json_object_new_string(qmp_cmds[i].name));
		json_object_array_add(a, o);
	}
	*ret = a;
	return 0;
}

static const struct qmp_cmd *find_cmd(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(qmp_cmds); i++)
		if (!strcmp(qmp_cmds[i].name, name))
			return &qmp_cmds[i];
	return NULL;
}

static struct json_object *execute(const struct qmp_backend *be,
				   struct json_object *req, bool *negotiated)
{
	struct json_object *exe = NULL, *args = NULL, *ret = NULL, *reply;
	const struct qmp_cmd *cmd;
	const char *name;
	char err[256] = "";
	int r;

	if (!json_object_is_type(req, json_type_object))
		return qmp_error_reply("GenericError",
				       "QMP input must be a JSON object");
	json_object_object_foreach(req, key, val) {
		(void)val;
		if (strcmp(key, "execute") && strcmp(key, "arguments") &&
		    strcmp(key, "id"))
			return qmp_error_reply("GenericError",
					       "QMP input member '%.64s' is unexpected",
					       key);
	}
	if (!json_object_object_get_ex(req, "execute", &exe) ||
	    !json_object_is_type(exe, json_type_string))
		return qmp_error_reply("GenericError",
				       "QMP input lacks member 'execute'");
	if (json_object_object_get_ex(req, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object))
		return qmp_error_reply("GenericError",
				       "QMP input member 'arguments' must be an object");

	name = json_object_get_string(exe);
	cmd = find_cmd(name);
	if (!cmd)
		return qmp_error_reply("CommandNotFound",
				       "The command %.64s has not been found",
				       name);
	if (!*negotiated && cmd->fn != cmd_capabilities)
		return qmp_error_reply("CommandNotFound",
				       "Expecting capabilities negotiation with 'qmp_capabilities'");
	if (*negotiated && cmd->fn == cmd_capabilities)
		return qmp_error_reply("CommandNotFound",
				       "Capabilities negotiation is already complete, command ignored");

	r = check_arg_names(cmd, args, err, sizeof(err));
	if (!r)
		r = cmd->fn(be, args, &ret, err, sizeof(err));
	if (r) {
		if (!err[0])
			snprintf(err, sizeof(err), "%s: %s", name,
				 r == -ENOSYS ? "not available" : strerror(-r));
		return qmp_error_reply("GenericError", "%s", err);
	}
	if (cmd->fn == cmd_capabilities)
		*negotiated = true;
	reply = json_object_new_object();
	if (!reply) {
		json_object_put(ret);
		return NULL;
	}
	json_object_object_add(reply, "return", ret);
	return reply;
}

struct json_object *qmp_dispatch(const struct qmp_backend *be,
				 struct json_object *req, bool *negotiated)
{
	struct json_object *reply, *id;

	reply = execute(be, req, negotiated);
	if (reply && json_object_is_type(req, json_type_object) &&
	    json_object_object_get_ex(req, "id", &id))
		json_object_object_add(reply, "id", json_object_get(id));
	return reply;
}

/* ---- the backend of a real VM: numa/ + the fault path ops ---- */

static int nb_numastat(void *opaque, struct qmp_numastat *out)
{
	struct qmp_numa_backend *nb = opaque;
	unsigned int nr = numa_nr_nodes(nb->nv), n;
	struct numa_vcpu_stats vs;
	int v, nr_vcpus = (int)numa_nr_vcpus(nb->nv);

	memset(out, 0, sizeof(*out) * nr);
	/*
	 * Sum the writers' blocks (every vCPU and the host), each copied
	 * consistently: a page counted as numa_miss on one node is always
	 * seen with its numa_foreign on the other, however the copy races.
	 */
	for (v = NUMA_HOST; v < nr_vcpus; v++) {
		if (numa_get_vcpu_stats(nb->nv, v, &vs))
			continue;
		for (n = 0; n < nr; n++) {
			out[n].numa_hit += vs.node[n].numa_hit;
			out[n].numa_miss += vs.node[n].numa_miss;
			out[n].numa_foreign += vs.node[n].numa_foreign;
			out[n].interleave_hit += vs.node[n].interleave_hit;
			out[n].local_node += vs.node[n].local_node;
			out[n].other_node += vs.node[n].other_node;
		}
	}
	for (n = 0; n < nr; n++) {
		struct buddy *b = numa_node_buddy(nb->nv, n);
		struct buddy_info bi;

		if (!b)
			continue;	/* memoryless node */
		buddy_get_info(b, &bi);
		/* a page moving between two vCPU caches may be seen in both */
		out[n].pages_free = min_t(uint64_t, bi.free_pages + bi.pcp_pages,
					  bi.managed_pages);
		out[n].pages_used = bi.managed_pages - out[n].pages_free;
	}
	return 0;
}

static int nb_zones(void *opaque, struct qmp_zone *out)
{
	struct qmp_numa_backend *nb = opaque;
	unsigned int nr = numa_nr_nodes(nb->nv), n, o;

	memset(out, 0, sizeof(*out) * nr);
	for (n = 0; n < nr; n++) {
		struct buddy *b = numa_node_buddy(nb->nv, n);
		struct buddy_info bi;

		if (!b)
			continue;
		buddy_get_info(b, &bi);
		for (o = 0; o < QMP_MAX_ORDER && o < MAX_ORDER; o++)
			out[n].nr_free[o] = bi.nr_free[o];
		out[n].free = bi.free_pages;
		out[n].pcp = min_t(uint64_t, bi.pcp_pages,
				   bi.managed_pages - bi.free_pages);
		out[n].managed = bi.managed_pages;
		out[n].min = bi.wmark_min;
		out[n].low = bi.wmark_low;
		out[n].high = bi.wmark_high;
	}
	return 0;
}

static int nb_vcpu(void *opaque, unsigned int cpu, struct qmp_vcpu *out)
{
	struct qmp_numa_backend *nb = opaque;
	struct numa_vcpu_stats vs;
	unsigned int n;
	int r, home;

	memset(out, 0, sizeof(*out));
	home = numa_vcpu_node(nb->nv, cpu);
	if (home < 0)
		return home;
	out->home_node = home;
	r = numa_get_vcpu_policy(nb->nv, cpu, &out->policy);
	if (!r)
		r = numa_get_vcpu_stats(nb->nv, cpu, &vs);
	if (r)
		return r;
	for (n = 0; n < NUMA_MAX_NODES; n++)
		out->alloc[n] = vs.alloc_pages[n];
	out->faults = vs.faults;
	if (nb->fault && nb->fault->vcpu_faults)
		nb->fault->vcpu_faults(nb->fault->opaque, cpu, &out->faults);
	return 0;
}

static int nb_node_of(void *opaque, gpa_t gpa)
{
	struct qmp_numa_backend *nb = opaque;

	return nb->fault->node_of(nb->fault->opaque, gpa);
}

static int nb_ranges(void *opaque, gpa_t start, gpa_t end,
		     struct qmp_range *out, unsigned int max)
{
	struct qmp_numa_backend *nb = opaque;
	struct range_policy *rp;
	unsigned int nr, i, k = 0;

	rp = calloc(NUMA_MAX_RANGES, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	nr = numa_get_range_policies(nb->nv, rp, NUMA_MAX_RANGES);
	nr = min_t(unsigned int, nr, NUMA_MAX_RANGES);
	for (i = 0; i < nr && k < max; i++) {
		if (rp[i].end <= start || rp[i].start >= end)
			continue;
		out[k].start = rp[i].start;
		out[k].end = rp[i].end;
		out[k].policy = rp[i].pol.spec;
		k++;
	}
	free(rp);
	return k;
}

static int nb_faults(void *opaque, struct qmp_faults *out)
{
	struct qmp_numa_backend *nb = opaque;

	return nb->fault->faults(nb->fault->opaque, out);
}

static int nb_set_vcpu_policy(void *opaque, unsigned int cpu,
			      const struct mpol_spec *spec, char *err,
			      size_t errlen)
{
	struct qmp_numa_backend *nb = opaque;
	int r = numa_set_vcpu_policy(nb->nv, cpu, spec, err, errlen);

	if (!r && nb->fault && nb->fault->policy_changed)
		nb->fault->policy_changed(nb->fault->opaque);
	return r;
}

static int nb_set_range_policy(void *opaque, gpa_t start, gpa_t len,
			       const struct mpol_spec *spec, char *err,
			       size_t errlen)
{
	struct qmp_numa_backend *nb = opaque;
	int r;

	/* the same check as the config's range policies */
	if (len && !config_gpa_in_ram(nb->ram_size, start, len)) {
		snprintf(err, errlen,
			 "range 0x%llx+0x%llx is not inside guest RAM "
			 "(0x%llx bytes: gpa below 3 GiB, the rest from 4 GiB)",
			 (unsigned long long)start, (unsigned long long)len,
			 (unsigned long long)nb->ram_size);
		return -EINVAL;
	}
	r = numa_set_range_policy(nb->nv, start, len, spec, err, errlen);

	if (!r && nb->fault && nb->fault->policy_changed)
		nb->fault->policy_changed(nb->fault->opaque);
	return r;
}

void qmp_numa_backend_init(struct qmp_numa_backend *nb, struct numa_vm *nv,
			   const struct qmp_fault_ops *fault)
{
	unsigned int n;

	memset(nb, 0, sizeof(*nb));
	nb->nv = nv;
	nb->fault = fault;
	nb->be.opaque = nb;
	nb->be.nr_nodes = numa_nr_nodes(nv);
	nb->be.nr_vcpus = numa_nr_vcpus(nv);
	for (n = 0; n < numa_nr_nodes(nv); n++)
		nb->ram_size += numa_get_topology(nv)->node_mem[n];
	nb->be.numastat = nb_numastat;
	nb->be.zones = nb_zones;
	nb->be.vcpu = nb_vcpu;
	nb->be.ranges = nb_ranges;
	nb->be.set_vcpu_policy = nb_set_vcpu_policy;
	nb->be.set_range_policy = nb_set_range_policy;
	if (fault && fault->node_of)
		nb->be.node_of = nb_node_of;
	if (fault && fault->faults)
		nb->be.faults = nb_faults;
}

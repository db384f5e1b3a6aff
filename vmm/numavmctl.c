/*
 * numavmctl: the command-line client of numavm's control socket
 * (docs/protocol.md).  It connects, negotiates capabilities, runs one
 * command and prints the reply the way the tools operators know print the
 * same data: numastat(8)'s table, /proc/buddyinfo, /proc/zoneinfo; --json
 * prints the raw reply instead, --watch repeats a view, `events` follows
 * the asynchronous events.  Exit status: 0 success, 1 error reply, 2 usage
 * or connection failure.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "compiler.h"

struct ctl {
	FILE *in;		/* replies and events, one JSON value per line */
	int fd;
	bool json;
	char *line;
	size_t line_cap;
	bool closed;		/* the server closed the connection */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: numavmctl --socket PATH [--json] [--watch SECONDS] [--count N] COMMAND [ARGS]\n"
		"commands:\n"
		"  numastat                      per node numastat counters (numastat(8) layout)\n"
		"  buddyinfo                     free blocks per order (/proc/buddyinfo layout)\n"
		"  zoneinfo                      free, min, low, high, managed per node\n"
		"  vcpus                         home node, policy, faults, allocations per vCPU\n"
		"  placement ADDR[-END]          node backing each page of [ADDR, END)\n"
		"  faults                        fault count and latency percentiles\n"
		"  set-policy vcpu N MODE[/FLAG] [NODES [WEIGHTS]]\n"
		"  set-policy range ADDR-END MODE[/FLAG] [NODES [WEIGHTS]]\n"
		"                                MODE: default local preferred preferred-many bind\n"
		"                                interleave weighted-interleave; FLAG: static, relative;\n"
		"                                NODES: 0-1,3; WEIGHTS: 3,1 (one per node, in order)\n"
		"  events                        print asynchronous events as they come\n"
		"  raw NAME [ARGUMENTS-JSON]     any command, raw reply\n"
		"--count N: stop after N refreshes (--watch) or N events (events)\n");
}

static int ctl_connect(struct ctl *c, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "numavmctl: %s: socket path too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "numavmctl: cannot connect to %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	c->in = fdopen(c->fd, "r");
	if (!c->in) {
		fprintf(stderr, "numavmctl: fdopen: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Next JSON value from the server, NULL on EOF or garbage. */
static struct json_object *ctl_read(struct ctl *c)
{
	ssize_t n = getline(&c->line, &c->line_cap, c->in);

	if (n <= 0)
		return NULL;
	return json_tokener_parse(c->line);
}

static int ctl_send(struct ctl *c, const char *cmd, struct json_object *args)
{
	struct json_object *req = json_object_new_object();
	const char *txt;
	size_t len, off = 0;
	int r = 0;

	json_object_object_add(req, "execute", json_object_new_string(cmd));
	if (args)
		json_object_object_add(req, "arguments", json_object_get(args));
	txt = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	len = strlen(txt);
	while (off < len) {
		ssize_t w = send(c->fd, txt + off, len - off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += w;
	}
	if (!r && send(c->fd, "\n", 1, MSG_NOSIGNAL) != 1)
		r = -errno;
	json_object_put(req);
	if (r)
		fprintf(stderr, "numavmctl: send: %s\n", strerror(-r));
	return r;
}

/*
 * Execute @cmd and return its reply (events arriving meanwhile are
 * skipped); prints error replies.  NULL on failure.
 */
static struct json_object *ctl_execute(struct ctl *c, const char *cmd,
				       struct json_object *args)
{
	struct json_object *reply, *e, *cls, *desc;

	if (ctl_send(c, cmd, args))
		return NULL;
	for (;;) {
		reply = ctl_read(c);
		if (!reply) {
			fprintf(stderr, "numavmctl: connection closed by the server\n");
			c->closed = true;
			return NULL;
		}
		if (!json_object_object_get_ex(reply, "event", NULL))
			break;
		json_object_put(reply);
	}
	if (json_object_object_get_ex(reply, "error", &e)) {
		json_object_object_get_ex(e, "class", &cls);
		json_object_object_get_ex(e, "desc", &desc);
		fprintf(stderr, "numavmctl: %s: %s: %s\n", cmd,
			json_object_get_string(cls), json_object_get_string(desc));
		json_object_put(reply);
		return NULL;
	}
	return reply;
}

static int ctl_open(struct ctl *c, const char *path)
{
	struct json_object *g, *r;

	if (ctl_connect(c, path))
		return -1;
	g = ctl_read(c);
	if (!g || !json_object_object_get_ex(g, "QMP", NULL)) {
		if (g && json_object_object_get_ex(g, "error", NULL))
			fprintf(stderr, "numavmctl: refused: %s\n",
				json_object_get_string(g));
		else
			fprintf(stderr, "numavmctl: %s: no QMP greeting\n", path);
		json_object_put(g);
		return -1;
	}
	json_object_put(g);
	r = ctl_execute(c, "qmp_capabilities", NULL);
	if (!r)
		return -1;
	json_object_put(r);
	return 0;
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_uint64(v);
}

/*
 * query-placement for all of [start, end): the server answers at most
 * QMP_MAX_PLACEMENT_RUNS runs per reply ("truncated", "next"), so ask again
 * from "next" and merge the replies into the first one.  NULL on failure.
 */
static struct json_object *ctl_placement(struct ctl *c, struct json_object *args)
{
	struct json_object *reply, *ret, *more, *mret, *a, *runs, *mruns, *v;
	struct json_object *pages, *mpages, *ranges, *mranges, *tr;
	uint64_t last_end = 0;
	size_t i, n;

	reply = ctl_execute(c, "query-placement", args);
	if (!reply)
		return NULL;
	json_object_object_get_ex(reply, "return", &ret);
	for (;;) {
		if (!json_object_object_get_ex(ret, "truncated", &tr) ||
		    !json_object_get_boolean(tr))
			break;
		a = json_object_new_object();
		json_object_object_add(a, "start",
				       json_object_new_uint64(get_u64(ret, "next")));
		json_object_object_get_ex(args, "end", &v);
		json_object_object_add(a, "end", json_object_get(v));
		more = ctl_execute(c, "query-placement", a);
		json_object_put(a);
		if (!more) {
			json_object_put(reply);
			return NULL;
		}
		json_object_object_get_ex(more, "return", &mret);
		json_object_object_get_ex(ret, "runs", &runs);
		json_object_object_get_ex(mret, "runs", &mruns);
		n = json_object_array_length(mruns);
		for (i = 0; i < n; i++)
			json_object_array_add(runs, json_object_get(
				json_object_array_get_idx(mruns, i)));
		json_object_object_get_ex(ret, "pages", &pages);
		json_object_object_get_ex(mret, "pages", &mpages);
		json_object_object_foreach(mpages, key, val)
			json_object_object_add(pages, key, json_object_new_uint64(
				get_u64(pages, key) + json_object_get_uint64(val)));
		json_object_object_add(ret, "unbacked", json_object_new_uint64(
			get_u64(ret, "unbacked") + get_u64(mret, "unbacked")));
		/* a range policy across the boundary is in both replies */
		json_object_object_get_ex(ret, "ranges", &ranges);
		json_object_object_get_ex(mret, "ranges", &mranges);
		n = json_object_array_length(ranges);
		if (n)
			last_end = get_u64(json_object_array_get_idx(ranges, n - 1),
					   "end");
		n = json_object_array_length(mranges);
		for (i = 0; i < n; i++) {
			v = json_object_array_get_idx(mranges, i);
			if (get_u64(v, "end") <= last_end)
				continue;
			json_object_array_add(ranges, json_object_get(v));
		}
		json_object_object_add(ret, "end",
				       json_object_new_uint64(get_u64(mret, "end")));
		json_object_object_add(ret, "truncated", json_object_get(
			json_object_object_get_ex(mret, "truncated", &tr) ? tr : NULL));
		json_object_object_del(ret, "next");
		if (json_object_object_get_ex(mret, "next", &v))
			json_object_object_add(ret, "next", json_object_get(v));
		json_object_put(more);
	}
	return reply;
}

/* "0-1,3" */
static void print_nodes(char *buf, size_t len, struct json_object *nodes)
{
	size_t i, n = json_object_array_length(nodes), off = 0;

	buf[0] = 0;
	for (i = 0; i < n && off < len; i++) {
		int a = json_object_get_int(json_object_array_get_idx(nodes, i));
		int b = a;

		while (i + 1 < n &&
		       json_object_get_int(json_object_array_get_idx(nodes, i + 1)) == b + 1) {
			b++;
			i++;
		}
		if (a == b)
			off += snprintf(buf + off, len - off, "%s%d", off ? "," : "", a);
		else
			off += snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", a, b);
	}
}

/* "interleave:0-1", "bind/static:1", "weighted-interleave:0-1(3,1)" */
static void format_policy(char *buf, size_t len, struct json_object *pol)
{
	struct json_object *mode, *nodes, *flags, *w;
	char nb[128] = "";
	size_t off, i;

	json_object_object_get_ex(pol, "mode", &mode);
	off = snprintf(buf, len, "%s", json_object_get_string(mode));
	if (json_object_object_get_ex(pol, "flags", &flags)) {
		for (i = 0; i < json_object_array_length(flags) && off < len; i++) {
			const char *f = json_object_get_string(
				json_object_array_get_idx(flags, i));

			off += snprintf(buf + off, len - off, "/%s",
					!strcmp(f, "static-nodes") ? "static" : "relative");
		}
	}
	if (json_object_object_get_ex(pol, "nodes", &nodes) &&
	    json_object_array_length(nodes) && off < len) {
		print_nodes(nb, sizeof(nb), nodes);
		off += snprintf(buf + off, len - off, ":%s", nb);
	}
	if (json_object_object_get_ex(pol, "weights", &w) && off < len) {
		off += snprintf(buf + off, len - off, "(");
		for (i = 0; i < json_object_array_length(w) && off < len; i++)
			off += snprintf(buf + off, len - off, "%s%d", i ? "," : "",
					json_object_get_int(json_object_array_get_idx(w, i)));
		if (off < len)
			snprintf(buf + off, len - off, ")");
	}
}

static void show_numastat(struct json_object *ret)
{
	static const char *const rows[] = {
		"numa_hit", "numa_miss", "numa_foreign", "interleave_hit",
		"local_node", "other_node", "pages_used", "pages_free",
	};
	size_t i, n = json_object_array_length(ret), r;

	printf("%-16s", "");
	for (i = 0; i < n; i++) {
		char h[32];

		snprintf(h, sizeof(h), "node%llu", (unsigned long long)get_u64(
				 json_object_array_get_idx(ret, i), "node"));
		printf("%16s", h);
	}
	printf("\n");
	for (r = 0; r < ARRAY_SIZE(rows); r++) {
		printf("%-16s", rows[r]);
		for (i = 0; i < n; i++)
			printf("%16llu", (unsigned long long)get_u64(
				       json_object_array_get_idx(ret, i), rows[r]));
		printf("\n");
	}
}

static void show_buddyinfo(struct json_object *ret)
{
	size_t i, o, n = json_object_array_length(ret);

	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ret, i), *fr, *z;

		json_object_object_get_ex(e, "free", &fr);
		json_object_object_get_ex(e, "zone", &z);
		printf("Node %llu, zone %8s ", (unsigned long long)get_u64(e, "node"),
		       json_object_get_string(z));
		for (o = 0; o < json_object_array_length(fr); o++)
			printf("%6llu ", (unsigned long long)json_object_get_uint64(
				       json_object_array_get_idx(fr, o)));
		printf("\n");
	}
}

static void show_zoneinfo(struct json_object *ret)
{
	size_t i, n = json_object_array_length(ret);

	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ret, i), *z;

		json_object_object_get_ex(e, "zone", &z);
		printf("Node %llu, zone %8s\n", (unsigned long long)get_u64(e, "node"),
		       json_object_get_string(z));
		printf("  pages free     %llu\n", (unsigned long long)get_u64(e, "free"));
		printf("        min      %llu\n", (unsigned long long)get_u64(e, "min"));
		printf("        low      %llu\n", (unsigned long long)get_u64(e, "low"));
		printf("        high     %llu\n", (unsigned long long)get_u64(e, "high"));
		printf("        managed  %llu\n", (unsigned long long)get_u64(e, "managed"));
		printf("        pcp      %llu\n", (unsigned long long)get_u64(e, "pcp"));
	}
}

static void show_vcpus(struct json_object *ret)
{
	size_t i, k, n = json_object_array_length(ret), nn = 0;

	if (n) {
		struct json_object *al;

		json_object_object_get_ex(json_object_array_get_idx(ret, 0), "alloc", &al);
		nn = json_object_array_length(al);
	}
	printf("%-6s%-6s%12s  %-32s", "vcpu", "home", "faults", "policy");
	for (k = 0; k < nn; k++) {
		char h[32];

		snprintf(h, sizeof(h), "node%zu", k);
		printf("%12s", h);
	}
	printf("\n");
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(ret, i), *pol, *al;
		char pb[128];

		json_object_object_get_ex(e, "policy", &pol);
		json_object_object_get_ex(e, "alloc", &al);
		format_policy(pb, sizeof(pb), pol);
		printf("%-6llu%-6llu%12llu  %-32s", (unsigned long long)get_u64(e, "vcpu"),
		       (unsigned long long)get_u64(e, "home-node"),
		       (unsigned long long)get_u64(e, "faults"), pb);
		for (k = 0; k < nn && k < json_object_array_length(al); k++)
			printf("%12llu", (unsigned long long)json_object_get_uint64(
				       json_object_array_get_idx(al, k)));
		printf("\n");
	}
}

static void show_placement(struct json_object *ret)
{
	struct json_object *runs, *ranges, *pages;
	size_t i;

	json_object_object_get_ex(ret, "runs", &runs);
	json_object_object_get_ex(ret, "ranges", &ranges);
	json_object_object_get_ex(ret, "pages", &pages);
	for (i = 0; i < json_object_array_length(runs); i++) {
		struct json_object *r = json_object_array_get_idx(runs, i), *node;
		uint64_t s = get_u64(r, "start"), e = get_u64(r, "end");
		char nb[32] = "unbacked";

		json_object_object_get_ex(r, "node", &node);
		if (node)
			snprintf(nb, sizeof(nb), "node%d", json_object_get_int(node));
		printf("0x%012llx-0x%012llx  %-9s %8llu pages\n",
		       (unsigned long long)s, (unsigned long long)e, nb,
		       (unsigned long long)((e - s) >> 12));
	}
	printf("pages:");
	json_object_object_foreach(pages, key, val)
		printf(" node%s=%llu", key,
		       (unsigned long long)json_object_get_uint64(val));
	printf(" unbacked=%llu\n", (unsigned long long)get_u64(ret, "unbacked"));
	for (i = 0; i < json_object_array_length(ranges); i++) {
		struct json_object *r = json_object_array_get_idx(ranges, i), *pol;
		char pb[128];

		json_object_object_get_ex(r, "policy", &pol);
		format_policy(pb, sizeof(pb), pol);
		printf("range 0x%012llx-0x%012llx  %s\n",
		       (unsigned long long)get_u64(r, "start"),
		       (unsigned long long)get_u64(r, "end"), pb);
	}
}

static void show_faults(struct json_object *ret)
{
	struct json_object *h;
	size_t i;

	printf("faults %llu  p50 %llu ns  p90 %llu ns  p99 %llu ns  max %llu ns\n",
	       (unsigned long long)get_u64(ret, "count"),
	       (unsigned long long)get_u64(ret, "p50-ns"),
	       (unsigned long long)get_u64(ret, "p90-ns"),
	       (unsigned long long)get_u64(ret, "p99-ns"),
	       (unsigned long long)get_u64(ret, "max-ns"));
	if (!json_object_object_get_ex(ret, "histogram", &h))
		return;
	for (i = 0; i < json_object_array_length(h); i++) {
		struct json_object *b = json_object_array_get_idx(h, i), *lt;

		json_object_object_get_ex(b, "lt-ns", &lt);
		if (lt)
			printf("  < %12llu ns %12llu\n",
			       (unsigned long long)json_object_get_uint64(lt),
			       (unsigned long long)get_u64(b, "count"));
		else
			printf("  >= last bucket   %12llu\n",
			       (unsigned long long)get_u64(b, "count"));
	}
}

static void show_event(struct json_object *ev)
{
	struct json_object *name, *d, *ts, *v;
	char pb[128];

	json_object_object_get_ex(ev, "event", &name);
	json_object_object_get_ex(ev, "data", &d);
	json_object_object_get_ex(ev, "timestamp", &ts);
	printf("[%llu.%06llu] %s", (unsigned long long)get_u64(ts, "seconds"),
	       (unsigned long long)get_u64(ts, "microseconds"),
	       json_object_get_string(name));
	if (!strcmp(json_object_get_string(name), "WATERMARK")) {
		json_object_object_get_ex(d, "watermark", &v);
		printf(" node=%llu %s", (unsigned long long)get_u64(d, "node"),
		       json_object_get_string(v));
		json_object_object_get_ex(d, "direction", &v);
		printf(" %s free=%llu min=%llu low=%llu high=%llu\n",
		       json_object_get_string(v),
		       (unsigned long long)get_u64(d, "free"),
		       (unsigned long long)get_u64(d, "min"),
		       (unsigned long long)get_u64(d, "low"),
		       (unsigned long long)get_u64(d, "high"));
	} else if (!strcmp(json_object_get_string(name), "OOM")) {
		json_object_object_get_ex(d, "vcpu", &v);
		printf(" vcpu=%d gpa=0x%llx order=%llu", json_object_get_int(v),
		       (unsigned long long)get_u64(d, "gpa"),
		       (unsigned long long)get_u64(d, "order"));
		json_object_object_get_ex(d, "policy", &v);
		format_policy(pb, sizeof(pb), v);
		printf(" policy=%s free=", pb);
		if (json_object_object_get_ex(d, "free", &v)) {
			size_t i;

			for (i = 0; i < json_object_array_length(v); i++)
				printf("%s%llu", i ? "," : "",
				       (unsigned long long)json_object_get_uint64(
					       json_object_array_get_idx(v, i)));
		}
		printf("\n");
	} else {
		printf(" %s\n", json_object_get_string(d));
	}
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
}

/* "A-B" or "A" (one page) */
static int parse_range(const char *s, uint64_t *a, uint64_t *b, bool need_end)
{
	char buf[64], *dash;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	dash = strchr(buf, '-');
	if (dash)
		*dash = 0;
	if (parse_u64(buf, a))
		return -EINVAL;
	if (!dash) {
		*b = *a + 1;
		return need_end ? -EINVAL : 0;
	}
	return parse_u64(dash + 1, b);
}

/* "0-1,3" into a JSON array */
static int parse_nodes(const char *s, struct json_object *arr)
{
	char *copy = strdup(s), *tok, *save = NULL;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *end;
		long a = strtol(tok, &end, 10), b = a;

		if (end == tok) {
			r = -EINVAL;
			break;
		}
		if (*end == '-') {
			char *e2;

			b = strtol(end + 1, &e2, 10);
			if (e2 == end + 1 || *e2) {
				r = -EINVAL;
				break;
			}
		} else if (*end) {
			r = -EINVAL;
			break;
		}
		if (a < 0 || b < a || b - a > 64) {
			r = -EINVAL;
			break;
		}
		for (; a <= b; a++)
			json_object_array_add(arr, json_object_new_int(a));
	}
	free(copy);
	return r;
}

/* "3,1": one weight per node, 1..255, no ranges */
static int parse_weights(const char *s, struct json_object *arr)
{
	const char *p = s;

	for (;;) {
		char *end;
		long w;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		w = strtol(p, &end, 10);
		if (errno || w < 1 || w > 255 || (*end && *end != ','))
			return -EINVAL;
		json_object_array_add(arr, json_object_new_int((int)w));
		if (!*end)
			return 0;
		p = end + 1;
	}
}

/* set-policy vcpu N MODE[/FLAG] [NODES [WEIGHTS]] | range A-B ... */
static struct json_object *policy_args(int argc, char **argv, const char **cmd)
{
	struct json_object *args = json_object_new_object();
	struct json_object *pol = json_object_new_object();
	struct json_object *flags = json_object_new_array();
	char mode[64], *slash;
	uint64_t a, b;

	if (argc < 3)
		goto err_usage;
	if (!strcmp(argv[0], "vcpu")) {
		if (parse_u64(argv[1], &a))
			goto err_usage;
		*cmd = "set-vcpu-policy";
		json_object_object_add(args, "vcpu", json_object_new_uint64(a));
	} else if (!strcmp(argv[0], "range")) {
		if (parse_range(argv[1], &a, &b, true) || b <= a)
			goto err_usage;
		*cmd = "set-range-policy";
		json_object_object_add(args, "start", json_object_new_uint64(a));
		json_object_object_add(args, "size", json_object_new_uint64(b - a));
	} else {
		goto err_usage;
	}
	snprintf(mode, sizeof(mode), "%s", argv[2]);
	while ((slash = strrchr(mode, '/'))) {
		*slash = 0;
		if (!strcmp(slash + 1, "static"))
			json_object_array_add(flags, json_object_new_string("static-nodes"));
		else if (!strcmp(slash + 1, "relative"))
			json_object_array_add(flags, json_object_new_string("relative-nodes"));
		else
			goto err_usage;
	}
	json_object_object_add(pol, "mode", json_object_new_string(mode));
	if (argc > 3) {
		struct json_object *nodes = json_object_new_array();

		json_object_object_add(pol, "nodes", nodes);
		if (parse_nodes(argv[3], nodes))
			goto err_usage;
	}
	if (argc > 4) {
		struct json_object *w = json_object_new_array();

		json_object_object_add(pol, "weights", w);
		if (parse_weights(argv[4], w))
			goto err_usage;
	}
	if (argc > 5)
		goto err_usage;
	json_object_object_add(pol, "flags", flags);
	json_object_object_add(args, "policy", pol);
	return args;

err_usage:
	fprintf(stderr, "numavmctl: usage: set-policy vcpu N MODE[/FLAG] [NODES [WEIGHTS]]\n"
			"           or: set-policy range ADDR-END MODE[/FLAG] [NODES [WEIGHTS]]\n");
	json_object_put(args);
	json_object_put(pol);
	json_object_put(flags);
	return NULL;
}

/* Sleep @sec seconds (any length: usleep takes at most ~4294 s) */
static void sleep_seconds(double sec)
{
	struct timespec ts;

	ts.tv_sec = (time_t)sec;
	ts.tv_nsec = (long)((sec - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int follow_events(struct ctl *c, long count)
{
	struct json_object *ev;
	long seen = 0;

	while (count <= 0 || seen < count) {
		ev = ctl_read(c);
		if (!ev) {
			fprintf(stderr, "numavmctl: connection closed by the server\n");
			return 2;
		}
		if (!json_object_object_get_ex(ev, "event", NULL)) {
			json_object_put(ev);
			continue;
		}
		if (c->json)
			printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
		else
			show_event(ev);
		fflush(stdout);
		json_object_put(ev);
		seen++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "watch", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .fd = -1 };
	const char *path = getenv("NUMAVM_SOCKET"), *cmd = NULL, *view;
	void (*show)(struct json_object *) = NULL;
	struct json_object *args = NULL, *reply, *ret;
	double watch = 0;
	long count = 0, iter = 0;
	int opt, status = 0;
	char *end;

	while ((opt = getopt_long(argc, argv, "+s:jw:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'w':
			errno = 0;
			watch = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(watch > 0) ||
			    watch > 86400 * 365) {
				fprintf(stderr, "numavmctl: --watch needs a positive number of seconds\n");
				return 2;
			}
			break;
		case 'c':
			errno = 0;
			count = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || count < 1) {
				fprintf(stderr, "numavmctl: --count needs a positive whole number\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!path || optind >= argc) {
		usage(stderr);
		return 2;
	}
	view = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;

	if (!strcmp(view, "numastat")) {
		cmd = "query-numastat";
		show = show_numastat;
	} else if (!strcmp(view, "buddyinfo")) {
		cmd = "query-buddyinfo";
		show = show_buddyinfo;
	} else if (!strcmp(view, "zoneinfo")) {
		cmd = "query-zoneinfo";
		show = show_zoneinfo;
	} else if (!strcmp(view, "vcpus")) {
		cmd = "query-vcpus";
		show = show_vcpus;
	} else if (!strcmp(view, "faults")) {
		cmd = "query-faults";
		show = show_faults;
	} else if (!strcmp(view, "placement")) {
		uint64_t a, b;

		if (argc != 1 || parse_range(argv[0], &a, &b, false)) {
			fprintf(stderr, "numavmctl: usage: placement ADDR[-END]\n");
			return 2;
		}
		cmd = "query-placement";
		show = show_placement;
		args = json_object_new_object();
		json_object_object_add(args, "start", json_object_new_uint64(a));
		json_object_object_add(args, "end", json_object_new_uint64(b));
	} else if (!strcmp(view, "set-policy")) {
		args = policy_args(argc, argv, &cmd);
		if (!args)
			return 2;
	} else if (!strcmp(view, "raw")) {
		if (argc < 1 || argc > 2) {
			fprintf(stderr, "numavmctl: usage: raw NAME [ARGUMENTS-JSON]\n");
			return 2;
		}
		cmd = argv[0];
		if (argc == 2) {
			args = json_tokener_parse(argv[1]);
			if (!args || !json_object_is_type(args, json_type_object)) {
				fprintf(stderr, "numavmctl: arguments must be a JSON object\n");
				return 2;
			}
		}
		c.json = true;
	} else if (strcmp(view, "events")) {
		fprintf(stderr, "numavmctl: unknown command '%s'\n", view);
		usage(stderr);
		return 2;
	}

	if (ctl_open(&c, path)) {
		status = 2;
		goto out;
	}
	if (!cmd) {
		status = follow_events(&c, count);
		goto out;
	}
	for (;;) {
		if (show == show_placement)
			reply = ctl_placement(&c, args);
		else
			reply = ctl_execute(&c, cmd, args);
		if (!reply) {
			status = c.closed ? 2 : 1;	/* connection, error reply */
			break;
		}
		json_object_object_get_ex(reply, "return", &ret);
		if (watch && isatty(STDOUT_FILENO))
			printf("\033[H\033[2J");
		if (c.json)
			printf("%s\n", json_object_to_json_string_ext(
				       reply, JSON_C_TO_STRING_PLAIN));
		else if (show)
			show(ret);	/* set-policy: silent on success */
		fflush(stdout);
		json_object_put(reply);
		if (!watch || (count > 0 && ++iter >= count))
			break;
		if (!isatty(STDOUT_FILENO))
			printf("\n");
		sleep_seconds(watch);
	}
out:
	json_object_put(args);
	if (c.in)
		fclose(c.in);
	else if (c.fd >= 0)
		close(c.fd);
	free(c.line);
	return status;
}

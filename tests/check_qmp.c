/*
 * Check suite of the control socket (vmm/qmp*.c) and numavmctl: a real
 * server on a real UNIX socket in a temporary directory, backed by a real
 * numa_vm (2 nodes, 2 vCPUs) whose allocations the tests make themselves
 * through numa_alloc() -- the placement map and fault latency come from a
 * small in-test struct qmp_fault_ops, since /dev/kvm is absent and no guest
 * runs.  The "faultpath" case puts the real fault path (userfaultfd, node
 * pools, vmm/fault.c) under the same numa_vm, with host threads registered
 * as vCPUs touching guest RAM.  Every reply is checked against what the
 * test (or the touching threads) did.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "numa/numa.h"
#ifndef CHECK_QMP_NO_FAULT_PATH
#include "vmm/fault.h"
#include "vmm/pool.h"
#endif
#include "vmm/qmp.h"
#include "vmm/qmp_cmds.h"

#define NODE_PAGES 1024 /* 4 MiB per node */
#define GUEST_PAGES 16384 /* 64 MiB of guest addresses */
#define TIMEOUT_MS 5000

/* ---- the test VM ---- */

static struct numa_vm *nv;
static struct qmp_numa_backend nb;
static struct qmp_server *srv;
static char dir[64], sock[128];
static signed char placed[GUEST_PAGES]; /* node + 1, 0 = unbacked */
static struct qmp_faults fake_faults;

static int t_node_of(void *opaque, gpa_t gpa)
{
	uint64_t pg = gpa >> PAGE_SHIFT;

	if (pg >= GUEST_PAGES)
		return -EINVAL;
	return placed[pg] ? placed[pg] - 1 : -ENOENT;
}

static int t_faults(void *opaque, struct qmp_faults *out)
{
	*out = fake_faults;
	return 0;
}

static const struct qmp_fault_ops t_fault_ops = {
	.node_of = t_node_of,
	.faults = t_faults,
};

/* A fault served by the numa engine, recorded in the placement map */
static int t_alloc(int vcpu, gpa_t gpa, struct numa_page *pg)
{
	struct numa_page p;
	int r = numa_alloc(nv, vcpu, gpa, 0, 0, &p);

	if (!r && (gpa >> PAGE_SHIFT) < GUEST_PAGES)
		placed[gpa >> PAGE_SHIFT] = p.node + 1;
	if (pg)
		*pg = p;
	return r;
}

static void vm_setup(const struct qmp_config *cfg)
{
	struct numa_topology t;
	char err[256];
	int r;

	ck_assert_int_eq(topo_init(&t, 2, 2, err, sizeof(err)), 0);
	t.node_mem[0] = t.node_mem[1] = NODE_PAGES * PAGE_SIZE;
	t.vcpu_node[0] = 0;
	t.vcpu_node[1] = 1;
	nv = numa_vm_create(&t, NULL, err, sizeof(err));
	ck_assert_msg(nv, "numa_vm_create: %s", err);
	memset(placed, 0, sizeof(placed));
	memset(&fake_faults, 0, sizeof(fake_faults));
	qmp_numa_backend_init(&nb, nv, &t_fault_ops);

	strcpy(dir, "/tmp/check_qmp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	r = qmp_server_start(sock, &nb.be, cfg, &srv, err, sizeof(err));
	ck_assert_msg(!r, "qmp_server_start: %s", err);
}

static void setup(void)
{
	struct qmp_config cfg = { .wmark_interval_ms = 10 };

	signal(SIGPIPE, SIG_IGN);
	vm_setup(&cfg);
}

static void teardown(void)
{
	qmp_server_stop(srv);
	srv = NULL;
	ck_assert_int_eq(access(sock, F_OK), -1); /* removed on exit */
	rmdir(dir);
	numa_vm_destroy(nv);
	nv = NULL;
}

/* ---- a minimal client ---- */

struct cl {
	int fd;
	char buf[1 << 18];
	size_t len;
	/* events that arrived while waiting for a reply, oldest first */
	struct json_object *ev[256];
	unsigned int nev;
};

static int cl_connect_raw(struct cl *c)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	c->len = 0;
	c->nev = 0;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	strcpy(sa.sun_path, sock);
	return connect(c->fd, (struct sockaddr *)&sa, sizeof(sa));
}

/* Next line as JSON (NULL on EOF or timeout) */
static struct json_object *cl_read(struct cl *c, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			struct json_object *o;

			*nl = 0;
			o = json_tokener_parse(c->buf);
			ck_assert_msg(o, "server sent bad JSON: %s", c->buf);
			c->len -= nl + 1 - c->buf;
			memmove(c->buf, nl + 1, c->len);
			return o;
		}
		if (poll(&p, 1, timeout_ms) <= 0)
			return NULL;
		ck_assert_uint_lt(c->len, sizeof(c->buf));
		n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n <= 0)
			return NULL;
		c->len += n;
	}
}

/* Skip events; the next reply */
static struct json_object *cl_reply(struct cl *c)
{
	for (;;) {
		struct json_object *o = cl_read(c, TIMEOUT_MS);

		ck_assert_msg(o, "no reply");
		if (!json_object_object_get_ex(o, "event", NULL))
			return o;
		ck_assert_uint_lt(c->nev, ARRAY_SIZE(c->ev));
		c->ev[c->nev++] = o;
	}
}

/* Next event: one kept by cl_reply(), else from the socket */
static struct json_object *cl_event(struct cl *c, int timeout_ms)
{
	struct json_object *o;

	if (c->nev) {
		o = c->ev[0];
		memmove(c->ev, c->ev + 1, --c->nev * sizeof(c->ev[0]));
		return o;
	}
	o = cl_read(c, timeout_ms);
	if (o)
		ck_assert_msg(json_object_object_get_ex(o, "event", NULL),
			      "not an event: %s",
			      json_object_to_json_string(o));
	return o;
}

static void cl_send(struct cl *c, const char *txt)
{
	size_t len = strlen(txt), off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, txt + off, len - off, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		off += n;
	}
}

static void cl_open(struct cl *c)
{
	struct json_object *g, *q, *v;

	ck_assert_int_eq(cl_connect_raw(c), 0);
	g = cl_read(c, TIMEOUT_MS);
	ck_assert_ptr_nonnull(g);
	ck_assert(json_object_object_get_ex(g, "QMP", &q));
	ck_assert(json_object_object_get_ex(q, "version", &v));
	ck_assert(json_object_object_get_ex(v, "numavm", NULL));
	ck_assert(json_object_object_get_ex(q, "capabilities", &v));
	ck_assert_int_eq(json_object_array_length(v), 0);
	json_object_put(g);
	cl_send(c, "{\"execute\": \"qmp_capabilities\"}\n");
	g = cl_reply(c);
	ck_assert(json_object_object_get_ex(g, "return", NULL));
	json_object_put(g);
}

static void cl_close(struct cl *c)
{
	while (c->nev)
		json_object_put(c->ev[--c->nev]);
	close(c->fd);
	c->fd = -1;
}

/* Execute and return the "return" value (caller puts the reply @out) */
static struct json_object *cl_exec(struct cl *c, const char *req,
				   struct json_object **out)
{
	struct json_object *r, *ret;

	cl_send(c, req);
	cl_send(c, "\n");
	r = cl_reply(c);
	ck_assert_msg(json_object_object_get_ex(r, "return", &ret), "%s -> %s",
		      req, json_object_to_json_string(r));
	*out = r;
	return ret;
}

/* Expect an error of class @cls; returns its desc (valid until put) */
static const char *cl_error(struct cl *c, const char *req, const char *cls,
			    struct json_object **out)
{
	struct json_object *r, *e, *v;

	cl_send(c, req);
	cl_send(c, "\n");
	r = cl_reply(c);
	ck_assert_msg(json_object_object_get_ex(r, "error", &e), "%s -> %s",
		      req, json_object_to_json_string(r));
	ck_assert(json_object_object_get_ex(e, "class", &v));
	ck_assert_str_eq(json_object_get_string(v), cls);
	ck_assert(json_object_object_get_ex(e, "desc", &v));
	*out = r;
	return json_object_get_string(v);
}

static uint64_t u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
	return json_object_get_uint64(v);
}

static struct json_object *idx(struct json_object *a, size_t i)
{
	ck_assert_uint_lt(i, json_object_array_length(a));
	return json_object_array_get_idx(a, i);
}

static struct json_object *wait_event(struct cl *c, const char *name)
{
	for (;;) {
		struct json_object *o = cl_event(c, TIMEOUT_MS), *v;

		ck_assert_msg(o, "no %s event", name);
		if (json_object_object_get_ex(o, "event", &v) &&
		    !strcmp(json_object_get_string(v), name))
			return o;
		json_object_put(o);
	}
}

/* ---- protocol ---- */

START_TEST(test_negotiation_and_ids)
{
	struct json_object *r, *v;
	struct cl c;

	ck_assert_int_eq(cl_connect_raw(&c), 0);
	r = cl_read(&c, TIMEOUT_MS);
	ck_assert(json_object_object_get_ex(r, "QMP", NULL));
	json_object_put(r);
	/* nothing but qmp_capabilities before negotiation */
	cl_error(&c, "{\"execute\": \"query-numastat\"}", "CommandNotFound",
		 &r);
	json_object_put(r);
	cl_exec(&c, "{\"execute\": \"qmp_capabilities\", \"id\": \"cap-1\"}",
		&r);
	ck_assert(json_object_object_get_ex(r, "id", &v));
	ck_assert_str_eq(json_object_get_string(v), "cap-1");
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"qmp_capabilities\"}", "CommandNotFound",
		 &r);
	json_object_put(r);
	/* ids of any type are echoed */
	cl_exec(&c,
		"{\"execute\": \"query-commands\", \"id\": {\"n\": [1, 2]}}",
		&r);
	ck_assert(json_object_object_get_ex(r, "id", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"n\":[1,2]}");
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"query-nothing\", \"id\": 7}",
		 "CommandNotFound", &r);
	ck_assert(json_object_object_get_ex(r, "id", &v));
	ck_assert_int_eq(json_object_get_int(v), 7);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_numastat_interleave)
{
	struct json_object *r, *ret, *n0, *n1, *v;
	struct numa_page pg;
	struct cl c;
	int i, cnt[2] = { 0, 0 };

	cl_open(&c);
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"0,"
		" \"policy\": {\"mode\": \"interleave\", \"nodes\": [0, 1]}}}",
		&r);
	json_object_put(r);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(t_alloc(0, (gpa_t)i * PAGE_SIZE, &pg), 0);
		cnt[pg.node]++;
	}
	/* round robin per vCPU */
	ck_assert_int_eq(cnt[0], 5);
	ck_assert_int_eq(cnt[1], 5);
	/* vCPU 1 (home node 1), default policy: 3 local pages */
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(t_alloc(1, (gpa_t)(100 + i) * PAGE_SIZE, &pg),
				 0);
		ck_assert_uint_eq(pg.node, 1);
	}

	ret = cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	ck_assert_uint_eq(json_object_array_length(ret), 2);
	n0 = idx(ret, 0);
	n1 = idx(ret, 1);
	ck_assert_uint_eq(u64(n0, "node"), 0);
	ck_assert_uint_eq(u64(n0, "interleave_hit"), 5);
	ck_assert_uint_eq(u64(n1, "interleave_hit"), 5);
	ck_assert_uint_eq(u64(n0, "numa_hit"), 5);
	ck_assert_uint_eq(u64(n1, "numa_hit"), 8);
	ck_assert_uint_eq(u64(n0, "numa_miss"), 0);
	ck_assert_uint_eq(u64(n1, "numa_foreign"), 0);
	ck_assert_uint_eq(u64(n0, "local_node"), 5); /* vCPU 0's node-0 pages */
	ck_assert_uint_eq(u64(n0, "other_node"), 0);
	ck_assert_uint_eq(u64(n1, "local_node"), 3); /* vCPU 1's pages */
	ck_assert_uint_eq(u64(n1, "other_node"), 5); /* vCPU 0's node-1 pages */
	ck_assert_uint_eq(u64(n0, "pages_used"), 5);
	ck_assert_uint_eq(u64(n1, "pages_used"), 8);
	ck_assert_uint_eq(u64(n0, "pages_free"), NODE_PAGES - 5);
	json_object_put(r);

	ret = cl_exec(&c, "{\"execute\": \"query-vcpus\"}", &r);
	ck_assert_uint_eq(json_object_array_length(ret), 2);
	n0 = idx(ret, 0);
	ck_assert_uint_eq(u64(n0, "home-node"), 0);
	ck_assert_uint_eq(u64(n0, "faults"), 10);
	ck_assert(json_object_object_get_ex(n0, "alloc", &v));
	ck_assert_uint_eq(json_object_get_uint64(idx(v, 0)), 5);
	ck_assert_uint_eq(json_object_get_uint64(idx(v, 1)), 5);
	ck_assert(json_object_object_get_ex(n0, "policy", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"mode\":\"interleave\",\"nodes\":[0,1],\"flags\":[]}");
	n1 = idx(ret, 1);
	ck_assert_uint_eq(u64(n1, "home-node"), 1);
	ck_assert_uint_eq(u64(n1, "faults"), 3);
	ck_assert(json_object_object_get_ex(n1, "policy", &v));
	ck_assert(json_object_object_get_ex(v, "mode", &v));
	ck_assert_str_eq(json_object_get_string(v), "default");
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_set_vcpu_policy_runtime)
{
	struct json_object *r, *ret, *v;
	struct numa_page pg;
	const char *desc;
	struct cl c;
	int i, cnt[2] = { 0, 0 };

	cl_open(&c);
	ck_assert_int_eq(t_alloc(1, 0, &pg), 0);
	ck_assert_uint_eq(pg.node, 1); /* default: home node */
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"1,"
		" \"policy\": {\"mode\": \"bind\", \"nodes\": [0]}}}",
		&r);
	json_object_put(r);
	ck_assert_int_eq(t_alloc(1, PAGE_SIZE, &pg), 0);
	ck_assert_uint_eq(pg.node, 0);
	/* weighted interleave 3:1 */
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"1,"
		" \"policy\": {\"mode\": \"weighted-interleave\", \"nodes\": "
		"[0, 1],"
		" \"weights\": [3, 1]}}}",
		&r);
	json_object_put(r);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(t_alloc(1, (gpa_t)(10 + i) * PAGE_SIZE, &pg),
				 0);
		cnt[pg.node]++;
	}
	ck_assert_int_eq(cnt[0], 6);
	ck_assert_int_eq(cnt[1], 2);

	/* the engine's validation: unknown node, empty bind, bad flags */
	desc = cl_error(&c,
			"{\"execute\": \"set-vcpu-policy\", \"arguments\": "
			"{\"vcpu\": 1,"
			" \"policy\": {\"mode\": \"bind\", \"nodes\": [5]}}}",
			"GenericError", &r);
	ck_assert_str_ne(desc, "");
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "1,"
		 " \"policy\": {\"mode\": \"bind\", \"nodes\": []}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "1,"
		 " \"policy\": {\"mode\": \"local\", \"nodes\": [0],"
		 " \"flags\": [\"static-nodes\", \"relative-nodes\"]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "2,"
		 " \"policy\": {\"mode\": \"local\"}}}",
		 "GenericError", &r);
	json_object_put(r);
	/* unchanged after the refusals */
	ret = cl_exec(&c, "{\"execute\": \"query-vcpus\"}", &r);
	ck_assert(json_object_object_get_ex(idx(ret, 1), "policy", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"mode\":\"weighted-interleave\",\"nodes\":[0,1],\"flags\":[]"
		","
		"\"weights\":[3,1]}");
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_range_policy_and_placement)
{
	struct json_object *r, *ret, *runs, *ranges, *v;
	struct numa_page pg;
	struct cl c;
	int i;

	cl_open(&c);
	/* bind [64 KiB, 96 KiB) to node 1; vCPU 0 (home 0) faults around it */
	cl_exec(&c,
		"{\"execute\": \"set-range-policy\", \"arguments\": "
		"{\"start\": 65536,"
		" \"size\": 32768, \"policy\": {\"mode\": \"bind\", \"nodes\": "
		"[1]}}}",
		&r);
	json_object_put(r);
	for (i = 14; i < 26; i++)
		ck_assert_int_eq(t_alloc(0, (gpa_t)i * PAGE_SIZE, &pg), 0);
	ret = cl_exec(&c,
		      "{\"execute\": \"query-placement\", \"arguments\":"
		      " {\"start\": 49152, \"end\": 114688}}",
		      &r);
	/* pages 12-13 unbacked, 14-15 node 0, 16-23 node 1, 24-25 node 0, 26-27 unbacked */
	ck_assert(json_object_object_get_ex(ret, "runs", &runs));
	ck_assert_uint_eq(json_object_array_length(runs), 5);
	ck_assert_uint_eq(u64(idx(runs, 0), "start"), 12 * PAGE_SIZE);
	ck_assert(json_object_object_get_ex(idx(runs, 0), "node", &v));
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(u64(idx(runs, 1), "node"), 0);
	ck_assert_uint_eq(u64(idx(runs, 2), "start"), 16 * PAGE_SIZE);
	ck_assert_uint_eq(u64(idx(runs, 2), "end"), 24 * PAGE_SIZE);
	ck_assert_uint_eq(u64(idx(runs, 2), "node"), 1);
	ck_assert_uint_eq(u64(idx(runs, 3), "node"), 0);
	ck_assert_uint_eq(u64(idx(runs, 4), "end"), 28 * PAGE_SIZE);
	ck_assert(json_object_object_get_ex(ret, "pages", &v));
	ck_assert_uint_eq(u64(v, "0"), 4);
	ck_assert_uint_eq(u64(v, "1"), 8);
	ck_assert_uint_eq(u64(ret, "unbacked"), 4);
	ck_assert(json_object_object_get_ex(ret, "ranges", &ranges));
	ck_assert_uint_eq(json_object_array_length(ranges), 1);
	ck_assert_uint_eq(u64(idx(ranges, 0), "start"), 65536);
	ck_assert_uint_eq(u64(idx(ranges, 0), "end"), 98304);
	ck_assert(json_object_object_get_ex(idx(ranges, 0), "policy", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"mode\":\"bind\",\"nodes\":[1],\"flags\":[]}");
	json_object_put(r);

	/* a single page, then outside guest RAM */
	ret = cl_exec(&c,
		      "{\"execute\": \"query-placement\", \"arguments\": "
		      "{\"start\": 70000}}",
		      &r);
	ck_assert(json_object_object_get_ex(ret, "runs", &runs));
	ck_assert_uint_eq(json_object_array_length(runs), 1);
	ck_assert_uint_eq(u64(idx(runs, 0), "node"), 1);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"query-placement\", \"arguments\": "
		 "{\"start\": 1099511627776}}",
		 "GenericError", &r);
	json_object_put(r);
	/* engine validation of ranges: unaligned, empty */
	cl_error(&c,
		 "{\"execute\": \"set-range-policy\", \"arguments\": "
		 "{\"start\": 100,"
		 " \"size\": 4096, \"policy\": {\"mode\": \"bind\", \"nodes\": "
		 "[1]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-range-policy\", \"arguments\": "
		 "{\"start\": 0,"
		 " \"size\": 0, \"policy\": {\"mode\": \"bind\", \"nodes\": "
		 "[1]}}}",
		 "GenericError", &r);
	json_object_put(r);
	/* removal with default */
	cl_exec(&c,
		"{\"execute\": \"set-range-policy\", \"arguments\": "
		"{\"start\": 65536,"
		" \"size\": 32768, \"policy\": {\"mode\": \"default\"}}}",
		&r);
	json_object_put(r);
	ck_assert_int_eq(t_alloc(0, 30 * PAGE_SIZE, &pg), 0);
	ck_assert_uint_eq(pg.node, 0);
	ret = cl_exec(&c,
		      "{\"execute\": \"query-placement\", \"arguments\": "
		      "{\"start\": 65536,"
		      " \"end\": 98304}}",
		      &r);
	ck_assert(json_object_object_get_ex(ret, "ranges", &ranges));
	ck_assert_uint_eq(json_object_array_length(ranges), 0);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

static void find_ctl(void);
static int run_ctl(const char *args, char *out, size_t len);

/* set-range-policy only inside guest RAM (8 MiB here), as the config */
START_TEST(test_range_policy_bounds)
{
	struct json_object *r;
	struct cl c;

	cl_open(&c);
	ck_assert_ptr_nonnull(strstr(
		cl_error(&c,
			 "{\"execute\": \"set-range-policy\", \"arguments\": "
			 "{\"start\": 0, \"size\": 18446744073709547520, "
			 "\"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
			 "GenericError", &r),
		"not inside guest RAM"));
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-range-policy\", \"arguments\": "
		 "{\"start\": 8388608, \"size\": 4096, "
		 "\"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-range-policy\", \"arguments\": "
		 "{\"start\": 8384512, \"size\": 8192, "
		 "\"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
		 "GenericError", &r);
	json_object_put(r);
	ck_assert_uint_eq(numa_get_range_policies(nv, NULL, 0), 0);
	/* the last page is fine */
	cl_exec(&c,
		"{\"execute\": \"set-range-policy\", \"arguments\": "
		"{\"start\": 8384512, \"size\": 4096, "
		"\"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
		&r);
	json_object_put(r);
	ck_assert_uint_eq(numa_get_range_policies(nv, NULL, 0), 1);
	cl_close(&c);
}
END_TEST

/* Alternate nodes page by page over [0, npages): one run per page */
static void place_alternating(unsigned int npages)
{
	unsigned int i;

	for (i = 0; i < npages; i++)
		placed[i] = (i & 1) + 1;
}

/* A finely interleaved range comes back in bounded pieces */
START_TEST(test_placement_truncated)
{
	struct json_object *r, *ret, *runs, *v;
	uint64_t next = 0, seen = 0;
	char req[256], *out;
	int i;
	struct cl c;

	place_alternating(10000);
	cl_open(&c);
	for (i = 0; i < 3; i++) {
		snprintf(req, sizeof(req),
			 "{\"execute\": \"query-placement\", \"arguments\": "
			 "{\"start\": %llu, \"end\": %llu}}",
			 (unsigned long long)next, 10000ULL * PAGE_SIZE);
		ret = cl_exec(&c, req, &r);
		ck_assert(json_object_object_get_ex(ret, "runs", &runs));
		ck_assert_uint_eq(u64(ret, "start"), next);
		ck_assert(json_object_object_get_ex(ret, "truncated", &v));
		if (i < 2) {
			ck_assert_uint_eq(json_object_array_length(runs),
					  QMP_MAX_PLACEMENT_RUNS);
			ck_assert(json_object_get_boolean(v));
			ck_assert_uint_eq(u64(ret, "next"), u64(ret, "end"));
			ck_assert_uint_eq(u64(ret, "end"),
					  next + QMP_MAX_PLACEMENT_RUNS * PAGE_SIZE);
			next = u64(ret, "next");
		} else {
			ck_assert(!json_object_get_boolean(v));
			ck_assert(!json_object_object_get_ex(ret, "next", NULL));
			ck_assert_uint_eq(u64(ret, "end"), 10000ULL * PAGE_SIZE);
		}
		ck_assert(json_object_object_get_ex(ret, "pages", &v));
		seen += u64(v, "0") + u64(v, "1");
		ck_assert_uint_eq(json_object_array_length(runs),
				  (u64(ret, "end") - u64(ret, "start")) / PAGE_SIZE);
		json_object_put(r);
	}
	ck_assert_uint_eq(seen, 10000);

	/* the last pages of the address space: no wrap to 0 */
	ck_assert_ptr_nonnull(strstr(
		cl_error(&c,
			 "{\"execute\": \"query-placement\", \"arguments\": "
			 "{\"start\": 18446744073709547520}}",
			 "GenericError", &r),
		"outside guest RAM"));
	json_object_put(r);
	ck_assert_ptr_nonnull(strstr(
		cl_error(&c,
			 "{\"execute\": \"query-placement\", \"arguments\": "
			 "{\"start\": 18446744073709551615}}",
			 "GenericError", &r),
		"outside guest RAM"));
	json_object_put(r);
	cl_close(&c);

	/* numavmctl follows the continuation and prints every run once */
	find_ctl();
	out = malloc(1 << 20);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(run_ctl("placement 0-0x2710000", out, 1 << 20), 0);
	ck_assert_ptr_nonnull(strstr(out, "pages: node0=5000 node1=5000 unbacked=0\n"));
	ck_assert_ptr_nonnull(strstr(out, "0x000000000000-0x000000001000  node0"));
	ck_assert_ptr_nonnull(strstr(out, "0x00000270f000-0x000002710000  node1"));
	for (i = 0, seen = 0; out[i]; i++)
		seen += out[i] == '\n';
	ck_assert_uint_eq(seen, 10000 + 1); /* the runs, the page counts */
	free(out);
}
END_TEST

START_TEST(test_buddyinfo_zoneinfo)
{
	struct json_object *r, *ret, *fr;
	struct numa_page pg;
	unsigned int n, o;
	struct cl c;
	int i;

	cl_open(&c);
	for (i = 0; i < 37; i++)
		ck_assert_int_eq(t_alloc(i & 1, (gpa_t)i * PAGE_SIZE, &pg), 0);
	ret = cl_exec(&c, "{\"execute\": \"query-buddyinfo\"}", &r);
	ck_assert_uint_eq(json_object_array_length(ret), 2);
	for (n = 0; n < 2; n++) {
		struct buddy_info bi;

		buddy_get_info(numa_node_buddy(nv, n), &bi);
		ck_assert_uint_eq(u64(idx(ret, n), "node"), n);
		ck_assert(json_object_object_get_ex(idx(ret, n), "free", &fr));
		ck_assert_uint_eq(json_object_array_length(fr), MAX_ORDER);
		for (o = 0; o < MAX_ORDER; o++)
			ck_assert_uint_eq(json_object_get_uint64(idx(fr, o)),
					  bi.nr_free[o]);
	}
	json_object_put(r);
	ret = cl_exec(&c, "{\"execute\": \"query-zoneinfo\"}", &r);
	for (n = 0; n < 2; n++) {
		struct json_object *z = idx(ret, n);
		struct buddy_info bi;

		buddy_get_info(numa_node_buddy(nv, n), &bi);
		ck_assert_uint_eq(u64(z, "free"), bi.free_pages);
		ck_assert_uint_eq(u64(z, "pcp"), bi.pcp_pages);
		ck_assert_uint_eq(u64(z, "managed"), NODE_PAGES);
		ck_assert_uint_eq(u64(z, "min"), bi.wmark_min);
		ck_assert_uint_eq(u64(z, "low"), bi.wmark_low);
		ck_assert_uint_eq(u64(z, "high"), bi.wmark_high);
		ck_assert_uint_eq(u64(z, "free") + u64(z, "pcp"),
				  NODE_PAGES - (n == 0 ? 19 : 18));
	}
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_query_faults)
{
	struct json_object *r, *ret, *h;
	struct cl c;

	cl_open(&c);
	ret = cl_exec(&c, "{\"execute\": \"query-faults\"}", &r);
	ck_assert_uint_eq(u64(ret, "count"), 0);
	ck_assert_uint_eq(u64(ret, "p99-ns"), 0);
	json_object_put(r);
	/* 90 faults under 1 us, 9 under 4 us, 1 at 100 us */
	fake_faults.count = 100;
	fake_faults.bucket[10] = 90;
	fake_faults.bucket[12] = 9;
	fake_faults.bucket[17] = 1;
	fake_faults.max_ns = 100000;
	qmp_faults_fill_percentiles(&fake_faults);
	ret = cl_exec(&c, "{\"execute\": \"query-faults\"}", &r);
	ck_assert_uint_eq(u64(ret, "count"), 100);
	ck_assert_uint_eq(u64(ret, "p50-ns"), 1024);
	ck_assert_uint_eq(u64(ret, "p90-ns"), 1024);
	ck_assert_uint_eq(u64(ret, "p99-ns"), 4096);
	ck_assert_uint_eq(u64(ret, "max-ns"), 100000);
	ck_assert(json_object_object_get_ex(ret, "histogram", &h));
	ck_assert_uint_eq(json_object_array_length(h), 3);
	ck_assert_uint_eq(u64(idx(h, 2), "lt-ns"), 131072);
	ck_assert_uint_eq(u64(idx(h, 2), "count"), 1);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

/* quit: the backend's stop request, counted; t_quit_ret is its answer */
static int t_quits, t_quit_ret;

static int t_quit(void *opaque)
{
	t_quits++;
	return t_quit_ret;
}

START_TEST(test_quit)
{
	struct json_object *r, *ret, *v;
	const char *desc;
	bool listed = false;
	struct cl c;
	size_t i;

	cl_open(&c);
	/* listed, but "not available" without the backend operation */
	ret = cl_exec(&c, "{\"execute\": \"query-commands\"}", &r);
	for (i = 0; i < json_object_array_length(ret); i++) {
		json_object_object_get_ex(idx(ret, i), "name", &v);
		listed |= !strcmp(json_object_get_string(v), "quit");
	}
	ck_assert(listed);
	json_object_put(r);
	desc = cl_error(&c, "{\"execute\": \"quit\"}", "GenericError", &r);
	ck_assert_msg(strstr(desc, "not available"), "%s", desc);
	json_object_put(r);

	/* requests are synchronous: the server reads be.quit after this */
	t_quits = 0;
	t_quit_ret = -EBUSY;
	nb.be.quit = t_quit;
	cl_error(&c, "{\"execute\": \"quit\", \"arguments\": {\"now\": 1}}",
		 "GenericError", &r);
	json_object_put(r);
	ck_assert_int_eq(t_quits, 0);
	desc = cl_error(&c, "{\"execute\": \"quit\"}", "GenericError", &r);
	ck_assert_msg(strstr(desc, strerror(EBUSY)), "%s", desc);
	json_object_put(r);
	ck_assert_int_eq(t_quits, 1);

	t_quit_ret = 0;
	ret = cl_exec(&c, "{\"execute\": \"quit\", \"id\": 9}", &r);
	ck_assert(json_object_is_type(ret, json_type_object));
	ck_assert_int_eq(json_object_object_length(ret), 0);
	ck_assert(json_object_object_get_ex(r, "id", &v));
	ck_assert_int_eq(json_object_get_int(v), 9);
	json_object_put(r);
	ck_assert_int_eq(t_quits, 2);
	/* stopping is the VM's business: the server still answers */
	ret = cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	ck_assert_uint_eq(json_object_array_length(ret), 2);
	json_object_put(r);
	cl_close(&c);
	nb.be.quit = NULL;
}
END_TEST

/* ---- events ---- */

START_TEST(test_events_oom_watermark)
{
	struct json_object *r, *ev, *d, *v;
	struct qmp_oom oom = { 0 };
	struct buddy_info bi;
	struct numa_page pg;
	pfn_t pfns[NODE_PAGES];
	unsigned int nr = 0, i;
	struct cl c, idle;
	char err[128];

	cl_open(&c);
	/* a client that never negotiated gets no events */
	ck_assert_int_eq(cl_connect_raw(&idle), 0);
	json_object_put(cl_read(&idle, TIMEOUT_MS));

	ck_assert_int_eq(
		numa_set_vcpu_policy(nv, 1,
				     &(struct mpol_spec){ .mode = MPOL_BIND,
							  .nodes = 1U << 1 },
				     err, sizeof(err)),
		0);
	buddy_get_info(numa_node_buddy(nv, 1), &bi);
	ck_assert_uint_gt(bi.wmark_low, bi.wmark_min);
	/* drain node 1 until bind fails: free sinks past low, then min */
	for (;;) {
		int ret = t_alloc(1, (gpa_t)nr * PAGE_SIZE, &pg);

		if (ret) {
			ck_assert_int_eq(ret, -ENOMEM);
			break;
		}
		ck_assert_uint_eq(pg.node, 1);
		pfns[nr++] = pg.pfn;
		ck_assert_uint_lt(nr, NODE_PAGES);
	}
	/* what the fault path's on_oom hook reports */
	oom.vcpu = 1;
	oom.gpa = (gpa_t)nr * PAGE_SIZE;
	oom.policy = (struct mpol_spec){ .mode = MPOL_BIND, .nodes = 2 };
	oom.nr_nodes = 2;
	buddy_get_info(numa_node_buddy(nv, 0), &bi);
	oom.free[0] = bi.free_pages;
	buddy_get_info(numa_node_buddy(nv, 1), &bi);
	oom.free[1] = bi.free_pages;
	qmp_event_oom(srv, &oom);

	/* OOM and the two downward crossings, low before min */
	{
		struct json_object *wm[2] = { NULL, NULL }, *oomev = NULL;
		unsigned int nwm = 0;

		while (nwm < 2 || !oomev) {
			ev = cl_event(&c, TIMEOUT_MS);
			ck_assert_msg(ev,
				      "missing events (%u watermark, oom %d)",
				      nwm, !!oomev);
			ck_assert(json_object_object_get_ex(ev, "event", &v));
			if (!strcmp(json_object_get_string(v), "OOM")) {
				ck_assert_ptr_null(oomev);
				oomev = ev;
			} else {
				ck_assert_str_eq(json_object_get_string(v),
						 "WATERMARK");
				ck_assert_uint_lt(nwm, 2);
				wm[nwm++] = ev;
			}
		}
		ck_assert(json_object_object_get_ex(wm[0], "data", &d));
		ck_assert_uint_eq(u64(d, "node"), 1);
		ck_assert(json_object_object_get_ex(d, "watermark", &v));
		ck_assert_str_eq(json_object_get_string(v), "low");
		ck_assert(json_object_object_get_ex(d, "direction", &v));
		ck_assert_str_eq(json_object_get_string(v), "below");
		ck_assert(json_object_object_get_ex(wm[0], "timestamp", &v));
		ck_assert_uint_gt(u64(v, "seconds"), 0);
		u64(v, "microseconds");
		ck_assert(json_object_object_get_ex(wm[1], "data", &d));
		ck_assert(json_object_object_get_ex(d, "watermark", &v));
		ck_assert_str_eq(json_object_get_string(v), "min");
		ck_assert_uint_le(u64(d, "free"), u64(d, "min"));

		ck_assert(json_object_object_get_ex(oomev, "data", &d));
		ck_assert_int_eq(u64(d, "vcpu"), 1);
		ck_assert_uint_eq(u64(d, "gpa"), (gpa_t)nr * PAGE_SIZE);
		ck_assert(json_object_object_get_ex(d, "policy", &v));
		ck_assert_str_eq(
			json_object_to_json_string_ext(v,
						       JSON_C_TO_STRING_PLAIN),
			"{\"mode\":\"bind\",\"nodes\":[1],\"flags\":[]}");
		ck_assert(json_object_object_get_ex(d, "free", &v));
		ck_assert_uint_eq(json_object_get_uint64(idx(v, 1)),
				  oom.free[1]);
		json_object_put(wm[0]);
		json_object_put(wm[1]);
		json_object_put(oomev);
	}

	/* give everything back: min, then low, crossed upwards */
	for (i = 0; i < nr; i++)
		ck_assert_int_eq(numa_free(nv, 1, pfns[i], 0, NUMA_HOST), 0);
	ev = wait_event(&c, "WATERMARK");
	ck_assert(json_object_object_get_ex(ev, "data", &d));
	ck_assert(json_object_object_get_ex(d, "watermark", &v));
	ck_assert_str_eq(json_object_get_string(v), "min");
	ck_assert(json_object_object_get_ex(d, "direction", &v));
	ck_assert_str_eq(json_object_get_string(v), "above");
	json_object_put(ev);
	ev = wait_event(&c, "WATERMARK");
	ck_assert(json_object_object_get_ex(ev, "data", &d));
	ck_assert(json_object_object_get_ex(d, "watermark", &v));
	ck_assert_str_eq(json_object_get_string(v), "low");
	json_object_put(ev);

	/* the idle client saw nothing and still works */
	r = cl_read(&idle, 50);
	ck_assert_ptr_null(r);
	cl_close(&idle);
	cl_close(&c);
}
END_TEST

/* ---- bad input ---- */

START_TEST(test_bad_input)
{
	struct json_object *r, *ret;
	const char *desc;
	struct cl c;

	cl_open(&c);
	desc = cl_error(&c, "{\"execute\": }", "GenericError", &r);
	ck_assert_ptr_nonnull(strstr(desc, "JSON parse error"));
	json_object_put(r);
	cl_error(&c, "[1, 2]", "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "\"execute\"", "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"arguments\": {}}", "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"execute\": 5}", "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"query-numastat\", \"extra\": 1}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"query-numastat\", \"arguments\": [1]}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"query-numastat\", \"arguments\": {\"x\": 1}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"no-such-command\"}", "CommandNotFound",
		 &r);
	json_object_put(r);
	/* wrong argument types */
	desc = cl_error(&c,
			"{\"execute\": \"query-placement\", \"arguments\": "
			"{\"start\": \"0\"}}",
			"GenericError", &r);
	ck_assert_ptr_nonnull(strstr(desc, "start"));
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"query-placement\", \"arguments\": "
		 "{\"start\": -4096}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"query-placement\", \"arguments\": "
		 "{\"start\": 1.5}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c, "{\"execute\": \"query-placement\", \"arguments\": {}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"query-placement\", \"arguments\": "
		 "{\"start\": 8192, \"end\": 4096}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "true,"
		 " \"policy\": {\"mode\": \"local\"}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": \"bind\"}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"sideways\"}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"bind\", \"nodes\": \"0-1\"}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"bind\", \"nodes\": [0, 0]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"bind\", \"nodes\": [99]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"weighted-interleave\", \"nodes\": "
		 "[0, 1],"
		 " \"weights\": [1]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"weighted-interleave\", \"nodes\": "
		 "[0, 1],"
		 " \"weights\": [1, 256]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		 "0,"
		 " \"policy\": {\"mode\": \"bind\", \"nodes\": [0], \"flags\": "
		 "[\"fast\"]}}}",
		 "GenericError", &r);
	json_object_put(r);
	cl_error(&c,
		 "{\"execute\": \"set-range-policy\", \"arguments\": "
		 "{\"start\": 0,"
		 " \"policy\": {\"mode\": \"local\"}}}",
		 "GenericError", &r);
	json_object_put(r);
	/* garbage, then a good request on the next line: resynchronised */
	cl_send(&c, "}}}} nonsense\n");
	r = cl_reply(&c);
	ck_assert(json_object_object_get_ex(r, "error", NULL));
	json_object_put(r);
	ret = cl_exec(&c, "{\"execute\": \"query-zoneinfo\"}", &r);
	ck_assert_uint_eq(json_object_array_length(ret), 2);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_framing)
{
	static const char req[] =
		"{\"execute\": \"query-commands\", \"id\": 1}";
	struct json_object *r, *v;
	struct cl c;
	size_t i;
	int id;

	cl_open(&c);
	/* one request split over many writes */
	for (i = 0; i < sizeof(req) - 1; i += 7) {
		char part[8] = { 0 };

		memcpy(part, req + i, min_t(size_t, 7, sizeof(req) - 1 - i));
		cl_send(&c, part);
		usleep(2000);
	}
	r = cl_reply(&c);
	ck_assert(json_object_object_get_ex(r, "return", NULL));
	json_object_put(r);
	/* several in one write, without newlines: answered in order */
	cl_send(&c, "{\"execute\": \"query-numastat\", \"id\": 1}"
		    "{\"execute\": \"query-bogus\", \"id\": 2}  "
		    "{\"execute\": \"query-zoneinfo\", \"id\": 3}\n");
	for (id = 1; id <= 3; id++) {
		r = cl_reply(&c);
		ck_assert(json_object_object_get_ex(r, "id", &v));
		ck_assert_int_eq(json_object_get_int(v), id);
		ck_assert(json_object_object_get_ex(
			r, id == 2 ? "error" : "return", NULL));
		json_object_put(r);
	}
	cl_close(&c);
}
END_TEST

START_TEST(test_oversized_request)
{
	struct json_object *r, *e, *v;
	struct cl c, c2;
	char *big;
	size_t n = QMP_DEFAULT_MAX_REQUEST + 1024;

	cl_open(&c);
	big = malloc(n + 64);
	ck_assert_ptr_nonnull(big);
	strcpy(big, "{\"execute\": \"query-numastat\", \"id\": \"");
	memset(big + strlen(big), 'A', n);
	strcpy(big + n, "\"}\n");
	cl_send(&c, big);
	free(big);
	r = cl_read(&c, TIMEOUT_MS);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "desc", &v));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "larger than"));
	json_object_put(r);
	ck_assert_ptr_null(cl_read(&c, TIMEOUT_MS)); /* then disconnected */
	cl_close(&c);
	/* a request just under the limit is fine */
	cl_open(&c2);
	big = malloc(QMP_DEFAULT_MAX_REQUEST);
	strcpy(big, "{\"execute\": \"query-numastat\", \"id\": \"");
	n = QMP_DEFAULT_MAX_REQUEST - strlen(big) - 8;
	memset(big + strlen(big), 'B', n);
	strcpy(big + strlen("{\"execute\": \"query-numastat\", \"id\": \"") + n,
	       "\"}\n");
	cl_send(&c2, big);
	free(big);
	r = cl_reply(&c2);
	ck_assert(json_object_object_get_ex(r, "return", NULL));
	json_object_put(r);
	cl_close(&c2);
}
END_TEST

START_TEST(test_half_closed)
{
	struct json_object *r;
	struct cl c;

	cl_open(&c);
	cl_send(&c, "{\"execute\": \"query-numastat\", \"id\": 1}\n"
		    "{\"execute\": \"query-buddyinfo\", \"id\": 2}\n");
	ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
	r = cl_reply(&c);
	ck_assert(json_object_object_get_ex(r, "return", NULL));
	json_object_put(r);
	r = cl_reply(&c);
	ck_assert(json_object_object_get_ex(r, "return", NULL));
	json_object_put(r);
	ck_assert_ptr_null(cl_read(&c, TIMEOUT_MS)); /* then closed */
	cl_close(&c);
	/* and a client that vanishes mid-request */
	cl_open(&c);
	cl_send(&c, "{\"execute\": \"query-num");
	cl_close(&c);
	cl_open(&c);
	cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

static void limits_setup(void)
{
	struct qmp_config cfg = {
		.max_clients = 4,
		.max_outbuf = 64 * 1024,
		.wmark_interval_ms = 10,
	};

	signal(SIGPIPE, SIG_IGN);
	vm_setup(&cfg);
}

START_TEST(test_too_many_clients)
{
	struct qmp_server_stats st;
	struct json_object *r, *e, *v;
	struct cl c[5];
	int i, ok = 0;

	for (i = 0; i < 4; i++)
		cl_open(&c[i]);
	ck_assert_int_eq(cl_connect_raw(&c[4]), 0);
	r = cl_read(&c[4], TIMEOUT_MS);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "desc", &v));
	ck_assert_ptr_nonnull(
		strstr(json_object_get_string(v), "too many clients"));
	json_object_put(r);
	ck_assert_ptr_null(cl_read(&c[4], TIMEOUT_MS));
	cl_close(&c[4]);
	/* the others still work; once one leaves, a new one is accepted */
	r = NULL;
	cl_exec(&c[0], "{\"execute\": \"query-numastat\"}", &r);
	json_object_put(r);
	cl_close(&c[3]);
	for (i = 0; i < 200 && !ok; i++) {
		qmp_server_get_stats(srv, &st);
		ok = st.clients == 3;
		if (!ok)
			usleep(10000);
	}
	ck_assert(ok);
	cl_open(&c[3]);
	qmp_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.refused, 1);
	ck_assert_uint_eq(st.clients, 4);
	for (i = 0; i < 4; i++)
		cl_close(&c[i]);
}
END_TEST

START_TEST(test_slow_client)
{
	static const char req[] = "{\"execute\": \"query-vcpus\"}\n";
	struct qmp_server_stats st;
	struct json_object *r;
	struct timespec t0, t1;
	struct cl slow, fast;
	int rcv = 4096, fl;
	bool gone = false;
	long sent = 0;

	cl_open(&slow);
	cl_open(&fast);
	setsockopt(slow.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	fl = fcntl(slow.fd, F_GETFL);
	fcntl(slow.fd, F_SETFL, fl | O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* flood requests, never read a reply */
	while (!gone) {
		ssize_t n = send(slow.fd, req, sizeof(req) - 1, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = slow.fd, .events = POLLOUT };

			poll(&p, 1, 20);
			/* the server thread keeps answering others meanwhile */
			r = NULL;
			cl_exec(&fast, "{\"execute\": \"query-numastat\"}", &r);
			json_object_put(r);
		} else if (n < 0) {
			gone = true; /* EPIPE / ECONNRESET: disconnected */
		} else {
			sent++;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ck_assert_msg(t1.tv_sec - t0.tv_sec < 20,
			      "slow client never dropped");
		if (!gone) {
			qmp_server_get_stats(srv, &st);
			gone = st.disconnected_slow > 0 && sent > 1000;
		}
	}
	qmp_server_get_stats(srv, &st);
	ck_assert_uint_ge(st.disconnected_slow, 1);
	cl_close(&slow);
	r = NULL;
	cl_exec(&fast, "{\"execute\": \"query-numastat\"}", &r);
	json_object_put(r);
	cl_close(&fast);
}
END_TEST

/* A reply larger than max_outbuf becomes an error reply, not a disconnect */
START_TEST(test_oversized_reply)
{
	struct json_object *r, *e, *v;
	struct cl c;

	place_alternating(GUEST_PAGES);
	cl_open(&c);
	cl_send(&c, "{\"execute\": \"query-placement\", \"arguments\": "
		    "{\"start\": 0, \"end\": 16777216}, \"id\": 7}\n");
	r = cl_reply(&c);
	ck_assert_msg(json_object_object_get_ex(r, "error", &e), "%s",
		      json_object_to_json_string(r));
	ck_assert(json_object_object_get_ex(e, "desc", &v));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "output limit"));
	ck_assert_uint_eq(u64(r, "id"), 7);
	json_object_put(r);
	r = NULL;
	cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

static void linger_setup(void)
{
	struct qmp_config cfg = { .linger_ms = 200 };

	signal(SIGPIPE, SIG_IGN);
	vm_setup(&cfg);
}

/* A client that half-closes and never reads what it asked for */
START_TEST(test_half_closed_never_reads)
{
	static const char req[] = "{\"execute\": \"query-vcpus\"}\n";
	struct qmp_server_stats st;
	struct cl c;
	int i, rcv = 4096;

	cl_open(&c);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* ~700 KiB of replies: more than the socket holds, less than max_outbuf */
	for (i = 0; i < 3000; i++)
		cl_send(&c, req);
	ck_assert_int_eq(shutdown(c.fd, SHUT_WR), 0);
	for (i = 0; i < TIMEOUT_MS / 10; i++) {
		qmp_server_get_stats(srv, &st);
		if (st.clients == 0)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.clients, 0);
	ck_assert_uint_eq(st.disconnected_slow, 1);
	ck_assert_uint_eq(st.requests,
			  3001); /* all read: not the outbuf limit */
	cl_close(&c);
}
END_TEST

static void deadline_setup(void)
{
	struct qmp_config cfg = { .negotiate_ms = 300, .stall_ms = 300 };

	signal(SIGPIPE, SIG_IGN);
	vm_setup(&cfg);
}

/* A connection that never negotiates is closed, a negotiated one is not */
START_TEST(test_negotiation_deadline)
{
	struct qmp_server_stats st;
	struct json_object *r, *e, *v;
	struct cl idle, ok;

	cl_open(&ok);
	ck_assert_int_eq(cl_connect_raw(&idle), 0);
	r = cl_read(&idle, TIMEOUT_MS);
	ck_assert(json_object_object_get_ex(r, "QMP", NULL));
	json_object_put(r);
	r = cl_read(&idle, TIMEOUT_MS);
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_object_get_ex(r, "error", &e));
	ck_assert(json_object_object_get_ex(e, "desc", &v));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "negotiation"));
	json_object_put(r);
	ck_assert_ptr_null(cl_read(&idle, TIMEOUT_MS)); /* closed */
	cl_close(&idle);
	r = NULL;
	cl_exec(&ok, "{\"execute\": \"query-numastat\"}", &r);
	json_object_put(r);
	qmp_server_get_stats(srv, &st);
	ck_assert_uint_eq(st.clients, 1);
	cl_close(&ok);
}
END_TEST

/* A client that stops reading with output queued is dropped */
START_TEST(test_stalled_reader)
{
	static const char req[] = "{\"execute\": \"query-vcpus\"}\n";
	struct qmp_server_stats st;
	struct cl c;
	int i, rcv = 4096;

	cl_open(&c);
	setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	/* ~700 KiB of replies: more than the socket holds, less than max_outbuf */
	for (i = 0; i < 3000; i++)
		cl_send(&c, req);
	for (i = 0; i < TIMEOUT_MS / 10; i++) {
		qmp_server_get_stats(srv, &st);
		if (st.clients == 0)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(st.clients, 0);
	ck_assert_uint_eq(st.disconnected_slow, 1);
	ck_assert_uint_eq(st.requests, 3001); /* not the outbuf limit */
	cl_close(&c);
}
END_TEST

/*
 * numavmctl against a server that closes the connection instead of
 * answering: exit status 2 (connection failure), not 1 (error reply).
 */
START_TEST(test_numavmctl_server_closes)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char out[1024], path[sizeof(sock)], buf[512];
	int lfd, fd, st;
	pid_t pid;

	find_ctl();
	snprintf(path, sizeof(path), "%s/fake.sock", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(lfd, 0);
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (!pid) {
		static const char greet[] =
			"{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n"
			"{\"return\": {}}\n";
		int i;

		/* twice: a command, then events; close after reading one line */
		for (i = 0; i < 2; i++) {
			fd = accept(lfd, NULL, NULL);
			if (fd < 0)
				_exit(1);
			int lines = i == 0 ? 2 : 1;
			ssize_t n;

			if (write(fd, greet, sizeof(greet) - 1) < 0)
				_exit(1);
			while (lines > 0 && (n = read(fd, buf, sizeof(buf))) > 0)
				lines -= (int)(memchr(buf, '\n', n) != NULL) +
					 (int)(n > 1 && memchr(buf, '\n', n) !=
						       memrchr(buf, '\n', n));
			close(fd);
		}
		_exit(0);
	}
	close(lfd);
	memcpy(buf, sock, sizeof(sock));
	memcpy(sock, path, sizeof(sock));
	st = run_ctl("numastat 2>/dev/null", out, sizeof(out));
	ck_assert_int_eq(run_ctl("events 2>/dev/null", out, sizeof(out)), 2);
	memcpy(sock, buf, sizeof(sock));
	ck_assert_int_eq(st, 2);
	waitpid(pid, &st, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
}
END_TEST

/*
 * accept() failing with EMFILE leaves the connection queued and the
 * listener readable: the server must back off rather than spin on it, and
 * accept the connection once fds are available again.
 */
START_TEST(test_accept_emfile)
{
	struct qmp_server_stats st;
	struct rlimit old, lim;
	struct json_object *r;
	struct cl c;

	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	c.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c.fd, 0);
	/* every fd below c.fd is in use (lowest first): no fd for accept */
	lim = old;
	lim.rlim_cur = (rlim_t)c.fd + 1;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	close(c.fd);
	ck_assert_int_eq(cl_connect_raw(&c), 0);
	usleep(500 * 1000);
	qmp_server_get_stats(srv, &st);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* one attempt per backoff period (100 ms), not thousands */
	ck_assert_uint_ge(st.accept_errors, 1);
	ck_assert_uint_le(st.accept_errors, 20);
	ck_assert_uint_eq(st.accepted, 0);
	r = cl_read(&c, TIMEOUT_MS); /* then the greeting comes */
	ck_assert_ptr_nonnull(r);
	ck_assert(json_object_object_get_ex(r, "QMP", NULL));
	json_object_put(r);
	cl_close(&c);
}
END_TEST

#ifndef CHECK_QMP_NO_FAULT_PATH
/* An OOM of the host context reports the host policy, not "default" */
START_TEST(test_oom_event_host_policy)
{
	struct fault_oom_event ev = { .vcpu = FAULT_HOST, .gpa = 0x5000,
				      .err = -ENOMEM };
	struct qmp_fault_backend fb;
	struct json_object *e, *d, *v;
	char err[128];
	struct cl c;

	ck_assert_int_eq(numa_set_vcpu_policy(nv, NUMA_HOST,
					      &(struct mpol_spec){
						      .mode = MPOL_BIND,
						      .nodes = 2 },
					      err, sizeof(err)),
			 0);
	qmp_fault_backend_init(&fb, nv, NULL);
	qmp_fault_set_server(&fb, srv);
	cl_open(&c);
	qmp_fault_on_oom(&fb, &ev);
	e = wait_event(&c, "OOM");
	ck_assert(json_object_object_get_ex(e, "data", &d));
	ck_assert_int_eq(json_object_get_int(
				 json_object_object_get(d, "vcpu")), -1);
	ck_assert(json_object_object_get_ex(d, "policy", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"mode\":\"bind\",\"nodes\":[1],\"flags\":[]}");
	json_object_put(e);
	qmp_fault_set_server(&fb, NULL);
	cl_close(&c);
}
END_TEST
#endif

/* ---- the socket file ---- */

START_TEST(test_socket_file)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct qmp_server *other = NULL;
	char err[256], path2[160];
	struct stat st;
	int fd, r;

	ck_assert_int_eq(stat(sock, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* a live socket is refused with a clear error */
	r = qmp_server_start(sock, &nb.be, NULL, &other, err, sizeof(err));
	ck_assert_int_eq(r, -EADDRINUSE);
	ck_assert_ptr_nonnull(strstr(err, "in use"));
	/* a stale one (nobody listening) is replaced */
	snprintf(path2, sizeof(path2), "%s/stale.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, path2);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	ck_assert_int_eq(access(path2, F_OK), 0);
	r = qmp_server_start(path2, &nb.be, NULL, &other, err, sizeof(err));
	ck_assert_msg(!r, "%s", err);
	ck_assert_int_eq(stat(path2, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	qmp_server_stop(other);
	ck_assert_int_eq(access(path2, F_OK), -1);
	/* a regular file is never removed */
	fd = open(path2, O_CREAT | O_WRONLY, 0644);
	close(fd);
	r = qmp_server_start(path2, &nb.be, NULL, &other, err, sizeof(err));
	ck_assert_int_eq(r, -EEXIST);
	ck_assert_int_eq(access(path2, F_OK), 0);
	unlink(path2);
}
END_TEST

/* ---- consistency under concurrent allocation ---- */

static volatile int stop_alloc;

static void *alloc_thread(void *arg)
{
	int vcpu = (int)(long)arg;
	struct numa_page pg;
	long n = 0;

	/* interleave, free right away: the counters keep moving */
	while (!stop_alloc) {
		if (!numa_alloc(nv, vcpu, 0, 0, 0, &pg)) {
			numa_free(nv, pg.node, pg.pfn, 0, vcpu);
			n++;
		}
	}
	return (void *)n;
}

START_TEST(test_consistent_snapshots)
{
	struct json_object *r, *ret, *z;
	struct buddy *b1 = numa_node_buddy(nv, 1);
	static pfn_t held[NODE_PAGES];
	unsigned int nheld = 0;
	pthread_t th[2];
	uint64_t prev = 0, total, allocs = 0, misses = 0;
	struct cl c;
	char err[128];
	int i, k;
	void *res;

	/*
	 * Node 1 nearly full (below its watermarks): vCPU 0 prefers node 1
	 * and vCPU 1 interleaves over both, so allocations keep missing to
	 * node 0 and the miss/foreign pairs are exercised.
	 */
	ck_assert_ptr_nonnull(b1);
	while (nheld < NODE_PAGES - 4 &&
	       !buddy_alloc(b1, 0, BUDDY_WMARK_NONE, BUDDY_NO_PCP, &held[nheld]))
		nheld++;
	ck_assert_uint_eq(nheld, NODE_PAGES - 4);
	for (k = 0; k < 2; k++)
		ck_assert_int_eq(
			numa_set_vcpu_policy(
				nv, k,
				&(struct mpol_spec){ .mode = k ? MPOL_INTERLEAVE
							       : MPOL_PREFERRED,
						     .nodes = k ? 3 : 2 },
				err, sizeof(err)),
			0);
	cl_open(&c);
	for (k = 0; k < 2; k++)
		pthread_create(&th[k], NULL, alloc_thread, (void *)(long)k);
	for (i = 0; i < 200; i++) {
		uint64_t hit = 0, miss = 0, foreign = 0, loc = 0, oth = 0;

		ret = cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
		for (k = 0; k < 2; k++) {
			struct json_object *n = idx(ret, k);

			hit += u64(n, "numa_hit");
			miss += u64(n, "numa_miss");
			foreign += u64(n, "numa_foreign");
			loc += u64(n, "local_node");
			oth += u64(n, "other_node");
			/* page usage: never beyond the node, never negative */
			ck_assert_uint_le(u64(n, "pages_used"), NODE_PAGES);
			ck_assert_uint_eq(u64(n, "pages_used") +
						  u64(n, "pages_free"),
					  NODE_PAGES);
			ck_assert_uint_ge(u64(n, "pages_used"),
					  k ? nheld : 0);
		}
		/* every allocation counted once on each side of each pair */
		ck_assert_uint_eq(miss, foreign);
		ck_assert_uint_eq(hit + miss, loc + oth);
		total = hit + miss;
		ck_assert_uint_ge(total, prev);
		prev = total;
		misses = miss;
		json_object_put(r);

		z = cl_exec(&c, "{\"execute\": \"query-zoneinfo\"}", &r);
		for (k = 0; k < 2; k++) {
			struct json_object *n = idx(z, k);

			ck_assert_uint_eq(u64(n, "managed"), NODE_PAGES);
			ck_assert_uint_le(u64(n, "free") + u64(n, "pcp"),
					  NODE_PAGES);
		}
		json_object_put(r);
	}
	stop_alloc = 1;
	for (k = 0; k < 2; k++) {
		pthread_join(th[k], &res);
		allocs += (uint64_t)(long)res;
	}
	ck_assert_uint_gt(misses, 0);
	while (nheld)
		ck_assert_int_eq(buddy_free(b1, held[--nheld], 0, BUDDY_NO_PCP), 0);
	/* no lost counts */
	ret = cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	ck_assert_uint_eq(u64(idx(ret, 0), "numa_hit") +
				  u64(idx(ret, 1), "numa_hit") +
				  u64(idx(ret, 0), "numa_miss") +
				  u64(idx(ret, 1), "numa_miss"),
			  allocs);
	ck_assert_uint_gt(u64(idx(ret, 0), "numa_miss"), 0);
	ck_assert_uint_eq(u64(idx(ret, 0), "numa_miss"),
			  u64(idx(ret, 1), "numa_foreign"));
	ck_assert_uint_eq(u64(idx(ret, 0), "pages_used") +
				  u64(idx(ret, 1), "pages_used"),
			  0);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

/* ---- numavmctl ---- */

static char ctl[PATH_MAX + 16];

static void find_ctl(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	slash = strrchr(exe, '/');
	*slash = 0;
	snprintf(ctl, sizeof(ctl), "%s/numavmctl", exe);
	ck_assert_msg(access(ctl, X_OK) == 0, "%s not built", ctl);
}

/* Run numavmctl with @args; its stdout in @out; returns the exit status */
static int run_ctl(const char *args, char *out, size_t len)
{
	char cmd[PATH_MAX + 512];
	size_t off = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s --socket %s %s", ctl, sock, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (off + 1 < len) {
		size_t n = fread(out + off, 1, len - 1 - off, p);

		if (!n)
			break;
		off += n;
	}
	out[off] = 0;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_numavmctl)
{
	char out[16384], line[256];
	struct numa_page pg;
	int i, cnt[2] = { 0, 0 };
	FILE *ev;

	find_ctl();
	ck_assert_int_eq(
		run_ctl("set-policy vcpu 0 interleave 0-1", out, sizeof(out)),
		0);
	for (i = 0; i < 10; i++) {
		ck_assert_int_eq(t_alloc(0, (gpa_t)i * PAGE_SIZE, &pg), 0);
		cnt[pg.node]++;
	}
	ck_assert_int_eq(cnt[0], 5);

	ck_assert_int_eq(run_ctl("numastat", out, sizeof(out)), 0);
	ck_assert_msg(
		strstr(out,
		       "                           node0           node1\n"
		       "numa_hit                       5               5\n"
		       "numa_miss                      0               0\n"
		       "numa_foreign                   0               0\n"
		       "interleave_hit                 5               5\n"
		       "local_node                     5               0\n"
		       "other_node                     0               5\n") ==
			out,
		"numastat output:\n%s", out);

	ck_assert_int_eq(run_ctl("buddyinfo", out, sizeof(out)), 0);
	ck_assert_msg(!strncmp(out, "Node 0, zone   Normal ", 22), "%s", out);
	ck_assert_ptr_nonnull(strstr(out, "\nNode 1, zone   Normal "));

	ck_assert_int_eq(run_ctl("zoneinfo", out, sizeof(out)), 0);
	snprintf(line, sizeof(line), "  pages free     %d\n", NODE_PAGES - 5);
	ck_assert_msg(strstr(out, "Node 0, zone   Normal\n") &&
			      strstr(out, line) &&
			      strstr(out, "        managed  1024\n"),
		      "%s", out);

	ck_assert_int_eq(run_ctl("vcpus", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "interleave:0-1"), "%s", out);

	ck_assert_int_eq(run_ctl("placement 0x0-0x3000", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "0x000000000000-0x000000001000  node0        "
				  "    1 pages\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "pages: node0=2 node1=1 unbacked=0"), "%s",
		      out);

	ck_assert_int_eq(run_ctl("set-policy range 0x100000-0x110000 bind 1",
				 out, sizeof(out)),
			 0);
	ck_assert_int_eq(t_alloc(0, 0x100000, &pg), 0);
	ck_assert_uint_eq(pg.node, 1);
	ck_assert_int_eq(
		run_ctl("placement 0x100000-0x102000", out, sizeof(out)), 0);
	ck_assert_msg(
		strstr(out, "range 0x000000100000-0x000000110000  bind:1"),
		"%s", out);

	/* refusals: exit status 1, nothing changed */
	ck_assert_int_eq(run_ctl("set-policy vcpu 0 bind 7 2>/dev/null", out,
				 sizeof(out)),
			 1);
	ck_assert_int_eq(run_ctl("set-policy vcpu 0 sideways 0 2>/dev/null",
				 out, sizeof(out)),
			 1);
	ck_assert_int_eq(run_ctl("nonsense 2>/dev/null", out, sizeof(out)), 2);
	/* bad option values are usage errors, not "unlimited" or ranges */
	ck_assert_int_eq(run_ctl("--count abc --watch 1 numastat 2>/dev/null",
				 out, sizeof(out)),
			 2);
	ck_assert_int_eq(run_ctl("--count 0 events 2>/dev/null", out,
				 sizeof(out)),
			 2);
	ck_assert_int_eq(run_ctl("--watch 1x numastat 2>/dev/null", out,
				 sizeof(out)),
			 2);
	ck_assert_int_eq(run_ctl("set-policy vcpu 1 weighted-interleave 0-1 "
				 "1-2 2>/dev/null",
				 out, sizeof(out)),
			 2);
	ck_assert_int_eq(run_ctl("set-policy vcpu 1 weighted-interleave 0-1 "
				 "3,1",
				 out, sizeof(out)),
			 0);
	ck_assert_int_eq(run_ctl("set-policy vcpu 1 local", out, sizeof(out)),
			 0);

	ck_assert_int_eq(run_ctl("--json numastat", out, sizeof(out)), 0);
	ck_assert_msg(
		!strncmp(out, "{\"return\":[{\"node\":0,\"numa_hit\":5,", 34),
		"%s", out);

	ck_assert_int_eq(
		run_ctl("--watch 0.05 --count 3 zoneinfo", out, sizeof(out)),
		0);
	{
		char *p = out;
		int n = 0;

		while ((p = strstr(p, "Node 1, zone"))) {
			n++;
			p++;
		}
		ck_assert_int_eq(n, 3);
	}

	ck_assert_int_eq(run_ctl("faults", out, sizeof(out)), 0);
	ck_assert_msg(strstr(out, "faults 0 "), "%s", out);

	/* events: follow, one OOM */
	{
		char cmd[PATH_MAX + 256];
		struct qmp_server_stats st;
		struct qmp_oom oom = { .vcpu = 0,
				       .gpa = 0x5000,
				       .nr_nodes = 2,
				       .policy = { .mode = MPOL_BIND,
						   .nodes = 1 } };

		snprintf(cmd, sizeof(cmd), "%s --socket %s --count 1 events",
			 ctl, sock);
		qmp_server_get_stats(srv, &st);
		ev = popen(cmd, "r");
		ck_assert_ptr_nonnull(ev);
		/* wait until it negotiated (two requests more than now) */
		for (i = 0; i < 500; i++) {
			struct qmp_server_stats s2;

			qmp_server_get_stats(srv, &s2);
			if (s2.requests > st.requests)
				break;
			usleep(10000);
		}
		qmp_event_oom(srv, &oom);
		ck_assert_ptr_nonnull(fgets(line, sizeof(line), ev));
		ck_assert_msg(strstr(line, "] OOM vcpu=0 gpa=0x5000 order=0 "
					   "policy=bind:0 free=0,0"),
			      "%s", line);
		ck_assert_int_eq(pclose(ev), 0);
	}
}
END_TEST

#ifndef CHECK_QMP_NO_FAULT_PATH
/* ---- the real fault path: host threads as vCPUs touching guest RAM ---- */

#define MiB (1UL << 20)
#define FP_GUEST (16 * MiB)

static struct pool fp_pools[2];
static struct fault_ctx *fp_ctx;
static struct qmp_fault_backend fp_fb;
static void *fp_map;
static char *fp_guest;

static void fp_setup(void)
{
	static const unsigned int mib[2] = { 8, 2 };
	struct qmp_config cfg = { .wmark_interval_ms = 10 };
	struct fault_opts opts = { .oom = FAULT_OOM_WAIT };
	void *bases[NUMA_MAX_NODES] = { 0 };
	struct numa_topology t;
	char err[256], name[32];
	unsigned int n;
	int r;

	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(topo_init(&t, 2, 2, err, sizeof(err)), 0);
	for (n = 0; n < 2; n++) {
		t.node_mem[n] = mib[n] * MiB;
		snprintf(name, sizeof(name), "check-qmp-node%u", n);
		r = pool_create(&fp_pools[n], name, mib[n] * MiB, 0, 0, err,
				sizeof(err));
		ck_assert_msg(!r, "pool_create: %s", err);
		bases[n] = fp_pools[n].base;
	}
	t.vcpu_node[1] = 1;
	nv = numa_vm_create(&t, bases, err, sizeof(err));
	ck_assert_msg(nv, "numa_vm_create: %s", err);

	fp_map = mmap(NULL, FP_GUEST + 2 * MiB, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ck_assert(fp_map != MAP_FAILED);
	fp_guest = (char *)(((uintptr_t)fp_map + 2 * MiB - 1) & ~(2 * MiB - 1));
	qmp_fault_backend_init(&fp_fb, nv, NULL);
	opts.on_oom = qmp_fault_on_oom;
	opts.cb_arg = &fp_fb;
	fp_ctx = fault_ctx_create(&fault_numa_ops, nv, fp_pools, 2, fp_guest,
				  FP_GUEST, &opts, err, sizeof(err));
	ck_assert_msg(fp_ctx, "fault_ctx_create: %s", err);
	fp_fb.ctx = fp_ctx;
	ck_assert_int_eq(fault_start(fp_ctx), 0);

	qmp_numa_backend_init(&nb, nv, &fp_fb.ops);
	strcpy(dir, "/tmp/check_qmp.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/qmp.sock", dir);
	r = qmp_server_start(sock, &nb.be, &cfg, &srv, err, sizeof(err));
	ck_assert_msg(!r, "qmp_server_start: %s", err);
	qmp_fault_set_server(&fp_fb, srv);
}

static void fp_teardown(void)
{
	qmp_fault_set_server(&fp_fb, NULL);
	fault_stop(fp_ctx);
	qmp_server_stop(srv);
	srv = NULL;
	rmdir(dir);
	fault_ctx_destroy(fp_ctx);
	munmap(fp_map, FP_GUEST + 2 * MiB);
	numa_vm_destroy(nv);
	pool_destroy(&fp_pools[0]);
	pool_destroy(&fp_pools[1]);
	nv = NULL;
}

struct fp_toucher {
	pthread_t th;
	int vcpu;
	size_t first, npages;
	volatile int done;
};

static void *fp_touch(void *arg)
{
	struct fp_toucher *t = arg;
	size_t i;

	if (fault_register_vcpu(fp_ctx, t->vcpu, gettid()))
		return NULL;
	for (i = 0; i < t->npages; i++)
		fp_guest[(t->first + i) * PAGE_SIZE] = 1;
	t->done = 1;
	return NULL;
}

static void fp_run(struct fp_toucher *t, int vcpu, size_t first, size_t npages)
{
	t->vcpu = vcpu;
	t->first = first;
	t->npages = npages;
	t->done = 0;
	ck_assert_int_eq(pthread_create(&t->th, NULL, fp_touch, t), 0);
}

static void fp_wait(struct fp_toucher *t)
{
	int i;

	for (i = 0; i < TIMEOUT_MS / 10 && !t->done; i++)
		usleep(10000);
	ck_assert_msg(t->done, "toucher stuck");
	pthread_join(t->th, NULL);
}

START_TEST(test_fault_path_queries)
{
	struct json_object *r, *ret, *v;
	struct fp_toucher t;
	struct cl c;

	cl_open(&c);
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"0,"
		" \"policy\": {\"mode\": \"interleave\", \"nodes\": [0, 1]}}}",
		&r);
	json_object_put(r);
	fp_run(&t, 0, 0, 64);
	fp_wait(&t);

	ret = cl_exec(&c, "{\"execute\": \"query-numastat\"}", &r);
	ck_assert_uint_eq(u64(idx(ret, 0), "interleave_hit"), 32);
	ck_assert_uint_eq(u64(idx(ret, 1), "interleave_hit"), 32);
	ck_assert_uint_eq(u64(idx(ret, 0), "local_node"), 32);
	ck_assert_uint_eq(u64(idx(ret, 1), "other_node"), 32);
	json_object_put(r);
	ret = cl_exec(&c,
		      "{\"execute\": \"query-placement\", \"arguments\": "
		      "{\"start\": 0,"
		      " \"end\": 262144}}",
		      &r);
	ck_assert(json_object_object_get_ex(ret, "pages", &v));
	ck_assert_uint_eq(u64(v, "0"), 32);
	ck_assert_uint_eq(u64(v, "1"), 32);
	ck_assert_uint_eq(u64(ret, "unbacked"), 0);
	ck_assert(json_object_object_get_ex(ret, "runs", &v));
	ck_assert_uint_eq(json_object_array_length(v), 64); /* alternating */
	json_object_put(r);
	ret = cl_exec(&c, "{\"execute\": \"query-faults\"}", &r);
	ck_assert_uint_eq(u64(ret, "count"), 64);
	ck_assert_uint_gt(u64(ret, "p50-ns"), 0);
	ck_assert_uint_ge(u64(ret, "p99-ns"), u64(ret, "p50-ns"));
	ck_assert_uint_ge(u64(ret, "max-ns"), u64(ret, "p99-ns"));
	json_object_put(r);
	ret = cl_exec(&c, "{\"execute\": \"query-vcpus\"}", &r);
	ck_assert_uint_eq(u64(idx(ret, 0), "faults"), 64);
	json_object_put(r);

	/* policy changed at run time: the next faults follow it */
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"0,"
		" \"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
		&r);
	json_object_put(r);
	fp_run(&t, 0, 64, 16);
	fp_wait(&t);
	ret = cl_exec(&c,
		      "{\"execute\": \"query-placement\", \"arguments\": "
		      "{\"start\": 262144,"
		      " \"end\": 327680}}",
		      &r);
	ck_assert(json_object_object_get_ex(ret, "runs", &v));
	ck_assert_uint_eq(json_object_array_length(v), 1);
	ck_assert_uint_eq(u64(idx(v, 0), "node"), 1);
	json_object_put(r);
	cl_close(&c);
}
END_TEST

START_TEST(test_fault_path_oom)
{
	struct json_object *r, *ev, *d, *v;
	struct fp_toucher t;
	bool low = false, min = false;
	struct cl c;

	cl_open(&c);
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"1,"
		" \"policy\": {\"mode\": \"bind\", \"nodes\": [1]}}}",
		&r);
	json_object_put(r);
	/* node 1 has 512 pages: the bound vCPU runs out and parks */
	fp_run(&t, 1, 0, 600);
	for (;;) {
		ev = cl_event(&c, TIMEOUT_MS);
		ck_assert_msg(ev, "no OOM event");
		ck_assert(json_object_object_get_ex(ev, "event", &v));
		ck_assert(json_object_object_get_ex(ev, "data", &d));
		if (!strcmp(json_object_get_string(v), "WATERMARK")) {
			ck_assert_uint_eq(u64(d, "node"), 1);
			ck_assert(
				json_object_object_get_ex(d, "watermark", &v));
			low |= !strcmp(json_object_get_string(v), "low");
			min |= !strcmp(json_object_get_string(v), "min");
			json_object_put(ev);
			continue;
		}
		ck_assert_str_eq(json_object_get_string(v), "OOM");
		break;
	}
	ck_assert_int_eq(u64(d, "vcpu"), 1);
	ck_assert_uint_lt(u64(d, "gpa"), 600 * PAGE_SIZE);
	ck_assert(json_object_object_get_ex(d, "policy", &v));
	ck_assert_str_eq(
		json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
		"{\"mode\":\"bind\",\"nodes\":[1],\"flags\":[]}");
	json_object_put(ev);
	ck_assert(!t.done);
	ck_assert_uint_ge(fault_nr_parked(fp_ctx), 1);

	/* widen the policy from the socket: the parked fault is retried */
	cl_exec(&c,
		"{\"execute\": \"set-vcpu-policy\", \"arguments\": {\"vcpu\": "
		"1,"
		" \"policy\": {\"mode\": \"preferred\", \"nodes\": [1]}}}",
		&r);
	json_object_put(r);
	fp_wait(&t);
	/* the crossings were seen too (possibly after the OOM) */
	while (!low || !min) {
		ev = wait_event(&c, "WATERMARK");
		ck_assert(json_object_object_get_ex(ev, "data", &d));
		ck_assert(json_object_object_get_ex(d, "watermark", &v));
		low |= !strcmp(json_object_get_string(v), "low");
		min |= !strcmp(json_object_get_string(v), "min");
		json_object_put(ev);
	}
	cl_close(&c);
}
END_TEST
#endif /* CHECK_QMP_NO_FAULT_PATH */

static Suite *qmp_suite(void)
{
	Suite *s = suite_create("qmp");
	TCase *tc = tcase_create("protocol");
	TCase *tl = tcase_create("limits");
	TCase *tf = NULL;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_negotiation_and_ids);
	tcase_add_test(tc, test_numastat_interleave);
	tcase_add_test(tc, test_set_vcpu_policy_runtime);
	tcase_add_test(tc, test_range_policy_and_placement);
	tcase_add_test(tc, test_placement_truncated);
	tcase_add_test(tc, test_range_policy_bounds);
	tcase_add_test(tc, test_buddyinfo_zoneinfo);
	tcase_add_test(tc, test_query_faults);
	tcase_add_test(tc, test_quit);
	tcase_add_test(tc, test_events_oom_watermark);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_framing);
	tcase_add_test(tc, test_oversized_request);
	tcase_add_test(tc, test_half_closed);
	tcase_add_test(tc, test_socket_file);
	tcase_add_test(tc, test_consistent_snapshots);
	tcase_add_test(tc, test_numavmctl);
	tcase_add_test(tc, test_numavmctl_server_closes);
	tcase_add_test(tc, test_accept_emfile);
#ifndef CHECK_QMP_NO_FAULT_PATH
	tcase_add_test(tc, test_oom_event_host_policy);
#endif
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(tl, limits_setup, teardown);
	tcase_set_timeout(tl, 60);
	tcase_add_test(tl, test_too_many_clients);
	tcase_add_test(tl, test_slow_client);
	tcase_add_test(tl, test_oversized_reply);
	suite_add_tcase(s, tl);

	tl = tcase_create("linger");
	tcase_add_checked_fixture(tl, linger_setup, teardown);
	tcase_set_timeout(tl, 60);
	tcase_add_test(tl, test_half_closed_never_reads);
	suite_add_tcase(s, tl);

	tl = tcase_create("deadlines");
	tcase_add_checked_fixture(tl, deadline_setup, teardown);
	tcase_set_timeout(tl, 60);
	tcase_add_test(tl, test_negotiation_deadline);
	tcase_add_test(tl, test_stalled_reader);
	suite_add_tcase(s, tl);

#ifndef CHECK_QMP_NO_FAULT_PATH
	tf = tcase_create("faultpath");
	tcase_add_checked_fixture(tf, fp_setup, fp_teardown);
	tcase_set_timeout(tf, 60);
	tcase_add_test(tf, test_fault_path_queries);
	tcase_add_test(tf, test_fault_path_oom);
	suite_add_tcase(s, tf);
#else
	(void)tf;
#endif
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(qmp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

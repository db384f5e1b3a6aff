/*
 * libFuzzer harness of the control socket's request path: the input is
 * split into reads at fuzzer-chosen points and fed through the incremental
 * reader (vmm/qmp.c), every value it yields is executed by qmp_dispatch()
 * against a real numa_vm (2 nodes, 2 vCPUs) with a stub fault path, and
 * every reply is serialised, as the server would.  Finds crashes, leaks,
 * undefined behaviour and hangs in the framing, the envelope and argument
 * checks, the policy conversion and the engine's setters.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "numa/numa.h"
#include "vmm/qmp.h"
#include "vmm/qmp_cmds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct numa_vm *nv;
static struct qmp_numa_backend nb;

static int f_node_of(void *opaque, gpa_t gpa)
{
	if (gpa >= (64ULL << 20))
		return -EINVAL;
	return (gpa >> 16) % 3 == 2 ? -ENOENT : (int)((gpa >> 16) % 3);
}

static int f_faults(void *opaque, struct qmp_faults *out)
{
	memset(out, 0, sizeof(*out));
	out->count = 3;
	out->bucket[5] = 2;
	out->bucket[QMP_LAT_BUCKETS - 1] = 1;
	out->max_ns = 1ULL << 40;
	qmp_faults_fill_percentiles(out);
	return 0;
}

static const struct qmp_fault_ops f_ops = {
	.node_of = f_node_of,
	.faults = f_faults,
};

struct fuzz_client {
	bool negotiated;
	unsigned int replies;
};

static int on_value(void *arg, enum qmp_read_status st, struct json_object *obj,
		    const char *desc)
{
	struct fuzz_client *c = arg;
	struct json_object *reply;

	if (st == QMP_READ_OBJECT) {
		reply = qmp_dispatch(&nb.be, obj, &c->negotiated);
		json_object_put(obj);
	} else {
		reply = qmp_error_reply("GenericError", "%s", desc);
	}
	if (reply)
		(void)json_object_to_json_string_ext(reply,
						     JSON_C_TO_STRING_PLAIN);
	json_object_put(reply);
	c->replies++;
	return st == QMP_READ_TOO_BIG;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct numa_topology t;
	char err[128];

	if (topo_init(&t, 2, 2, err, sizeof(err)))
		abort();
	t.node_mem[0] = t.node_mem[1] = 256 * PAGE_SIZE;
	t.vcpu_node[1] = 1;
	nv = numa_vm_create(&t, NULL, err, sizeof(err));
	if (!nv)
		abort();
	qmp_numa_backend_init(&nb, nv, &f_ops);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_client c = { 0 };
	struct qmp_reader *r;
	size_t off = 0, step;

	if (size < 2)
		return 0;
	/* byte 0: negotiated already?  byte 1: read size; small limit */
	c.negotiated = data[0] & 1;
	step = (data[1] % 64) + 1;
	r = qmp_reader_create(4096);
	if (!r)
		return 0;
	data += 2;
	size -= 2;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;

		if (qmp_reader_feed(r, (const char *)data + off, n, on_value,
				    &c))
			break;
		off += n;
	}
	qmp_reader_destroy(r);
	return 0;
}

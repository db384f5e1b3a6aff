/*
 * Hypercall dispatch and the built-in calls.  Validation order for every
 * call: the block itself (8-byte aligned, wholly in one RAM region; if not,
 * nothing can be written back and the call is dropped and counted), then
 * the number (NV_ENOSYS when unknown or not implemented), then unused
 * arguments (must be zero: NV_EINVAL, so that later ABI versions can give
 * them a meaning), then the handler's own checks.  The handler's result
 * is the only thing written into the block (its ret field).
 */
#include "vmm/hypercall.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

static int32_t hc_abi_version(struct hypercall *hc, void *opaque,
			      struct hypercall_ctx *ctx)
{
	return NV_ABI_VERSION;
}

static int32_t hc_topology(struct hypercall *hc, void *opaque,
			   struct hypercall_ctx *ctx)
{
	const struct numa_topology *t = hc->topo;
	uint64_t gpa = ctx->call.args[0], len = ctx->call.args[1];
	struct nv_topology out;
	uint64_t offset = 0;
	unsigned int i;
	int32_t ret;

	if (len < sizeof(out))
		return NV_EINVAL;
	ret = hypercall_check_buf(hc, gpa, len, 8);
	if (ret)
		return ret;
	if (ctx->vcpu >= t->nr_vcpus)
		return NV_EINVAL;

	memset(&out, 0, sizeof(out));
	out.abi_version = NV_ABI_VERSION;
	out.nr_nodes = t->nr_nodes;
	out.nr_vcpus = t->nr_vcpus;
	out.this_vcpu = ctx->vcpu;
	out.home_node = t->vcpu_node[ctx->vcpu];
	for (i = 0; i < t->nr_nodes && i < NV_MAX_NODES; i++) {
		out.node_mem[i] = t->node_mem[i];
		out.node_base[i] = offset < hc->ram->size ?
			guest_ram_offset_to_gpa(hc->ram, offset) : 0;
		offset += t->node_mem[i];
	}
	memcpy(out.distance, t->distance, sizeof(out.distance));
	for (i = 0; i < t->nr_vcpus && i < NV_MAX_VCPUS; i++)
		out.vcpu_node[i] = t->vcpu_node[i];

	if (guest_ram_write(hc->ram, gpa, &out, sizeof(out)))
		return NV_EFAULT;
	return 0;
}

static int32_t hc_exit(struct hypercall *hc, void *opaque,
		       struct hypercall_ctx *ctx)
{
	if (ctx->call.args[0] > 127)
		return NV_EINVAL;
	ctx->exit = true;
	ctx->exit_status = (int)ctx->call.args[0];
	return 0;
}

void hypercall_init(struct hypercall *hc, const struct guest_ram *ram,
		    const struct numa_topology *topo)
{
	static const char *const names[NV_HC_MAX] = {
		[NV_HC_ABI_VERSION] = "abi_version",
		[NV_HC_TOPOLOGY] = "topology",
		[NV_HC_EXIT] = "exit",
		[NV_HC_SET_POLICY] = "set_policy",
		[NV_HC_MBIND] = "mbind",
		[NV_HC_GET_NODE] = "get_node",
		[NV_HC_FREE_RANGE] = "free_range",
	};
	unsigned int i;

	memset(hc, 0, sizeof(*hc));
	hc->ram = ram;
	hc->topo = topo;
	for (i = 0; i < NV_HC_MAX; i++) {
		hc->ops[i].name = names[i];
		atomic_init(&hc->calls[i], 0);
	}
	atomic_init(&hc->unknown, 0);
	atomic_init(&hc->errors, 0);
	atomic_init(&hc->bad_blocks, 0);

	hc->ops[NV_HC_ABI_VERSION].fn = hc_abi_version;
	hc->ops[NV_HC_TOPOLOGY].nr_args = 2;
	hc->ops[NV_HC_TOPOLOGY].fn = hc_topology;
	hc->ops[NV_HC_EXIT].nr_args = 1;
	hc->ops[NV_HC_EXIT].fn = hc_exit;
}

int hypercall_set_handler(struct hypercall *hc, unsigned int nr,
			  const char *name, unsigned int nr_args,
			  hypercall_fn fn, void *opaque)
{
	if (nr >= NV_HC_MAX || nr_args > ARRAY_SIZE(((struct nv_hcall *)0)->args))
		return -EINVAL;
	hc->ops[nr] = (struct hypercall_op){
		.name = name, .nr_args = nr_args, .fn = fn, .opaque = opaque };
	return 0;
}

int32_t hypercall_check_buf(const struct hypercall *hc, uint64_t gpa,
			    uint64_t len, uint64_t align)
{
	if (align && gpa % align)
		return NV_EINVAL;
	if (len == 0 || gpa + len < gpa)
		return NV_EFAULT;
	if (!guest_ram_contains(hc->ram, gpa, len))
		return NV_EFAULT;
	return 0;
}

enum hypercall_result hypercall_dispatch(struct hypercall *hc,
					 unsigned int vcpu, gpa_t gpa,
					 int *exit_status)
{
	struct hypercall_ctx ctx = { .vcpu = vcpu, .gpa = gpa };
	const struct hypercall_op *op;
	int32_t ret;
	unsigned int i;

	if (gpa % 8 || guest_ram_read(hc->ram, gpa, &ctx.call, sizeof(ctx.call))) {
		atomic_fetch_add_explicit(&hc->bad_blocks, 1,
					  memory_order_relaxed);
		return HYPERCALL_BAD_BLOCK;
	}

	if (ctx.call.nr >= NV_HC_MAX) {
		atomic_fetch_add_explicit(&hc->unknown, 1, memory_order_relaxed);
		ret = NV_ENOSYS;
		goto out;
	}
	atomic_fetch_add_explicit(&hc->calls[ctx.call.nr], 1,
				  memory_order_relaxed);
	op = &hc->ops[ctx.call.nr];
	if (!op->fn) {
		ret = NV_ENOSYS;
		goto out;
	}
	for (i = op->nr_args; i < ARRAY_SIZE(ctx.call.args); i++) {
		if (ctx.call.args[i]) {
			ret = NV_EINVAL;
			goto out;
		}
	}
	ret = op->fn(hc, op->opaque, &ctx);
out:
	if (ret < 0)
		atomic_fetch_add_explicit(&hc->errors, 1, memory_order_relaxed);
	/* the block was in RAM a moment ago and RAM does not move */
	if (guest_ram_write(hc->ram, gpa + offsetof(struct nv_hcall, ret), &ret,
			    sizeof(ret)))
		return HYPERCALL_BAD_BLOCK;
	if (ctx.exit) {
		*exit_status = ctx.exit_status;
		return HYPERCALL_EXIT;
	}
	return HYPERCALL_DONE;
}

int hypercall_ioport(void *opaque, unsigned int vcpu, uint16_t port,
		     bool is_write, unsigned int size, uint32_t *val)
{
	struct hypercall_port *p = opaque;
	int status;

	/* reads return all ones (preset by the dispatcher), as under QEMU */
	if (!is_write || size != 4) {
		atomic_fetch_add_explicit(&p->bad_accesses, 1,
					  memory_order_relaxed);
		return 0;
	}
	if (hypercall_dispatch(p->hc, vcpu, *val, &status) == HYPERCALL_EXIT &&
	    p->exit)
		return p->exit(p->opaque, vcpu, status);
	return 0;
}

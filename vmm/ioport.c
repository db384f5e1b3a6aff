/*
 * The port I/O table.  A linear scan of at most IOPORT_MAX_HANDLERS ranges
 * is cheaper than anything cleverer at this size, and the table never
 * changes once vCPUs run.
 */
#include "vmm/ioport.h"

#include <errno.h>
#include <string.h>

#include "vmm/log.h"

void ioport_table_init(struct ioport_table *t)
{
	unsigned int i;

	t->nr = 0;
	memset(t->h, 0, sizeof(t->h));
	atomic_init(&t->unknown_accesses, 0);
	for (i = 0; i < ARRAY_SIZE(t->unknown_seen); i++)
		atomic_init(&t->unknown_seen[i], 0);
}

int ioport_register(struct ioport_table *t, uint16_t base, uint32_t len,
		    const char *name, ioport_fn fn, void *opaque)
{
	unsigned int i;

	if (!len || !fn || (uint32_t)base + len > IOPORT_NR_PORTS)
		return -EINVAL;
	for (i = 0; i < t->nr; i++) {
		const struct ioport_handler *h = &t->h[i];

		if (base < h->base + h->len && h->base < base + len)
			return -EBUSY;
	}
	if (t->nr == IOPORT_MAX_HANDLERS)
		return -ENOSPC;
	t->h[t->nr++] = (struct ioport_handler){
		.base = base, .len = len, .name = name, .fn = fn,
		.opaque = opaque };
	return 0;
}

const struct ioport_handler *ioport_find(const struct ioport_table *t,
					 uint16_t port)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (port >= t->h[i].base &&
		    (uint32_t)(port - t->h[i].base) < t->h[i].len)
			return &t->h[i];
	return NULL;
}

int ioport_dispatch(struct ioport_table *t, unsigned int vcpu, uint16_t port,
		    bool is_write, unsigned int size, uint32_t *val)
{
	const struct ioport_handler *h = ioport_find(t, port);
	unsigned long bit, old;

	if (!is_write)
		*val = size >= 4 ? 0xffffffffU : (1U << (size * 8)) - 1;
	if (likely(h))
		return h->fn(h->opaque, vcpu, port, is_write, size, val);

	atomic_fetch_add_explicit(&t->unknown_accesses, 1,
				  memory_order_relaxed);
	bit = 1UL << (port % 64);
	old = atomic_fetch_or_explicit(&t->unknown_seen[port / 64], bit,
				       memory_order_relaxed);
	if (!(old & bit))
		pr_warning("vcpu %u: %s of %u bytes at unknown I/O port 0x%x (reads return all ones, writes are ignored; reported once)",
			   vcpu, is_write ? "write" : "read", size, port);
	return 0;
}

/*
 * Port I/O dispatch: a small table of port ranges, each with a handler,
 * filled at setup and read-only while vCPUs run (no lock on the exit path).
 * An access to a port nobody registered is reported once per port; reads
 * from it return all ones and writes are dropped, as on a PC bus.
 */
#ifndef NUMAVM_VMM_IOPORT_H
#define NUMAVM_VMM_IOPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"

#define IOPORT_MAX_HANDLERS	16
#define IOPORT_NR_PORTS		65536

/*
 * A port handler.  @port is the absolute port, @size 1, 2 or 4; for a read
 * the handler stores the value in *@val (pre-set to all ones), for a write
 * *@val holds it.  Called concurrently from any vCPU thread: handlers lock
 * their own state.  Returns 0, or non-zero to make the calling vCPU stop
 * (the handler has then recorded why, e.g. via vm_request_stop()).
 */
typedef int (*ioport_fn)(void *opaque, unsigned int vcpu, uint16_t port,
			 bool is_write, unsigned int size, uint32_t *val);

struct ioport_handler {
	uint16_t base;
	uint32_t len;
	const char *name;
	ioport_fn fn;
	void *opaque;
};

struct ioport_table {
	unsigned int nr;
	struct ioport_handler h[IOPORT_MAX_HANDLERS];
	atomic_ulong unknown_accesses;			/* every access */
	atomic_ulong unknown_seen[IOPORT_NR_PORTS / 64];	/* logged once */
};

void ioport_table_init(struct ioport_table *t);

/*
 * ioport_register - route ports [base, base + len) to @fn.  Not while
 * vCPUs run.  Returns 0, -EINVAL (len 0 or past port 0xffff), -EBUSY (overlap
 * with a registered range) or -ENOSPC (table full).
 */
int ioport_register(struct ioport_table *t, uint16_t base, uint32_t len,
		    const char *name, ioport_fn fn, void *opaque) __must_check;

/* The handler owning @port, or NULL. */
const struct ioport_handler *ioport_find(const struct ioport_table *t,
					 uint16_t port);

/*
 * ioport_dispatch - one access of @size bytes (1, 2 or 4) by @vcpu.
 * Returns the handler's result (0 for unknown ports).
 */
int ioport_dispatch(struct ioport_table *t, unsigned int vcpu, uint16_t port,
		    bool is_write, unsigned int size, uint32_t *val);

/* isa-debug-exit: the process exit status for value @v written to it. */
static inline int ioport_debug_exit_status(uint32_t v)
{
	return (int)(((v << 1) | 1) & 0xff);
}

#endif /* NUMAVM_VMM_IOPORT_H */

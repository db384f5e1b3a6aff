/*
 * userfaultfd mechanics for the fault path: open a userfaultfd with the
 * features numavm needs (THREAD_ID always, MOVE when the kernel has it),
 * register guest RAM in MISSING mode, read fault messages and resolve them.
 * The resolve helpers return 0, -EAGAIN (the range changed under us: retry
 * later), -EEXIST (someone else already resolved it: a benign race the
 * caller counts) or another -errno (a real failure: the caller stops the VM
 * loudly).  Nothing here allocates, logs or knows about nodes or policies.
 */
#ifndef NUMAVM_VMM_UFFD_H
#define NUMAVM_VMM_UFFD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "vmm/compat_uffd.h"

struct uffd {
	int fd;
	uint64_t features;	/* granted by UFFDIO_API */
	bool has_move;		/* UFFDIO_MOVE usable */
};

/*
 * uffd_open - open a non-blocking, close-on-exec userfaultfd (through
 * /dev/userfaultfd, falling back to the userfaultfd syscall) and negotiate
 * UFFD_FEATURE_THREAD_ID, plus UFFD_FEATURE_MOVE if @want_move and the
 * kernel offers it.  Returns 0 or -errno (-ENOTSUP if THREAD_ID is missing).
 */
int uffd_open(struct uffd *u, bool want_move) __must_check;
void uffd_close(struct uffd *u);

/* Register / unregister [addr, addr + len) in MISSING mode.  0 or -errno. */
int uffd_register(struct uffd *u, void *addr, size_t len) __must_check;
int uffd_unregister(struct uffd *u, void *addr, size_t len);

/*
 * uffd_read - read up to @max pending fault messages.  Returns how many
 * (>= 0; 0 when none is pending) or -errno.  Non-pagefault events are
 * returned too: the caller checks msg.event.
 */
int uffd_read(struct uffd *u, struct uffd_msg *msgs, int max);

/* Wake the threads waiting on [addr, addr + len). */
int uffd_wake(struct uffd *u, void *addr, size_t len);

/*
 * Resolve helpers; @wake false leaves the waiters asleep (the caller wakes a
 * larger range once).  Partial progress interrupted by EAGAIN is resumed
 * internally (bounded), so they return 0 (all of @len done), -EEXIST (part
 * already present: a race), -ENOENT (MOVE: a hole in @src), -EAGAIN (still
 * contended after many retries) or another -errno; *done (may be NULL) gets
 * the bytes done before the error, from the start of the range.
 *  uffd_copy:     UFFDIO_COPY, the kernel allocates the page and copies @src
 *  uffd_zeropage: UFFDIO_ZEROPAGE, the shared zero page until written
 *  uffd_move:     UFFDIO_MOVE, the very page at @src (anonymous) moves
 */
int uffd_copy(struct uffd *u, void *dst, const void *src, size_t len,
	      bool wake, size_t *done);
int uffd_zeropage(struct uffd *u, void *dst, size_t len, bool wake);
int uffd_move(struct uffd *u, void *dst, void *src, size_t len, bool wake,
	      size_t *done);

/*
 * uffd_map_fd - place [off, off + len) of the shared file @fd (a node pool
 * memfd) at @dst with MAP_FIXED|MAP_SHARED, read-write; @populate prefaults
 * the pages (MAP_POPULATE) so the woken thread does not trap again.  The
 * new mapping replaces the registered one for that range (it is no longer
 * registered: it is backed).  Does not wake.  0 or -errno.
 */
int uffd_map_fd(void *dst, size_t len, int fd, off_t off, bool populate);

/*
 * uffd_unmap_to_missing - make [dst, dst + len) unbacked again: a fresh
 * private anonymous mapping (read-write, MADV_HUGEPAGE if @thp) registered
 * with @u in MISSING mode, so the next touch faults to the handler.  A
 * concurrent touch never faults fatally nor sees the old data: until the
 * range is registered it gets a host zero page, dropped (MADV_DONTNEED)
 * before return.  0 or -errno; on failure the range is in an unknown
 * state (unmapped, or mapped but not registered).
 */
int uffd_unmap_to_missing(struct uffd *u, void *dst, size_t len, bool thp);

#endif /* NUMAVM_VMM_UFFD_H */

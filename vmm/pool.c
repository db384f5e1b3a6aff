/*
 * Per-node host memory pools (see pool.h): memfd or anonymous memory, bound
 * to host nodes with mbind(), lazily or eagerly populated.  Only this file
 * talks to the host's NUMA policy syscalls (libnuma's <numaif.h>), which
 * is why it never includes numa/ (whose MPOL_* names are the guest's).
 */
#include "vmm/pool.h"

#include <errno.h>
#include <fcntl.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE	23
#endif

#define POOL_MAXNODE	(sizeof(unsigned long) * 8)

int pool_create(struct pool *p, const char *name, size_t size,
		uint64_t host_nodes, unsigned int flags, char *err, size_t len)
{
	unsigned long mask = (unsigned long)host_nodes;
	int ret;

	memset(p, 0, sizeof(*p));
	p->fd = -1;
	p->base = MAP_FAILED;
	if (!size || size & (PAGE_SIZE - 1)) {
		snprintf(err, len, "pool %s: size %zu is not a positive multiple of %lu",
			 name, size, PAGE_SIZE);
		return -EINVAL;
	}
	p->size = size;
	p->host_nodes = host_nodes;
	p->flags = flags;

	if (flags & POOL_ANON) {
		p->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	} else {
		p->fd = memfd_create(name, MFD_CLOEXEC);
		if (p->fd < 0) {
			ret = -errno;
			snprintf(err, len, "pool %s: memfd_create: %s", name,
				 strerror(-ret));
			return ret;
		}
		if (ftruncate(p->fd, (off_t)size) < 0) {
			ret = -errno;
			snprintf(err, len, "pool %s: ftruncate(%zu): %s", name,
				 size, strerror(-ret));
			goto err_fd;
		}
		p->base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			       p->fd, 0);
	}
	if (p->base == MAP_FAILED) {
		ret = -errno;
		snprintf(err, len, "pool %s: mmap(%zu): %s", name, size,
			 strerror(-ret));
		goto err_fd;
	}

	/* Bind before any page exists, so every page obeys it */
	if (host_nodes) {
		if (mbind(p->base, size, MPOL_BIND, &mask, POOL_MAXNODE + 1, 0) < 0) {
			ret = -errno;
			snprintf(err, len, "pool %s: mbind to host nodes 0x%llx: %s",
				 name, (unsigned long long)host_nodes,
				 strerror(-ret));
			goto err_map;
		}
	}
	if (flags & POOL_THP)
		madvise(p->base, size, MADV_HUGEPAGE);	/* a hint */
	if (flags & POOL_PREALLOC) {
		if (madvise(p->base, size, MADV_POPULATE_WRITE) < 0) {
			ret = -errno;
			if (ret == -EFAULT || ret == -EIO)
				ret = -ENOMEM;
			snprintf(err, len, "pool %s: prealloc of %zu bytes: %s",
				 name, size, strerror(-ret));
			goto err_map;
		}
	}
	return 0;

err_map:
	munmap(p->base, size);
	p->base = MAP_FAILED;
err_fd:
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	return ret;
}

void pool_destroy(struct pool *p)
{
	if (p->base && p->base != MAP_FAILED)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd);
	p->base = MAP_FAILED;
	p->fd = -1;
}

int pool_get_binding(const struct pool *p, int *mode, uint64_t *nodes)
{
	unsigned long mask = 0;

	if (get_mempolicy(mode, &mask, POOL_MAXNODE + 1, p->base,
			  MPOL_F_ADDR) < 0)
		return -errno;
	*nodes = mask;
	return 0;
}

int pool_host_node(const struct pool *p, pfn_t pfn)
{
	void *addr = pool_frame_addr(p, pfn);
	int status = -ENOENT;

	if (move_pages(0, 1, &addr, NULL, &status, 0) < 0)
		return -errno;
	return status;
}

int pool_zero(struct pool *p, pfn_t pfn, unsigned long nr)
{
	size_t len = nr << PAGE_SHIFT;

	if ((pfn + nr) << PAGE_SHIFT > p->size)
		return -EINVAL;
	if (p->fd >= 0 && !(p->flags & POOL_PREALLOC)) {
		if (fallocate(p->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      pool_frame_off(pfn), (off_t)len) < 0)
			return -errno;
		return 0;
	}
	memset(pool_frame_addr(p, pfn), 0, len);
	return 0;
}

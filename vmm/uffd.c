/*
 * userfaultfd mechanics: opening and negotiating the API, registering guest
 * RAM, reading fault messages and the resolve primitives (copy, zero page,
 * move, map-a-file-range, back-to-missing).  Error convention of the
 * resolve helpers (as Firecracker's handlers): -EAGAIN means the address
 * space changed while the ioctl ran and the fault must be retried, -EEXIST
 * means the page is already there (a race another thread won), anything
 * else is a real failure for the caller to report.
 */
#include "vmm/uffd.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int uffd_open_fd(void)
{
	int dev, fd;

	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	/* No device (or no permission): the syscall, which may need privilege */
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

int uffd_open(struct uffd *u, bool want_move)
{
	struct uffdio_api api;
	uint64_t probe_features;
	int fd, ret;

	memset(u, 0, sizeof(*u));
	u->fd = -1;

	/* First ask what the kernel has (features = 0 returns them all) */
	fd = uffd_open_fd();
	if (fd < 0)
		return fd;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	probe_features = api.features;
	close(fd);
	if (!(probe_features & UFFD_FEATURE_THREAD_ID))
		return -ENOTSUP;

	/* The API handshake can only be done once per fd: open the real one */
	fd = uffd_open_fd();
	if (fd < 0)
		return fd;
	memset(&api, 0, sizeof(api));
	api.api = UFFD_API;
	api.features = UFFD_FEATURE_THREAD_ID;
	if (want_move && (probe_features & UFFD_FEATURE_MOVE))
		api.features |= UFFD_FEATURE_MOVE;
	if (ioctl(fd, UFFDIO_API, &api) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	u->fd = fd;
	u->features = api.features;
	u->has_move = !!(api.features & UFFD_FEATURE_MOVE);
	return 0;
}

void uffd_close(struct uffd *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

int uffd_register(struct uffd *u, void *addr, size_t len)
{
	struct uffdio_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)addr;
	reg.range.len = len;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(u->fd, UFFDIO_REGISTER, &reg) < 0)
		return -errno;
	if (!(reg.ioctls & (1ULL << _UFFDIO_WAKE)))
		return -ENOTSUP;
	return 0;
}

int uffd_unregister(struct uffd *u, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(u->fd, UFFDIO_UNREGISTER, &r) < 0 ? -errno : 0;
}

int uffd_read(struct uffd *u, struct uffd_msg *msgs, int max)
{
	ssize_t n;

	n = read(u->fd, msgs, sizeof(*msgs) * (size_t)max);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return (int)(n / (ssize_t)sizeof(*msgs));
}

int uffd_wake(struct uffd *u, void *addr, size_t len)
{
	struct uffdio_range r = { .start = (uintptr_t)addr, .len = len };

	return ioctl(u->fd, UFFDIO_WAKE, &r) < 0 ? -errno : 0;
}

/*
 * A partial result (the ioctl field reports fewer bytes than asked) is
 * turned into -EAGAIN: the caller retries the fault, and the done part is
 * found present (-EEXIST) the next time.
 */
static int uffd_result(int rc, int64_t done, size_t len)
{
	if (rc == 0)
		return done == (int64_t)len ? 0 : -EAGAIN;
	if (done < 0 && done != -EAGAIN)
		return (int)done;
	return -errno;
}

int uffd_copy(struct uffd *u, void *dst, const void *src, size_t len,
	      bool wake)
{
	struct uffdio_copy c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.dst = (uintptr_t)dst;
	c.src = (uintptr_t)src;
	c.len = len;
	c.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE;
	rc = ioctl(u->fd, UFFDIO_COPY, &c);
	return uffd_result(rc, c.copy, len);
}

int uffd_zeropage(struct uffd *u, void *dst, size_t len, bool wake)
{
	struct uffdio_zeropage z;
	int rc;

	memset(&z, 0, sizeof(z));
	z.range.start = (uintptr_t)dst;
	z.range.len = len;
	z.mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE;
	rc = ioctl(u->fd, UFFDIO_ZEROPAGE, &z);
	return uffd_result(rc, z.zeropage, len);
}

int uffd_move(struct uffd *u, void *dst, void *src, size_t len, bool wake)
{
	struct uffdio_move m;
	int rc;

	if (!u->has_move)
		return -ENOTSUP;
	memset(&m, 0, sizeof(m));
	m.dst = (uintptr_t)dst;
	m.src = (uintptr_t)src;
	m.len = len;
	m.mode = wake ? 0 : UFFDIO_MOVE_MODE_DONTWAKE;
	rc = ioctl(u->fd, UFFDIO_MOVE, &m);
	return uffd_result(rc, m.move, len);
}

int uffd_map_fd(void *dst, size_t len, int fd, off_t off, bool populate)
{
	void *p;

	p = mmap(dst, len, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED | (populate ? MAP_POPULATE : 0), fd,
		 off);
	if (p == MAP_FAILED)
		return -errno;
	return 0;
}

int uffd_unmap_to_missing(struct uffd *u, void *dst, size_t len, bool thp)
{
	void *p;
	int ret;

	p = mmap(dst, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (thp)
		madvise(dst, len, MADV_HUGEPAGE);	/* a hint: failure is harmless */
	ret = uffd_register(u, dst, len);
	if (ret)
		return ret;
	if (mprotect(dst, len, PROT_READ | PROT_WRITE) < 0)
		return -errno;
	return 0;
}

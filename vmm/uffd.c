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
#include <sched.h>
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
 * UFFDIO_COPY and UFFDIO_MOVE may do part of the range and then fail with
 * EAGAIN (the kernel lost a trylock or the page tables changed): the
 * result field then holds the bytes done, or -errno when nothing was done.
 * Retry from where it stopped, a bounded number of times, so that callers
 * see either the whole range done or a real error with *done telling how
 * far it got (retrying the whole range would hit -EEXIST on the done part).
 */
#define UFFD_EAGAIN_RETRIES	1000

static int uffd_range_op(struct uffd *u, unsigned long req, void *dst,
			 const void *src, size_t len, bool wake, size_t *done)
{
	unsigned int tries = 0;
	size_t off = 0;
	int64_t res;
	int rc, err;

	while (off < len) {
		if (req == UFFDIO_MOVE) {
			struct uffdio_move m = {
				.dst = (uintptr_t)dst + off,
				.src = (uintptr_t)src + off,
				.len = len - off,
				.mode = wake ? 0 : UFFDIO_MOVE_MODE_DONTWAKE,
			};

			rc = ioctl(u->fd, UFFDIO_MOVE, &m);
			err = errno;
			res = m.move;
		} else {
			struct uffdio_copy c = {
				.dst = (uintptr_t)dst + off,
				.src = (uintptr_t)src + off,
				.len = len - off,
				.mode = wake ? 0 : UFFDIO_COPY_MODE_DONTWAKE,
			};

			rc = ioctl(u->fd, UFFDIO_COPY, &c);
			err = errno;
			res = c.copy;
		}
		if (res > 0)
			off += (size_t)res;
		if (rc == 0)
			continue;
		if (err == EAGAIN && ++tries < UFFD_EAGAIN_RETRIES) {
			if (tries > 8)
				sched_yield();
			continue;
		}
		if (done)
			*done = off;
		return -err;
	}
	if (done)
		*done = off;
	return 0;
}

int uffd_copy(struct uffd *u, void *dst, const void *src, size_t len,
	      bool wake, size_t *done)
{
	return uffd_range_op(u, UFFDIO_COPY, dst, src, len, wake, done);
}

int uffd_zeropage(struct uffd *u, void *dst, size_t len, bool wake)
{
	struct uffdio_zeropage z;

	memset(&z, 0, sizeof(z));
	z.range.start = (uintptr_t)dst;
	z.range.len = len;
	z.mode = wake ? 0 : UFFDIO_ZEROPAGE_MODE_DONTWAKE;
	if (ioctl(u->fd, UFFDIO_ZEROPAGE, &z) == 0)
		return z.zeropage == (int64_t)len ? 0 : -EAGAIN;
	return -errno;
}

int uffd_move(struct uffd *u, void *dst, void *src, size_t len, bool wake,
	      size_t *done)
{
	if (!u->has_move) {
		if (done)
			*done = 0;
		return -ENOTSUP;
	}
	return uffd_range_op(u, UFFDIO_MOVE, dst, src, len, wake, done);
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

/*
 * There is no way to replace a mapping by a registered one in one step
 * (registration belongs to the VMA, and mmap makes a new one), so there is
 * a window between the mmap and the register.  It used to be PROT_NONE,
 * which killed numavm with SIGSEGV whenever one of its own threads (a
 * hypercall reading a guest buffer) touched the range then.  Now the
 * replacement is readable and writable from the start: a touch in the
 * window gets a zero page from the host kernel (the old frames are already
 * gone: nothing stale is ever seen), and MADV_DONTNEED after the register
 * throws such pages away, so the range still ends up empty and faulting.
 * A write racing with the free is lost, as with MADV_DONTNEED itself.
 */
int uffd_unmap_to_missing(struct uffd *u, void *dst, size_t len, bool thp)
{
	void *p;
	int ret;

	p = mmap(dst, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (thp)
		madvise(dst, len, MADV_HUGEPAGE);	/* a hint: failure is harmless */
	ret = uffd_register(u, dst, len);
	if (ret)
		return ret;
	if (madvise(dst, len, MADV_DONTNEED) < 0)
		return -errno;
	return 0;
}

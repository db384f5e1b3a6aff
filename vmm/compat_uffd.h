/*
 * The userfaultfd constants and structures that Debian 12's Linux 6.1 uapi
 * headers lack but the kernels numavm runs on provide (UFFDIO_MOVE, Linux
 * 6.8+).  Values are the upstream uapi ones; each is defined only when the
 * installed <linux/userfaultfd.h> does not already have it, so newer headers
 * win.  Whether the running kernel supports a feature is asked at runtime
 * (UFFDIO_API), never assumed from these definitions.
 */
#ifndef NUMAVM_VMM_COMPAT_UFFD_H
#define NUMAVM_VMM_COMPAT_UFFD_H

#include <linux/types.h>
#include <linux/userfaultfd.h>

#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON		(1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif

#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE		(1 << 16)

#define _UFFDIO_MOVE			(0x05)
#define UFFDIO_MOVE			_IOWR(UFFDIO, _UFFDIO_MOVE, struct uffdio_move)

struct uffdio_move {
	__u64 dst;
	__u64 src;
	__u64 len;
#define UFFDIO_MOVE_MODE_DONTWAKE		((__u64)1 << 0)
#define UFFDIO_MOVE_MODE_ALLOW_SRC_HOLES	((__u64)1 << 1)
	__u64 mode;
	__s64 move;	/* out: bytes moved, or -errno */
};
#endif

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC			0xAA
#define USERFAULTFD_IOC_NEW		_IO(USERFAULTFD_IOC, 0x00)
#endif

#endif /* NUMAVM_VMM_COMPAT_UFFD_H */

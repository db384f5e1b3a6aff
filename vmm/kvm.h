/*
 * The /dev/kvm system handle: open it, check the API version and every
 * capability numavm relies on, and read what the host supports (vCPU run
 * area size, CPUID, vCPU limit).  One per VM.  Only vmm/ includes
 * <linux/kvm.h>.
 */
#ifndef NUMAVM_VMM_KVM_H
#define NUMAVM_VMM_KVM_H

#include <linux/kvm.h>
#include <stddef.h>

#include "compiler.h"

#define KVM_DEV_PATH	"/dev/kvm"

struct kvm {
	int fd;				/* -1 when closed */
	size_t vcpu_mmap_size;		/* of struct kvm_run + pio data */
	unsigned int max_vcpus;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
};

/*
 * kvm_open - open @path (KVM_DEV_PATH) and check it.  Reports what failed
 * (pr_err: a missing device reads "/dev/kvm: No such file or directory (KVM
 * is required to run guests)") and returns -errno: the open error, -EPROTO
 * for a wrong API version, -EOPNOTSUPP for a missing capability.  On
 * failure kvm->fd is -1 and nothing is left open.
 */
int kvm_open(struct kvm *kvm, const char *path) __must_check;
void kvm_close(struct kvm *kvm);

/* KVM_CHECK_EXTENSION on the system fd: > 0 if supported. */
int kvm_check_cap(const struct kvm *kvm, long cap);

#endif /* NUMAVM_VMM_KVM_H */

/*
 * Opening and probing /dev/kvm.  Every capability numavm needs is checked
 * here, once, with a message naming it, so that a host lacking one fails at
 * start rather than with an obscure ioctl error later.
 */
#include "vmm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/log.h"

#define KVM_CPUID_MAX_ENTRIES	1024

static const struct {
	long cap;
	const char *name;
} kvm_required_caps[] = {
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
};

int kvm_check_cap(const struct kvm *kvm, long cap)
{
	return ioctl(kvm->fd, KVM_CHECK_EXTENSION, cap);
}

static int kvm_get_cpuid(struct kvm *kvm)
{
	unsigned int nent;

	for (nent = 64; nent <= KVM_CPUID_MAX_ENTRIES; nent *= 2) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm->fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			kvm->cpuid = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG)
			return -errno;
	}
	return -E2BIG;
}

int kvm_open(struct kvm *kvm, const char *path)
{
	unsigned int i;
	int ret, v;

	memset(kvm, 0, sizeof(*kvm));
	kvm->fd = open(path, O_RDWR | O_CLOEXEC);
	if (kvm->fd < 0) {
		ret = -errno;
		pr_err("%s: %s (KVM is required to run guests)", path,
		       strerror(errno));
		return ret;
	}

	v = ioctl(kvm->fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		pr_err("%s: KVM API version %d, numavm needs %d", path, v,
		       KVM_API_VERSION);
		ret = -EPROTO;
		goto err_close;
	}
	for (i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		if (kvm_check_cap(kvm, kvm_required_caps[i].cap) <= 0) {
			pr_err("%s: the host's KVM lacks %s", path,
			       kvm_required_caps[i].name);
			ret = -EOPNOTSUPP;
			goto err_close;
		}
	}

	v = ioctl(kvm->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (v < (int)sizeof(struct kvm_run)) {
		ret = v < 0 ? -errno : -EPROTO;
		pr_err("%s: KVM_GET_VCPU_MMAP_SIZE: %s", path,
		       v < 0 ? strerror(errno) : "too small");
		goto err_close;
	}
	kvm->vcpu_mmap_size = v;

	v = kvm_check_cap(kvm, KVM_CAP_MAX_VCPUS);
	if (v <= 0)
		v = kvm_check_cap(kvm, KVM_CAP_NR_VCPUS);
	kvm->max_vcpus = v > 0 ? v : 4;	/* the documented minimum */

	ret = kvm_get_cpuid(kvm);
	if (ret) {
		pr_err("%s: KVM_GET_SUPPORTED_CPUID: %s", path, strerror(-ret));
		goto err_close;
	}
	return 0;

err_close:
	close(kvm->fd);
	kvm->fd = -1;
	return ret;
}

void kvm_close(struct kvm *kvm)
{
	free(kvm->cpuid);
	kvm->cpuid = NULL;
	if (kvm->fd >= 0)
		close(kvm->fd);
	kvm->fd = -1;
}

# vmm/: the KVM VMM.  libvmm holds everything but main() so that
# tests/check_vmm.c drives it as a library.
LIBS	+= vmm
vmm_SRCS := vmm/log.c vmm/guest_ram.c vmm/loader.c vmm/ioport.c vmm/uart.c \
	    vmm/hypercall.c vmm/kvm.c vmm/vcpu.c vmm/vm.c

PROGS	+= numavm
numavm_SRCS := vmm/main.c
numavm_LIBS := vmm numa mm

TESTS	+= check_vmm
check_vmm_SRCS := tests/check_vmm.c
check_vmm_LIBS := vmm
check_vmm_PKGS := check

BENCHES	+= bench_vmm
bench_vmm_SRCS := tests/bench_vmm.c
bench_vmm_LIBS := vmm

# check_vmm's CLI cases and bench_vmm run the numavm binary next to them
# (order-only: not linked).
$(BUILD)/check_vmm: | $(BUILD)/numavm
$(BUILD)/bench_vmm: | $(BUILD)/numavm

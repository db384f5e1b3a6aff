# vmm/: the KVM VMM.  libvmm holds everything but main() so that
# tests/check_vmm.c drives it as a library.  A VM is configured by
# libvmmconfig, served by the fault path (libfault) and the NUMA engine, and
# watched through the control socket (libqmp): the link order below.
LIBS	+= vmm
vmm_SRCS := vmm/log.c vmm/guest_ram.c vmm/loader.c vmm/ioport.c vmm/uart.c \
	    vmm/hypercall.c vmm/hc_mem.c vmm/kvm.c vmm/vcpu.c vmm/vm.c

PROGS	+= numavm
numavm_SRCS := vmm/main.c
VMM_LIBS := vmm vmmconfig qmp fault numa mm
VMM_PKGS := inih libxml-2.0 json-c numa
numavm_LIBS := $(VMM_LIBS)
numavm_PKGS := $(VMM_PKGS)

TESTS	+= check_vmm
check_vmm_SRCS := tests/check_vmm.c
check_vmm_LIBS := $(VMM_LIBS)
check_vmm_PKGS := check $(VMM_PKGS)

BENCHES	+= bench_vmm
bench_vmm_SRCS := tests/bench_vmm.c
bench_vmm_LIBS := $(VMM_LIBS)
bench_vmm_PKGS := $(VMM_PKGS)

# check_vmm's CLI cases and bench_vmm run the numavm binary next to them
# (order-only: not linked); the CLI cases boot the built-in guest, also in
# the ASan build (check-asan runs check-unit before the guest tests).
$(BUILD)/check_vmm: | $(BUILD)/numavm \
		     $(BUILD)/guest-tests/numa-local.elf
$(BUILD)/bench_vmm: | $(BUILD)/numavm

# make run: the built-in default job (README): configs/default.ini, whose
# guest (numa-local) touches pages from every vCPU and checks with the
# get-node hypercall that each landed on its vCPU's home node.  Without
# /dev/kvm numavm cannot boot it, so the same test program runs in the
# guest-test simulator instead: host threads as vCPUs over numavm's real
# config, NUMA engine, pools, userfaultfd fault path and hypercalls (status
# 1 is a pass, as from the isa-debug-exit port).
run: $(BUILD)/numavm $(BUILD)/guest-tests/numa-local.elf \
     $(BUILD)/guest-sim/numa-local
	$(Q)if [ -c /dev/kvm ]; then \
		$(BUILD)/numavm --config configs/default.ini \
			$(BUILD)/guest-tests/numa-local.elf; st=$$?; \
	else \
		echo "make run: no /dev/kvm here, so numavm cannot boot the guest;"; \
		echo "make run: running configs/default.ini's test on host threads (guest-tests/sim)"; \
		$(BUILD)/guest-sim/numa-local --config configs/default.ini; st=$$?; \
	fi; \
	echo "make run: exit status $$st ($$( [ $$st -eq 1 ] && echo pass || echo FAIL ))"; \
	[ $$st -eq 1 ]
.PHONY: run

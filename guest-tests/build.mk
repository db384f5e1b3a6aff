# guest-tests/: freestanding guest images, one per guest-tests/<name>.c,
# linked with the runtime in guest-tests/lib/ and booted by numavm or QEMU
# (docs/guest-tests.md).  Built with the host gcc but none of the host
# CFLAGS: the guest has its own flags and rules below.
#
#   $(BUILD)/guest-tests/<name>.elf   ELF32 multiboot image (what -kernel takes)
#   make check-guest                  build, then run_tests.sh for numavm and QEMU
#   make check-guest-numavm           numavm only (also run by check-asan)
#   make check-guest-qemu             QEMU only

GUEST_TESTS	:= hello smp touch exit hcall \
		   numa-local interleave weighted preferred oom oom-wait \
		   free-range concurrent granule-2m
GUEST_LIB_SRCS	:= guest-tests/lib/cstart64.S guest-tests/lib/setup.c \
		   guest-tests/lib/bootinfo.c guest-tests/lib/serial.c \
		   guest-tests/lib/printf.c guest-tests/lib/report.c \
		   guest-tests/lib/string.c guest-tests/lib/smp.c \
		   guest-tests/lib/apic.c guest-tests/lib/fwcfg.c \
		   guest-tests/lib/hcall.c guest-tests/lib/timing.c \
		   guest-tests/lib/place.c

GUEST_CFLAGS	:= -std=gnu11 -O2 -g -m64 -ffreestanding -nostdlib -fno-pic \
		   -fno-pie -mno-red-zone -mno-sse -mno-mmx -mno-avx \
		   -mno-sse2 -mno-80387 -mgeneral-regs-only \
		   -fno-stack-protector -mcmodel=small -fcf-protection=none \
		   -fno-asynchronous-unwind-tables \
		   -fno-tree-loop-distribute-patterns \
		   -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wno-unused-parameter
GUEST_CPPFLAGS	:= -Iinclude -Iguest-tests/lib
GUEST_LDFLAGS	:= -m64 -nostdlib -static -no-pie -Wl,--build-id=none \
		   -Wl,-z,max-page-size=0x1000 -Wl,--no-warn-rwx-segments \
		   -Wl,-T,guest-tests/lib/guest.lds
GUEST_OBJCOPY	?= objcopy

GUEST_DIR	:= $(BUILD)/guest-tests
GUEST_LIB_OBJS	:= $(patsubst guest-tests/lib/%,$(GUEST_DIR)/lib/%.o,$(basename $(GUEST_LIB_SRCS)))
GUEST_ALL	:= $(patsubst %,$(GUEST_DIR)/%.elf,$(GUEST_TESTS))

$(GUEST_DIR)/lib/%.o: guest-tests/lib/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  GCC     $<")
	$(Q)$(CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_DIR)/lib/%.o: guest-tests/lib/%.S
	@mkdir -p $(@D)
	$(if $(Q),@echo "  GAS     $<")
	$(Q)$(CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_DIR)/%.o: guest-tests/%.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  GCC     $<")
	$(Q)$(CC) $(GUEST_CPPFLAGS) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

# Link at 1 MiB as ELF64, then convert: multiboot loaders take ELF32 only.
$(GUEST_DIR)/%.elf64: $(GUEST_DIR)/%.o $(GUEST_LIB_OBJS) guest-tests/lib/guest.lds
	$(if $(Q),@echo "  GLD     $@")
	$(Q)$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_LIB_OBJS) $<

$(GUEST_DIR)/%.elf: $(GUEST_DIR)/%.elf64
	$(if $(Q),@echo "  OBJCOPY $@")
	$(Q)$(GUEST_OBJCOPY) -O elf32-i386 $< $@

.PRECIOUS: $(GUEST_DIR)/%.elf64 $(GUEST_DIR)/%.o $(GUEST_DIR)/lib/%.o

# The host simulator (guest-tests/sim/sim.c): each placement test compiled
# for the host (main renamed guest_main) with place.c, linked with the VMM
# libraries, runs on host threads over numavm's real fault path without KVM
# (run_tests.sh --sim).  Host flags (ASan under SAN=1), its own directory so
# the guest pattern rules above never match.
GUEST_SIM_TESTS	:= numa-local interleave weighted preferred oom oom-wait \
		   free-range concurrent granule-2m
GUEST_SIM_DIR	:= $(BUILD)/guest-sim
GUEST_SIM_ALL	:= $(patsubst %,$(GUEST_SIM_DIR)/%,$(GUEST_SIM_TESTS))
GUEST_SIM_COMMON := $(GUEST_SIM_DIR)/sim/sim.o $(GUEST_SIM_DIR)/lib/place.o
GUEST_SIM_LIBS	:= $(foreach l,$(VMM_LIBS),$(BUILD)/lib$(l).a)

$(GUEST_SIM_DIR)/sim/sim.o: guest-tests/sim/sim.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Iguest-tests/lib $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_SIM_DIR)/%.o: guest-tests/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $< (sim)")
	$(Q)$(CC) $(CPPFLAGS) -Iguest-tests/lib -Dmain=guest_main $(CFLAGS) \
		-Wno-builtin-declaration-mismatch -MMD -MP -c $< -o $@

$(GUEST_SIM_DIR)/%: $(GUEST_SIM_DIR)/%.o $(GUEST_SIM_COMMON) $(GUEST_SIM_LIBS)
	$(if $(Q),@echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(call pkg_libs,$(VMM_PKGS))

.PRECIOUS: $(GUEST_SIM_DIR)/%.o $(GUEST_SIM_DIR)/lib/%.o

all: $(GUEST_SIM_ALL)

GUEST_RUNNER	:= guest-tests/run_tests.sh
GUEST_NUMAVM	:= $(if $(filter numavm,$(PROGS)),$(BUILD)/numavm)

check-guest: check-guest-numavm check-guest-qemu check-guest-sim

check-guest-numavm: $(GUEST_ALL) $(GUEST_NUMAVM)
	$(Q)$(GUEST_RUNNER) --build $(BUILD)

check-guest-qemu: $(GUEST_ALL)
	$(Q)$(GUEST_RUNNER) --build $(BUILD) --qemu

check-guest-sim: $(GUEST_SIM_ALL)
	$(Q)$(GUEST_RUNNER) --build $(BUILD) --sim -g placement

# The control socket end to end: the sim holds a VM that ran the interleave
# test and numavmctl checks its figures, then quits it (live_socket.sh)
GUEST_LIVE_DEPS	:= $(GUEST_SIM_DIR)/interleave \
		   $(if $(filter numavmctl,$(PROGS)),$(BUILD)/numavmctl)

check-guest-live: $(GUEST_LIVE_DEPS)
	$(Q)timeout -s KILL 60 guest-tests/live_socket.sh --build $(BUILD)

CHECKS		+= check-guest check-guest-live
ASAN_CHECKS	+= check-guest-numavm check-guest-sim check-guest-live

.PHONY: check-guest check-guest-numavm check-guest-qemu check-guest-sim \
	check-guest-live

-include $(GUEST_LIB_OBJS:.o=.d) $(patsubst %,$(GUEST_DIR)/%.d,$(GUEST_TESTS)) \
	 $(GUEST_SIM_ALL:=.d) $(GUEST_SIM_COMMON:.o=.d)

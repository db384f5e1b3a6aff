# vmm/ control socket: the QMP-style server and its commands (libqmp.a),
# the numavmctl client, their tests, benchmark and fuzz harness.
# libqmp uses numa/ (and so mm/) and json-c; qmp_fault.o (the fault path
# adapter) also needs libfault, pulled only by programs that reference it.
LIBS		+= qmp
qmp_SRCS	:= vmm/qmp.c vmm/qmp_cmds.c vmm/qmp_fault.c

PROGS		+= numavmctl
numavmctl_SRCS	:= vmm/numavmctl.c
numavmctl_PKGS	:= json-c

TESTS		+= check_qmp
check_qmp_SRCS	:= tests/check_qmp.c
# With the fault path (vmm/fault.mk, included before this file) the suite
# also drives the real userfaultfd path; without it that case is left out.
ifneq ($(filter fault,$(LIBS)),)
check_qmp_LIBS	:= qmp fault numa mm
check_qmp_PKGS	:= check json-c numa
else
check_qmp_LIBS	:= qmp numa mm
check_qmp_PKGS	:= check json-c
$(BUILD)/tests/check_qmp.o: CPPFLAGS += -DCHECK_QMP_NO_FAULT_PATH
endif

BENCHES		+= bench_qmp
bench_qmp_SRCS	:= tests/bench_qmp.c
ifneq ($(filter fault,$(LIBS)),)
bench_qmp_LIBS	:= qmp fault numa mm
bench_qmp_PKGS	:= json-c numa
else
bench_qmp_LIBS	:= qmp numa mm
bench_qmp_PKGS	:= json-c
$(BUILD)/tests/bench_qmp.o: CPPFLAGS += -DBENCH_QMP_NO_FAULT_PATH
endif

# libFuzzer harness of the request reader + dispatcher (clang, ASan+UBSan),
# run by `make fuzz` (appended to the config fuzzers' FUZZ_TARGETS: same
# loop, FUZZ_TIME seconds) or alone by `make fuzz-qmp` (FUZZ_QMP_TIME).
# An explicit rule: it needs the qmp, numa and mm sources and json-c.
FUZZ_DIR	?= $(BUILD)/fuzz
FUZZ_QMP_TIME	?= 30
FUZZ_QMP_SRCS	:= tests/fuzz_qmp.c vmm/qmp.c vmm/qmp_cmds.c $(numa_SRCS) \
		   $(mm_SRCS)

$(FUZZ_DIR)/fuzz_qmp: $(FUZZ_QMP_SRCS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  FUZZCC  $@")
	$(Q)clang $(CPPFLAGS) -std=gnu11 -g -O1 -pthread -Wall -Wextra -Werror \
		-Wno-unused-parameter -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $$(pkg-config --cflags json-c) \
		-o $@ $(FUZZ_QMP_SRCS) $$(pkg-config --libs json-c)

# The seeds, written before either `make fuzz-qmp` or `make fuzz` runs the
# harness (an empty corpus leaves libFuzzer guessing JSON from nothing).
fuzz-qmp-seed:
	$(Q)mkdir -p $(FUZZ_DIR)/fuzz_qmp-corpus $(FUZZ_DIR)/fuzz_qmp-crashes
	$(Q)cd $(FUZZ_DIR)/fuzz_qmp-corpus && \
	printf '\001\007{"execute":"query-placement","arguments":{"start":0,"end":1048576},"id":1}\n' >seed1 && \
	printf '\001\003{"execute":"set-vcpu-policy","arguments":{"vcpu":1,"policy":{"mode":"weighted-interleave","nodes":[0,1],"weights":[3,1],"flags":["static-nodes"]}}}' >seed2 && \
	printf '\001\077{"execute":"set-range-policy","arguments":{"start":4096,"size":8192,"policy":{"mode":"bind","nodes":[1]}}}{"execute":"query-vcpus"}' >seed3 && \
	printf '\000\011{"execute":"qmp_capabilities"}\n{"execute":"query-numastat"}{"execute":"query-faults"}{"execute":"query-buddyinfo"}' >seed4

fuzz-qmp: $(FUZZ_DIR)/fuzz_qmp fuzz-qmp-seed
	$(Q)$(FUZZ_DIR)/fuzz_qmp -max_total_time=$(FUZZ_QMP_TIME) -timeout=10 \
		-max_len=8192 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/fuzz_qmp-crashes/ \
		$(FUZZ_DIR)/fuzz_qmp-corpus

ifeq ($(FUZZ_TARGETS),)
fuzz: fuzz-qmp
endif
FUZZ_TARGETS	+= fuzz_qmp
fuzz: $(FUZZ_DIR)/fuzz_qmp fuzz-qmp-seed
.PHONY: fuzz-qmp fuzz-qmp-seed

# check_qmp runs numavmctl against its live server (order-only: not linked)
$(BUILD)/check_qmp: | $(BUILD)/numavmctl

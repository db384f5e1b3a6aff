# VM configuration: native INI (inih), libvirt domain XML (libxml2) and
# QEMU-style flags, validation, the numavm command line (vmm/config.h).
LIBS		+= vmmconfig
vmmconfig_SRCS	:= vmm/config.c vmm/config_ini.c vmm/config_xml.c \
		   vmm/config_qemu.c
vmmconfig_PKGS	:= inih libxml-2.0

TESTS		+= check_config
check_config_SRCS := tests/check_config.c
check_config_LIBS := vmmconfig numa mm
check_config_PKGS := check inih libxml-2.0

# configcheck: parse and validate config files, print a summary (used by
# check-configs; also handy by hand: build/configcheck configs/*.ini)
PROGS		+= configcheck
configcheck_SRCS := tests/configcheck.c
configcheck_LIBS := vmmconfig numa mm
configcheck_PKGS := inih libxml-2.0

CONFIG_FILES	:= $(wildcard configs/*.ini configs/*.xml)
CONFIG_XML	:= $(wildcard configs/*.xml)

# Every shipped config parses and validates; every XML passes libvirt's
# own schema.  Independent of the guest images existing.
check-configs: $(BUILD)/configcheck
	$(Q)set -e; for f in $(CONFIG_FILES); do \
		$(BUILD)/configcheck -q $$f || exit 1; done
	$(Q)set -e; for f in $(CONFIG_XML); do \
		virt-xml-validate $$f domain >/dev/null || \
		{ echo "virt-xml-validate: $$f failed"; exit 1; }; done
	$(Q)echo "check-configs: $(words $(CONFIG_FILES)) configs OK," \
		"$(words $(CONFIG_XML)) valid libvirt XML"

CHECKS		+= check-configs
ASAN_CHECKS	+= check-configs

# Fuzzing (make fuzz): one libFuzzer harness per format, FUZZ_TIME seconds
# each, corpus seeded from configs/, everything under $(BUILD)/fuzz.
FUZZ_TIME	?= 60
FUZZ_CC		?= clang
FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_TARGETS	:= fuzz_ini fuzz_xml fuzz_argv
FUZZ_FLAGS	:= -g -O1 -pthread -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE \
		   -Iinclude -I. -Wall -Wextra -Werror -Wno-unused-parameter

$(FUZZ_DIR)/fuzz_ini $(FUZZ_DIR)/fuzz_xml $(FUZZ_DIR)/fuzz_argv: \
$(FUZZ_DIR)/%: tests/%.c tests/fuzz_config.h $(vmmconfig_SRCS) vmm/config.h \
		$(numa_SRCS) $(mm_SRCS) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_FLAGS) $$(pkg-config --cflags inih libxml-2.0) \
		-o $@ $< $(vmmconfig_SRCS) $(numa_SRCS) $(mm_SRCS) \
		$$(pkg-config --libs inih libxml-2.0)

# Other fragments may append harnesses to FUZZ_TARGETS (same loop; their
# corpus directory is kept between runs, ours are re-seeded each time).
fuzz: $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
	$(Q)set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/$$t-corpus $(FUZZ_DIR)/$$t-crashes; \
		case $$t in \
		fuzz_ini) cp configs/*.ini $(FUZZ_DIR)/$$t-corpus/ ;; \
		fuzz_xml) cp configs/*.xml $(FUZZ_DIR)/$$t-corpus/ ;; \
		fuzz_argv) cp tests/fuzz_argv.seeds/* $(FUZZ_DIR)/$$t-corpus/ ;; \
		esac; \
		echo "== $$t ($(FUZZ_TIME) s)"; \
		$(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_TIME) -timeout=10 \
			-rss_limit_mb=1024 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/$$t-crashes/ \
			$(FUZZ_DIR)/$$t-corpus 2>$(FUZZ_DIR)/$$t.log || \
			{ tail -40 $(FUZZ_DIR)/$$t.log; exit 1; }; \
		grep -E '^stat::number_of_executed_units|^Done' \
			$(FUZZ_DIR)/$$t.log || true; \
	done

.PHONY: check-configs

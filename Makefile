# numavm: one non-recursive Makefile.  Each directory lists its own sources in
# <dir>/build.mk; this file holds the rules.  Everything lands in $(BUILD).
#
#   make            build everything
#   make check      unit tests, guest tests, then the same under ASan+UBSan
#   make check-asan only the sanitizer run
#   make bench      benchmarks (print figures, never fail on timing)
#   make fuzz       bounded fuzzing of the parsers
#   V=1             show full commands
#
# A fragment declares, for a module M (a static library $(BUILD)/libM.a):
#   LIBS += M ; M_SRCS := m/a.c m/b.c
# and for a program P (tests, benches, tools):
#   TESTS|BENCHES|PROGS += P ; P_SRCS := ... ; P_LIBS := M ... ; P_PKGS := ...

BUILD	?= build
CC	?= gcc
AR	?= ar

ifeq ($(V),1)
Q :=
else
Q := @
endif

# pkg-config names of the Debian libraries we build with (see scripts/deps.sh)
ALL_PKGS := check numa inih json-c libxml-2.0

OPT	?= -O2 -g
WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -Iinclude -I.
CFLAGS	:= -std=gnu11 $(OPT) $(WARN) -pthread -fno-strict-aliasing
LDFLAGS	:= -pthread

ifeq ($(SAN),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
endif

# Evaluated lazily, once the deps stamp has installed the packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(ALL_PKGS) 2>/dev/null)
pkg_libs = $(if $(1),$(shell pkg-config --libs $(1) 2>/dev/null))

LIBS	:=
TESTS	:=
BENCHES	:=
PROGS	:=
CHECKS	:=

include mm/build.mk
include numa/build.mk
include vmm/build.mk
include vmm/config.mk
include vmm/fault.mk
include vmm/socket.mk
include tests/build.mk
include guest-tests/build.mk

DEPS_STAMP := $(BUILD)/.deps-ok

all: $(addprefix $(BUILD)/,$(PROGS) $(TESTS) $(BENCHES)) $(GUEST_ALL)

$(DEPS_STAMP): scripts/deps.sh
	$(Q)mkdir -p $(@D)
	$(Q)./scripts/deps.sh
	$(Q)touch $@

$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP -c $< -o $@

define module_rules
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/%.o,$$($(1)_SRCS))
$$(BUILD)/lib$(1).a: $$($(1)_OBJS)
	$(if $(Q),@echo "  AR      $$@")
	$(Q)rm -f $$@ && $(AR) rcs $$@ $$^
ALL_OBJS += $$($(1)_OBJS)
endef

define prog_rules
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/%.o,$$($(1)_SRCS))
$$(BUILD)/$(1): $$($(1)_OBJS) $$(foreach l,$$($(1)_LIBS),$$(BUILD)/lib$$(l).a)
	$(if $(Q),@echo "  LD      $$@")
	$(Q)$(CC) $(LDFLAGS) -o $$@ $$^ $$(call pkg_libs,$$($(1)_PKGS)) $$($(1)_LDLIBS)
ALL_OBJS += $$($(1)_OBJS)
endef

$(foreach m,$(LIBS),$(eval $(call module_rules,$(m))))
$(foreach p,$(PROGS) $(TESTS) $(BENCHES),$(eval $(call prog_rules,$(p))))

# Unit tests first, then whatever the fragments added to CHECKS (guest
# tests, config validation), then the sanitizer build of the unit tests.
check: check-unit $(CHECKS) check-asan

check-unit: $(addprefix $(BUILD)/,$(TESTS))
	$(Q)set -e; for t in $(TESTS); do \
		echo "== $$t"; \
		CK_FORK=yes CK_DEFAULT_TIMEOUT=$${CK_DEFAULT_TIMEOUT:-60} \
		$(BUILD)/$$t; done

check-asan:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/asan SAN=1 OPT="-O1 -g" \
		check-unit $(ASAN_CHECKS)

bench: $(addprefix $(BUILD)/,$(BENCHES))
	$(Q)set -e; for b in $(BENCHES); do $(BUILD)/$$b; done

# Advisory: lists the files clang-format (.clang-format) would change.  Not
# part of make check: clang-format 14 cannot keep the tab-aligned kernel
# style of the headers (see the notes on issue A).
format-check:
	$(Q)n=0; for f in $(sort $(wildcard include/*.h mm/*.[ch] numa/*.[ch] \
		vmm/*.[ch] tests/*.[ch] guest-tests/*.c guest-tests/*/*.[ch])); do \
		clang-format --dry-run $$f 2>&1 | grep -q . && \
			{ echo "format-check: $$f"; n=$$((n + 1)); }; \
	done; echo "format-check: $$n files differ from .clang-format (advisory)"

clean:
	rm -rf $(BUILD)

.PHONY: all check check-unit check-asan bench clean format-check fuzz
.DEFAULT_GOAL := all

-include $(ALL_OBJS:.o=.d)

# SPDX-License-Identifier: GPL-2.0
# ddvm build.  A newcomer runs `make demo` and `make test`; both set the
# machine up first (scripts/setup.sh, idempotent and quick when done).
#
# Layers: host/lib (libddvm) <- host/hub, host/cli (the ddvm command);
# guest/modules (DD/OS kernel modules, kbuild); guest/init + scripts (image);
# tests/{unit,host,vm,fuzz}.

BUILD	?= build
VAR	?= var
CC	?= gcc
CFLAGS	?= -O2 -g
# strict warnings; WERROR=0 is the escape hatch for a newer compiler
WERROR	?= 1
DDVM_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
	-Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Iinclude -Ihost/lib -MMD -MP $(if $(filter 1,$(WERROR)),-Werror) \
	-fPIC
LDLIBS	:= -ljansson -lpthread

LIB_SRCS	:= $(sort $(wildcard host/lib/*.c))
CLI_SRCS	:= $(sort $(wildcard host/cli/*.c host/hub/*.c))
LIB_OBJS	:= $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS	:= $(CLI_SRCS:%.c=$(BUILD)/%.o)
# cmd objects minus main.o: tests may link the command code
CLI_LIB_OBJS	:= $(filter-out $(BUILD)/host/cli/main.o,$(CLI_OBJS))

UNIT_TESTS	:= $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard tests/unit/test_*.c)))
HOST_TESTS	:= $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard tests/host/test_*.c)))
VM_TESTS	:= $(patsubst %.c,$(BUILD)/%,$(sort $(wildcard tests/vm/test_*.c)))
TEST_LIB_SRCS	:= $(sort $(wildcard tests/lib/*.c))
TEST_LIB_OBJS	:= $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
FUZZ_SRCS	:= $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZERS		:= $(patsubst %.c,$(BUILD)/%,$(FUZZ_SRCS))

.PHONY: all host guest modules image setup test demo bench clean distclean format

all: host

# libddvm is built -fPIC so the nbdkit plugin (a shared object) links it too
NBD_SRCS	:= $(sort $(wildcard host/nbd/*.c))
NBD_PLUGIN	:= $(if $(NBD_SRCS),$(BUILD)/nbdkit-ddvm-plugin.so)

host: $(BUILD)/ddvm $(NBD_PLUGIN)

$(BUILD)/nbdkit-ddvm-plugin.so: $(NBD_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libddvm.a
	$(CC) $(CFLAGS) -shared -o $@ $(NBD_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/libddvm.a $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DDVM_CFLAGS) -c -o $@ $<

$(BUILD)/libddvm.a: $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libddvm-cli.a: $(CLI_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/ddvm: $(CLI_OBJS) $(BUILD)/libddvm.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libddvm.a $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(TEST_LIB_OBJS) $(BUILD)/libddvm-cli.a $(BUILD)/libddvm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DDVM_CFLAGS) -Itests/lib -o $@ $< $(TEST_LIB_OBJS) \
		$(BUILD)/libddvm-cli.a $(BUILD)/libddvm.a $(LDLIBS) -lcmocka

# libFuzzer targets: clang with ASan+UBSan, linked with the library sources
# (not the gcc-built archive) so the code under test is instrumented too.
FUZZ_CC		?= clang
FUZZ_FLAGS	:= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(CLI_LIB_OBJS:$(BUILD)/%.o=%.c)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(filter-out -MMD -MP -Werror,$(DDVM_CFLAGS)) -Itests/lib \
		-o $@ $< $(LIB_SRCS) $(filter-out host/cli/main.c,$(CLI_SRCS)) $(LDLIBS)

tests-build: $(UNIT_TESTS) $(HOST_TESTS) $(VM_TESTS) $(FUZZERS)

# ---------------------------------------------------------------- guest side

# The guest kernel ABI (e.g. 6.1.0-56-amd64) is resolved by setup from the
# linux-image-amd64 meta-package and recorded here.
ABI_FILE	:= $(VAR)/guest/abi
KABI		= $(shell cat $(ABI_FILE) 2>/dev/null)
KDIR		= /usr/src/linux-headers-$(KABI)

setup:
	@bash scripts/setup.sh

# guest/modules: ddvm.ko, the DD/OS's translation module; guest/front:
# ddvm_front.ko, the front-end (client stub) module for Linux client VMs
MODULE_DIRS	:= guest/modules $(if $(wildcard guest/front/Kbuild),guest/front)

modules: $(ABI_FILE)
	set -e; for d in $(MODULE_DIRS); do $(MAKE) -C $(KDIR) M=$(CURDIR)/$$d modules; done

image: modules
	@bash scripts/mkinitramfs.sh

guest: modules image

$(ABI_FILE):
	@bash scripts/setup.sh

# ---------------------------------------------------------------- entry points

# The tests build in parallel: each fuzzer compiles libddvm with the
# sanitizers on its own, minutes one after the other, and CI has 30 in all.
test: setup
	$(MAKE) host guest
	$(MAKE) -j$$(nproc) tests-build
	@bash tests/run

demo: setup
	$(MAKE) host guest
	./$(BUILD)/ddvm demo

bench: setup
	$(MAKE) host guest
	./$(BUILD)/ddvm bench blk

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)
	-for d in $(MODULE_DIRS); do $(MAKE) -C $(KDIR) M=$(CURDIR)/$$d clean 2>/dev/null; done

distclean: clean
	rm -rf $(VAR) run

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

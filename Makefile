# microtcp - the only build system.
#
#   make            build/libmtcp.so, build/libmtcpstack.a, build/mtcp-echo
#   make check      every test (unit + integration); the README's test command
#   make demo       the stack answering ping and UDP in a throwaway namespace
#   make asan       the same build with AddressSanitizer + UBSan in build/asan
#   make tsan       the same build with ThreadSanitizer in build/tsan
#   make check-asan / check-tsan   unit tests under those sanitizers
#
# Every target but plain `make` first runs scripts/deps (the Debian
# packages, installed if missing), then builds in a sub-make: this Makefile reads
# pkg-config when it is parsed, so the build must be parsed after the
# install, or a fresh machine links the tests with a bare -lcheck.

BUILD   ?= build
# The layers, enforced by what each directory's objects may include:
# wire (packet formats) and base (clock, log, pbuf, timer, counters)
# depend on nothing of ours; dev (link devices) on those two; the stack
# (stack/, net/, tcp/) on all of them; host (the processes on one address:
# registry, steering) on base; fdtable on nothing of ours; the preload and
# the tests on everything.
STACK_INC := -Istack -Istack/base -Istack/net -Istack/tcp -Istack/wire -Istack/dev \
	     -Istack/host
INC      = $(STACK_INC) -Ifdtable -Ipreload
$(BUILD)/obj/stack/%.o:      INC = $(STACK_INC)
$(BUILD)/obj/stack/wire/%.o: INC = -Istack/wire
$(BUILD)/obj/stack/base/%.o: INC = -Istack/base
$(BUILD)/obj/stack/dev/%.o:  INC = -Istack/dev -Istack/base -Istack/wire
$(BUILD)/obj/stack/host/%.o: INC = -Istack/host -Istack/base
$(BUILD)/obj/fdtable/%.o:    INC = -Ifdtable
# What goes into libmtcp.so is compiled hidden: it exports only what
# preload/ marks PL_EXPORT. Tests and test programs keep the default (the
# sanitizer runtimes look up hooks such as __tsan_default_options in them).
VIS      =
$(BUILD)/obj/stack/%.o:      VIS = -fvisibility=hidden
$(BUILD)/obj/fdtable/%.o:    VIS = -fvisibility=hidden
$(BUILD)/obj/preload/%.o:    VIS = -fvisibility=hidden
CC      ?= cc
SAN     ?=
OPT     ?= -O2

CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wno-missing-field-initializers \
	   -fPIC -pthread -fno-strict-aliasing -D_GNU_SOURCE
CPPFLAGS += $(INC) -MMD -MP
LDFLAGS += -pthread
ifneq ($(SAN),)
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SAN)
endif

CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
BPF_LIBS     := $(shell pkg-config --libs libbpf 2>/dev/null || echo -lbpf)

# The steering filter (stack/host/steer.bpf.c) is eBPF, built by clang for
# the bpf target with BTF (-g; the DWARF is stripped after, .BTF stays),
# never with the sanitizers: it runs in the kernel. -ffreestanding: clang's
# own stdint.h, not glibc's (which has no bpf variant); the multiarch
# directory holds the kernel headers' <asm/...>.
BPF_CC       ?= clang
BPF_STRIP    ?= llvm-strip
BPF_CFLAGS   := -target bpf -O2 -g -ffreestanding -Wall -Wextra \
		-idirafter /usr/include/$(shell gcc -print-multiarch 2>/dev/null) -Istack/host
BPF_OBJ      := $(BUILD)/obj/stack/host/steer.bpf.o

STACK_SRC   := $(filter-out %.bpf.c,$(wildcard stack/*.c stack/base/*.c stack/net/*.c \
		 stack/tcp/*.c stack/wire/*.c stack/dev/*.c stack/host/*.c))
# Assembler: steer_obj.S embeds the filter's object in the library.
STACK_ASM   := stack/host/steer_obj.S
PRELOAD_SRC := $(wildcard preload/*.c)
TOOL_SRC    := $(wildcard stack/tools/*.c)
FDT_SRC     := $(wildcard fdtable/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNITLIB_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

STACK_OBJ   := $(call obj,$(STACK_SRC)) $(patsubst %.S,$(BUILD)/obj/%.o,$(STACK_ASM))
PRELOAD_OBJ := $(call obj,$(PRELOAD_SRC))
FDT_OBJ     := $(call obj,$(FDT_SRC))
UNITLIB_OBJ := $(call obj,$(UNITLIB_SRC))
TOOLS       := $(patsubst stack/tools/%.c,$(BUILD)/%,$(TOOL_SRC))
UNIT_BINS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
# tests/api/*.c: the differential API suite's programs (one behaviour each,
# run on the kernel and under libmtcp.so); tests/prog/*.c: other programs
# the integration tests and benchmarks run (both plain C, no stack library
# linked in, but for steer_cost: its rule is below).
API_SRC     := $(wildcard tests/api/*.c)
API_BINS    := $(patsubst tests/api/%.c,$(BUILD)/api/%,$(API_SRC))
PROG_SRC    := $(wildcard tests/prog/*.c)
PROG_BINS   := $(patsubst tests/prog/%.c,$(BUILD)/prog/%,$(PROG_SRC))
URCU_LIBS   := -lurcu-bp

.PHONY: all check unit integration demo asan tsan check-asan check-tsan deps fuzz clean
.DELETE_ON_ERROR:
# Keep the objects of tools and tests: they are intermediates of pattern
# rules, which make would otherwise delete after every build.
.SECONDARY:

all: $(BUILD)/libmtcpstack.a $(BUILD)/libmtcp.so $(TOOLS) $(UNIT_BINS) $(API_BINS) $(PROG_BINS)

$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(VIS) $(CHECK_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.bpf.o: %.bpf.c Makefile
	@mkdir -p $(@D)
	$(BPF_CC) $(BPF_CFLAGS) -MMD -MP -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp
	$(BPF_STRIP) -g $@.tmp -o $@
	@rm -f $@.tmp

$(BUILD)/obj/%.o: %.S $(BPF_OBJ) Makefile
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -DSTEER_BPF_OBJ='"$(BPF_OBJ)"' $(CFLAGS) -c $< -o $@

$(BUILD)/libmtcpstack.a: $(STACK_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

# Exported: the functions preload/ marks PL_EXPORT (everything else is
# compiled hidden), which are the calls it interposes.
$(BUILD)/libmtcp.so: $(PRELOAD_OBJ) $(FDT_OBJ) $(STACK_OBJ)
	$(CC) -shared -Wl,-z,defs $(LDFLAGS) -o $@ $^ $(URCU_LIBS) $(BPF_LIBS) -ldl

$(BUILD)/%: $(BUILD)/obj/stack/tools/%.o $(BUILD)/libmtcpstack.a
	$(CC) $(LDFLAGS) -o $@ $^ $(BPF_LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNITLIB_OBJ) $(FDT_OBJ) $(BUILD)/libmtcpstack.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(URCU_LIBS) $(BPF_LIBS)

$(BUILD)/api/%: tests/api/%.c $(wildcard tests/api/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/api -o $@ $< $(LDFLAGS)

$(BUILD)/prog/%: tests/prog/%.c $(wildcard tests/prog/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests/prog -o $@ $< $(LDFLAGS)

# The one program of tests/prog linked with the stack: steer_cost runs the
# steering filter through steer.c (steer_int.h) for scripts/mtcp-ab.
$(BUILD)/prog/steer_cost: tests/prog/steer_cost.c $(BUILD)/libmtcpstack.a \
		stack/host/steer.h stack/host/steer_int.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Istack/host -o $@ $< $(BUILD)/libmtcpstack.a $(LDFLAGS) $(BPF_LIBS)

deps:
	@scripts/deps

# Unit tests need nothing but the build; integration tests need root,
# network namespaces and the Debian packages scripts/deps installs.
# The build runs in a sub-make, parsed after scripts/deps has installed
# check and liburcu (see the header).
check: deps
	@$(MAKE) --no-print-directory all
	@tests/run --build $(BUILD)

unit: deps
	@$(MAKE) --no-print-directory all
	@tests/run --build $(BUILD) --unit-only

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=address,undefined OPT=-O1 all
tsan: deps
	@$(MAKE) --no-print-directory BUILD=build/tsan SAN=thread OPT=-O1 all
check-asan: asan
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		tests/run --build build/asan --unit-only
check-tsan: tsan
	@tests/run --build build/tsan --unit-only

# libFuzzer targets (clang): build/fuzz/<name>; run e.g.
#   build/fuzz/fuzz_wire -max_total_time=60
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
fuzz: $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
build/fuzz/%: tests/fuzz/%.c $(STACK_SRC) $(STACK_ASM) $(BPF_OBJ)
	@mkdir -p $(@D)
	clang -std=gnu11 -g -O1 -D_GNU_SOURCE $(STACK_INC) -pthread \
		-DSTEER_BPF_OBJ='"$(BPF_OBJ)"' \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(STACK_SRC) $(STACK_ASM) \
		$(BPF_LIBS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# loadlab: orderd (service/), the loadlab driver (harness/), their tests and benchmarks.
#
#   make            build build/orderd and build/loadlab
#   make test       install missing packages, build, run every unit and integration test
#   make run        install missing packages, build, run the default scenario suite
#   make bench      throughput figures (not a test)
#   make overhead   the instrumentation overhead study (scenarios/overhead/; about 8 minutes)
#   make SANITIZE=address,undefined test    or SANITIZE=thread: sanitizer builds
#   make fuzz       run each libFuzzer target (tests/fuzz/) for FUZZ_RUNS executions
#                   (default 1000000) or FUZZ_SECONDS (default 600), whichever is first
#   make fuzz-regress   run each fuzz target over its checked-in corpus (make test does too)
#
# CFLAGS/OPT/LDFLAGS may be overridden; WERROR=1 turns warnings into errors (CI does).

CC       ?= cc
OPT      ?= -O2 -g
SANITIZE ?=
WERROR   ?= $(CI)
ifeq ($(SANITIZE),)
BUILD    ?= build
else
BUILD    ?= build/san-$(subst $(comma),-,$(SANITIZE))
endif
comma := ,

PKGS     := libevent libevent_pthreads jansson inih sqlite3 libcurl libunwind libdw zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifneq ($(WERROR),)
WARN     += -Werror
endif
SANFLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer,)
CFLAGS   ?= $(OPT)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) $(SANFLAGS) \
              -fno-omit-frame-pointer $(PKG_CFLAGS) -MMD -MP
# Each program sees only its own headers and common/; only the tests see both.
SERVICE_INC := -Icommon -Iservice
HARNESS_INC := -Icommon -Iharness
TEST_INC    := -Icommon -Iservice -Iharness -Itests/support
ALL_LDFLAGS := -pthread -rdynamic $(SANFLAGS) $(LDFLAGS)
LIBS     := $(PKG_LIBS) -lhttp_parser -lm

COMMON_SRC  := $(wildcard common/*.c)
# mallochook.c defines malloc and free: only orderd links it, never the tests through
# the module library.
SERVICE_SRC := $(filter-out service/main.c service/mallochook.c,$(wildcard service/*.c))
HARNESS_SRC := $(filter-out harness/main.c harness/openload_main.c,$(wildcard harness/*/*.c))
TEST_SRC    := $(wildcard tests/unit/test_*.c tests/integration/test_*.c)
SUPPORT_SRC := $(wildcard tests/support/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
COMMON_OBJ  := $(call obj,$(COMMON_SRC))
SERVICE_OBJ := $(call obj,$(SERVICE_SRC))
HARNESS_OBJ := $(call obj,$(HARNESS_SRC))
SUPPORT_OBJ := $(call obj,$(SUPPORT_SRC))
TEST_BIN    := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))

.PHONY: all deps test unit-test run bench overhead clean check-werror fuzz fuzz-build fuzz-targets fuzz-regress
all: $(BUILD)/orderd $(if $(wildcard harness/main.c),$(BUILD)/loadlab) $(BUILD)/openload

deps:
	@scripts/deps.sh

$(BUILD)/obj/common/%.o: common/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icommon -c $< -o $@
$(BUILD)/obj/service/%.o: service/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SERVICE_INC) -c $< -o $@
$(BUILD)/obj/harness/%.o: harness/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(HARNESS_INC) -c $< -o $@
$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) -c $< -o $@

# The git revision both programs report (--version, orderd_build_info). Only
# common/buildinfo.c sees it; the stamp file changes (and that object is rebuilt) only
# when the revision does.
REVISION := $(or $(shell git rev-parse --short HEAD 2>/dev/null),unknown)
$(shell mkdir -p $(BUILD) && (echo '$(REVISION)' | cmp -s - $(BUILD)/revision || echo '$(REVISION)' > $(BUILD)/revision))
$(BUILD)/obj/common/buildinfo.o: $(BUILD)/revision
$(BUILD)/obj/common/buildinfo.o: ALL_CFLAGS += -DLOADLAB_REVISION='"$(REVISION)"'

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/liborderd.a: $(SERVICE_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libloadlab.a: $(HARNESS_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/orderd: $(call obj,service/main.c service/mallochook.c) $(BUILD)/liborderd.a $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/loadlab: $(call obj,harness/main.c) $(BUILD)/libloadlab.a $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# openload: the open-model generator on its own (tests, scripts/openload-bench.sh)
$(BUILD)/openload: $(call obj,harness/openload_main.c) $(BUILD)/libloadlab.a $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

# Every test links the module libraries; the archive pulls in only what it uses.
$(BUILD)/tests/%: $(call obj,tests/%.c) $(SUPPORT_OBJ) $(BUILD)/liborderd.a $(BUILD)/libloadlab.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -lcmocka -o $@

test: deps
	@$(MAKE) --no-print-directory all tests-build
	@# A failed fuzz build does not stop the other tests: test_fuzz_corpus.sh rebuilds
	@# and fails with the compiler's message.
	-+@$(FUZZ_MAKE) fuzz-targets
	@BUILD=$(BUILD) scripts/run-tests.sh $(TESTS)

tests-build: $(TEST_BIN)

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-suite.sh $(BUILD)

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/bench.sh

overhead: deps
	@$(MAKE) --no-print-directory all
	@scripts/overhead.sh $(BUILD)

# Fuzzing: libFuzzer targets, one per parser, built by clang with ASan and UBSan into
# their own tree (every object carries the fuzzer's coverage instrumentation).
FUZZ_CC    ?= clang
FUZZ_BUILD := build/fuzz
FUZZ_SECONDS ?= 600
FUZZ_RUNS    ?= 1000000
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN   := $(patsubst tests/%.c,$(BUILD)/tests/%,$(FUZZ_SRC))
FUZZ_MAKE  := $(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) WERROR= \
              SANITIZE=fuzzer-no-link,address,undefined CFLAGS='-O1 -g -fno-sanitize-recover=undefined'

# More specific than $(BUILD)/tests/%, so it wins for the fuzz targets.
$(BUILD)/tests/fuzz/%: $(call obj,tests/fuzz/%.c) $(BUILD)/liborderd.a $(BUILD)/libloadlab.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer $^ $(LIBS) -o $@

fuzz-targets: $(FUZZ_BIN)
.SECONDARY: $(call obj,$(FUZZ_SRC))

fuzz-build:
	+@$(FUZZ_MAKE) fuzz-targets

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh run $(TARGETS)

fuzz-regress: deps
	@$(MAKE) --no-print-directory fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) scripts/fuzz.sh regress $(TARGETS)

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

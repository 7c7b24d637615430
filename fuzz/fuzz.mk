# fuzz.mk: the heap fuzz target (fuzz/README.md), included by the Makefile.
#
#   make fuzz                  fuzz until stopped (FUZZ_SECONDS=N to stop after N s);
#                              new inputs go to build/fuzz/corpus, failures to build/fuzz/artifacts
#   make fuzz-ci               a bounded run for CI: FUZZ_RUNS inputs (at most FUZZ_CI_SECONDS),
#                              seed corpus first, fixed seed; exits nonzero on any failure
#   make fuzz-build            only build the target
#   FUZZ_WEAK=1                compile in the weak-reference operation (fuzz/weak.c)
#   FUZZ_STRICT=1              check realloc's zeroing word for word as include/mgc.h
#                              promises it (fuzz/crashes/README.md)
#
# With clang's libFuzzer runtime the target is a libFuzzer binary; without
# it (or with FUZZ_LIBFUZZER=no) a standalone driver (fuzz/standalone.c)
# built by $(CC) replays the corpus and runs seeded random mutations of it.
# Both are built with AddressSanitizer and UndefinedBehaviorSanitizer, the
# library included. libFuzzer's coverage counters are left out of mark.c:
# they double the time of every collection (the scan loop) and guide little.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?=
FUZZ_RUNS     ?= 6000
FUZZ_CI_SECONDS ?= 60
FUZZ_MAX_LEN  ?= 4096

ifneq ($(filter fuzz fuzz-ci fuzz-build,$(MAKECMDGOALS)),)
FUZZ_LIBFUZZER ?= $(shell printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
                    | $(FUZZ_CC) -x c - -fsanitize=fuzzer,address,undefined -o /dev/null > /dev/null 2>&1 && echo yes)
endif

ifeq ($(FUZZ_LIBFUZZER),yes)
FUZZ_DRIVER   := libfuzzer
FUZZ_COMPILER := $(FUZZ_CC)
FUZZ_COVERAGE := -fsanitize-coverage=inline-8bit-counters,pc-table
FUZZ_LINK     := -fsanitize=fuzzer
FUZZ_MAIN     :=
else
FUZZ_DRIVER   := standalone
FUZZ_COMPILER := $(CC)
FUZZ_COVERAGE :=
FUZZ_LINK     :=
FUZZ_MAIN     := fuzz/standalone.c
endif

FUZZ_DIR      := build/fuzz/$(FUZZ_DRIVER)$(if $(FUZZ_WEAK),-weak)$(if $(FUZZ_STRICT),-strict)
FUZZ_BIN      := $(FUZZ_DIR)/fuzz_heap
FUZZ_CFLAGS   := $(CFLAGS_BASE) -O2 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 $(if $(FUZZ_WEAK),-DMGC_FUZZ_WEAK) $(if $(FUZZ_STRICT),-DFUZZ_STRICT_REALLOC_ZERO)
FUZZ_OBJECTS  := $(SOURCES:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_TARGET_SOURCES := fuzz/fuzz_heap.c fuzz/ops.c fuzz/weak.c $(FUZZ_MAIN)
# Conservative scanning reads stacks: AddressSanitizer's fake stacks would
# hide locals from it. Leak checks are off: the heap under test is not
# malloc's, and libFuzzer would run every input that starts a thread twice.
# A smaller quarantine keeps the process near 100 MiB instead of 300.
FUZZ_ENV      := ASAN_OPTIONS=detect_stack_use_after_return=0:abort_on_error=1:detect_leaks=0:quarantine_size_mb=32 \
                 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz fuzz-ci fuzz-build
fuzz-build: $(FUZZ_BIN)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(call say,CC      $< (fuzz, $(FUZZ_DRIVER)))
	$(Q)$(FUZZ_COMPILER) $(FUZZ_CFLAGS) $(if $(filter mark,$*),,$(FUZZ_COVERAGE)) -MMD -MP -c $< -o $@

# The model's checks run over every live byte, often: built without
# libFuzzer's comparison tracing, which would make them several times slower.
$(FUZZ_DIR)/model.o: fuzz/model.c fuzz/model.h
	@mkdir -p $(dir $@)
	$(call say,CC      $< (fuzz, $(FUZZ_DRIVER)))
	$(Q)$(FUZZ_COMPILER) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_BIN): $(FUZZ_TARGET_SOURCES) fuzz/model.h fuzz/ops.h $(FUZZ_DIR)/model.o $(FUZZ_OBJECTS)
	@mkdir -p $(dir $@)
	$(call say,FUZZ    $@)
	$(Q)$(FUZZ_COMPILER) $(FUZZ_CFLAGS) $(FUZZ_LINK) $(FUZZ_TARGET_SOURCES) $(FUZZ_DIR)/model.o $(FUZZ_OBJECTS) -o $@ $(LDLIBS)

fuzz: $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus build/fuzz/artifacts
	$(FUZZ_ENV) $(FUZZ_BIN) -max_len=$(FUZZ_MAX_LEN) -timeout=60 -detect_leaks=0 $(if $(FUZZ_SECONDS),-max_total_time=$(FUZZ_SECONDS)) \
	    -artifact_prefix=build/fuzz/artifacts/ build/fuzz/corpus fuzz/corpus

# A fixed seed, so that a failure in CI reproduces with the same command.
# New inputs go to a scratch directory: the committed corpus stays as it is.
fuzz-ci: $(FUZZ_BIN)
	@rm -rf build/fuzz/ci-corpus && mkdir -p build/fuzz/ci-corpus build/fuzz/artifacts
	$(FUZZ_ENV) $(FUZZ_BIN) -runs=$(FUZZ_RUNS) -seed=1 -max_len=1024 -timeout=60 -detect_leaks=0 -max_total_time=$(FUZZ_CI_SECONDS) \
	    -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/ build/fuzz/ci-corpus fuzz/corpus
	@echo "fuzz-ci: passed ($(FUZZ_DRIVER) driver)"

-include $(FUZZ_OBJECTS:.o=.d)

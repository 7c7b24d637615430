# mgc: a garbage-collected heap for C programs.
#
#   make                  build/libmgc.a and build/libmgc.so
#   make test             every test, each case in its own process; last line "N passed, N failed"
#   make test SANITIZE=1  the same, built with AddressSanitizer + UndefinedBehaviorSanitizer
#   make test TSAN=1      the same, built with ThreadSanitizer (build/tsan)
#   make bench            the benchmark report
#   make install PREFIX=/usr/local
#   make install-gc PREFIX=...   the Boehm GC compatibility layer (gc/gc.mk)
#   make sizeclasses      regenerate src/sizeclasses.c from tools/gen_sizeclasses.c
#   make fuzz / fuzz-ci   the heap fuzz target (fuzz/README.md, fuzz/fuzz.mk)
#   make soak             a multi-threaded soak test, SOAK_SECONDS long (default 600)

CC      ?= cc
PREFIX  ?= /usr/local
MAJOR   := 0
VERSION := 0.1.0

CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -gdwarf-4 -Iinclude -Isrc -pthread
OPT         ?= -O2

ifeq ($(SANITIZE),1)
BUILD   := build/sanitize
OPT     := -O1 -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
else ifeq ($(TSAN),1)
BUILD   := build/tsan
OPT     := -O1 -fno-omit-frame-pointer
SANFLAGS := -fsanitize=thread
else
BUILD   := build
SANFLAGS :=
endif

# Valgrind memcheck client requests (src/memcheck.h), when the header is there.
HASH := \#
VALGRIND_CFLAGS := $(shell echo '$(HASH)include <valgrind/memcheck.h>' | $(CC) -E - >/dev/null 2>&1 && echo -DMGC_VALGRIND)

CFLAGS  += $(CFLAGS_BASE) $(OPT) $(SANFLAGS) $(VALGRIND_CFLAGS)

# Quiet by default; make V=1 shows every command.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @echo "  $(1)"
endif
LIB_CFLAGS := $(CFLAGS) -fPIC -fno-semantic-interposition
LDLIBS  := -lpthread -ldl

SOURCES := $(wildcard src/*.c)
OBJECTS := $(SOURCES:src/%.c=$(BUILD)/obj/%.o)
TEST_SOURCES := $(wildcard tests/test_*.c)
TESTS   := $(TEST_SOURCES:tests/%.c=$(BUILD)/tests/%)

# Under ThreadSanitizer: the threaded tests that run reliably (README,
# "ThreadSanitizer" says what does not). The deadlock detector tracks at most
# 64 locks held at once; the fork handler holds one per span class.
GC_LAYER_TESTS := gc/tests/run.sh
ifeq ($(TSAN),1)
TESTS   := $(addprefix $(BUILD)/tests/,test_threads test_free)
GC_LAYER_TESTS :=
TEST_ENV := TSAN_OPTIONS="$${TSAN_OPTIONS:+$$TSAN_OPTIONS:}detect_deadlocks=0" \
	ONLY_test_threads="two_threads four_threads exited_threads_keep_their_counts"
endif

.PHONY: all test bench install clean sizeclasses
all: $(BUILD)/libmgc.a $(BUILD)/libmgc.so gc

# The Boehm GC compatibility layer: build/gc/ (gc/gc.mk).
include gc/gc.mk

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(call say,CC      $<)
	$(Q)$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmgc.a: $(OBJECTS)
	@rm -f $@
	$(call say,AR      $@)
	$(Q)ar rcs $@ $^

$(BUILD)/libmgc.so: $(OBJECTS)
	$(call say,LINK    $@)
	$(Q)$(CC) $(LIB_CFLAGS) -shared -Wl,-soname,libmgc.so.$(MAJOR) -o $@ $^ $(LDLIBS)

# Tests link the static library so that they can reach internal hooks
# (fault injection, the size-class tables).
$(BUILD)/tests/%: tests/%.c tests/harness.c tests/harness.h $(BUILD)/libmgc.a
	@mkdir -p $(dir $@)
	$(call say,TEST    $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -rdynamic tests/$*.c tests/harness.c -o $@ $(BUILD)/libmgc.a $(LDLIBS)

# The benchmark's workloads, built for mgc, checked at a tiny size.
WORKLOAD_SOURCES := bench/workload_json.c bench/workload_garbage.c
$(BUILD)/tests/test_workloads: tests/test_workloads.c $(WORKLOAD_SOURCES) tests/harness.c tests/harness.h $(BUILD)/libmgc.a
	@mkdir -p $(dir $@)
	$(call say,TEST    $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -DBACKEND_MGC -Ibench tests/test_workloads.c $(WORKLOAD_SOURCES) tests/harness.c -o $@ $(BUILD)/libmgc.a $(LDLIBS)

# Uses of freed objects that tests/run.sh expects Valgrind to report.
$(BUILD)/tests/memcheck_use_after_free: tests/memcheck_use_after_free.c $(BUILD)/libmgc.a
	@mkdir -p $(dir $@)
	$(call say,TEST    $@)
	$(Q)$(CC) $(CFLAGS) -O0 -MMD -MP $< -o $@ $(BUILD)/libmgc.a $(LDLIBS)

# A shared library the root tests open with dlopen.
$(BUILD)/tests/libroot.so: tests/libroot.c
	@mkdir -p $(dir $@)
	$(call say,SO      $@)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared $< -o $@

$(BUILD)/tools/gen_sizeclasses: tools/gen_sizeclasses.c
	@mkdir -p $(dir $@)
	$(call say,TOOL    $@)
	$(Q)$(CC) -std=c11 -O2 -Wall -Wextra -Werror $< -o $@

test: all $(TESTS) $(BUILD)/tools/gen_sizeclasses $(BUILD)/tests/libroot.so $(BUILD)/tests/memcheck_use_after_free
	@$(TEST_ENV) BUILD=$(BUILD) EXAMPLE_CFLAGS="$(SANFLAGS)" VALGRIND_CHECKS=$(if $(SANFLAGS),0,$(if $(VALGRIND_CFLAGS),1,0)) \
		sh tests/run.sh $(TESTS) $(GC_LAYER_TESTS)

sizeclasses: $(BUILD)/tools/gen_sizeclasses
	$< > src/sizeclasses.c

bench: all
	@$(MAKE) --no-print-directory -C bench BUILD=$(abspath $(BUILD)) QUICK=$(QUICK)
	@echo "== A Boehm GC program on Boehm GC and on mgc through build/gc (make bench-gc)"
	@$(MAKE) --no-print-directory bench-gc QUICK=$(QUICK) | tee $(BUILD)/bench/boehm_layer.md

install: $(BUILD)/libmgc.a $(BUILD)/libmgc.so
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/mgc.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(BUILD)/libmgc.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/libmgc.so $(DESTDIR)$(PREFIX)/lib/libmgc.so.$(VERSION)
	ln -sf libmgc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmgc.so.$(MAJOR)
	ln -sf libmgc.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libmgc.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' mgc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mgc.pc

# The soak test: threads build, share and verify structures for SOAK_SECONDS;
# exits nonzero on any mismatch.
SOAK_SECONDS ?= 600
$(BUILD)/tests/soak: tests/soak.c $(BUILD)/libmgc.a
	@mkdir -p $(dir $@)
	$(call say,SOAK    $@)
	$(Q)$(CC) $(CFLAGS) -MMD -MP tests/soak.c -o $@ $(BUILD)/libmgc.a $(LDLIBS)

.PHONY: soak
soak: $(BUILD)/tests/soak
	$(BUILD)/tests/soak $(SOAK_SECONDS)

include fuzz/fuzz.mk

clean:
	rm -rf build

-include $(OBJECTS:.o=.d) $(TESTS:=.d) $(BUILD)/tests/soak.d

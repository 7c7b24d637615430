#!/bin/sh
# run.sh: runs every test binary given, plus the checks that are not C
# programs, and ends with the total "N passed, N failed".
passed=0
failed=0
# Conservative scanning reads stacks; AddressSanitizer's fake stacks would
# hide locals from it.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_stack_use_after_return=0"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1"

out=$(mktemp)
for t in "$@"; do
    echo "== $t"
    # ONLY_<binary>="case ...": run only those cases of it (TSAN=1).
    name=$(basename "$t" | tr -c 'A-Za-z0-9_\n' '_')
    eval "only=\${ONLY_$name:-}"
    TEST_ONLY="$only" "$t" > "$out" 2>&1
    cat "$out"
    line=$(tail -n 1 "$out")
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "FAIL $t (no summary line: it crashed)"
        failed=$((failed + 1))
    else
        passed=$((passed + p))
        failed=$((failed + f))
    fi
done

# The collector's own tests again under the debug modes: poison (freed
# memory filled, checked when reused) and verify (the heap's invariants at
# every collection). Left out: the cases about the background sweeper's
# zeroing, which poison mode replaces with the pattern.
poison_skip=background_sweeper_zeroes_only_dead_large_objects,background_sweeper_zeroes_freed_small_slots
for t in "$@"; do
    case "$t" in
    */test_torture | */test_gc) ;;
    *) continue ;;
    esac
    echo "== $t with MGC_DEBUG=poison=1,verify=1"
    MGC_DEBUG=poison=1,verify=1 HARNESS_SKIP="$poison_skip" "$t" > "$out" 2>&1
    cat "$out"
    line=$(tail -n 1 "$out")
    p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
    f=$(echo "$line" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
    if [ -z "$p" ]; then
        echo "FAIL $t under poison/verify (no summary line: it crashed)"
        failed=$((failed + 1))
    else
        passed=$((passed + p))
        failed=$((failed + f))
    fi
done
rm -f "$out"

# The checked-in size-class table is what the generator produces.
echo "== size-class table is up to date"
if "$BUILD/tools/gen_sizeclasses" 2>/dev/null | cmp -s - src/sizeclasses.c; then
    echo "ok   sizeclasses_generated"
    passed=$((passed + 1))
else
    echo "FAIL sizeclasses_generated (run: make sizeclasses)"
    failed=$((failed + 1))
fi

# make install puts headers, both libraries and mgc.pc where pkg-config finds
# them, and a program builds against them with nothing else.
echo "== install and build the example with pkg-config"
prefix=$(mktemp -d)
check_install() {
    make -s install PREFIX="$prefix" BUILD="$BUILD" > /dev/null || return 1
    [ -f "$prefix/include/mgc.h" ] && [ -f "$prefix/lib/libmgc.a" ] || return 1
    readelf -d "$prefix/lib/libmgc.so" | grep -q 'SONAME.*libmgc.so.0' || return 1
    export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
    cc $EXAMPLE_CFLAGS examples/example.c $(pkg-config --cflags --libs mgc) -lpthread -ldl -o "$prefix/example_shared" || return 1
    LD_LIBRARY_PATH="$prefix/lib" "$prefix/example_shared" | grep -q '^ada$' || return 1
    cc $EXAMPLE_CFLAGS examples/example.c $(pkg-config --cflags mgc) "$prefix/lib/libmgc.a" -lpthread -ldl -o "$prefix/example_static" || return 1
    "$prefix/example_static" | grep -q '8 objects allocated, 2 packed' || return 1
}
if check_install; then
    echo "ok   install_and_pkg_config"
    passed=$((passed + 1))
else
    echo "FAIL install_and_pkg_config"
    failed=$((failed + 1))
fi
rm -rf "$prefix"

# Valgrind memcheck (src/memcheck.h): representative cases draw no report,
# and uses of freed objects are reported where they happen. Only for a plain
# build with the client requests in (VALGRIND_CHECKS=1 from the Makefile);
# sanitizer builds cannot run under Valgrind.
echo "== valgrind memcheck"
if [ "${VALGRIND_CHECKS:-0}" != 1 ]; then
    echo "skip valgrind (not a plain build with <valgrind/memcheck.h>)"
elif ! command -v valgrind > /dev/null 2>&1; then
    echo "skip valgrind (valgrind is not installed)"
else
    vg_out=$(mktemp)
    for case in "test_threads two_threads" "test_free frees_stay_exact_while_spans_change_hands" \
                "test_free cross_thread_free_is_reused" "test_finalize hundred_thousand_finalizers_across_two_threads_run_once_each" \
                "test_gc threads_come_and_go_while_collections_run" "test_gc every_slot_of_every_class_keeps_its_object"; do
        set -- $case
        if valgrind -q --error-exitcode=99 --leak-check=no "$BUILD/tests/$1" "$2" > "$vg_out" 2>&1; then
            echo "ok   valgrind $2"
            passed=$((passed + 1))
        else
            cat "$vg_out"
            echo "FAIL valgrind $2"
            failed=$((failed + 1))
        fi
    done
    # Each use of a freed object is reported, at its own function, and
    # nothing else is.
    valgrind --leak-check=no "$BUILD/tests/memcheck_use_after_free" > "$vg_out" 2>&1
    vg_reported() { grep -A1 "Invalid $1 of size" "$vg_out" | grep -q "at 0x[0-9A-F]*: $2 "; }
    if grep -q '^done$' "$vg_out" && vg_reported read read_freed_small && vg_reported write write_freed_large &&
       vg_reported read read_freed_by_other_thread && grep -q "ERROR SUMMARY: 3 errors" "$vg_out"; then
        echo "ok   valgrind use_after_mgc_free_is_reported"
        passed=$((passed + 1))
    else
        cat "$vg_out"
        echo "FAIL valgrind use_after_mgc_free_is_reported"
        failed=$((failed + 1))
    fi
    rm -f "$vg_out"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

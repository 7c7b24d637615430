#!/bin/sh
# run.sh: the Boehm GC layer's tests. Each program in gc/tests/*.c is built
# exactly as a Boehm user builds it (-I$BUILD/gc/include -L$BUILD/gc/lib -lgc)
# and run against build/gc/lib; each prints "ok   case" or "FAIL case" lines.
# Then the checks that are not programs: every exported Boehm symbol, the
# headers alone, pkg-config, install-gc, and a program built against Debian's
# libgc run on ours through LD_LIBRARY_PATH. Ends with "N passed, N failed".
BUILD=${BUILD:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
inc=$(cd "$BUILD/gc/include" && pwd)
lib=$(cd "$BUILD/gc/lib" && pwd)
out=$(mktemp -d)
passed=0
failed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_stack_use_after_return=0:detect_leaks=0"

# Programs: one binary each; the cases it prints count one by one.
for src in gc/tests/test_*.c; do
    name=$(basename "$src" .c)
    extra="-DGC_THREADS"
    if ! cc $EXAMPLE_CFLAGS -std=gnu11 -O1 -g -Wall -Wno-deprecated-declarations $extra -I"$inc" "$src" -L"$lib" -lgc -pthread -o "$out/$name" 2> "$out/$name.err"; then
        cat "$out/$name.err"; fail "$name (build)"; continue
    fi
    LD_LIBRARY_PATH="$lib" timeout 300 "$out/$name" > "$out/$name.log" 2>&1
    rc=$?
    cat "$out/$name.log"
    p=$(grep -c '^ok ' "$out/$name.log")
    f=$(grep -c '^FAIL ' "$out/$name.log")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        fail "$name (exit status $rc)"
    fi
done

echo "== Boehm GC layer: checks"
if sh gc/tests/check_symbols.sh "$lib/libgc.so.1"; then pass boehm_symbols_all_exported; else fail boehm_symbols_all_exported; fi
if sh gc/tests/check_headers.sh "$inc"; then pass boehm_headers_compile_alone; else fail boehm_headers_compile_alone; fi
if readelf -d "$lib/libgc.so.1" | grep -q 'SONAME.*\[libgc.so.1\]' && ! readelf -d "$lib/libgc.so.1" | grep -q 'NEEDED.*libmgc'; then
    pass boehm_soname_self_contained
else
    fail boehm_soname_self_contained
fi

# pkg-config gives flags that build and run a program against the layer.
check_pkg_config() {
    flags=$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --cflags --libs bdw-gc) || return 1
    cc $EXAMPLE_CFLAGS gc/tests/programs/hello.c $flags -o "$out/hello_pc" || return 1
    LD_LIBRARY_PATH="$lib" "$out/hello_pc" | grep -q '^hello from mgc$' || return 1
    LD_LIBRARY_PATH="$lib" ldd "$out/hello_pc" | grep -q "$lib/libgc.so.1" || return 1
    # C++ through the same flags: the header's extern "C" must hold.
    c++ $EXAMPLE_CFLAGS -x c++ gc/tests/programs/hello.c $flags -o "$out/hello_cxx" || return 1
    LD_LIBRARY_PATH="$lib" "$out/hello_cxx" | grep -q '^hello from mgc$' || return 1
    # Static: libgc.a alone (with pthread) is enough.
    cc $EXAMPLE_CFLAGS gc/tests/programs/hello.c -I"$inc" "$lib/libgc.a" -pthread -ldl -o "$out/hello_static" || return 1
    "$out/hello_static" | grep -q '^hello from mgc$'
}
if check_pkg_config; then pass boehm_pkg_config_c_cxx_static; else fail boehm_pkg_config_c_cxx_static; fi

check_install() {
    prefix="$out/prefix"
    make -s install-gc PREFIX="$prefix" BUILD="$BUILD" > /dev/null || return 1
    [ -f "$prefix/include/gc.h" ] && [ -f "$prefix/include/gc/gc_typed.h" ] && [ -f "$prefix/lib/libgc.a" ] || return 1
    flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs bdw-gc) || return 1
    cc $EXAMPLE_CFLAGS gc/tests/programs/hello.c $flags -o "$out/hello_installed" || return 1
    LD_LIBRARY_PATH="$prefix/lib" "$out/hello_installed" | grep -q '^hello from mgc$'
}
if check_install; then pass boehm_install_gc; else fail boehm_install_gc; fi

# A program built against Debian's Boehm GC (its headers and library) runs on
# mgc by LD_LIBRARY_PATH alone; ldd shows which library it loads.
check_debian_binary() {
    [ -f /usr/include/gc/gc.h ] && [ -f /usr/lib/x86_64-linux-gnu/libgc.so ] || { echo "libgc-dev is not installed"; return 1; }
    cc -O1 -Wno-deprecated-declarations -DGC_THREADS -I/usr/include gc/tests/programs/boehm_built.c -L/usr/lib/x86_64-linux-gnu -lgc -pthread -o "$out/boehm_built" || return 1
    ldd "$out/boehm_built" | grep -q 'libgc.so.1 => /.*x86_64-linux-gnu/libgc.so.1' || { echo "not linked to Debian's libgc"; return 1; }
    "$out/boehm_built" > "$out/on_boehm.log" 2>&1 || { cat "$out/on_boehm.log"; echo "fails on Boehm itself"; return 1; }
    mine=$lib/libgc.so.1
    LD_LIBRARY_PATH="$lib" ldd "$out/boehm_built" | grep -q "libgc.so.1 => $mine" || { echo "ldd does not show $mine"; return 1; }
    LD_LIBRARY_PATH="$lib" "$out/boehm_built" > "$out/on_mgc.log" 2>&1 || { cat "$out/on_mgc.log"; return 1; }
    grep -q '^all checks passed on mgc$' "$out/on_mgc.log" || { cat "$out/on_mgc.log"; return 1; }
}
if [ -n "$EXAMPLE_CFLAGS" ]; then
    echo "skip boehm_debian_binary_on_mgc (sanitizer build: an uninstrumented binary cannot load it)"
elif check_debian_binary; then pass boehm_debian_binary_on_mgc; else fail boehm_debian_binary_on_mgc; fi

rm -rf "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

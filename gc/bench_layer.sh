#!/bin/sh
# bench_layer.sh BUILD [RUNS]: one Boehm GC program timed on Boehm GC and on
# mgc through the compatibility layer. bench/gcbench.c's GCBench workload is
# built once against Debian's gc.h and libgc.so.1, then run as it is and with
# LD_LIBRARY_PATH=BUILD/gc/lib (ldd shows which library each run loads).
# Prints a markdown row per collector: medians of RUNS runs (default 3).
BUILD=${1:-build}
runs=${2:-3}
lib=$(cd "$BUILD/gc/lib" && pwd) || exit 1
bin=$(mktemp -d)/gcbench_boehm
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -pthread -DBACKEND_BOEHM bench/gcbench.c -o "$bin" -lgc || exit 1
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
row() {
    label=$1
    shift
    env "$@" ldd "$bin" | grep 'libgc.so.1' | sed "s|^[[:space:]]*|  $label loads: |"
    out=$(mktemp)
    for i in $(seq "$runs"); do env "$@" "$bin" gcbench | tail -n 1 >> "$out"; done
    wall=$(cut -f3 "$out" | median); cpu=$(cut -f4 "$out" | median)
    rss=$(cut -f5 "$out" | median); gcs=$(cut -f6 "$out" | median)
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$wall" "$cpu" "$rss" "$gcs" >> "$table"
    rm -f "$out"
}
table=$(mktemp)
echo "GCBench (bench/gcbench.c, depth 16) built against Debian's gc.h, median of $runs runs:"
row "Boehm GC 8.2 (Debian)" X_UNUSED=1
row "mgc via build/gc/lib" LD_LIBRARY_PATH="$lib"
echo "| libgc.so.1 | wall s | CPU s | peak RSS MiB | collections |"
echo "|---|---|---|---|---|"
cat "$table"
rm -f "$table" "$bin"

#!/bin/sh
# finalize.sh OUT COUNT: the finalizer benchmark (finalize.c) for mgc and
# Boehm GC, each in its own process, as a markdown table (also OUT/finalize.md).
out=$1
count=$2
for b in mgc boehm; do
    "$out/finalize_$b" "$count" > "$out/finalize_$b.txt" || exit 1
done
{
    echo "Finalizers: $count finalizable 32-byte objects, ns per object (set, collect until all ran, run; lower is better)"
    echo
    awk -F '\t' '
        BEGIN {
            printf "| %-8s | %10s | %10s | %10s | %10s | %9s |\n", "backend", "set", "collect", "run", "total", "ran"
            printf "|----------|------------|------------|------------|------------|-----------|\n"
        }
        { printf "| %-8s | %10.1f | %10.1f | %10.1f | %10.1f | %9d |\n", $2, $3, $4, $5, $6, $7; total[NR] = $6 }
        END { if (total[2] > 0) printf "\nmgc/boehm, total: %.2f\n", total[1] / total[2] }
    ' "$out/finalize_mgc.txt" "$out/finalize_boehm.txt"
} | tee "$out/finalize.md"

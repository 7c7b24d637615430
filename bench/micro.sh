#!/bin/sh
# micro.sh OUT SCALE: runs each backend's microbenchmark in its own process
# and prints them side by side, with mgc's ratio to each peer (below 1.00:
# mgc is faster).
out=$1
scale=$2
for b in mgc glibc mimalloc boehm; do
    "$out/micro_$b" "$scale" > "$out/micro_$b.txt" || exit 1
done
echo "Microbenchmarks, ns per operation (median of 7; lower is better)"
echo
awk -F '\t' '
    FNR == 1 { file++ }
    { name[FNR] = $1; v[file, FNR] = $2; n = FNR }
    END {
        printf "| %-22s | %8s | %8s | %8s | %8s | %9s | %9s | %9s |\n", "case", "mgc", "glibc", "mimalloc", "boehm", "mgc/glibc", "mgc/mi", "mgc/boehm"
        printf "|%s|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------", "----------", "----------", "----------", "----------", "-----------", "-----------", "-----------"
        for (i = 1; i <= n; i++)
            printf "| %-22s | %8.2f | %8.2f | %8.2f | %8.2f | %9.2f | %9.2f | %9.2f |\n", name[i], v[1,i], v[2,i], v[3,i], v[4,i], v[1,i]/v[2,i], v[1,i]/v[3,i], v[1,i]/v[4,i]
    }' "$out/micro_mgc.txt" "$out/micro_glibc.txt" "$out/micro_mimalloc.txt" "$out/micro_boehm.txt" | tee "$out/micro.md"

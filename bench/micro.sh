#!/bin/sh
# micro.sh OUT SCALE: runs each backend's microbenchmark in its own process,
# three times in turn (once when SCALE is below 1, the QUICK mode), takes
# each case's median over the runs, and prints the backends side by side,
# with mgc's ratio to each peer (below 1.00: mgc is faster). Taking turns
# spreads a slow spell of the machine over every backend instead of one.
out=$1
scale=$2
runs=$(awk -v scale="$scale" 'BEGIN { print (scale < 1 ? 1 : 3) }')
backends="mgc glibc mimalloc boehm"
rm -f "$out"/micro_*.[0-9]*.txt
run=1
while [ "$run" -le "$runs" ]; do
    for b in $backends; do
        "$out/micro_$b" "$scale" > "$out/micro_$b.$run.txt" || exit 1
    done
    run=$((run + 1))
done
for b in $backends; do
    awk -F '\t' '
        { name[FNR] = $1; value[FNR, ++count[FNR]] = $2; n = FNR }
        END {
            for (i = 1; i <= n; i++) {
                for (r = 1; r <= count[i]; r++) sorted[r] = value[i, r]
                for (a = 2; a <= count[i]; a++)
                    for (j = a; j > 1 && sorted[j - 1] + 0 > sorted[j] + 0; j--) {
                        t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t
                    }
                printf "%s\t%s\n", name[i], sorted[int((count[i] + 1) / 2)]
            }
        }' "$out"/micro_"$b".*.txt > "$out/micro_$b.txt"
done
echo "Microbenchmarks, ns per operation (median of 7 rounds in each process, then of $runs processes; lower is better)"
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

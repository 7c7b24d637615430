#!/bin/sh
# gc.sh OUT QUICK: runs the collector benchmarks (gcbench.c) for mgc and the
# two Boehm configurations, each run in its own process, checks that every
# run printed the expected check values, and prints two markdown tables,
# also written to OUT/gc.md:
#   - each workload's wall time, CPU time, peak RSS, collections and largest
#     pause, with mgc's ratios to each Boehm configuration (below 1.00: mgc
#     is faster or smaller);
#   - the pause of a full collection over a large live heap with 1 and 2
#     marking threads, which shows how well marking runs in parallel.
# QUICK=1 shrinks every workload and runs each case once, to check the
# plumbing in a few seconds; its numbers are not for comparison.
#
# Binary trees run at depth 21, as the Benchmarks Game does; a run takes
# 9 to 20 seconds here, and they make up most of the time of a full `make
# bench` (about 7 minutes on a 2-core machine). Every case reports the
# median of 3 runs: on this machine one run of trees can come out 20 %
# slower or faster than the next, for any backend.
out=$1
quick=$2
backends="mgc boehm boehm_nointerior"

if [ "$quick" = 1 ]; then
    trees_depth=16 gcbench_depth=14 pause_mib=256 trees_runs=1 gcbench_runs=1 pause_runs=1
    mode="QUICK mode: reduced sizes, 1 run each; not for comparison"
else
    trees_depth=21 gcbench_depth=16 pause_mib=1024 trees_runs=3 gcbench_runs=3 pause_runs=3
    mode="median of 3 runs per column, the backends taking turns"
fi
# The marking threads for the 2-thread pause runs (one per core here) and
# the main table's pause row; the pause table adds 1-thread runs.
markers=2
start=$(date +%s)

# run_case LABEL RUN BACKEND ENVIRONMENT ARGS...: runs gcbench_BACKEND ARGS
# once with ENVIRONMENT (NAME=value words, or ""), its output kept in
# OUT/gc_LABEL.BACKEND.RUN.txt.
run_case() {
    label=$1 run=$2 backend=$3 environment=$4
    shift 4
    # shellcheck disable=SC2086 # ENVIRONMENT is split into words on purpose
    if ! env $environment "$out/gcbench_$backend" "$@" > "$out/gc_${label}.${backend}.$run.txt"; then
        echo "gc.sh: gcbench_$backend $* failed (environment: ${environment:-none})" >&2
        exit 1
    fi
}

# check_outputs LABEL: every output of LABEL must print the same check lines,
# and those must be the values the workload's shape dictates.
check_outputs() {
    first=
    for file in "$out"/gc_"$1".*.txt; do
        sed '$d' "$file" > "$out/gc_checks.tmp"
        if [ -z "$first" ]; then
            first=$file
            cp "$out/gc_checks.tmp" "$out/gc_$1.checks"
        elif ! cmp -s "$out/gc_checks.tmp" "$out/gc_$1.checks"; then
            echo "gc.sh: the check lines of $file differ from those of $first:" >&2
            diff "$out/gc_$1.checks" "$out/gc_checks.tmp" >&2
            exit 1
        fi
    done
    rm -f "$out/gc_checks.tmp"
    awk -F '\t' '
        function nodes(depth) { return 2 ^ (depth + 1) - 1 }
        function field_number(text) { sub(/^[^0-9]*/, "", text); return text + 0 }
        function fail(why) { printf "gc.sh: %s: line %d is wrong (%s): %s\n", FILENAME, FNR, why, $0 > "/dev/stderr"; bad = 1 }
        /^stretch tree|^long lived tree/ {
            depth = words[split($1, words, " ")]
            if (field_number($2) != nodes(depth)) fail("node count")
            next
        }
        /trees of depth/ {
            depth = words[split($2, words, " ")]
            expected = $1 * nodes(depth)
            for (i = 3; i <= NF; i++)
                if (field_number($i) != expected) fail("node count")
            next
        }
        /^long lived array/ { if ($2 !~ /intact/) fail("array"); next }
        /^live heap/ {
            match($1, /[0-9]+ chains of [0-9]+ nodes/)
            split(substr($1, RSTART, RLENGTH), words, " ")
            if (field_number($2) != words[1] * words[4] || $2 !~ /payload intact/) fail("heap")
            next
        }
        { fail("unknown line") }
        END { exit bad }' "$out/gc_$1.checks" || exit 1
}

# summarize LABEL BACKEND: the median of each column of LABEL BACKEND's runs,
# appended to OUT/gc_summary.tsv as LABEL, backend name, then the columns.
summarize() {
    for file in "$out"/gc_"$1"."$2".*.txt; do
        tail -n 1 "$file"
    done | awk -F '\t' -v label="$1" '
        { name = $2; for (c = 3; c <= 7; c++) value[c, NR] = $c; n = NR }
        END {
            printf "%s\t%s", label, name
            for (c = 3; c <= 7; c++) {
                # Sorted as numbers, printed as the program wrote them.
                not_measured = 0
                for (r = 1; r <= n; r++) {
                    if (value[c, r] == "n/a") not_measured = 1
                    sorted[r] = value[c, r]
                }
                for (i = 2; i <= n; i++)
                    for (j = i; j > 1 && sorted[j - 1] + 0 > sorted[j] + 0; j--) {
                        t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t
                    }
                printf "\t%s", not_measured ? "n/a" : sorted[int((n + 1) / 2)]
            }
            printf "\n"
        }' >> "$out/gc_summary.tsv"
}

rm -f "$out"/gc_*.txt "$out"/gc_*.checks "$out/gc_summary.tsv"

# The backends take turns, run after run, so that a slow spell of the
# machine falls on all of them rather than on one.
run=1
while [ "$run" -le "$trees_runs" ] || [ "$run" -le "$gcbench_runs" ] || [ "$run" -le "$pause_runs" ]; do
    for backend in $backends; do
        if [ "$run" -le "$trees_runs" ]; then
            run_case trees "$run" "$backend" "" trees "$trees_depth"
            run_case trees2 "$run" "$backend" "" trees2 "$trees_depth"
        fi
        if [ "$run" -le "$gcbench_runs" ]; then
            run_case gcbench "$run" "$backend" "" gcbench "$gcbench_depth"
        fi
        if [ "$run" -le "$pause_runs" ]; then
            run_case pause "$run" "$backend" "MGC_DEBUG=gcprocs=$markers GC_MARKERS=$markers" pause "$pause_mib"
        fi
    done
    if [ "$run" -le "$pause_runs" ]; then
        run_case pause1 "$run" mgc "MGC_DEBUG=gcprocs=1" pause "$pause_mib"
        run_case pause1 "$run" boehm "GC_MARKERS=1" pause "$pause_mib"
    fi
    run=$((run + 1))
done

for label in trees trees2 gcbench pause pause1; do
    check_outputs "$label"
done
for label in trees trees2 gcbench pause; do
    for backend in $backends; do
        summarize "$label" "$backend"
    done
done
summarize pause1 mgc
summarize pause1 boehm

{
    echo "Collector benchmarks ($mode; lower is better)"
    echo
    echo "trees: binary trees of depth $trees_depth (two-pointer nodes); trees2: the same on 2 threads;"
    echo "gcbench: GCBench with a long-lived tree of depth $gcbench_depth; pause: a $pause_mib MiB live heap"
    echo "of 64-byte objects, then 3 forced full collections (max pause: theirs; $markers marking threads)."
    echo "Pause is the time the world is stopped. Check values verified for every run."
    echo
    awk -F '\t' '
        function ratio(a, b) { return (a == "n/a" || b == "n/a" || b + 0 == 0) ? "n/a" : sprintf("%.2f", a / b) }
        function row(workload, name, wall, cpu, rss, gcs, pause) {
            printf "| %-8s | %-22s | %8s | %8s | %12s | %11s | %12s |\n", workload, name, wall, cpu, rss, gcs, pause
        }
        $1 == "pause1" { next }
        {
            if (!($1 in backend_count)) order[++workloads] = $1
            backend_name[$1, ++backend_count[$1]] = $2
            key = $1 SUBSEP $2
            wall[key] = $3; cpu[key] = $4; rss[key] = $5; gcs[key] = $6; pause[key] = $7
        }
        END {
            row("workload", "backend", "wall s", "CPU s", "peak RSS MiB", "collections", "max pause ms")
            print "|----------|------------------------|----------|----------|--------------|-------------|--------------|"
            for (w = 1; w <= workloads; w++) {
                label = order[w]
                for (b = 1; b <= backend_count[label]; b++) {
                    name = backend_name[label, b]
                    key = label SUBSEP name
                    row(b == 1 ? label : "", name, wall[key], cpu[key], rss[key], gcs[key], pause[key])
                }
                mgc = label SUBSEP "mgc"
                split("boehm boehm-nointerior", peers, " ")
                for (p = 1; p <= 2; p++) {
                    peer = label SUBSEP peers[p]
                    row("", "mgc/" peers[p], ratio(wall[mgc], wall[peer]), ratio(cpu[mgc], cpu[peer]),
                        ratio(rss[mgc], rss[peer]), "", "")
                }
            }
        }' "$out/gc_summary.tsv"
    echo
    echo "Pause of a full collection over a $pause_mib MiB live heap (largest of 3 forced collections in a run; the median run of $pause_runs)"
    echo
    awk -F '\t' '
        $1 == "pause1" && $2 == "mgc" { mgc1 = $7 }
        $1 == "pause" && $2 == "mgc" { mgc2 = $7 }
        $1 == "pause1" && $2 == "boehm" { boehm1 = $7 }
        $1 == "pause" && $2 == "boehm" { boehm2 = $7 }
        function speedup(one, many) { return many + 0 == 0 ? "n/a" : sprintf("%.2f", one / many) }
        END {
            printf "| %-9s | %-28s | %12s | %23s |\n", "collector", "marking threads", "max pause ms", "speedup over 1 thread"
            print "|-----------|------------------------------|--------------|-------------------------|"
            printf "| %-9s | %-28s | %12s | %23s |\n", "mgc", "1 (MGC_DEBUG=gcprocs=1)", mgc1, "1.00"
            printf "| %-9s | %-28s | %12s | %23s |\n", "mgc", m " (MGC_DEBUG=gcprocs=" m ")", mgc2, speedup(mgc1, mgc2)
            printf "| %-9s | %-28s | %12s | %23s |\n", "boehm", "1 (GC_MARKERS=1)", boehm1, "1.00"
            printf "| %-9s | %-28s | %12s | %23s |\n", "boehm", m " (GC_MARKERS=" m ")", boehm2, speedup(boehm1, boehm2)
        }' m="$markers" "$out/gc_summary.tsv"
} | tee "$out/gc.md"

echo
echo "(collector benchmarks: $(($(date +%s) - start)) s)"

#!/bin/sh
# seed.sh OUT QUICK: the seed's judgement of the tiny allocator, remade.
#
# Runs the json and garbage workloads (seedbench.c) on 1 worker and on one
# worker per core, each case in its own process, as three columns: mgc with
# MGC_DEBUG=tinyalloc=0, mgc as shipped (tiny allocator on), and Boehm GC.
# Runs alternate between the columns, so that a slow stretch of the machine
# does not fall on one column alone; every figure is the median of the runs.
# Prints one table per case, the seed's figures with the change in percent
# from tiny off to tiny on and mgc's ratio to Boehm, writes them to
# OUT/seed.md, and the medians to OUT/seed.tsv for the chart (report.sh).
#
# QUICK=1 shrinks the workloads and runs each case once: a check that the
# plumbing works, not numbers to compare.
out=$1
quick=$2
cores=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# json: ~2 MB documents, garbage: ~64 MB live at scale 1. The operation
# counts make a run last about half a second here.
if [ "$quick" = 1 ]; then
    runs=1 scale=0.25 json_operations=4 garbage_operations=20
    mode="QUICK mode: quarter-size workloads, 1 run each; not for comparison"
else
    runs=3 scale=1 json_operations=12 garbage_operations=250
    mode="median of $runs runs per column"
fi
columns="tinyoff tinyon boehm"
start=$(date +%s)

# run_one CASE COLUMN RUN WORKLOAD WORKERS OPERATIONS
run_one() {
    case $2 in
    tinyoff) program=seedbench_mgc environment="MGC_DEBUG=tinyalloc=0" ;;
    tinyon) program=seedbench_mgc environment="MGC_DEBUG=" ;;
    boehm) program=seedbench_boehm environment="MGC_DEBUG=" ;;
    esac
    if ! env "$environment" "$out/$program" "$4" "$5" "$6" "$scale" > "$out/seed_$1.$2.$3.txt"; then
        echo "seed.sh: $program $4 $5 $6 $scale failed (${environment})" >&2
        exit 1
    fi
}

# median CASE COLUMN: "figure<TAB>median" for every figure of the runs.
median() {
    cat "$out"/seed_"$1"."$2".*.txt | awk -F '\t' '
        $1 == "workload" || $1 == "backend" || $1 == "workers" || $1 == "operations" { next }
        {
            if (!($1 in count)) order[++figures] = $1
            values[$1, ++count[$1]] = $2
        }
        END {
            for (f = 1; f <= figures; f++) {
                name = order[f]; n = count[name]
                unknown = 0
                for (r = 1; r <= n; r++) {
                    sorted[r] = values[name, r]
                    if (sorted[r] == "n/a") unknown = 1
                }
                for (i = 2; i <= n; i++)
                    for (j = i; j > 1 && sorted[j - 1] + 0 > sorted[j] + 0; j--) {
                        t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t
                    }
                printf "%s\t%s\n", name, unknown ? "n/a" : sorted[int((n + 1) / 2)]
            }
        }'
}

rm -f "$out"/seed_*.txt "$out/seed.tsv"
cases=
for workload in json garbage; do
    for workers in 1 "$cores"; do
        case_name="$workload-$workers"
        # Two identical cases when the machine has one core.
        case " $cases " in *" $case_name "*) continue ;; esac
        cases="$cases $case_name"
        eval operations=\$${workload}_operations
        run=1
        while [ "$run" -le "$runs" ]; do
            for column in $columns; do
                run_one "$case_name" "$column" "$run" "$workload" "$workers" "$operations"
            done
            run=$((run + 1))
        done
        for column in $columns; do
            median "$case_name" "$column" | sed "s/^/$case_name\t$column\t/" >> "$out/seed.tsv"
        done
    done
done

{
    echo "The seed's workloads: the tiny allocator off and on, and Boehm GC ($mode; lower is better)"
    echo
    echo "json: decode a ~2 MB JSON profile tree into collected objects and encode it back, the previous"
    echo "tree kept live; garbage: parse C-like source into syntax trees, ~64 MB of trees kept live and the"
    echo "oldest replaced. NAME-N: N workers. Per operation: allocated (bytes), allocs (heap objects;"
    echo "for mgc a tiny block counts once), cputime, gc-pause-total, time (ns). gc-pause-one: ns per"
    echo "collection. rss, virtual-mem: the process's peaks; sys-*: bytes from the OS at the end."
    echo "change: tiny on against tiny off. mgc/boehm: mgc as shipped (tiny on) against Boehm GC."
    for case_name in $cases; do
        echo
        echo "$case_name"
        echo
        awk -F '\t' -v case_name="$case_name" '
            $1 != case_name { next }
            {
                if (!(($3) in seen)) { seen[$3] = 1; order[++figures] = $3 }
                value[$2, $3] = $4
            }
            function change(old, new) {
                if (old == "n/a" || new == "n/a" || old + 0 == 0) return "n/a"
                return sprintf("%+.2f%%", (new - old) * 100 / old)
            }
            function ratio(a, b) { return (a == "n/a" || b == "n/a" || b + 0 == 0) ? "n/a" : sprintf("%.2f", a / b) }
            function row(a, b, c, d, e, f) { printf "| %-14s | %14s | %14s | %9s | %14s | %9s |\n", a, b, c, d, e, f }
            END {
                row("figure", "mgc tiny off", "mgc tiny on", "change", "boehm", "mgc/boehm")
                print "|----------------|----------------|----------------|-----------|----------------|-----------|"
                for (f = 1; f <= figures; f++) {
                    name = order[f]
                    off = value["tinyoff", name]; on = value["tinyon", name]; boehm = value["boehm", name]
                    row(name, off, on, change(off, on), boehm, ratio(on, boehm))
                }
            }' "$out/seed.tsv"
    done
} | tee "$out/seed.md"

echo
echo "(seed workloads: $(($(date +%s) - start)) s)"

#!/bin/sh
# report.sh OUT: gathers what `make bench` measured into OUT/report.md (the
# seed workloads first, then the microbenchmarks, the collector benchmarks
# and the finalizers, each where its part ran) and draws the seed workloads
# as a bar chart, OUT/report.png: every figure relative to mgc with the tiny
# allocator off, so that figures in bytes and in nanoseconds share one axis.
# Without gnuplot (Debian: gnuplot-nox) the chart is skipped with a note.
out=$1
report=$out/report.md
chart=$out/report.png

{
    echo "# mgc benchmark report"
    echo
    echo "Produced by \`make bench${QUICK:+ QUICK=1}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(getconf _NPROCESSORS_ONLN) cores,"
    echo "$(uname -sm), $(${CC:-cc} --version | head -n 1)."
    for part in seed micro gc finalize; do
        if [ -f "$out/$part.md" ]; then
            echo
            echo "## $(case $part in seed) echo "Seed workloads" ;; micro) echo "Microbenchmarks" ;;
                gc) echo "Collector benchmarks" ;; finalize) echo "Finalizers" ;; esac)"
            echo
            cat "$out/$part.md"
        fi
    done
} > "$report"

rm -f "$chart"
if [ ! -f "$out/seed.tsv" ]; then
    echo "report: $report (no seed workloads ran, so no chart)"
    exit 0
fi
if ! command -v gnuplot > /dev/null 2>&1; then
    printf '\n(No chart: gnuplot is not installed; Debian package gnuplot-nox.)\n' >> "$report"
    echo "report: $report (no chart: gnuplot is not installed; Debian package gnuplot-nox)"
    exit 0
fi

# One data block per case, blank-line separated for gnuplot's "index":
# figure, then tiny off (1 by construction), tiny on and Boehm relative to it.
figures="allocs allocated cputime time gc-pause-total rss sys-heap"
cases=$(cut -f 1 "$out/seed.tsv" | uniq)
for case_name in $cases; do
    awk -F '\t' -v case_name="$case_name" -v figures="$figures" '
        $1 == case_name { value[$2, $3] = $4 }
        function relative(v, base) { return (v == "n/a" || base == "n/a" || base + 0 == 0) ? "n/a" : v / base }
        END {
            n = split(figures, names, " ")
            for (f = 1; f <= n; f++) {
                base = value["tinyoff", names[f]]
                printf "%s\t%s\t%s\t%s\n", names[f], relative(base, base),
                       relative(value["tinyon", names[f]], base), relative(value["boehm", names[f]], base)
            }
            printf "\n\n"
        }' "$out/seed.tsv"
done > "$out/report.dat"

count=$(echo "$cases" | wc -w)
{
    echo "set terminal pngcairo size 1400,$((count > 2 ? 900 : 480)) font ',10'"
    echo "set output '$chart'"
    echo "set datafile separator '\t'"
    echo "set datafile missing 'n/a'"
    echo "set style data histograms"
    echo "set style histogram clustered gap 1"
    echo "set style fill solid 0.85 border -1"
    echo "set boxwidth 0.9"
    echo "set yrange [0:*]"
    echo "set grid ytics"
    echo "set key top left"
    echo "set ylabel 'relative to mgc, tiny allocator off'"
    echo "set multiplot layout $(((count + 1) / 2)),2 title 'mgc, tiny allocator off and on, against Boehm GC (lower is better)'"
    index=0
    for case_name in $cases; do
        echo "set title '$case_name'"
        echo "plot '$out/report.dat' index $index using 2:xtic(1) title 'mgc tiny off' lc rgb '#9e9e9e', \\"
        echo "     '' index $index using 3 title 'mgc tiny on' lc rgb '#1f77b4', \\"
        echo "     '' index $index using 4 title 'Boehm GC' lc rgb '#d62728'"
        index=$((index + 1))
    done
    echo "unset multiplot"
} > "$out/report.gnuplot"

if gnuplot "$out/report.gnuplot"; then
    printf '\nChart: report.png, every seed figure relative to mgc with the tiny allocator off.\n' >> "$report"
    echo "report: $report, chart: $chart"
else
    printf '\n(No chart: gnuplot failed; see %s.)\n' "$out/report.gnuplot" >> "$report"
    echo "report: $report (gnuplot failed on $out/report.gnuplot)"
fi

#!/bin/sh
# check_headers.sh INCLUDE_DIR: every header of the set compiles on its own,
# as C and as C++, with and without GC_THREADS and GC_DEBUG.
dir=$1
tmp=$(mktemp -d)
status=0
for h in gc.h gc/gc.h gc/gc_backptr.h gc/gc_config_macros.h gc/gc_disclaim.h gc/gc_gcj.h \
         gc/gc_inline.h gc/gc_mark.h gc/gc_pthread_redirects.h gc/gc_tiny_fl.h gc/gc_typed.h \
         gc/gc_version.h gc/javaxfc.h gc/leak_detector.h; do
    [ -f "$dir/$h" ] || { echo "missing header: $h"; status=1; continue; }
    printf '#include <%s>\nint gc_header_check_%s;\n' "$h" "$(echo "$h" | tr '/.' '__')" > "$tmp/t.c"
    for defines in "" "-DGC_THREADS" "-DGC_THREADS -DGC_DEBUG"; do
        cc -std=c99 -Wall -Wextra -Werror -I"$dir" $defines -c "$tmp/t.c" -o "$tmp/t.o" 2> "$tmp/err" ||
            { echo "C ($defines): $h does not compile alone"; head -5 "$tmp/err"; status=1; }
        cp "$tmp/t.c" "$tmp/t.cc"
        if command -v c++ > /dev/null; then
            c++ -Wall -Wextra -Werror -I"$dir" $defines -c "$tmp/t.cc" -o "$tmp/t.o" 2> "$tmp/err" ||
                { echo "C++ ($defines): $h does not compile alone"; head -5 "$tmp/err"; status=1; }
        fi
    done
done
rm -rf "$tmp"
exit $status

#!/bin/sh
# check_symbols.sh OURS BOEHM: every name Boehm GC's libgc.so.1 defines in
# its dynamic symbol table is defined by ours too, as code or data alike,
# and data symbols are at least as large (a program built against Boehm's
# library copies them at their size). The linker's own _end is left out.
# Prints what is missing; exit status 1 if anything is.
ours=$1
boehm=${2:-/usr/lib/x86_64-linux-gnu/libgc.so.1}
[ -f "$boehm" ] || { echo "no $boehm (apt-get install libgc-dev)"; exit 1; }
tmp=$(mktemp -d)
nm -D -S --defined-only "$boehm" | awk 'NF == 4 { print $4, $3, $2 } NF == 3 { print $3, $2, "0" }' | grep -v '^_end ' | sort > "$tmp/boehm"
nm -D -S --defined-only "$ours" | awk 'NF == 4 { print $4, $3, $2 } NF == 3 { print $3, $2, "0" }' | sort > "$tmp/ours"
status=0
while read -r name type size; do
    line=$(grep "^$name " "$tmp/ours")
    if [ -z "$line" ]; then
        echo "missing: $name ($type)"; status=1; continue
    fi
    our_type=$(echo "$line" | cut -d' ' -f2)
    our_size=$(echo "$line" | cut -d' ' -f3)
    case "$type" in
    T|t|W) case "$our_type" in T|t|W) ;; *) echo "not code: $name ($our_type)"; status=1 ;; esac ;;
    *) case "$our_type" in D|d|B|b|R|r|V) ;; *) echo "not data: $name ($our_type)"; status=1; continue ;; esac
       if [ $((0x$our_size)) -lt $((0x$size)) ]; then
           echo "smaller: $name (ours 0x$our_size, Boehm's 0x$size)"; status=1
       fi ;;
    esac
done < "$tmp/boehm"
# Boehm's library tags no symbol with a version; neither may ours, or a
# binary linked against one would not find its names in the other.
if readelf -d "$boehm" | grep -q VERDEF; then
    echo "note: $boehm now defines symbol versions; ours does not"; status=1
fi
if readelf -d "$ours" | grep -q VERDEF; then
    echo "ours defines symbol versions; Boehm's does not"; status=1
fi
echo "$(wc -l < "$tmp/boehm") Boehm symbols checked, $(wc -l < "$tmp/ours") exported by ours"
rm -rf "$tmp"
exit $status

#!/usr/bin/env bash
# pool.sh - pooling before/after: wall medians and callgrind instruction counts.
#
#   bench/pool.sh OLD_BIN NEW_BIN [DIR]     (DIR default bench/data, git-ignored)
#
# Env: RUNS (default 5) wall runs per case, median reported; OLD_BIG=1 also times OLD_BIN on
# the 4000x3000 P=255 S=1 cases (about an hour each with the direct loop; skipped by default).
# Makes in256.png (256x256 RGB) and big4000.png (4000x3000 RGB) from a photo in
# /usr/share/backgrounds with ImageMagick, and crop1000.png (1000x750) for callgrind.
# Every run is -j1.  Prints a Markdown table; outputs of OLD and NEW are compared pixel for
# pixel with `cnnfilter compare` (must be identical).
set -euo pipefail
old=$1 new=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=${3:-$here/data}
runs=${RUNS:-5}
mkdir -p "$dir"
photo=$(ls /usr/share/backgrounds/*.jpg | head -n 1)
[ -f "$dir/big4000.png" ] || convert "$photo" -resize '4000x3000!' -type TrueColor "$dir/big4000.png"
[ -f "$dir/in256.png" ] || convert "$dir/big4000.png" -resize '256x256!' -type TrueColor "$dir/in256.png"
[ -f "$dir/crop1000.png" ] || convert "$dir/big4000.png" -crop 1000x750+0+0 +repage "$dir/crop1000.png"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

wall() { # BIN OUT ARGS... -> median seconds
    local bin=$1 out=$2
    shift 2
    for _ in $(seq "$runs"); do
        /usr/bin/time -f %e "$bin" -j1 -f "$@" "$out" 2>&1 >/dev/null | tail -n 1
    done | median
}

echo "| case | input | old s | new s | same pixels |"
echo "|---|---|---|---|---|"
row() { # LABEL INPUT SKIP_OLD ARGS...
    local label=$1 in=$2 skip=$3
    shift 3
    local t_old=skipped t_new same=-
    t_new=$(wall "$new" "$tmp/new.png" "$@" "$in")
    if [ "$skip" = 0 ] || [ "${OLD_BIG:-0}" = 1 ]; then
        t_old=$(wall "$old" "$tmp/old.png" "$@" "$in")
        "$new" compare -q "$tmp/old.png" "$tmp/new.png" && same=yes || same=NO
    fi
    echo "| $label | $(basename "$in") | $t_old | $t_new | $same |"
}
for m in max avg; do
    row "$m P=255 S=1" "$dir/in256.png" 0 --pool $m --pool-size 255 --pool-stride 1
    row "$m P=255 S=1 padding 127" "$dir/in256.png" 0 --pool $m --pool-size 255 --pool-stride 1 --pool-padding 127
    row "$m P=255 S=1" "$dir/big4000.png" 1 --pool $m --pool-size 255 --pool-stride 1
    row "$m P=2 S=2" "$dir/big4000.png" 0 --pool $m --pool-size 2 --pool-stride 2
    row "$m P=8 S=1" "$dir/big4000.png" 0 --pool $m --pool-size 8 --pool-stride 1
done

echo
echo "Callgrind, P=2 S=2 on crop1000.png (1000x750 RGB), instructions (Ir): whole run / pool_run inclusive"
echo
echo "| case | old | new |"
echo "|---|---|---|"
for m in max avg; do
    line="| $m P=2 S=2 |"
    for bin in "$old" "$new"; do
        f="$tmp/cg.$m.$(basename "$(dirname "$bin")")"
        valgrind --tool=callgrind --callgrind-out-file="$f" "$bin" -j1 -f --pool $m \
            --pool-size 2 --pool-stride 2 "$dir/crop1000.png" "$tmp/cg.png" >/dev/null 2>&1
        total=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {print $1; exit}')
        pool=$(callgrind_annotate --inclusive=yes "$f" 2>/dev/null | awk '/pool_run/ {print $1; exit}')
        line="$line $total / $pool |"
    done
    echo "$line"
done

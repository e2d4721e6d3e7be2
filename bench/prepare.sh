#!/usr/bin/env bash
# prepare.sh - make the benchmark photos from Debian packages (deterministic; skips what exists).
#
#   bench/prepare.sh [DIR]     (default bench/data, which git ignores)
#
# Source: seeding_by_Clements_Engelhardt.jpg (CC0, 5312x2988) from lomiri-wallpapers-16.04,
# plus the other JPEGs in /usr/share/backgrounds for the batch.  Makes:
#   photo.png        16 MP RGB PNG (the peer comparison's input)
#   photo_gray.png   the same in gray (W7)
#   scale_2mp.png, scale_16mp.png, scale_64mp.png, scale_144mp.png (12000x12000)
#   batch/p001.png ... p200.png   200 photos from 256x256 to 640x480
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/data}
src=/usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg

need=()
[ -f "$src" ] || need+=(lomiri-wallpapers-16.04)
command -v vips >/dev/null || need+=(libvips-tools)
[ -x /usr/bin/convert ] || need+=(imagemagick)
/usr/bin/python3 -c "import cv2" 2>/dev/null || need+=(python3-opencv)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  echo "prepare: installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

mkdir -p "$out/batch"
cd "$out"
# vips streams: quick and deterministic.  compression 6, no interlace.
[ -f photo.png ] || vips copy "$src" photo.png[compression=6,filter=all]
[ -f photo_gray.png ] || vips colourspace photo.png photo_gray.png[compression=6,filter=all] b-w
[ -f scale_16mp.png ] || ln -sf photo.png scale_16mp.png
[ -f scale_2mp.png ] || vips resize photo.png scale_2mp.png[compression=6,filter=all] 0.3536
[ -f scale_64mp.png ] || vips resize photo.png scale_64mp.png[compression=6,filter=all] 2.0
if [ ! -f scale_144mp.png ]; then
  vips resize photo.png tmp_144.v 2.26 --vscale 4.02
  vips crop tmp_144.v scale_144mp.png[compression=6,filter=all] 0 0 12000 12000
  rm -f tmp_144.v
fi
# The batch: 200 crops of the wallpapers, sizes cycling from 256x256 to 640x480.
if [ "$(ls batch | wc -l)" -lt 200 ]; then
  sizes=(256x256 640x480 320x240 500x400 400x300 600x450 300x300 480x360 512x384 640x400)
  mapfile -t jpgs < <(ls /usr/share/backgrounds/*.jpg | sort)
  i=0
  while [ $i -lt 200 ]; do
    f=${jpgs[$((i % ${#jpgs[@]}))]}
    s=${sizes[$(( (i / ${#jpgs[@]}) % ${#sizes[@]} ))]}
    n=$(printf "batch/p%03d.png" $((i + 1)))
    w=${s%x*}; h=${s#*x}
    # a centred crop of a resize, varied by i so no two files are alike
    [ -f "$n" ] || vips thumbnail "$f" "$n"[compression=6,filter=all] "$w" --height "$h" --crop centre
    i=$((i + 1))
  done
fi
ls -la "$out" | sed 1d >&2

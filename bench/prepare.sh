#!/usr/bin/env bash
# prepare.sh - make the benchmark photos from Debian packages (deterministic; skips what exists).
#
#   bench/prepare.sh [DIR]     (default bench/data, which git ignores)
#
# Installs what is missing with apt-get (through sudo when not root), like
# scripts/install-deps.sh: the photos (lomiri-wallpapers-16.04), the peers (libvips-tools,
# imagemagick, python3-opencv), hyperfine and GNU time.
#
# Source: seeding_by_Clements_Engelhardt.jpg (CC0, 5312x2988) from lomiri-wallpapers-16.04,
# plus the 15 JPEGs in /usr/share/backgrounds for the batch.  Makes:
#   photo.png        16 MP RGB PNG (the peer comparison's input)
#   photo_gray.png   the same in gray (W7)
#   scale_2mp.png (1878x1057), scale_16mp.png (-> photo.png), scale_64mp.png (10624x5976),
#   scale_144mp.png (12000x12000), all RGB, the big ones resized up from the photo
#   mosaic_144mp.png (12000x12000) the photo tiled at full detail
#   batch/p001.png ... p200.png   200 photos from 256x256 to 640x480
# Every file is written under a temporary name and renamed, so an interrupted run leaves
# nothing half-made to be skipped next time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/data}
bg=/usr/share/backgrounds
src=$bg/seeding_by_Clements_Engelhardt.jpg

need=()
[ -f "$src" ] || need+=(lomiri-wallpapers-16.04)
command -v vips >/dev/null || need+=(libvips-tools)
[ -x /usr/bin/convert ] && [ -x /usr/bin/mogrify ] || need+=(imagemagick)
/usr/bin/python3 -c "import cv2, numpy" 2>/dev/null || need+=(python3-opencv python3-numpy)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "prepare: installing ${need[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v vips >/dev/null || { echo "prepare: vips is needed to make the photos" >&2; exit 1; }

mkdir -p "$out/batch"
cd "$out"
png='[compression=6,filter=all]'     # vips pngsave options: libpng level 6, adaptive filters

# mk FILE CMD...: run CMD with its output (the argument TMP) at a temporary name, then
# rename it to FILE; nothing to do when FILE exists.
mk() {
  local f=$1; shift
  [ -e "$f" ] && return 0
  local t a args=()
  t="$(dirname "$f")/tmp_$(basename "$f")"
  for a in "$@"; do
    if [ "$a" = TMP ]; then args+=("$t$png"); else args+=("$a"); fi
  done
  "${args[@]}"
  mv -f "$t" "$f"
}
mk photo.png          vips copy "$src" TMP
mk photo_gray.png     vips colourspace photo.png TMP b-w
[ -e scale_16mp.png ] || ln -sf photo.png scale_16mp.png
mk scale_2mp.png      vips resize photo.png TMP 0.3536
mk scale_64mp.png     vips resize photo.png TMP 2.0
if [ ! -e scale_144mp.png ]; then
  vips resize photo.png tmp_144.v 2.26 --vscale 4.02        # 12005x12012, then crop
  mk scale_144mp.png  vips crop tmp_144.v TMP 0 0 12000 12000
  rm -f tmp_144.v
fi
# the photo at full detail, tiled 3 x 5 and cut to 12000x12000 (about 125 MB: compresses
# like a real 144 MP photo, not like an enlarged one)
if [ ! -e mosaic_144mp.png ]; then
  vips replicate photo.png tmp_mosaic.v 3 5
  mk mosaic_144mp.png vips crop tmp_mosaic.v TMP 0 0 12000 12000
  rm -f tmp_mosaic.v
fi

# The batch: 200 PNGs from the 15 wallpapers.  File i (from 0) is wallpaper i mod 15, at size
# (i div 15) mod 10 from the list: the first 150 are the centre crop of the resize that fills
# that size, the other 50 the centre of twice that resize (a 2x zoom): 200 different photos.
# A stamp names this recipe: an older batch made otherwise is made again.
recipe="batch v2: 15 wallpapers x 10 sizes, centre crops, then 2x zoomed centres"
if [ "$(cat batch/.recipe 2>/dev/null)" != "$recipe" ]; then
  rm -f batch/*.png
  echo "$recipe" > batch/.recipe
fi
sizes=(256x256 640x480 320x240 500x400 400x300 600x450 300x300 480x360 512x384 640x400)
mapfile -t jpgs < <(LC_ALL=C ls "$bg"/*.jpg | LC_ALL=C sort)
for ((i = 0; i < 200; i++)); do
  n=$(printf "batch/p%03d.png" $((i + 1)))
  [ -e "$n" ] && continue
  f=${jpgs[$((i % ${#jpgs[@]}))]}
  s=${sizes[$(( (i / ${#jpgs[@]}) % ${#sizes[@]} ))]}
  w=${s%x*} h=${s#*x}
  if [ $i -lt $(( ${#jpgs[@]} * ${#sizes[@]} )) ]; then
    mk "$n" vips thumbnail "$f" TMP $w --height $h --crop centre
  else   # the centre at twice the scale
    vips thumbnail "$f" tmp_zoom.v $((2 * w)) --height $((2 * h)) --crop centre
    mk "$n" vips crop tmp_zoom.v TMP $((w / 2)) $((h / 2)) $w $h
    rm -f tmp_zoom.v
  fi
done
echo "prepare: $(ls batch/*.png | wc -l) batch photos; $(ls -1 *.png | tr '\n' ' ')in $out" >&2

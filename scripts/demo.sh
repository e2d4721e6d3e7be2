#!/usr/bin/env bash
# demo.sh - run every built-in kernel of cnnfilter over the sample images and write an
# HTML gallery: one card per run, the input beside the output, captioned with the command.
#
# Usage: scripts/demo.sh CNNFILTER_BINARY OUTDIR
#
# OUTDIR gets index.html, inputs/ (copies of samples/*.png) and outputs/ (the results), so
# the page is self-contained and can be moved or zipped as a whole. Every command is run
# from inside OUTDIR, so the captions show exactly what was run (with `cnnfilter` standing
# for CNNFILTER_BINARY) and can be pasted into a shell there.
# Stops with a message and exit status 1 as soon as a cnnfilter run fails.
set -euo pipefail

prog=demo.sh

die() {
  printf '%s: %s\n' "$prog" "$*" >&2
  exit 1
}

if [ "$#" -ne 2 ]; then
  printf 'usage: %s CNNFILTER_BINARY OUTDIR\n' "$0" >&2
  exit 2
fi

bin_arg=$1
outdir=$2
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
samples=$script_dir/../samples

# The commands run inside OUTDIR, so the binary needs a path that works from there.
case $bin_arg in
  */*) if [ ! -f "$bin_arg" ] || [ ! -x "$bin_arg" ]; then
         die "$bin_arg: not an executable file"
       fi
       bin=$(cd "$(dirname "$bin_arg")" && pwd)/$(basename "$bin_arg") ;;
  *)   bin=$(command -v "$bin_arg") || die "$bin_arg: command not found" ;;
esac

for s in shapes gradient lines texture digit8 rgba; do
  [ -f "$samples/$s.png" ] ||
    die "$samples/$s.png is missing (make it with: /usr/bin/python3 scripts/make_samples.py)"
done

mkdir -p "$outdir/inputs" "$outdir/outputs"
outdir=$(cd "$outdir" && pwd)
cp "$samples"/*.png "$outdir/inputs/"
# The example pipelines, so the captions' commands run as shown.
mkdir -p "$outdir/pipelines"
cp "$samples/../kernels/edges.json" "$samples/../kernels/lenet.json" "$outdir/pipelines/"
# outputs of an earlier run (only the names this script makes)
rm -f "$outdir"/outputs/[0-9][0-9][0-9]-*.png

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---------------------------------------------------------------- helpers

html_escape() {
  # sed, not ${s//&/...}: bash 5.2 gives '&' in a replacement string a meaning of its own.
  printf '%s' "$1" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' \
                         -e 's/"/\&quot;/g' -e "s/'/\\&#39;/g"
}

# Quote one argument for a POSIX shell, only when it needs it.
sh_quote() {
  local s=$1
  if [[ -n $s && $s =~ ^[A-Za-z0-9_./:,=+-]+$ ]]; then
    printf '%s' "$s"
  else
    printf "'%s'" "${s//\'/\'\\\'\'}"
  fi
}

# Width and height of a PNG, from its IHDR chunk: prints "W H".
png_size() {
  local b
  read -r -a b < <(od -An -tu1 -j16 -N8 -v "$1")
  [ "${#b[@]}" -eq 8 ] || die "$1: not a PNG file"
  printf '%d %d\n' $(( (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3] )) \
                   $(( (b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7] ))
}

# Display scale for an input: small images are blown up (crisply) to about 200-256 px.
display_scale() {
  local w=$1 h=$2 m
  m=$(( w > h ? w : h ))
  if [ "$m" -ge 128 ]; then echo 1; else echo $(( 256 / m )); fi
}

# ---------------------------------------------------------------- kernels

declare -A desc=()
kernel_names=()
"$bin" kernels >"$tmp/kernels" 2>"$tmp/kernels.err" ||
  die "'$bin_arg kernels' failed: $(head -n 1 "$tmp/kernels.err")"
while read -r word rest; do
  [ -n "$word" ] || continue
  name=${word%%\[*}          # box[:N] -> box
  kernel_names+=("$name")
  desc[$name]=$rest
done <"$tmp/kernels"
[ "${#kernel_names[@]}" -gt 0 ] || die "'$bin_arg kernels' listed no kernels"

# Kinds: "edge" = has negative weights and sums to 0 (shown with --map abs),
# "magnitude" = sobel/prewitt/scharr style pair, anything else "plain" (default clamp).
kernel_kind() {
  local info
  info=$("$bin" show-kernel "$1" 2>&1) || die "'$bin_arg show-kernel $1' failed: ${info%%$'\n'*}"
  case ${info%%$'\n'*} in
    *magnitude*) echo magnitude; return ;;
  esac
  if printf '%s\n' "$info" | awk '/^weights:/ {w = 1; next} /^[a-z]+:/ {w = 0}
        w && /(^|[ \t])-[0-9.]/ {neg = 1} END {exit !neg}' &&
     printf '%s\n' "$info" | grep -q '^sum: 0\([^.0-9]\|$\)'; then
    echo edge
  else
    echo plain
  fi
}

# The gray sample that shows a kernel best.
gray_sample_for() {
  case $1 in
    line_*|sobel*|prewitt*|scharr*|edge_*|laplacian*|emboss) echo lines.png ;;
    box*|gaussian*|frame*|sharpen) echo texture.png ;;
    identity) echo digit8.png ;;
    *) echo lines.png ;;
  esac
}

# ---------------------------------------------------------------- runs

count=0

# run SECTION TITLE NOTE SAMPLE CNNFILTER_ARGS...  (the input and output paths are appended)
run() {
  local section=$1 title=$2 note=$3 sample=$4
  shift 4
  local stem=${sample%.png} slug args=("$@") out cmd a err rc
  count=$((count + 1))
  slug=$(printf '%s\n' "${args[@]}" | sed 's/^\[.*/matrix/' | tr -cs 'A-Za-z0-9_' '-')
  slug=${slug#-}
  slug=${slug#k-}
  slug=${slug%-}
  out=$(printf 'outputs/%03d-%s-%s.png' "$count" "${slug:0:60}" "$stem")
  # A pipeline with several feature maps writes one file per map through {index}.
  local maps=${MAPS:-0} m outs=()
  if [ "$maps" -gt 0 ]; then
    out=${out%.png}-map{index}.png
  fi

  cmd=cnnfilter
  for a in "${args[@]}" "inputs/$sample" "$out"; do
    cmd+=" $(sh_quote "$a")"
  done

  rc=0
  (cd "$outdir" && "$bin" "${args[@]}" "inputs/$sample" "$out") 2>"$tmp/err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    err=$(cat "$tmp/err")
    die "cnnfilter failed (exit $rc) in $outdir: $cmd${err:+$'\n'$err}"
  fi
  if [ "$maps" -gt 0 ]; then
    for ((m = 0; m < maps; m++)); do outs+=("${out//\{index\}/$m}"); done
  else
    outs=("$out")
  fi
  for m in "${outs[@]}"; do
    [ -s "$outdir/$m" ] || die "cnnfilter exited 0 but wrote no $m: $cmd"
  done

  local iw ih ow oh sc
  read -r iw ih < <(png_size "$outdir/inputs/$sample")
  read -r ow oh < <(png_size "$outdir/${outs[0]}")
  sc=$(display_scale "$iw" "$ih")

  {
    printf '<figure class="card">\n'
    printf '  <figcaption><b>%s</b>' "$(html_escape "$title")"
    [ -n "$note" ] && printf ' <span class="note">%s</span>' "$(html_escape "$note")"
    printf '</figcaption>\n  <div class="pair">\n'
    printf '    <div class="img"><img src="%s" width="%d" height="%d" alt="input %s" loading="lazy"><span>input %s &middot; %d&times;%d</span></div>\n' \
      "$(html_escape "inputs/$sample")" $((iw * sc)) $((ih * sc)) "$(html_escape "$sample")" \
      "$(html_escape "$sample")" "$iw" "$ih"
    for m in "${!outs[@]}"; do
      printf '    <div class="img"><img src="%s" width="%d" height="%d" alt="output" loading="lazy"><span>%s &middot; %d&times;%d%s</span></div>\n' \
        "$(html_escape "${outs[$m]}")" $((ow * sc)) $((oh * sc)) \
        "$([ "$maps" -gt 0 ] && printf 'map %d' "$m" || printf 'output')" "$ow" "$oh" \
        "$([ "$sc" -gt 1 ] && printf ' &middot; shown &times;%d' "$sc")"
    done
    printf '  </div>\n  <pre><code>%s</code></pre>\n</figure>\n' "$(html_escape "$cmd")"
  } >>"$tmp/cards-$section"
}

: >"$tmp/cards-kernels"
: >"$tmp/cards-variants"

for k in "${kernel_names[@]}"; do
  kind=$(kernel_kind "$k")
  gray=$(gray_sample_for "$k")
  case $kind in
    edge)
      run kernels "$k" "${desc[$k]}" shapes.png -k "$k" --map abs
      run kernels "$k" "${desc[$k]}" "$gray" -k "$k" --map abs ;;
    *)
      run kernels "$k" "${desc[$k]}" shapes.png -k "$k"
      run kernels "$k" "${desc[$k]}" "$gray" -k "$k" ;;
  esac
done

v() { run variants "$@"; }
v "box:9" "9x9 mean: stronger blur; the zero border darkens the edges" shapes.png -k box:9
v "box:9, replicate border" "the border repeats the edge pixels: no dark frame" shapes.png -k box:9 --border replicate
v "box:9" "9x9 mean: both checkerboards average out to flat gray" texture.png -k box:9
v "gaussian:7:2" "7x7 Gaussian, sigma 2" shapes.png -k gaussian:7:2
v "gaussian:7:2" "the fine grating fades, the coarse one stays" texture.png -k gaussian:7:2
v "line_diag:9" "9x9 diagonal line detector: only \\ lines stay bright" lines.png -k line_diag:9
v "line_anti:9" "9x9 anti-diagonal line detector: only / lines stay bright" lines.png -k line_anti:9
v "sobel_v, --map offset" "signed output: 128 is zero, dark is negative, light is positive" shapes.png -k sobel_v --map offset
v "sobel_v, --map clamp" "the default map cuts negative values to 0: only one side of each edge" shapes.png -k sobel_v
v "emboss, --map offset" "relief look" lines.png -k emboss --map offset
v "laplacian8, --map normalize" "output min..max stretched to 0..255" texture.png -k laplacian8 --map normalize
v "sobel, --channels gray" "edges of the luma, one gray output" shapes.png -k sobel --channels gray
v "gaussian:5, --stride 2" "blur and subsample: half the size" shapes.png -k gaussian:5 --stride 2
v "box:2, --stride 2" "2x2 mean pooling as a convolution: the 2-px checkerboard becomes flat" texture.png -k box:2 --stride 2
v "box:5 on RGBA" "alpha is kept: the transparent hole stays (checkerboard behind)" rgba.png -k box:5
v "edge_v, --map abs" "the seeds' vertical edge filter on the 8 digit" digit8.png -k edge_v --map abs
v "seed kernel, relu, max pool" "inline matrix, then ReLU and 2x2 max pooling" digit8.png \
  -k '[[0,0,0],[0,0,0],[1,0,1]]' --activation relu --pool max --map normalize

: >"$tmp/cards-pipelines"
p() { run pipelines "$@"; }
MAPS=4 p "pipeline edges.json" "Sobel/Prewitt bank on the luma, ReLU, 2x2 max pool: four feature maps ({index})" \
  lines.png --pipeline pipelines/edges.json
MAPS=4 p "pipeline edges.json" "the same four maps on the shapes" shapes.png --pipeline pipelines/edges.json
p "pipeline lenet.json" "two conv layers with hand-set weights: red corners, green diagonals, blue blobs" \
  shapes.png --pipeline pipelines/lenet.json --map normalize
p "pipeline lenet.json" "the LeNet-style features of the texture" texture.png --pipeline pipelines/lenet.json --map normalize

# ---------------------------------------------------------------- page

version=$("$bin" --version 2>/dev/null | head -n 1) || version="cnnfilter"
n_kernels=$(grep -c '<figure' "$tmp/cards-kernels" || true)
n_variants=$(grep -c '<figure' "$tmp/cards-variants" || true)

{
  cat <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cnnfilter demo</title>
<style>
  body { margin: 0; padding: 24px 32px; background: #f6f6f4; color: #1d1d1f;
         font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
  h1 { margin: 0 0 4px; font-size: 26px; }
  h2 { margin: 36px 0 12px; font-size: 20px; border-bottom: 1px solid #d4d4d0; padding-bottom: 4px; }
  p.lead { margin: 0 0 8px; color: #44474c; max-width: 70em; }
  code, pre { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); gap: 18px; }
  .card { margin: 0; background: #fff; border: 1px solid #deded9; border-radius: 8px;
          padding: 12px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.05); }
  .card figcaption { margin-bottom: 8px; }
  .card .note { color: #55595f; }
  .pair { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; }
  .img { display: flex; flex-direction: column; gap: 4px; }
  .img span { font-size: 12px; color: #666a70; }
  .img img { image-rendering: pixelated; image-rendering: crisp-edges; border: 1px solid #c8c8c4;
             background-color: #fff;
             background-image: linear-gradient(45deg, #ddd 25%, transparent 25%, transparent 75%, #ddd 75%),
                               linear-gradient(45deg, #ddd 25%, transparent 25%, transparent 75%, #ddd 75%);
             background-size: 16px 16px; background-position: 0 0, 8px 8px; }
  pre { margin: 10px 0 0; padding: 6px 8px; background: #f1f1ee; border-radius: 4px;
        white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
</head>
<body>
EOF
  printf '<h1>cnnfilter demo</h1>\n'
  printf '<p class="lead">%s &middot; %d images. Every command below was run in this folder, with <code>cnnfilter</code> = <code>%s</code>. Edge kernels (negative weights summing to 0) are shown with <code>--map abs</code>; small images are enlarged without smoothing.</p>\n' \
    "$(html_escape "$version")" "$count" "$(html_escape "$bin")"
  printf '<h2>Built-in kernels (%d runs)</h2>\n<div class="grid">\n' "$n_kernels"
  cat "$tmp/cards-kernels"
  printf '</div>\n<h2>Sizes, maps, channels, stride, alpha (%d runs)</h2>\n<div class="grid">\n' "$n_variants"
  cat "$tmp/cards-variants"
  printf '</div>\n<h2>Pipelines from kernels/ (%d runs)</h2>\n<div class="grid">\n' \
    "$(grep -c '<figure' "$tmp/cards-pipelines" || true)"
  cat "$tmp/cards-pipelines"
  printf '</div>\n</body>\n</html>\n'
} >"$tmp/index.html"
mv "$tmp/index.html" "$outdir/index.html"

printf '%s: %d images, %s\n' "$prog" "$count" "$outdir/index.html"

#!/usr/bin/env bash
# demo.sh - run every built-in kernel of cnnfilter over the sample images, then the learning
# commands (the seed training loop, learn recovering a kernel, LeNet-5 on a Fashion-MNIST subset
# when the dataset is installed), and write an HTML gallery: one card per run, the input beside
# the output, captioned with the commands.
#
# Usage: scripts/demo.sh CNNFILTER_BINARY OUTDIR
#
# OUTDIR gets index.html, inputs/ (copies of samples/*.png), outputs/ (the results), examples/
# (copies of the example nets) and learning/ (what train, predict and learn wrote), so
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

  local iw ih ow oh sc osc
  read -r iw ih < <(png_size "$outdir/inputs/$sample")
  read -r ow oh < <(png_size "$outdir/${outs[0]}")
  sc=$(display_scale "$iw" "$ih")
  # a small output (stride, pooling) is enlarged on its own, like a small input
  osc=$(display_scale "$ow" "$oh")

  {
    printf '<figure class="card">\n'
    printf '  <figcaption><b>%s</b>' "$(html_escape "$title")"
    [ -n "$note" ] && printf ' <span class="note">%s</span>' "$(html_escape "$note")"
    printf '</figcaption>\n  <div class="pair">\n'
    printf '    <div class="img"><img src="%s" width="%d" height="%d" alt="input %s" loading="lazy"><span>input %s &middot; %d&times;%d%s</span></div>\n' \
      "$(html_escape "inputs/$sample")" $((iw * sc)) $((ih * sc)) "$(html_escape "$sample")" \
      "$(html_escape "$sample")" "$iw" "$ih" \
      "$([ "$sc" -gt 1 ] && printf ' &middot; shown &times;%d' "$sc")"
    for m in "${!outs[@]}"; do
      printf '    <div class="img"><img src="%s" width="%d" height="%d" alt="output" loading="lazy"><span>%s &middot; %d&times;%d%s</span></div>\n' \
        "$(html_escape "${outs[$m]}")" $((ow * osc)) $((oh * osc)) \
        "$([ "$maps" -gt 0 ] && printf 'map %d' "$m" || printf 'output')" "$ow" "$oh" \
        "$([ "$osc" -gt 1 ] && printf ' &middot; shown &times;%d' "$osc")"
    done
    if [ -n "${WEIGHTS:-}" ]; then
      printf '    <div class="img"><pre class="w">%s</pre><span>weights</span></div>\n' \
        "$(html_escape "$WEIGHTS")"
    fi
    printf '  </div>\n  <pre><code>%s</code></pre>\n</figure>\n' "$(html_escape "$cmd")"
  } >>"$tmp/cards-$section"
}

: >"$tmp/cards-kernels"
: >"$tmp/cards-variants"

# A kernel's weights as `show-kernel` prints them (both of a magnitude pair), with the divisor.
kernel_weights() {
  "$bin" show-kernel "$1" | awk '
    /^name:/ { name = $2 }
    /^weights:/ { w = 1; if (pairs++) print ""; print name; next }
    /^divisor:/ { if ($2 != "1") print "  / " $2; w = 0; next }
    w { print }'
}

for k in "${kernel_names[@]}"; do
  kind=$(kernel_kind "$k")
  gray=$(gray_sample_for "$k")
  weights=$(kernel_weights "$k")
  case $kind in
    edge)
      WEIGHTS=$weights run kernels "$k" "${desc[$k]}" shapes.png -k "$k" --map abs
      WEIGHTS=$weights run kernels "$k" "${desc[$k]}" "$gray" -k "$k" --map abs ;;
    *)
      WEIGHTS=$weights run kernels "$k" "${desc[$k]}" shapes.png -k "$k"
      WEIGHTS=$weights run kernels "$k" "${desc[$k]}" "$gray" -k "$k" ;;
  esac
done

v() { run variants "$@"; }
v "box:9" "9x9 mean: stronger blur; the default border repeats the edge pixels: no dark frame" shapes.png -k box:9
v "box:9, --border zero" "zero padding, as in CNN frameworks: the edges darken" shapes.png -k box:9 --border zero
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
v "edge_v, --map abs" "the vertical edge filter on the 8 digit" digit8.png -k edge_v --map abs
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

# ---------------------------------------------------------------- a real photo
# One photo from a Debian wallpaper package, when one is installed, shrunk by cnnfilter itself
# (a box mean with an equal stride) to at most 640 px; skipped with a note otherwise.

: >"$tmp/cards-photo"
photo_note=""
photo=""
for f in /usr/share/backgrounds/*.jpg /usr/share/images/desktop-base/*.jpg \
         /usr/share/wallpapers/*/contents/images/*.jpg; do
  if [ -f "$f" ]; then photo=$f; break; fi
done
if [ -n "$photo" ]; then
  read -r ph pw < <("$bin" --explain -k identity "$photo" 2>/dev/null |
                    sed -n 's/^input: [0-9]* x \([0-9]*\) x \([0-9]*\).*/\1 \2/p') ||
    die "$photo: cannot read its size"
  pk=$(( ( (pw > ph ? pw : ph) + 639 ) / 640 ))
  "$bin" -q -k "box:$pk" --stride "$pk" --padding valid "$photo" "$outdir/inputs/photo.png" ||
    die "$photo: cannot make the photo sample"
  pkg=$(dpkg -S "$photo" 2>/dev/null | cut -d: -f1 | head -n 1) || pkg=""
  photo_note="inputs/photo.png is $(basename "$photo")${pkg:+ from the Debian package $pkg} (${pw}x${ph}), shrunk by cnnfilter: cnnfilter -k box:$pk --stride $pk --padding valid $photo inputs/photo.png"
  ph_run() { run photo "$@"; }
  ph_run "sobel" "edge magnitude; the default border repeats the edge pixels, so no frame" photo.png -k sobel
  ph_run "sobel, --border zero" "zero padding (CNN frameworks): a bright frame around the photo" photo.png -k sobel --border zero
  ph_run "gaussian::3" "Gaussian blur by sigma alone (3: a 19x19 kernel, run as two 1-D passes)" photo.png -k gaussian::3
  ph_run "sharpen" "3x3 sharpen" photo.png -k sharpen
  ph_run "emboss, --map offset" "relief" photo.png -k emboss --map offset
  ph_run "laplacian, --channels gray" "the luma's Laplacian, absolute value" photo.png -k laplacian --channels gray --map abs
else
  photo_note="No photo: none of /usr/share/backgrounds/*.jpg, /usr/share/images/desktop-base/*.jpg is installed (e.g. apt-get install lomiri-wallpapers or desktop-base), so this section is empty."
fi

# ---------------------------------------------------------------- learning
# Training and kernel recovery: commands run in OUTDIR like the filter runs; each card shows
# the commands, their reports and what they made.

rm -rf "$outdir/examples" "$outdir/learning"
cp -R "$script_dir/../examples" "$outdir/examples"
mkdir -p "$outdir/learning"
: >"$tmp/cards-learning"
n_learning=0

# lrun NAME ARGS...: run cnnfilter ARGS in OUTDIR (stdout to OUTDIR/$LOUT when LOUT is set,
# else $tmp/NAME.out; stderr to $tmp/NAME.err) and add the command to the card's list.
lrun() {
  local name=$1 a cmd=cnnfilter rc=0 out
  shift
  for a in "$@"; do cmd+=" $(sh_quote "$a")"; done
  out=$tmp/$name.out
  if [ -n "${LOUT:-}" ]; then
    out=$outdir/$LOUT
    cmd+=" > $(sh_quote "$LOUT")"
  fi
  (cd "$outdir" && "$bin" "$@") >"$out" 2>"$tmp/$name.err" || rc=$?
  [ "$rc" -eq 0 ] ||
    die "cnnfilter failed (exit $rc) in $outdir: $cmd"$'\n'"$(cat "$tmp/$name.err")"
  printf '%s\n' "$cmd" >>"$tmp/cmds"
  n_learning=$((n_learning + 1))
}

# The first conv kernel of a pipeline file, or a kernel file's weights, as an HTML table
# (4 decimals: a learned 1 prints as 1, not 0.99999999999942).
kernel_table() {
  python3 - "$1" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
if "layers" in d:
    d = next(l for l in d["layers"] if l.get("type") == "conv")["kernels"][0]
def num(x):
    s = ("%.4f" % x).rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s
print('<table class="k">' + "".join(
    "<tr>" + "".join("<td>%s</td>" % num(x) for x in row) + "</tr>" for row in d["weights"])
    + "</table>")
EOF
}

# kernel_matrices OUTDIR SOURCE...: kernels' weights as plain matrix files OUTDIR/NAME.json, to
# be drawn as images by a cnnfilter batch run. SOURCE is a kernel file (NAME: its stem) or
# PIPELINE:N for the kernels of its N-th conv layer (NAME: the pipeline's stem, -convN-ki).
kernel_matrices() {
  python3 - "$@" <<'EOF'
import json, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
def put(name, w):
    if isinstance(w[0][0], list):  # C x KH x KW: these nets have one input channel
        w = w[0]
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(w, f)
for src in sys.argv[2:]:
    path, _, n = src.partition(":")
    stem = os.path.splitext(os.path.basename(path))[0]
    d = json.load(open(path))
    if n:
        conv = [l for l in d["layers"] if l.get("type") == "conv"][int(n) - 1]
        for i, k in enumerate(conv["kernels"]):
            put("%s-conv%s-k%d" % (stem, n, i), k["weights"])
    else:
        put(stem, d["weights"])
EOF
}

# head_pipeline PIPELINE N OUT: the pipeline's first N layers, to see the feature maps there.
head_pipeline() {
  python3 - "$@" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["layers"] = d["layers"][:int(sys.argv[2])]
for k in ("classes", "training"):
    d.pop(k, None)
d["name"] = d.get("name", "net") + "-head"
json.dump(d, open(sys.argv[3], "w"), indent=1)
EOF
}

# img_cell SRC LABEL SIZE: one image of a card, SIZE px square, captioned.
img_cell() {
  printf '<div class="img"><img src="%s" width="%d" height="%d" alt="%s"><span>%s</span></div>\n' \
    "$(html_escape "$1")" "$3" "$3" "$(html_escape "$2")" "$(html_escape "$2")"
}

# An inline SVG of a --log CSV: loss per epoch, and val_loss when the log has it.
loss_chart() {
  epoch_chart "$1" 2 "training loss" 4 "validation loss" "loss per epoch" 0
}

# epoch_chart CSV COL LABEL COL2 LABEL2 TITLE FROM_MIN: an inline SVG line chart of columns
# COL and COL2 (1-based; COL2's empty cells mean no second line) of a per-epoch CSV with a
# header row.  The value axis runs from 0 (FROM_MIN 0) or from the smallest value (1) to the
# largest.
epoch_chart() {
  awk -F, -v c1="$2" -v t1="$3" -v c2="$4" -v t2="$5" -v title="$6" -v from_min="$7" '
    NR == 1 { next }
    { n++; l[n] = $c1; v[n] = $c2
      if (n == 1 || $c1 > m) m = $c1; if (n == 1 || $c1 < lo) lo = $c1
      if ($c2 != "") { hv = 1; if ($c2 > m) m = $c2; if ($c2 < lo) lo = $c2 } }
    function x(i) { return 50 + (n > 1 ? (i - 1) / (n - 1) : 0.5) * 450 }
    function y(val) { return 15 + (1 - (val - lo) / (m - lo)) * 170 }
    function line(a, color,   i, p) {
      p = ""
      for (i = 1; i <= n; i++) p = p sprintf("%.1f,%.1f ", x(i), y(a[i]))
      printf "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n", color, p
      if (n <= 12)
        for (i = 1; i <= n; i++)
          printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", x(i), y(a[i]), color
    }
    END {
      if (!from_min) lo = 0
      if (n == 0 || m <= lo) exit
      printf "<svg class=\"chart\" width=\"520\" height=\"220\" viewBox=\"0 0 520 220\" role=\"img\" aria-label=\"%s\">\n", title
      print "<line x1=\"50\" y1=\"185\" x2=\"500\" y2=\"185\" stroke=\"#888\"/><line x1=\"50\" y1=\"15\" x2=\"50\" y2=\"185\" stroke=\"#888\"/>"
      printf "<text x=\"44\" y=\"19\" text-anchor=\"end\">%.3g</text><text x=\"44\" y=\"189\" text-anchor=\"end\">%.3g</text>\n", m, lo
      printf "<text x=\"50\" y=\"202\" text-anchor=\"middle\">1</text><text x=\"500\" y=\"202\" text-anchor=\"middle\">%d</text>\n", n
      print "<text x=\"275\" y=\"215\" text-anchor=\"middle\">epoch</text>"
      line(l, "#1f6fb2")
      printf "<text x=\"495\" y=\"%d\" text-anchor=\"end\" fill=\"#1f6fb2\">%s</text>\n", from_min ? 170 : 30, t1
      if (hv) {
        line(v, "#d0612a")
        printf "<text x=\"495\" y=\"%d\" text-anchor=\"end\" fill=\"#d0612a\">%s</text>\n", from_min ? 154 : 46, t2
      }
      print "</svg>"
    }' "$1"
}

# A CSV file as an HTML table (the first row as the header); no quoting in these files.
csv_table() {
  awk -F, -v cls="$2" '
    function esc(s) { gsub(/&/, "\\&amp;", s); gsub(/</, "\\&lt;", s); return s }
    NR == 1 { printf "<table class=\"%s\"><tr>", cls; for (i = 1; i <= NF; i++) printf "<th>%s</th>", esc($i); print "</tr>"; next }
    { printf "<tr>"; for (i = 1; i <= NF; i++) printf "<td>%s</td>", esc($i); print "</tr>" }
    END { if (NR) print "</table>" }' "$1"
}

# learning_card TITLE NOTE BODY_FILE: a card with the commands run since the last card.
learning_card() {
  {
    printf '<figure class="card wide">\n  <figcaption><b>%s</b> <span class="note">%s</span></figcaption>\n' \
      "$(html_escape "$1")" "$(html_escape "$2")"
    cat "$3"
    printf '  <pre><code>%s</code></pre>\n</figure>\n' "$(html_escape "$(cat "$tmp/cmds")")"
  } >>"$tmp/cards-learning"
  : >"$tmp/cmds"
}
: >"$tmp/cmds"

# 1. The kernel feature learning exercise: one 5x5 "8", 50 steps of SGD; the kernel learns.
lrun seed-before predict --pipeline examples/seed002/net.json --top 3 examples/seed002/digit8.json
lrun seed-train train --pipeline examples/seed002/net.json -o learning/seed002-trained.json \
  --lr 0.01 --batch 1 --epochs 50 --log learning/seed002-log.csv -q examples/seed002/data.csv
lrun seed-after predict --pipeline learning/seed002-trained.json --top 3 examples/seed002/digit8.json
kernel_matrices "$outdir/learning/seed-kernels" "$outdir/examples/seed002/net.json:1" \
  "$outdir/learning/seed002-trained.json:1"
lrun seed-draw -k identity --map normalize --output-format png -o learning/seed-kernels \
  learning/seed-kernels/net-conv1-k0.json learning/seed-kernels/seed002-trained-conv1-k0.json
{
  printf '<div class="pair">\n'
  printf '<div class="img">%s<span>loss per step (learning/seed002-log.csv)</span></div>\n' \
    "$(loss_chart "$outdir/learning/seed002-log.csv")"
  printf '<div class="img">%s<span>the kernel before</span></div>\n' \
    "$(kernel_table "$outdir/examples/seed002/net.json")"
  img_cell learning/seed-kernels/net-conv1-k0.png "before" 96
  printf '<div class="img">%s<span>after 50 steps</span></div>\n' \
    "$(kernel_table "$outdir/learning/seed002-trained.json")"
  img_cell learning/seed-kernels/seed002-trained-conv1-k0.png "after" 96
  printf '</div>\n<p>Top 3 classes (class,probability) before: <code>%s</code><br>after: <code>%s</code><br>%s</p>\n' \
    "$(html_escape "$(cut -d, -f2- "$tmp/seed-before.out")")" \
    "$(html_escape "$(cut -d, -f2- "$tmp/seed-after.out")")" \
    "$(html_escape "loss $(sed -n 2p "$outdir/learning/seed002-log.csv" | cut -d, -f2) at step 1, $(tail -n 1 "$outdir/learning/seed002-log.csv" | cut -d, -f2) at step 50")"
} >"$tmp/body"
learning_card "train: the kernel feature learning exercise" \
  "conv 3x3 (no bias), ReLU, 2x2 max pool, dense 4 to 10, softmax; SGD on the one digit, label 8" \
  "$tmp/body"

# 2. learn: recover the kernel behind a filtered image.
lrun emboss-target -k emboss inputs/shapes.png learning/emboss-target.png
lrun emboss-learn learn --size 3 inputs/shapes.png learning/emboss-target.png \
  -o learning/emboss-learned.json
lrun emboss-apply -k learning/emboss-learned.json inputs/shapes.png learning/emboss-again.png
lrun emboss-compare compare learning/emboss-target.png learning/emboss-again.png
lrun emboss-show show-kernel emboss
read -r iw ih < <(png_size "$outdir/inputs/shapes.png")
{
  printf '<div class="pair">\n'
  for f in inputs/shapes.png learning/emboss-target.png learning/emboss-again.png; do
    printf '<div class="img"><img src="%s" width="%d" height="%d" alt="%s"><span>%s</span></div>\n' \
      "$f" "$iw" "$ih" "$f" "$f"
  done
  printf '<div class="img">%s<span>learned from the pair</span></div>\n' \
    "$(kernel_table "$outdir/learning/emboss-learned.json")"
  printf '</div>\n<p>%s<br>%s<br>emboss is <code>%s</code></p>\n' \
    "$(html_escape "$(tail -n 1 "$tmp/emboss-learn.err")")" \
    "$(html_escape "$(cat "$tmp/emboss-compare.out")")" \
    "$(html_escape "$(awk '/^weights:/ {w = 1; next} /^[a-z]+:/ {w = 0} w {$1 = $1; printf "%s[%s]", s, $0; s = " "}' "$tmp/emboss-show.out")")"
} >"$tmp/body"
learning_card "learn: which kernel made this?" \
  "the emboss output and its input are enough to get the kernel back, to 1e-9" "$tmp/body"

# 3. LeNet-5 on real Fashion-MNIST images: the whole training set, 3 epochs, checked against
# the whole test set after each; 24 test images also as PNG files, to show and classify.
fm=/usr/share/datasets/fashion-mnist
if [ -f "$fm/train-images-idx3-ubyte.gz" ] && [ -f "$fm/t10k-images-idx3-ubyte.gz" ]; then
  mkdir -p "$outdir/learning/fashion"
  python3 "$script_dir/idx_subset.py" --png "$outdir/learning/fashion/test-png" 24 \
    "$fm/t10k-images-idx3-ubyte.gz" "$fm/t10k-labels-idx1-ubyte.gz" 24 \
    "$outdir/learning/fashion/test"
  lrun fm-train train --pipeline examples/lenet5.json -o learning/lenet5-trained.json \
    --optimizer adam --lr 0.001 --batch 64 --epochs 3 \
    --val-data "$fm/t10k-images-idx3-ubyte.gz" --log learning/lenet5-log.csv -q \
    "$fm/train-images-idx3-ubyte.gz"
  lrun fm-predict predict --pipeline learning/lenet5-trained.json \
    --confusion learning/lenet5-confusion.csv "$fm/t10k-images-idx3-ubyte.gz"
  LOUT=learning/lenet5-test-png.csv lrun fm-png predict --pipeline learning/lenet5-trained.json \
    learning/fashion/test-png
  # The first conv layer's six learned 5x5 kernels beside hand-set ones, drawn as images, and
  # what each makes of one test image (the trained net cut after its first ReLU).
  kernel_matrices "$outdir/learning/kernels" "$outdir/learning/lenet5-trained.json:1" \
    "$script_dir/../kernels/sobel_v.json" "$script_dir/../kernels/sobel_h.json" \
    "$script_dir/../kernels/laplacian.json" "$script_dir/../kernels/line_diag.json"
  lrun fm-draw -k identity --map normalize --output-format png -o learning/kernels-png \
    learning/kernels
  head_pipeline "$outdir/learning/lenet5-trained.json" 3 "$outdir/learning/lenet5-conv1.json"
  lrun fm-maps --pipeline learning/lenet5-conv1.json --map normalize \
    learning/fashion/test-png/0000-9.png 'learning/lenet5-map{index}.png'
  lrun fm-hand -k sobel_v -k sobel_h -k laplacian -k line_diag --map abs \
    learning/fashion/test-png/0000-9.png 'learning/handset-map-{kernel}.png'
  {
    printf '<div class="pair">\n<div class="img">%s<span>loss per epoch</span></div>\n' \
      "$(loss_chart "$outdir/learning/lenet5-log.csv")"
    printf '<div class="img">%s<span>accuracy per epoch (validation: the 10000 test images)</span></div>\n' \
      "$(epoch_chart "$outdir/learning/lenet5-log.csv" 3 "training accuracy" 5 \
        "validation accuracy" "accuracy per epoch" 1)"
    printf '<div class="img">%s<span>learning/lenet5-log.csv</span></div>\n</div>\n' \
      "$(csv_table "$outdir/learning/lenet5-log.csv" log)"
    printf '<p>The six 5x5 kernels of the first conv layer as learned (normalized to black..white), and the maps they make of the first test image (after the ReLU)</p>\n<div class="thumbs">\n'
    img_cell learning/fashion/test-png/0000-9.png "test image" 84
    for ((m = 0; m < 6; m++)); do
      img_cell "learning/kernels-png/lenet5-trained-conv1-k$m.png" "kernel $m" 84
      img_cell "learning/lenet5-map$m.png" "map $m" 84
    done
    printf '</div>\n<p>Hand-set kernels for comparison, and their maps (absolute values)</p>\n<div class="thumbs">\n'
    for k in sobel_v sobel_h laplacian line_diag; do
      img_cell "learning/kernels-png/$k.png" "$k" 84
      img_cell "learning/handset-map-$k.png" "map" 84
    done
    printf '</div>\n'
    printf '<p>%s: confusion matrix (rows: true class) of the 10000 test images</p>\n%s\n' \
      "$(html_escape "$(tail -n 1 "$tmp/fm-predict.err")")" \
      "$(csv_table "$outdir/learning/lenet5-confusion.csv" confusion)"
    printf '<p>The first test images as PNG files, with the class predicted and its probability (red: wrong)</p>\n<div class="thumbs">\n'
    classes=("T-shirt/top" Trouser Pullover Dress Coat Sandal Shirt Sneaker Bag "Ankle boot")
    while IFS=, read -r path cls prob; do
      truth=${path##*-}
      truth=${classes[${truth%.png}]}
      printf '<div class="img%s"><img src="%s" width="84" height="84" alt="%s"><span>%s %.0f%%%s</span></div>\n' \
        "$([ "$cls" = "$truth" ] || printf ' wrong')" "$(html_escape "$path")" \
        "$(html_escape "$truth")" "$(html_escape "$cls")" "$(awk -v p="$prob" 'BEGIN {print p * 100}')" \
        "$([ "$cls" = "$truth" ] || printf '<br>(is %s)' "$(html_escape "$truth")")"
    done <"$outdir/learning/lenet5-test-png.csv"
    printf '</div>\n'
  } >"$tmp/body"
  learning_card "train and predict: LeNet-5 on Fashion-MNIST" \
    "the 60000 training images, 3 epochs of Adam; evaluated on the 10000 test images the net never saw" \
    "$tmp/body"
else
  printf '<p>LeNet-5 on Fashion-MNIST skipped: %s is not installed (Debian package dataset-fashion-mnist).</p>\n' \
    "$fm" >>"$tmp/cards-learning"
fi

# ---------------------------------------------------------------- page

version=$("$bin" --version 2>/dev/null | head -n 1) || version="cnnfilter"
n_kernels=$(grep -c '<figure' "$tmp/cards-kernels" || true)
n_variants=$(grep -c '<figure' "$tmp/cards-variants" || true)

# page_head TITLE: the start of a page, its styles and <body>.
page_head() {
  printf '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
  printf '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
  printf '<title>%s</title>\n' "$(html_escape "$1")"
  cat <<'EOF'
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
  .wide { grid-column: 1 / -1; }
  pre.w { margin: 0; padding: 6px 8px; font-size: 12px; line-height: 1.3; white-space: pre; }
  nav.toc { margin: 10px 0 0; }
  nav.toc a { margin-right: 14px; }
  table.k, table.log, table.confusion { border-collapse: collapse; font: 13px ui-monospace, monospace; }
  table.k td { border: 1px solid #c8c8c4; padding: 4px 8px; text-align: right; }
  table.log td, table.log th, table.confusion td, table.confusion th {
    border: 1px solid #deded9; padding: 2px 6px; text-align: right; }
  table.confusion tr td:first-child { text-align: left; }
  svg.chart { font: 12px system-ui, sans-serif; background: #fff; }
  .thumbs { display: flex; flex-wrap: wrap; gap: 10px; }
  .thumbs .wrong span { color: #c0262d; font-weight: bold; }
  pre { margin: 10px 0 0; padding: 6px 8px; background: #f1f1ee; border-radius: 4px;
        white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
</head>
<body>
EOF
}

{
  page_head "cnnfilter demo"
  printf '<h1>cnnfilter demo</h1>\n'
  printf '<p class="lead">%s &middot; %d images. Every command below was run in this folder, with <code>cnnfilter</code> = <code>%s</code>. Edge kernels (negative weights summing to 0) are shown with <code>--map abs</code>; small images are enlarged without smoothing.</p>\n' \
    "$(html_escape "$version")" "$count" "$(html_escape "$bin")"
  printf '<nav class="toc">Contents: <a href="#kernels">Built-in kernels</a><a href="#photo">A photo</a><a href="#variants">Sizes, maps, channels, stride, alpha</a><a href="#pipelines">Pipelines</a><a href="#learning">Learning</a></nav>\n'
  printf '<h2 id="kernels">Built-in kernels (%d runs)</h2>\n<div class="grid">\n' "$n_kernels"
  cat "$tmp/cards-kernels"
  printf '</div>\n<h2 id="photo">A photo (%d runs)</h2>\n<p class="lead">%s</p>\n<div class="grid">\n' \
    "$(grep -c '<figure' "$tmp/cards-photo" || true)" "$(html_escape "$photo_note")"
  cat "$tmp/cards-photo"
  printf '</div>\n<h2 id="variants">Sizes, maps, channels, stride, alpha (%d runs)</h2>\n<div class="grid">\n' "$n_variants"
  cat "$tmp/cards-variants"
  printf '</div>\n<h2 id="pipelines">Pipelines from kernels/ (%d runs)</h2>\n<div class="grid">\n' \
    "$(grep -c '<figure' "$tmp/cards-pipelines" || true)"
  cat "$tmp/cards-pipelines"
  printf '</div>\n<h2 id="learning">Learning (%d runs)</h2>\n' "$n_learning"
  printf '<p class="lead"><a href="learned.html">learned.html</a>: nets trained with <code>train</code> and run with <code>predict</code> (a kernel learned by backpropagation; LeNet-5 on Fashion-MNIST, its learned first-layer kernels and feature maps, loss and accuracy per epoch, the confusion matrix), and a kernel recovered with <code>learn</code>.</p>\n'
  printf '</body>\n</html>\n'
} >"$tmp/index.html"
mv "$tmp/index.html" "$outdir/index.html"

{
  page_head "cnnfilter demo: learning"
  printf '<h1>cnnfilter demo: learning</h1>\n'
  printf '<p class="lead">%s &middot; %d runs of <code>train</code>, <code>predict</code> and <code>learn</code>, each in this folder with <code>cnnfilter</code> = <code>%s</code>; the filters are on <a href="index.html">index.html</a>.</p>\n' \
    "$(html_escape "$version")" "$n_learning" "$(html_escape "$bin")"
  printf '<div class="grid">\n'
  cat "$tmp/cards-learning"
  printf '</div>\n</body>\n</html>\n'
} >"$tmp/learned.html"
mv "$tmp/learned.html" "$outdir/learned.html"

printf '%s: %d filter runs, %d learning runs, %s\n' "$prog" "$count" "$n_learning" \
  "$outdir/index.html"

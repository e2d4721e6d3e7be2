#!/usr/bin/env bash
# test_install.sh - install a build into a temporary prefix and use what was installed:
# the command (with kernel and pipeline files found in the installed kernels folder),
# the manual page, the pkg-config file, the header and library, the bash completion.
#
# usage: tests/cli/test_install.sh BUILD_DIR [SOURCE_DIR]
#   BUILD_DIR   a configured and built CMake build folder
#   SOURCE_DIR  the source tree (samples/ is read from it); default: this script's ../..
# Needs cmake, a C compiler, pkg-config and man (man-db) or groff; no network, no sudo.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 BUILD_DIR [SOURCE_DIR]" >&2
  exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || {
  echo "test_install: FAIL: BUILD_DIR $1 is not a folder" >&2
  exit 2
}
src=$(cd "${2:-$(dirname "$0")/../..}" 2>/dev/null && pwd) || {
  echo "test_install: FAIL: SOURCE_DIR ${2:-} is not a folder" >&2
  exit 2
}

tmp=$(mktemp -d)
work=$(mktemp -d)
trap 'cd /; rm -rf "$tmp" "$work"' EXIT

passed=0
pass() {
  passed=$((passed + 1))
  echo "ok $passed - $1"
}
fail() {
  echo "test_install: FAIL: $1" >&2
  if [ $# -gt 1 ] && [ -n "$2" ]; then
    printf '%s\n' "$2" | sed 's/^/  | /' >&2
  fi
  echo "install: $passed passed, 1 failed"
  exit 1
}
# Run a command, keeping its output in $out; fail with that output when it fails.
out=
run() {
  local what=$1
  shift
  if ! out=$("$@" 2>&1); then
    fail "$what: command failed: $*" "$out"
  fi
}
nonempty() {
  [ -s "$1" ] || fail "$2: $1 is missing or empty"
}

sample="$src/samples/shapes.png"
[ -s "$sample" ] || fail "sample image $sample not found (SOURCE_DIR=$src)"
[ -f "$build/CMakeCache.txt" ] || fail "$build is not a CMake build folder"

# Built with the sanitizers: the test program must be too, to link the library.
san_flags=()
if grep -q '^CNNFILTER_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
  san_flags=("-fsanitize=address,undefined")
fi

# 1. Install into the temporary prefix.
run "cmake --install" cmake --install "$build" --prefix "$tmp"
pass "cmake --install $build --prefix $tmp"

# 2. Every file is where GNUInstallDirs puts it.
bin="$tmp/bin/cnnfilter"
kdir="$tmp/share/cnnfilter/kernels"
manpage="$tmp/share/man/man1/cnnfilter.1"
completion="$tmp/share/bash-completion/completions/cnnfilter"
pcfile=$(find "$tmp" -path '*/pkgconfig/cnnfilter.pc' | head -n 1)
libfile=$(find "$tmp" -name libcnnfilter.a | head -n 1)
[ -x "$bin" ] || fail "installed files: $bin is missing or not executable"
for f in "$tmp/include/cnnfilter.h" "$kdir/emboss.json" "$kdir/edges.json" \
         "$kdir/lenet.json" "$kdir/README.md" "$manpage" "$completion" \
         "$tmp/share/cnnfilter/examples/README.md" "$tmp/share/cnnfilter/examples/lenet5.json" \
         "$tmp/share/cnnfilter/examples/seed002/net.json"; do
  nonempty "$f" "installed files"
done
[ -n "$pcfile" ] || fail "installed files: no pkgconfig/cnnfilter.pc under $tmp"
[ -n "$libfile" ] || fail "installed files: no libcnnfilter.a under $tmp"
[ "$(dirname "$(dirname "$pcfile")")" = "$(dirname "$libfile")" ] ||
  fail "installed files: $pcfile is not in the pkgconfig folder of $libfile"
pass "installed files: binary, library, header, pkg-config, man page, completion, kernels, examples"

# 3. The installed binary runs.
run "--version" "$bin" --version
case $out in
  "cnnfilter "[0-9]*) ;;
  *) fail "--version: unexpected output" "$out" ;;
esac
version=${out#cnnfilter }
pass "installed binary runs: $out"

# From here on, run in an empty folder, without $CNNFILTER_KERNELS: bare
# kernel and pipeline file names must be found in the installed kernels folder.
unset CNNFILTER_KERNELS
mkdir "$work/run"
cd "$work/run"


# The installed example trains where it was installed (its data.csv names digit8.json beside it).
ex="$tmp/share/cnnfilter/examples/seed002"
run "train the installed example" "$bin" train --pipeline "$ex/net.json" -o "$work/seed.json" \
  --lr 0.01 --batch 1 --epochs 50 -q "$ex/data.csv"
run "predict with it" "$bin" predict --pipeline "$work/seed.json" "$ex/digit8.json"
case $out in
  *"digit8.json,8,0.916"*) ;;
  *) fail "the installed example: expected class 8 at 0.916 after 50 steps" "$out" ;;
esac
pass "the installed examples train and predict"
# 4. -k emboss.json: found beside the installed binary; the same pixels as the
#    file given by its path (the PNG bytes differ: they record the command line).
run "-k emboss.json" "$bin" -k emboss.json --map offset "$sample" embossed.png
nonempty embossed.png "-k emboss.json"
run "-k PATH/emboss.json" "$bin" -k "$src/kernels/emboss.json" --map offset "$sample" \
  "$work/by_path.png"
run "-k emboss.json: compare with -k $src/kernels/emboss.json" \
  "$bin" compare embossed.png "$work/by_path.png"
pass "-k emboss.json from an empty folder uses $kdir/emboss.json"

# 5. --pipeline edges.json: four feature maps, one file each.
run "--pipeline edges.json" "$bin" --pipeline edges.json "$sample" 'edges_{index}.png'
for i in 0 1 2 3; do
  nonempty "edges_$i.png" "--pipeline edges.json"
done
pass "--pipeline edges.json from an empty folder writes edges_0..3.png"

# 6. The lookup is relative to the binary, not the compiled-in prefix: a file
#    that exists only in this installed tree is found too.
echo '{"name": "only_here", "weights": [[0,0,0],[0,2,0],[0,0,0]], "divisor": 2}' \
  >"$kdir/test_install_only_here.json"
run "-k test_install_only_here.json" "$bin" -k test_install_only_here.json "$sample" \
  only_here.png
nonempty only_here.png "-k test_install_only_here.json"
pass "kernel files are found in <exe dir>/../share/cnnfilter/kernels"

# 7. $CNNFILTER_KERNELS is searched before the installed folder: with a file of
#    the same name in both, the one in $CNNFILTER_KERNELS (here: identity) wins.
mkdir "$work/mykernels"
echo '{"weights": [[1]]}' >"$work/mykernels/test_install_env.json"
echo '{"weights": [[0]]}' >"$kdir/test_install_env.json"
run "CNNFILTER_KERNELS" env CNNFILTER_KERNELS="$work/mykernels" \
  "$bin" -k test_install_env.json "$sample" env.png
nonempty env.png "CNNFILTER_KERNELS"
run "CNNFILTER_KERNELS: -k identity" "$bin" -k identity "$sample" identity.png
run "CNNFILTER_KERNELS: the kernel in \$CNNFILTER_KERNELS was not the one used" \
  "$bin" compare env.png identity.png
pass "kernel files are found in \$CNNFILTER_KERNELS first"

# 8. The man page renders, without warnings.
if command -v man >/dev/null 2>&1; then
  run "man -l" env MANPAGER=cat MANWIDTH=80 man -l "$manpage"
  rendered=$out
  warnings=$(env MANPAGER=cat man --warnings -l "$manpage" 2>&1 >/dev/null) ||
    fail "man --warnings -l: command failed" "$warnings"
elif command -v groff >/dev/null 2>&1; then
  echo "test_install: man not found (Debian package man-db); rendering with groff" >&2
  run "groff -man" groff -man -Tutf8 "$manpage"
  rendered=$out
  warnings=$(groff -man -ww -z "$manpage" 2>&1) || fail "groff -man -ww: failed" "$warnings"
else
  fail "man page: neither man (Debian package man-db) nor groff is installed"
fi
[ -z "$warnings" ] || fail "man page: rendering warnings" "$warnings"
case $rendered in
  *cnnfilter*) ;;
  *) fail "man page: the rendered page does not mention cnnfilter" "$rendered" ;;
esac
case $rendered in
  *CNNFILTER_KERNELS*) ;;
  *) fail "man page: no ENVIRONMENT entry for CNNFILTER_KERNELS" ;;
esac
pass "man -l $manpage renders without warnings"

# 9. pkg-config finds the installed library, with this prefix and version.
command -v pkg-config >/dev/null 2>&1 || fail "pkg-config: not installed (Debian package pkg-config)"
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pcfile")
run "pkg-config --cflags --libs" pkg-config --cflags --libs cnnfilter
flags=$out
case " $flags " in
  *" -I$tmp/include "*) ;;
  *) fail "pkg-config: --cflags does not point to $tmp/include" "$flags" ;;
esac
case " $flags " in
  *" -L$(dirname "$libfile") "*"-lcnnfilter "*) ;;
  *) fail "pkg-config: --libs is not -L$(dirname "$libfile") -lcnnfilter" "$flags" ;;
esac
run "pkg-config --modversion" pkg-config --modversion cnnfilter
[ "$out" = "$version" ] || fail "pkg-config: version $out, the binary says $version"
pass "pkg-config --cflags --libs cnnfilter: $flags"

# 10. A program using the installed header and library compiles, links and runs.
cat >"$work/use_lib.c" <<'EOF'
#include <cnnfilter.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    cnf_kernel *k = NULL;
    cnf_error err;
    memset(&err, 0, sizeof err);
    if (cnf_kernel_parse("gaussian:5", "--kernel", &k, &err) != CNF_OK) {
        fprintf(stderr, "cnf_kernel_parse: %s\n", err.msg);
        return 1;
    }
    if (cnf_kernel_width(k) != 5 || cnf_kernel_height(k) != 5 || cnf_kernel_divisor(k) != 256) {
        fprintf(stderr, "gaussian:5 is not 5x5 / 256\n");
        cnf_kernel_free(k);
        return 1;
    }
    printf("%s %d\n", cnf_kernel_name(k), cnf_strerror(CNF_E_USAGE)[0] != 0);
    cnf_kernel_free(k);
    return 0;
}
EOF
cc=${CC:-cc}
# shellcheck disable=SC2046 # pkg-config's output is a list of words
run "compile against the installed library" "$cc" -std=c11 -Wall -Wextra -Werror \
  "${san_flags[@]}" -o "$work/use_lib" "$work/use_lib.c" \
  $(pkg-config --cflags cnnfilter) $(pkg-config --libs --static cnnfilter)
run "run the program linked against the installed library" "$work/use_lib"
[ "$out" = "gaussian-5 1" ] || fail "program linked against the library: unexpected output" "$out"
pass "#include <cnnfilter.h> + \$(pkg-config --libs --static cnnfilter) compiles, links, runs"

# 10b. The usage example at the top of the installed header compiles and runs as written.
{
  printf '#include <cnnfilter.h>\n#include <stdio.h>\n#include <stdlib.h>\n'
  printf 'int main(int argc, char **argv)\n{\n'
  printf '    static unsigned char png[1 << 20];\n    size_t png_len;\n'
  printf '    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;\n'
  printf '    if (!f) return 1;\n    png_len = fread(png, 1, sizeof png, f);\n    fclose(f);\n'
  sed -n '/^ \* Example:/,/^ \*\//p' "$tmp/include/cnnfilter.h" |
    sed -n -e '/^ \*     /p' -e '/^ \* [a-z_]*:$/p' | sed -e 's/^ \*     //' -e 's/^ \* //'
  printf '    return e.msg[0] != 0;\n}\n'
} >"$work/example.c"
# shellcheck disable=SC2046 # pkg-config's output is a list of words
run "compile the header's example" "$cc" -std=c11 -Wall -Wextra -Werror -Wno-unused-label \
  "${san_flags[@]}" -o "$work/example" "$work/example.c" \
  $(pkg-config --cflags cnnfilter) $(pkg-config --libs --static cnnfilter)
run "run the header's example" "$work/example" "$src/samples/shapes.png"
[ "$out" = "3 x 256 x 256" ] || fail "the header's example: unexpected output" "$out"
pass "the usage example in cnnfilter.h compiles and runs as written"

# 11. The completion is valid bash and completes from the installed binary.
run "bash -n completion" bash -n "$completion"
# shellcheck disable=SC2016 # expanded by the inner bash
run "completion" bash -c '
  source "$1"
  complete -p cnnfilter >/dev/null
  COMP_WORDS=("$2" --border r); COMP_CWORD=2; _cnnfilter
  echo "border: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" -k sob); COMP_CWORD=2; _cnnfilter
  echo "kernel: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" show-k); COMP_CWORD=1; _cnnfilter
  echo "subcommand: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" train --optimizer ""); COMP_CWORD=3; _cnnfilter
  echo "optimizer: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" train --val-l); COMP_CWORD=2; _cnnfilter
  echo "train option: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" learn --border m); COMP_CWORD=3; _cnnfilter
  echo "learn border: ${COMPREPLY[*]}"
  COMP_WORDS=("$2" train --epochs ""); COMP_CWORD=3; _cnnfilter
  echo "epochs: ${#COMPREPLY[@]}"
' completion-test "$completion" "$bin"
case $out in
  *"border: replicate reflect"*"kernel: "*sobel_v*"subcommand: show-kernel"*"optimizer: sgd adam"*"train option: --val-labels"*"learn border: mirror"*"epochs: 0"*) ;;
  *) fail "completion: unexpected replies" "$out" ;;
esac
pass "completion installed, bash -n clean, completes options, kernels, subcommands and their values"

echo "install: $passed passed, 0 failed"

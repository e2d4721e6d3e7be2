#!/usr/bin/env bash
# collect.sh - bench/results.md from the parts make bench writes (results-core.md,
# results-peers.md, results-batch.md, results-scaling.md, results-tall.md, results-blur.md,
# results-gemm.md, results-train.md), on stdout.
#
#   bench/collect.sh > bench/results.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
echo "# cnnfilter benchmark results"
echo
bin=../build/cnnfilter
echo "Written by \`make bench\` ($(date -u +%Y-%m-%d); build/cnnfilter built" \
     "$(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?'), working tree at" \
     "$(git -C .. describe --always --dirty 2>/dev/null || echo '?'); $(nproc) cores," \
     "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')). How each figure is" \
     "measured: bench/README.md. The machine is shared: figures move by 10-30 % between runs."
echo
echo "## Core: the convolution alone (no codec), in-process"
echo
echo '```'
cat results-core.md
echo '```'
echo
for part in peers batch scaling tall blur gemm train; do
  if [ -f "results-$part.md" ]; then
    cat "results-$part.md"
    echo
  fi
done

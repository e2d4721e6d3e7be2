#!/usr/bin/env bash
# install-deps.sh - install the Debian packages cnnfilter builds and tests with, when missing.
set -euo pipefail

# Build: compiler, CMake, stb, cJSON, libspng, libjpeg-turbo, zlib, ISA-L, libtiff, libwebp.
# Tests: NumPy, PyTorch and OpenCV as independent references (PyTorch's autograd
# checks the training engine, OpenCV's GaussianBlur the blurs), ImageMagick (a
# kernel `learn` must recover), libvips (TIFF and EXIF readings to check against).
# Demo: Debian's Fashion-MNIST (real 28x28 images to train on).
# Extra packages may be named on the command line (make valgrind passes valgrind).
pkgs=("$@" cmake gcc make pkg-config libstb-dev libcjson-dev libspng-dev libjpeg62-turbo-dev zlib1g-dev libisal-dev libtiff-dev libwebp-dev python3 python3-numpy python3-opencv man-db python3-torch imagemagick libvips-tools dataset-fashion-mnist)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

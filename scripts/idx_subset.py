#!/usr/bin/env python3
"""idx_subset.py - the first N images and labels of an IDX image/label pair (the MNIST format,
gzip or not), written as a gzip IDX pair: a small real training set for the demo.

Usage: idx_subset.py [--png DIR K] IMAGES LABELS N OUT_PREFIX
writes OUT_PREFIX-images-idx3-ubyte.gz and OUT_PREFIX-labels-idx1-ubyte.gz (the names
cnnfilter pairs by itself); with --png, also the first K images as DIR/NNNN-LABEL.png
(8-bit gray), to show them and to run `cnnfilter predict` on image files.
Standard library only (the demo must not need NumPy).
"""
import gzip
import os
import struct
import sys
import zlib


def read(path):
    with open(path, "rb") as f:
        head = f.read(2)
    op = gzip.open if head == b"\x1f\x8b" else open
    with op(path, "rb") as f:
        return f.read()


def png_gray(path, width, height, pixels):
    """An 8-bit gray PNG of width x height bytes (rows top to bottom)."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    raw = b"".join(b"\0" + pixels[y * width:(y + 1) * width] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def main():
    args = sys.argv[1:]
    png_dir, png_count = None, 0
    if len(args) >= 3 and args[0] == "--png":
        png_dir, png_count = args[1], int(args[2])
        args = args[3:]
    if len(args) != 4:
        sys.stderr.write("usage: idx_subset.py [--png DIR K] IMAGES LABELS N OUT_PREFIX\n")
        return 2
    images, labels, n, out = args[0], args[1], int(args[2]), args[3]
    im, lb = read(images), read(labels)
    magic, count, rows, cols = struct.unpack(">IIII", im[:16])
    lmagic, lcount = struct.unpack(">II", lb[:8])
    if magic != 0x803 or lmagic != 0x801 or count != lcount:
        sys.stderr.write("idx_subset.py: not an IDX image/label pair of one size\n")
        return 1
    n = min(n, count)
    with gzip.open(out + "-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 0x803, n, rows, cols) + im[16:16 + n * rows * cols])
    with gzip.open(out + "-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 0x801, n) + lb[8:8 + n])
    if png_dir:
        os.makedirs(png_dir, exist_ok=True)
        size = rows * cols
        for i in range(min(png_count, n)):
            png_gray(os.path.join(png_dir, "%04d-%d.png" % (i, lb[8 + i])), cols, rows,
                     im[16 + i * size:16 + (i + 1) * size])
    return 0


if __name__ == "__main__":
    sys.exit(main())

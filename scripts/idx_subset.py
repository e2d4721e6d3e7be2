#!/usr/bin/env python3
"""idx_subset.py - the first N images and labels of an IDX image/label pair (the MNIST format,
gzip or not), written as a gzip IDX pair: a small real training set for the demo.

Usage: idx_subset.py IMAGES LABELS N OUT_PREFIX
writes OUT_PREFIX-images-idx3-ubyte.gz and OUT_PREFIX-labels-idx1-ubyte.gz.
Standard library only (the demo must not need NumPy).
"""
import gzip
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        head = f.read(2)
    op = gzip.open if head == b"\x1f\x8b" else open
    with op(path, "rb") as f:
        return f.read()


def main():
    if len(sys.argv) != 5:
        sys.stderr.write("usage: idx_subset.py IMAGES LABELS N OUT_PREFIX\n")
        return 2
    images, labels, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_bands.py - tall, thin images through the real binary.

The executor cuts each stage's work into bands of rows whose height follows
the values in a row (at least 64 Ki values: 65,536 rows at 1 pixel wide,
21,846 at 3, where bands used to be 32 rows).  These tests run tall, thin
gray images (3 x 300,000 and 1 x 600,000: 14 and 10 bands) through a 3x3
kernel and through a strided pooling window whose rows overlap, at -j 1
and -j 2: the PNG bytes are the same for both, and the decoded pixels equal
a NumPy computation made here.  Decoders: a small zlib + NumPy reader
written here, and OpenCV's for the 3x3 kernel's outputs.  No timing is
asserted; the sizes keep each run to about a second under ASan.
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-bands-")
RNG = np.random.default_rng(20261205)
# Asymmetric, so a flipped or shifted kernel gives other pixels; integer
# weights, so every sum is exact and clamping is the whole mapping.
KERNEL = [[1, 2, 0], [0, -3, 1], [0, 1, -1]]


def path(name):
    return os.path.join(TMP, name)


def ok(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP,
                       timeout=300)
    assert r.returncode == 0, (args, r.returncode, r.stderr.decode("utf-8", "replace"))


def chunk(typ, body):
    return (struct.pack(">I", len(body)) + typ + body +
            struct.pack(">I", zlib.crc32(typ + body) & 0xffffffff))


def save_gray(name, pixels):
    """An 8-bit gray PNG of (H, W) uint8, every row filter "none"."""
    h, w = pixels.shape
    raw = np.zeros((h, w + 1), np.uint8)
    raw[:, 1:] = pixels
    with open(path(name), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))


def read_gray(name):
    """(H, W) uint8 of an 8-bit gray non-interlaced PNG; any row filter."""
    with open(path(name), "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        assert zlib.crc32(typ + body) & 0xffffffff == struct.unpack(
            ">I", data[pos + 8 + ln:pos + 12 + ln])[0]
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        pos += 12 + ln
    w, h, depth, colour, _, _, interlace = hdr
    assert depth == 8 and colour == 0 and interlace == 0, hdr
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), np.uint8).reshape(h, w + 1)
    ftype = raw[:, 0].tolist()
    if w == 1:  # no left neighbour: sub is none, Paeth is up (a = c = 0)
        out, x = bytearray(h), 0
        for y, (t, r) in enumerate(zip(ftype, raw[:, 1].tolist())):
            x = r if t < 2 else (r + (x >> 1)) & 255 if t == 3 else (r + x) & 255
            out[y] = x
        return np.frombuffer(bytes(out), np.uint8).reshape(h, 1)
    d = raw[:, 1:].astype(np.int64)
    out = np.zeros((h, w), np.int64)
    prev = [0] * w
    rows = d.tolist()
    for y in range(h):
        r, t = rows[y], ftype[y]
        if t == 0:
            cur = r
        elif t == 2:
            cur = [(a + b) & 255 for a, b in zip(r, prev)]
        else:
            cur = []
            for x in range(w):
                a = cur[x - 1] if x else 0
                b, c = prev[x], prev[x - 1] if x else 0
                if t == 1:
                    p = a
                elif t == 3:
                    p = (a + b) >> 1
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    p = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur.append((r[x] + p) & 255)
        out[y] = cur
        prev = cur
    return out.astype(np.uint8)


IMAGES = []


def images():
    """The tall, thin inputs: 3 x 300,000 and 1 x 600,000, random gray."""
    if not IMAGES:
        for w, h in ((3, 300000), (1, 600000)):
            name = "in%dx%d.png" % (w, h)
            v = RNG.integers(0, 256, size=(h, w), dtype=np.uint8)
            save_gray(name, v)
            IMAGES.append((name, v))
    return IMAGES


def conv_ref(v):
    """KERNEL by cross-correlation, replicate border, same size, clamped."""
    h, w = v.shape
    p = np.pad(v.astype(np.int64), 1, mode="edge")
    acc = np.zeros((h, w), np.int64)
    for i in range(3):
        for j in range(3):
            acc += KERNEL[i][j] * p[i:i + h, j:j + w]
    return np.clip(acc, 0, 255).astype(np.uint8)


def pool_ref(v, size, stride, pad):
    """Max pooling in floor mode; the padding is never the maximum."""
    p = np.pad(v.astype(np.int64), pad, mode="constant", constant_values=-1)
    h, w = p.shape
    oh, ow = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.full((oh, ow), -1, np.int64)
    for i in range(size):
        for j in range(size):
            out = np.maximum(out, p[i:i + (oh - 1) * stride + 1:stride,
                                    j:j + (ow - 1) * stride + 1:stride])
    return out.astype(np.uint8)


def both_jobs(name, out, *args):
    """Run at -j 1 and -j 2: the bytes must be the same; the pixels of -j 2."""
    for j in (1, 2):
        ok("-j", j, *args, name, "%s-j%d.png" % (out, j))
    with open(path(out + "-j1.png"), "rb") as a, open(path(out + "-j2.png"), "rb") as b:
        assert a.read() == b.read(), out + ": -j 1 and -j 2 wrote different bytes"
    return read_gray(out + "-j2.png")


def a_3x3_kernel_on_tall_thin_images_equals_numpy_for_any_jobs():
    kernel = "[[" + "],[".join(",".join(str(k) for k in r) for r in KERNEL) + "]]"
    for name, v in images():
        got = both_jobs(name, "conv-" + name[:-4], "-k", kernel, "--border", "replicate")
        want = conv_ref(v)
        assert got.shape == want.shape, (got.shape, want.shape)
        bad = np.argwhere(got != want)
        assert bad.size == 0, "%s: %d pixels differ, first at %s" % (name, len(bad), bad[0])
        cv = cv2.imread(path("conv-%s-j2.png" % name[:-4]), cv2.IMREAD_UNCHANGED)
        assert cv is not None and np.array_equal(cv.reshape(got.shape), got)


def a_strided_pooling_on_tall_thin_images_equals_numpy_for_any_jobs():
    # Windows of 3 rows at a stride of 2 overlap, so neighbouring bands need
    # the same input rows; padding 1 lets the window fit a 1-pixel width.
    for name, v in images():
        got = both_jobs(name, "pool-" + name[:-4], "-k", "[[1]]", "--pool", "max",
                        "--pool-size", "3", "--pool-stride", "2", "--pool-padding", "1")
        want = pool_ref(v, 3, 2, 1)
        assert got.shape == want.shape, (got.shape, want.shape)
        bad = np.argwhere(got != want)
        assert bad.size == 0, "%s: %d pixels differ, first at %s" % (name, len(bad), bad[0])


TESTS = [a_3x3_kernel_on_tall_thin_images_equals_numpy_for_any_jobs,
         a_strided_pooling_on_tall_thin_images_equals_numpy_for_any_jobs]


def main():
    return harness.run_tests("bands", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

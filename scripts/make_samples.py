#!/usr/bin/python3
"""make_samples.py - write the sample images in samples/ (deterministically).

Usage: /usr/bin/python3 scripts/make_samples.py [OUTDIR]     (default: samples/ of the repo)

Every pixel is computed with integer arithmetic (or a float that is rounded to an
integer), nothing is random, and the PNG files are written here with zlib and struct
(8-bit, no ancillary chunks, filter 0 on every row, zlib level 9), so running the
script again gives the same bytes. NumPy is used only to hold the pixel arrays.
"""

import math
import os
import struct
import sys
import zlib

import numpy as np

# PNG colour types by channel count: gray, gray+alpha, RGB, RGBA.
COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}


def png_chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, pixels):
    """Write an (H, W) or (H, W, C) uint8 array as an 8-bit PNG."""
    a = np.asarray(pixels)
    if a.dtype != np.uint8:
        raise ValueError(f"{path}: pixels must be uint8, not {a.dtype}")
    if a.ndim == 2:
        a = a[:, :, None]
    height, width, channels = a.shape
    ihdr = struct.pack(">IIBBBBB", width, height, 8, COLOUR_TYPE[channels], 0, 0, 0)
    raw = b"".join(b"\x00" + a[y].tobytes() for y in range(height))
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def grid(h, w):
    """Integer row and column index arrays of shape (h, w)."""
    return np.mgrid[0:h, 0:w].astype(np.int64)


def shapes():
    """RGB 256x256: red disc, blue square, green triangle, yellow ring on light gray."""
    h = w = 256
    y, x = grid(h, w)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = (224, 224, 224)
    # blue square, top right
    img[(y >= 28) & (y < 108) & (x >= 148) & (x < 228)] = (40, 70, 200)
    # red disc, top left: centre (68, 68), radius 42 (integer test)
    img[(y - 68) ** 2 + (x - 68) ** 2 <= 42 * 42] = (210, 40, 40)
    # green triangle, bottom left: apex (140, 68), base y = 228 from x = 18 to 118
    # inside when 2*|x - 68| <= (y - 140) * 100 / 88  <=>  176*|x-68| <= 100*(y-140)
    img[(y >= 140) & (y <= 228) & (176 * np.abs(x - 68) <= 100 * (y - 140))] = (30, 160, 60)
    # yellow ring, bottom right: centre (186, 188), radii 26..40
    d2 = (y - 186) ** 2 + (x - 188) ** 2
    img[(d2 <= 40 * 40) & (d2 >= 26 * 26)] = (230, 190, 20)
    return img


def gradient():
    """Gray 256x256: top half a horizontal ramp (left) and a vertical ramp (right),
    bottom half a radial gradient (bright centre, dark rim)."""
    h = w = 256
    y, x = grid(h, w)
    img = np.zeros((h, w), np.int64)
    top = y < 128
    left = x < 128
    img[top & left] = (x[top & left] * 255) // 127                  # 0..255 left to right
    img[top & ~left] = ((y[top & ~left]) * 255) // 127              # 0..255 top to bottom
    # radial: centre (192, 128), 255 at the centre down to 0 at radius 64 and beyond
    bottom = ~top
    d2 = (2 * y[bottom] - 383) ** 2 + (2 * x[bottom] - 255) ** 2   # (2r)^2, centre between pixels
    r2 = np.array([math.isqrt(int(v)) for v in d2], np.int64)      # floor(2r), exact integers
    img[bottom] = np.clip(255 - (r2 * 255) // 128, 0, 255)
    return img.astype(np.uint8)


def lines():
    """Gray 256x256, black, with 1-px white lines: horizontal (top left quadrant),
    vertical (top right), diagonal \\ (bottom left), anti-diagonal / (bottom right)."""
    h = w = 256
    y, x = grid(h, w)
    q = 128
    yy, xx = y % q, x % q
    top, left = y < q, x < q
    inner = (yy >= 8) & (yy < q - 8) & (xx >= 8) & (xx < q - 8)   # keep lines off the seams
    on = np.zeros((h, w), bool)
    on |= top & left & (yy % 16 == 8)
    on |= top & ~left & (xx % 16 == 8)
    on |= ~top & left & ((xx - yy) % 24 == 0)
    on |= ~top & ~left & ((xx + yy) % 24 == 0)
    img = np.where(on & inner, 255, 0)
    # a plain white disc in the middle: every kernel sees curved edges too
    d2 = (y - 127) ** 2 + (x - 127) ** 2
    img[d2 <= 14 * 14] = 255
    return img.astype(np.uint8)


def texture():
    """Gray 256x256: top half a checkerboard (4-px squares on the left, 2-px on the
    right), bottom half a vertical-bar sine grating whose period shrinks from 32 to 4 px."""
    h = w = 256
    y, x = grid(h, w)
    img = np.zeros((h, w), np.int64)
    top = y < 128
    sq = np.where(x < 128, 4, 2)
    checker = np.where(((y // sq) + (x // sq)) % 2 == 0, 40, 215)
    img[top] = checker[top]
    # chirp grating: the phase is the integral of 2*pi/period, period = 32 -> 4 linearly over x
    row = np.zeros(w, np.int64)
    phase = 0.0
    for i in range(w):
        period = 32.0 - 28.0 * i / (w - 1)
        row[i] = int(math.floor(127.5 + 110.0 * math.sin(phase) + 0.5))
        phase += 2.0 * math.pi / period
    img[~top] = np.broadcast_to(row, (h, w))[~top]
    # a thin black separator between the halves
    img[127:129, :] = 0
    return img.astype(np.uint8)


def digit8():
    """Gray 50x50: the 5x5 binary '8' of the textbook exercises, 10x nearest-neighbour."""
    rows = ["01110", "01010", "01110", "01010", "01110"]
    small = np.array([[255 if c == "1" else 0 for c in r] for r in rows], np.uint8)
    return np.kron(small, np.ones((10, 10), np.uint8))


def rgba():
    """RGBA 96x96: a colour wash with a dark cross; alpha 255 outside, a fully transparent
    disc in the middle, and a half-transparent band along the bottom."""
    h = w = 96
    y, x = grid(h, w)
    img = np.empty((h, w, 4), np.int64)
    img[..., 0] = (x * 255) // (w - 1)
    img[..., 1] = (y * 255) // (h - 1)
    img[..., 2] = 255 - ((x + y) * 255) // (w + h - 2)
    cross = (np.abs(x - 47) <= 2) | (np.abs(y - 47) <= 2)
    img[cross, 0:3] = 30
    alpha = np.full((h, w), 255, np.int64)
    alpha[y >= 80] = 128
    alpha[(2 * y - 95) ** 2 + (2 * x - 95) ** 2 <= 44 * 44] = 0   # radius 22 about the centre
    img[..., 3] = alpha
    return img.astype(np.uint8)


SAMPLES = [
    ("shapes.png", shapes),
    ("gradient.png", gradient),
    ("lines.png", lines),
    ("texture.png", texture),
    ("digit8.png", digit8),
    ("rgba.png", rgba),
]


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1].startswith("-")):
        sys.stderr.write("usage: make_samples.py [OUTDIR]\n")
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = argv[1] if len(argv) == 2 else os.path.join(here, "..", "samples")
    os.makedirs(outdir, exist_ok=True)
    total = 0
    for name, make in SAMPLES:
        path = os.path.join(outdir, name)
        pixels = make()
        size = write_png(path, pixels)
        total += size
        shape = "x".join(str(n) for n in pixels.shape)
        print(f"{os.path.relpath(path)}  {shape}  {size} bytes")
    print(f"{len(SAMPLES)} samples, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

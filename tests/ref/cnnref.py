#!/usr/bin/env python3
"""cnnref.py - an independent NumPy (float64) reference of cnnfilter's single-layer path.

Written only from doc/reference.md (sections 1, 2, 3, 5 and 9), to cross-check the C CLI.
It covers one kernel (-k), no activation, no pooling, no combine, no pipeline:

    cnnref.py -k SPEC [--padding valid|same|N|PH,PW] [--border zero|replicate|reflect|mirror|wrap]
              [--stride S|SY,SX] [--dilation D] [--flip] [--channels auto|gray|rgb|sum]
              [--alpha keep|drop] [--scale S] [--bias B] [--map clamp|abs|offset|normalize]
              INPUT OUTPUT

INPUT: .png (8-bit gray / gray+alpha / RGB / RGBA, read by the small decoder below), .txt
(whitespace-separated rows, channels separated by an empty line), .json (1-D = one row, 2-D,
or 3-D [channel][row][col]).  Matrix inputs have no alpha; 3 matrix channels are taken as R,G,B.
OUTPUT: .npy (float32 (C,H,W), alpha last), .txt (%.9g, reference 9.6), .json, .png (8-bit via --map).
-j/--jobs N is accepted and ignored (the output may not depend on it, reference 5).

Exit status like the CLI: 0 ok, 1 runtime failure (e.g. empty output, reference 9.9), 2 usage error.

Run `cnnref.py --self-test` to check the reference against hand-computed values.
"""

import json
import math
import os
import struct
import sys
import zlib

try:
    import numpy as np
except ImportError:  # the pyenv python on PATH may lack numpy; the system one has it
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise


class UsageError(Exception):
    """Bad option or kernel: the CLI must exit 2."""


class RuntimeFailure(Exception):
    """Empty output, unreadable input...: the CLI must exit 1."""


# --------------------------------------------------------------------------------------------
# Built-in kernels (reference section 7; only the ones with fixed exact weights)
# --------------------------------------------------------------------------------------------

def _binomial_row(n):
    row = [1]
    for _ in range(n - 1):
        row = [a + b for a, b in zip(row + [0], [0] + row)]
    return row


def builtin_kernel(spec):
    parts = spec.split(":")
    name, args = parts[0], parts[1:]
    fixed = {
        "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
        "sobel_v": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
        "sobel_h": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
        "prewitt_v": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
        "prewitt_h": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
        "scharr_v": [[-3, 0, 3], [-10, 0, 10], [-3, 0, 3]],
        "scharr_h": [[-3, -10, -3], [0, 0, 0], [3, 10, 3]],
        "edge_v": [[1, 0, -1], [1, 0, -1], [1, 0, -1]],
        "edge_h": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
        "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
        "laplacian8": [[1, 1, 1], [1, -8, 1], [1, 1, 1]],
        "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
        "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
    }
    if name in fixed and not args:
        return np.array(fixed[name], dtype=np.float64)
    if name == "box" and len(args) <= 1:
        n = int(args[0]) if args else 3
        return np.ones((n, n)) / (n * n)
    if name == "gaussian" and len(args) <= 1:
        n = int(args[0]) if args else 3
        r = np.array(_binomial_row(n), dtype=np.float64)
        return np.outer(r, r) / 4.0 ** (n - 1)
    if name in ("line_v", "line_h", "line_diag", "line_anti", "frame") and len(args) <= 1:
        k = int(args[0]) if args else 3
        w = np.zeros((k, k))
        if name == "line_v":
            w[:, k // 2] = 1
        elif name == "line_h":
            w[k // 2, :] = 1
        elif name == "line_diag":
            w[np.arange(k), np.arange(k)] = 1
        elif name == "line_anti":
            w[np.arange(k), k - 1 - np.arange(k)] = 1
        else:
            w[0, :] = w[-1, :] = w[:, 0] = w[:, -1] = 1
            return w / w.sum()
        return w / k
    raise UsageError("--kernel: unsupported kernel for this reference: %r" % spec)


def parse_kernel(spec):
    """Returns float64 weights, 2-D (kH,kW) or 3-D (C,kH,kW).  A 1-D array is one row (9.10)."""
    s = spec.strip()
    if not s.startswith("["):
        return builtin_kernel(s)
    try:
        data = json.loads(s)
    except ValueError as e:
        raise UsageError("--kernel: %s" % e)
    w = np.array(data, dtype=np.float64)
    if w.ndim == 1:
        w = w.reshape(1, -1)
    if w.ndim not in (2, 3) or w.size == 0 or not np.all(np.isfinite(w)):
        raise UsageError("--kernel: not a non-empty rectangular 2-D or 3-D matrix")
    return w


# --------------------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------------------

class Options:
    def __init__(self):
        self.kernel = None          # spec string
        self.padding = "same"
        self.border = "replicate"   # the command-line form's default (pipelines pad with zero)
        self.stride = (1, 1)
        self.dilation = 1
        self.flip = False
        self.channels = "auto"
        self.alpha = "keep"
        self.scale = 1.0
        self.bias = 0.0
        self.map = "clamp"
        self.jobs = None
        self.input = None
        self.output = None


def _int_list(text, flag, count_ok):
    try:
        vals = [int(t) for t in text.split(",")]
    except ValueError:
        raise UsageError("%s: not an integer: %r" % (flag, text))
    if len(vals) not in count_ok:
        raise UsageError("%s: bad value %r" % (flag, text))
    return vals


def parse_args(argv):
    o = Options()
    takes_value = {"-k": "kernel", "--kernel": "kernel", "--padding": "padding", "--border": "border",
                   "--stride": "stride", "--dilation": "dilation", "--channels": "channels",
                   "--alpha": "alpha", "--scale": "scale", "--bias": "bias", "--map": "map",
                   "-j": "jobs", "--jobs": "jobs"}   # jobs: accepted and ignored (reference 5 determinism)
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--flip":
            o.flip = True
            i += 1
            continue
        key, val = a, None
        if a.startswith("--") and "=" in a:
            key, val = a.split("=", 1)
        if key in takes_value:
            if val is None:
                if i + 1 >= len(argv):
                    raise UsageError("%s: missing value" % key)
                val = argv[i + 1]
                i += 2
            else:
                i += 1
            setattr(o, takes_value[key], val)
            continue
        if a.startswith("-") and a != "-":
            raise UsageError("%s: unknown option" % a)
        positional.append(a)
        i += 1
    if len(positional) != 2:
        raise UsageError("need INPUT and OUTPUT")
    o.input, o.output = positional
    if o.kernel is None:
        raise UsageError("--kernel: required")
    # validate / convert
    if o.padding not in ("valid", "same"):
        p = _int_list(o.padding, "--padding", (1, 2))
        if min(p) < 0:
            raise UsageError("--padding: negative")
        o.padding = (p[0], p[0]) if len(p) == 1 else (p[0], p[1])
    if o.border not in ("zero", "replicate", "reflect", "mirror", "wrap"):
        raise UsageError("--border: bad value")
    if isinstance(o.stride, str):
        s = _int_list(o.stride, "--stride", (1, 2))
        o.stride = (s[0], s[0]) if len(s) == 1 else (s[0], s[1])
    if min(o.stride) < 1:
        raise UsageError("--stride: must be >= 1")
    if isinstance(o.dilation, str):
        o.dilation = _int_list(o.dilation, "--dilation", (1,))[0]
    if o.dilation < 1:
        raise UsageError("--dilation: must be >= 1")
    if o.channels not in ("auto", "gray", "rgb", "sum"):
        raise UsageError("--channels: bad value")
    if o.alpha not in ("keep", "drop"):
        raise UsageError("--alpha: bad value")
    if o.map not in ("clamp", "abs", "offset", "normalize"):
        raise UsageError("--map: bad value")
    try:
        o.scale = float(o.scale)
        o.bias = float(o.bias)
    except ValueError:
        raise UsageError("--scale/--bias: not a number")
    return o


# --------------------------------------------------------------------------------------------
# Geometry (reference section 3)
# --------------------------------------------------------------------------------------------

def pad_amounts(n, k, s, d, padding, axis):
    """(before, after) padding of one axis.  axis 0 = rows (PH), 1 = columns (PW)."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)   # -(-n//s) = ceil(n/s)
        return total // 2, total - total // 2
    p = padding[axis]
    return p, p


def out_size(n, k, s, d, before, after):
    """floor((n + Pb + Pa - D(k-1) - 1) / S) + 1, or 0 when no window fits."""
    span = n + before + after - d * (k - 1) - 1
    if span < 0:
        return 0
    return span // s + 1


def border_index(i, n, mode):
    """Input index that position i (possibly outside 0..n-1) reads, or None for a zero.

    replicate aaa|abc|ccc; reflect cba|abc|cba (edge repeated, period 2n);
    mirror cb|abc|ba (edge not repeated, period 2n-2; on n == 1 it repeats the pixel, 9.11);
    wrap bc|abc|ab (period n).  Padding wider than the image keeps reflecting / wrapping."""
    if 0 <= i < n:
        return i
    if mode == "zero":
        return None
    if mode == "replicate":
        return 0 if i < 0 else n - 1
    if mode == "reflect":
        m = i % (2 * n)
        return m if m < n else 2 * n - 1 - m
    if mode == "mirror":
        if n == 1:
            return 0
        m = i % (2 * n - 2)
        return m if m < n else 2 * n - 2 - m
    if mode == "wrap":
        return i % n
    raise ValueError(mode)


def correlate_plane(plane, w, sy, sx, d, pt, pl, oh, ow, border):
    """out(y,x) = sum_i sum_j w(i,j) * in(y*SY + i*D - PT, x*SX + j*D - PL), float64.

    Plain loops over the kernel taps, vectorised over the output pixels."""
    h, wd = plane.shape
    kh, kw = w.shape
    out = np.zeros((oh, ow), dtype=np.float64)
    for i in range(kh):
        rows = [border_index(y * sy + i * d - pt, h, border) for y in range(oh)]
        for j in range(kw):
            cols = [border_index(x * sx + j * d - pl, wd, border) for x in range(ow)]
            tap = np.zeros((oh, ow), dtype=np.float64)
            for yy, r in enumerate(rows):
                if r is None:
                    continue
                for xx, c in enumerate(cols):
                    if c is not None:
                        tap[yy, xx] = plane[r, c]
            out += w[i, j] * tap
    return out


def sample_anchor(plane, kh, kw, sy, sx, d, pt, pl, oh, ow, border):
    """Alpha (reference 9.1): input at (y*SY + ay*D - PT, x*SX + ax*D - PL), ay = floor((kH-1)/2)."""
    ay, ax = (kh - 1) // 2, (kw - 1) // 2
    h, wd = plane.shape
    out = np.zeros((oh, ow), dtype=np.float64)
    for y in range(oh):
        r = border_index(y * sy + ay * d - pt, h, border)
        for x in range(ow):
            c = border_index(x * sx + ax * d - pl, wd, border)
            if r is not None and c is not None:
                out[y, x] = plane[r, c]
    return out


# --------------------------------------------------------------------------------------------
# The single-layer computation
# --------------------------------------------------------------------------------------------

class Result:
    """colour: float64 (C,H,W) after scale/bias; alpha: float64 (H,W) or None;
    magnitude: float64 like colour, |bias| + sum of |weight * input| over the window (with
    |input| through luma for gray), the scale of float rounding error a float32 pipeline has."""

    def __init__(self, colour, alpha, magnitude=None):
        self.colour = colour
        self.alpha = alpha
        self.magnitude = magnitude if magnitude is not None else np.abs(colour)

    def planes(self):
        """All output planes as the .npy/.txt/.json outputs hold them (alpha last)."""
        if self.alpha is None:
            return self.colour
        return np.concatenate([self.colour, self.alpha[None]], axis=0)


def compute(opts, colour, alpha):
    """colour: float64 (C,H,W) with C = 1 (gray) or 3 (R,G,B) (other C: independent channels);
    alpha: float64 (H,W) or None."""
    w = parse_kernel(opts.kernel)
    channels = opts.channels
    c_in = colour.shape[0]
    absolute = np.abs(colour)
    if channels == "gray":
        colour, absolute = luma(colour), luma(absolute)
        c_in = 1
    if w.ndim == 3:
        # A 3-D kernel has its own weights per input channel and implies sum (reference 2).
        if channels in ("rgb",):
            raise UsageError("--channels rgb with a 3-D kernel")
        if w.shape[0] != c_in:
            raise RuntimeFailure("3-D kernel has %d planes, input has %d channels" % (w.shape[0], c_in))
        channels = "sum"
    if opts.flip:
        w = w[..., ::-1, ::-1]          # 180 degree rotation of the weights only (9.11)
    w = w * opts.scale                   # --scale multiplies weights, never the bias (9.18)

    # auto / rgb: every channel independently; sum: handled below
    h, wd = colour.shape[1:]
    kh, kw = w.shape[-2:]
    sy, sx = opts.stride
    d = opts.dilation
    pt, pb = pad_amounts(h, kh, sy, d, opts.padding, 0)
    pl, pr = pad_amounts(wd, kw, sx, d, opts.padding, 1)
    oh = out_size(h, kh, sy, d, pt, pb)
    ow = out_size(wd, kw, sx, d, pl, pr)
    if oh <= 0 or ow <= 0:
        raise RuntimeFailure("kernel leaves no output pixels (reference 9.9)")

    def corr(plane, wk):
        return correlate_plane(plane, wk, sy, sx, d, pt, pl, oh, ow, opts.border)

    def layer(src, wk):
        if channels == "sum":
            acc = np.zeros((oh, ow))
            for c in range(src.shape[0]):
                acc += corr(src[c], wk[c] if wk.ndim == 3 else wk)
            return acc[None]
        return np.stack([corr(src[c], wk) for c in range(src.shape[0])])

    out = layer(colour, w) + opts.bias
    magnitude = layer(absolute, np.abs(w)) + abs(opts.bias)

    a = None
    if alpha is not None and opts.alpha == "keep":
        a = sample_anchor(alpha, kh, kw, sy, sx, d, pt, pl, oh, ow, opts.border)
    return Result(out, a, magnitude)


def luma(colour):
    """0.299 R + 0.587 G + 0.114 B in floating point, not rounded (reference 2, 9.2)."""
    if colour.shape[0] == 1:
        return colour
    if colour.shape[0] != 3:
        raise RuntimeFailure("--channels gray needs 1 or 3 colour channels")
    return (0.299 * colour[0] + 0.587 * colour[1] + 0.114 * colour[2])[None]


# --------------------------------------------------------------------------------------------
# 8-bit mapping (reference 5 and 9.1)
# --------------------------------------------------------------------------------------------

def round_half_even(v):
    return np.rint(v)          # numpy rint rounds ties to even


def map_8bit(result, mode):
    """Returns uint8 (C,H,W): colour planes through --map, alpha rounded and clamped only.

    normalize: joint min..max over all colour channels (alpha excluded, it is never mapped);
    value = round_half_even((v - min) * 255 / (max - min)) computed in float64; all equal -> 0."""
    v = result.colour
    if mode == "clamp":
        m = np.clip(round_half_even(v), 0, 255)
    elif mode == "abs":
        m = np.clip(round_half_even(np.abs(v)), 0, 255)
    elif mode == "offset":
        m = np.clip(round_half_even(v + 128.0), 0, 255)
    elif mode == "normalize":
        lo, hi = float(v.min()), float(v.max())
        if hi == lo:
            m = np.zeros_like(v)
        else:
            m = round_half_even((v - lo) * 255.0 / (hi - lo))
    else:
        raise ValueError(mode)
    planes = [m]
    if result.alpha is not None:
        planes.append(np.clip(round_half_even(result.alpha), 0, 255)[None])
    return np.concatenate(planes, axis=0).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


PNG_SIG = b"\x89PNG\r\n\x1a\n"
_CT_CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}


def png_read(data):
    """Decode an 8-bit, non-interlaced PNG of colour type 0/2/4/6.  Returns uint8 (H,W,C)."""
    if data[:8] != PNG_SIG:
        raise RuntimeFailure("not a PNG")
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        crc = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])[0]
        if zlib.crc32(typ + body) & 0xffffffff != crc:
            raise RuntimeFailure("bad CRC in %r" % typ)
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        elif typ == b"IEND":
            break
        pos += 12 + ln
    w, h, depth, ctype, _comp, _filt, interlace = hdr
    if depth != 8 or interlace != 0 or ctype not in _CT_CHANNELS:
        raise RuntimeFailure("unsupported PNG (depth %d, colour type %d, interlace %d)" % (depth, ctype, interlace))
    ch = _CT_CHANNELS[ctype]
    raw = zlib.decompress(b"".join(idat))
    stride = w * ch
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = [0] * stride
    p = 0
    for y in range(h):
        ft = raw[p]
        line = list(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for x in range(stride):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            if ft == 1:
                line[x] = (line[x] + a) & 255
            elif ft == 2:
                line[x] = (line[x] + b) & 255
            elif ft == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif ft == 4:
                line[x] = (line[x] + _paeth(a, b, c)) & 255
            elif ft != 0:
                raise RuntimeFailure("bad PNG filter type %d" % ft)
        out[y] = line
        prev = line
    return out.reshape(h, w, ch)


def png_write(pixels, filters=None):
    """Encode uint8 (H,W,C), C in 1..4, as PNG.  filters: per-row filter type list (0..4)."""
    h, w, ch = pixels.shape
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[ch]
    rows = pixels.reshape(h, w * ch).astype(int).tolist()
    raw = bytearray()
    prev = [0] * (w * ch)
    for y, line in enumerate(rows):
        ft = filters[y] if filters else 0
        enc = []
        for x in range(len(line)):
            a = line[x - ch] if x >= ch else 0
            b = prev[x]
            c = prev[x - ch] if x >= ch else 0
            pred = [0, a, b, (a + b) >> 1, _paeth(a, b, c)][ft]
            enc.append((line[x] - pred) & 255)
        raw.append(ft)
        raw.extend(enc)
        prev = line

    def chunk(typ, body):
        return struct.pack(">I", len(body)) + typ + body + struct.pack(">I", zlib.crc32(typ + body) & 0xffffffff)

    return (PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))


def load_input(path):
    """Returns (colour float64 (C,H,W), alpha float64 (H,W) or None)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".png":
        with open(path, "rb") as f:
            px = png_read(f.read()).astype(np.float64)
        ch = px.shape[2]
        if ch in (2, 4):
            return np.moveaxis(px[:, :, :ch - 1], 2, 0).copy(), px[:, :, ch - 1].copy()
        return np.moveaxis(px, 2, 0).copy(), None
    if ext == ".txt":
        with open(path) as f:
            text = f.read()
        chans, cur = [], []
        for line in text.split("\n"):
            if line.strip() == "":
                if cur:
                    chans.append(cur)
                    cur = []
                continue
            cur.append([float(t) for t in line.split()])
        if cur:
            chans.append(cur)
        arr = np.array(chans, dtype=np.float64)
    elif ext == ".json":
        with open(path) as f:
            arr = np.array(json.load(f), dtype=np.float64)
        if arr.ndim == 1:
            arr = arr.reshape(1, 1, -1)
        elif arr.ndim == 2:
            arr = arr[None]
    else:
        raise UsageError("unsupported input %s" % path)
    if arr.ndim != 3 or arr.size == 0:
        raise RuntimeFailure("not a rectangular matrix")
    # The CLI holds pixels as float32 (include/cnnfilter.h), so a matrix value is its float32.
    return arr.astype(np.float32).astype(np.float64), None


def write_output(result, opts):
    ext = os.path.splitext(opts.output)[1].lower()
    planes = result.planes()
    if ext == ".npy":
        np.save(opts.output, planes.astype(np.float32))
    elif ext == ".txt":
        with open(opts.output, "w") as f:
            f.write("\n\n".join("\n".join(" ".join("%.9g" % v for v in row) for row in p)
                                for p in planes) + "\n")
    elif ext == ".json":
        with open(opts.output, "w") as f:
            json.dump(planes.tolist() if planes.shape[0] > 1 else planes[0].tolist(), f)
    elif ext == ".png":
        px = np.moveaxis(map_8bit(result, opts.map), 0, 2)
        with open(opts.output, "wb") as f:
            f.write(png_write(px))
    else:
        raise UsageError("unknown output extension %r" % ext)


def run_argv(argv):
    """Parse argv exactly as given to the CLI, load INPUT, compute.  Returns (opts, Result)."""
    opts = parse_args(argv)
    colour, alpha = load_input(opts.input)
    return opts, compute(opts, colour, alpha)


# --------------------------------------------------------------------------------------------
# Self-test: hand-computed values
# --------------------------------------------------------------------------------------------

def _ref(matrix, kernel, **kw):
    o = Options()
    o.kernel = kernel
    o.padding = kw.get("padding", "valid")
    o.border = kw.get("border", "zero")
    o.stride = kw.get("stride", (1, 1))
    o.dilation = kw.get("dilation", 1)
    o.flip = kw.get("flip", False)
    o.scale = kw.get("scale", 1.0)
    o.bias = kw.get("bias", 0.0)
    o.channels = kw.get("channels", "auto")
    m = np.array(matrix, dtype=np.float64)
    if m.ndim == 1:
        m = m[None]
    if m.ndim == 2:
        m = m[None]
    return compute(o, m, kw.get("alpha"))


def self_test():
    fails = []

    def check(name, got, want):
        want = np.array(want, dtype=np.float64)
        if got.shape != want.shape or not np.array_equal(got, want):
            fails.append("%s: got %s want %s" % (name, got.tolist(), want.tolist()))

    # reference section 6
    m44 = [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11], [3, 6, 9, 12]]
    check("seed 4x4", _ref(m44, "[[0,1,0],[0,1,0],[0,1,0]]").colour[0], [[12, 21], [15, 24]])
    check("seed 3x3", _ref([[1, 2, 3], [4, 5, 6], [7, 8, 9]], "[[1,0],[0,-1]]").colour[0], [[-4, -4], [-4, -4]])
    check("seed 1x5", _ref([[1, 2, 3, 4, 5]], "[1,0,-1]").colour[0], [[-2, -2, -2]])
    eight = [[0, 1, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0]]
    check("seed 8", _ref(eight, "[[0,0,0],[0,0,0],[1,0,1]]").colour[0], [[1, 2, 1], [0, 2, 0], [1, 2, 1]])

    # Borders on a 1x3 row [a,b,c] = [1,2,3] with a 1x1 identity kernel and padding 0,4
    row = [[1, 2, 3]]
    check("zero", _ref(row, "[[1]]", padding=(0, 4)).colour[0], [[0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0]])
    check("replicate", _ref(row, "[[1]]", padding=(0, 4), border="replicate").colour[0],
          [[1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3]])
    # reflect cba|abc|cba, keeps reflecting: ... c | c b a | a b c | c b a | a ...
    check("reflect", _ref(row, "[[1]]", padding=(0, 4), border="reflect").colour[0],
          [[3, 3, 2, 1, 1, 2, 3, 3, 2, 1, 1]])
    # mirror cb|abc|ba, keeps mirroring: ... b c b | a b c | b a b c ...
    check("mirror", _ref(row, "[[1]]", padding=(0, 4), border="mirror").colour[0],
          [[1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3]])
    check("wrap", _ref(row, "[[1]]", padding=(0, 4), border="wrap").colour[0],
          [[3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1]])
    check("mirror n=1", _ref([[7]], "[[1]]", padding=(0, 2), border="mirror").colour[0], [[7, 7, 7, 7, 7]])
    check("reflect n=1", _ref([[7]], "[[1]]", padding=(0, 2), border="reflect").colour[0], [[7, 7, 7, 7, 7]])
    check("wrap n=1", _ref([[7]], "[[1]]", padding=(0, 2), border="wrap").colour[0], [[7, 7, 7, 7, 7]])
    # same, 3x3 box of ones on [[1,2],[3,4]] zero border: every output = sum of its 3x3 = 10
    check("same box", _ref([[1, 2], [3, 4]], "[[1,1,1],[1,1,1],[1,1,1]]", padding="same").colour[0],
          [[10, 10], [10, 10]])
    # same, replicate, 1x3 [1,-1,0]... row [1,2,4], kernel [1,0,-1]: padded 1|1 2 4|4 -> [1-2, 1-4, 2-4]
    check("same replicate", _ref([[1, 2, 4]], "[1,0,-1]", padding="same", border="replicate").colour[0],
          [[-1, -3, -2]])
    # even kernel same: k=2 stride 1 -> total 1, before 0, after 1: [1,2,4] with [1,1] -> [3,6,4]
    check("same even", _ref([[1, 2, 4]], "[1,1]", padding="same").colour[0], [[3, 6, 4]])
    # flip: [1,2,4] with [1,0,-1] flipped = [-1,0,1], valid -> [3]
    check("flip", _ref([[1, 2, 4]], "[1,0,-1]", flip=True).colour[0], [[3]])
    # stride 2 same on n=5, k=3: ceil(5/2)=3, total=(3-1)*2+3-5=2 -> 1,1 -> out 3
    check("stride same", _ref([[1, 2, 3, 4, 5]], "[1,1,1]", padding="same", stride=(1, 2)).colour[0],
          [[3, 9, 9]])
    # stride 2 same on n=4, k=3: ceil(4/2)=2, total=2+3-4=1 -> 0 before, 1 after -> windows at 0,2
    check("stride same even n", _ref([[1, 2, 3, 4]], "[1,1,1]", padding="same", stride=(1, 2)).colour[0],
          [[6, 7]])
    # dilation 2: [1,2,3,4,5] with [1,0,1] dil 2 valid -> taps x, x+4 -> [1+5]
    check("dilation", _ref([[1, 2, 3, 4, 5]], "[1,0,1]", dilation=2).colour[0], [[6]])
    # scale/bias: scale weights only: [1,2] with [1,1] scale 2 bias 3 -> 2*3+3 = 9
    check("scale bias", _ref([[1, 2]], "[1,1]", scale=2.0, bias=3.0).colour[0], [[9]])
    # sum: two channels [[1,2]] and [[10,20]] with [1,1] -> 3+30 = 33; 3-D kernel [[[1,0]],[[0,2]]] -> 1+40
    check("sum", _ref([[[1, 2]], [[10, 20]]], "[1,1]", channels="sum").colour[0], [[33]])
    check("3-D", _ref([[[1, 2]], [[10, 20]]], "[[[1,0]],[[0,2]]]").colour[0], [[41]])
    # gray: luma of (100,50,10) = 29.9 + 29.35 + 1.14 = 60.39
    g = _ref([[[100]], [[50]], [[10]]], "[[1]]", channels="gray").colour
    if g.shape != (1, 1, 1) or abs(g[0, 0, 0] - 60.39) > 1e-12:
        fails.append("gray: got %s" % g.tolist())
    # alpha anchor: 3x3 kernel valid on 4x4, anchor (1,1): alpha[1:3,1:3]; 2x2 kernel -> anchor (0,0)
    al = np.arange(16, dtype=np.float64).reshape(4, 4)
    check("alpha 3x3", _ref(np.zeros((4, 4)), "[[1,1,1],[1,1,1],[1,1,1]]", alpha=al).alpha, [[5, 6], [9, 10]])
    check("alpha 2x2 same", _ref(np.zeros((4, 4)), "[[1,1],[1,1]]", padding="same", alpha=al).alpha, al)
    # same 3x3 zero border: alpha at anchor with PT=PL=1 -> alpha itself
    check("alpha same", _ref(np.zeros((4, 4)), "[[1,1,1],[1,1,1],[1,1,1]]", padding="same", alpha=al).alpha, al)
    # padding 2 zero border, 1x1 kernel: alpha outside is 0
    a = _ref(np.zeros((1, 1)), "[[1]]", padding=(1, 1), alpha=np.array([[9.0]])).alpha
    check("alpha zero border", a, [[0, 0, 0], [0, 9, 0], [0, 0, 0]])
    # empty output
    try:
        _ref([[1, 2]], "[[1,1,1]]")
        fails.append("empty output did not fail")
    except RuntimeFailure:
        pass
    # 8-bit maps
    r = Result(np.array([[[-3.5, 0.5, 1.5, 2.5, 254.5, 300]]]), None)
    check("map clamp", map_8bit(r, "clamp")[0], [[0, 0, 2, 2, 254, 255]])
    check("map abs", map_8bit(r, "abs")[0], [[4, 0, 2, 2, 254, 255]])
    check("map offset", map_8bit(r, "offset")[0], [[124, 128, 130, 130, 255, 255]])
    r2 = Result(np.array([[[0.0, 1.0, 2.0]], [[4.0, 3.0, 2.0]]]), None)
    check("map normalize", map_8bit(r2, "normalize"), [[[0, 64, 128]], [[255, 191, 128]]])
    check("map normalize flat", map_8bit(Result(np.full((1, 1, 2), 5.0), None), "normalize"), [[[0, 0]]])

    # border_index against numpy.pad (constant/edge/symmetric/reflect/wrap) for widths up to 3n
    rng = np.random.default_rng(1)
    npmode = {"zero": "constant", "replicate": "edge", "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}
    for n in range(1, 7):
        v = rng.integers(1, 100, n)
        for p in range(0, 3 * n + 2):
            for mode, nm in npmode.items():
                if nm == "reflect" and n == 1:
                    continue          # numpy's opinion on 1-pixel reflect is not the reference's concern
                want = np.pad(v, p, mode=nm)
                got = [0 if border_index(i, n, mode) is None else v[border_index(i, n, mode)]
                       for i in range(-p, n + p)]
                if list(want) != got:
                    fails.append("border %s n=%d p=%d: %s vs numpy %s" % (mode, n, p, got, list(want)))

    # PNG round trip with all filter types
    px = rng.integers(0, 256, (5, 7, 4)).astype(np.uint8)
    for ch in (1, 2, 3, 4):
        img = px[:, :, :ch].copy()
        back = png_read(png_write(img, filters=[0, 1, 2, 3, 4]))
        if not np.array_equal(back, img):
            fails.append("png round trip ch=%d" % ch)

    for f in fails:
        print("self-test FAIL:", f)
    print("cnnref self-test: %d failed" % len(fails))
    return 1 if fails else 0


def main(argv):
    if argv[:1] == ["--self-test"]:
        return self_test()
    try:
        opts, res = run_argv(argv)
        write_output(res, opts)
    except UsageError as e:
        print("cnnref: %s" % e, file=sys.stderr)
        return 2
    except (RuntimeFailure, OSError) as e:
        print("cnnref: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""layers_ref.py - NumPy (float64) reference of cnnfilter's CNN-layer features, from doc/reference.md only.

Covers what cnnref.py (the single-layer convolution reference) leaves out, and reuses its
convolution geometry (pad_amounts, out_size, border_index, sample_anchor), kernel parsing and
input loading:

- activations (reference 1, 9.3): relu, abs, leaky_relu[:A] (A default 0.01), sigmoid, tanh;
- pooling (reference 5, 9.14): max / avg / min, window P, stride S (default P), padding N <= P/2,
  floor mode, or ceil mode whose last window is dropped when it would start past the input plus
  the left padding (PyTorch's rule); window cells outside the input are ignored (max/min over the
  cells inside, average over the cells inside = count_include_pad=False);
- filter banks (several -k) and --combine none|magnitude|max|sum (magnitude = sqrt of the sum of
  squares, max = the signed maximum);
- one CLI layer in the order convolve -> scale/bias -> combine -> activation -> pool (reference 9.5),
  alpha following the geometry of the convolution (reference 9.1) and the same pooling (reference 2);
- pooling alone (no -k, reference 9.10);
- pipelines (reference 4, 9.12, 9.15, 9.17): conv layers (kernels as built-in / inline strings or
  kernel objects {"weights", "divisor", "bias", "flip", "name"}; 2-D or 3-D weights; "channels"
  default "sum", "rgb" = one map per kernel per channel, kernel-major; "bias" a number or one per
  kernel), relu/abs/leaky_relu("slope")/sigmoid/tanh layers, maxpool/avgpool/minpool layers
  (size, stride, padding, ceil) and combine layers (required "mode"; combines the maps of the
  last conv layer's kernels).  Input alpha is dropped.

Every value travels with an error bound (`Data.err`): the largest difference a float32
implementation of the same formulas may reasonably show (rounding of sums, divisions, sqrt,
exp), and `Data.inexact` says which operations can round at all; when that set is empty the CLI
must match bit for bit.

Usage as a program (writes float32 .npy (C,H,W), alpha last; a bank with --combine none writes
one file per kernel through {index}):

    layers_ref.py [CLI layer options] INPUT OUTPUT.npy
    layers_ref.py --pipeline P.json INPUT OUTPUT.npy

Exit status like the CLI: 0 ok, 1 runtime failure, 2 usage error.
"""

import json
import math
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cnnref  # noqa: E402  (re-executes under /usr/bin/python3 when numpy is missing)
from cnnref import RuntimeFailure, UsageError  # noqa: E402,F401
import numpy as np  # noqa: E402

EPS32 = 2.0 ** -23
ROUND = 8.0          # float32 rounding allowance: ROUND * EPS32 * (size of the summed terms)


# --------------------------------------------------------------------------------------------
# Values with an error bound
# --------------------------------------------------------------------------------------------

class Data:
    """val: float64 (C,H,W); err: float64 (C,H,W), bound of a float32 implementation's error;
    inexact: set of reasons why the result may differ from exact arithmetic (empty: bit-exact)."""

    def __init__(self, val, err=None, inexact=()):
        self.val = np.asarray(val, dtype=np.float64)
        self.err = np.zeros_like(self.val) if err is None else np.asarray(err, dtype=np.float64)
        self.inexact = set(inexact)


def frac_bits(arr, limit=40):
    """Smallest b with arr * 2**b all integers, or None (not dyadic)."""
    a = np.asarray(arr, dtype=np.float64)
    for b in range(limit + 1):
        s = a * (2.0 ** b)
        if np.all(s == np.round(s)):
            return b
    return None


def float32_safe(values, bound):
    """Whether every partial result of size <= bound, made of values with the fraction bits of
    `values`, is exact in float32 (24-bit significand)."""
    b = frac_bits(values)
    if b is None:
        return False
    return float(np.max(bound, initial=0.0)) * 2.0 ** b < 2.0 ** 24


def is_float32(arr):
    a = np.asarray(arr, dtype=np.float64)
    return bool(np.all(a.astype(np.float32).astype(np.float64) == a))


# --------------------------------------------------------------------------------------------
# Activations (reference 1, 9.3)
# --------------------------------------------------------------------------------------------

ACTIVATIONS = ("relu", "abs", "leaky_relu", "sigmoid", "tanh")


def parse_activation(text):
    """'relu' / 'leaky_relu:0.2' ... -> (name, slope) or (None, None) for none."""
    if text in (None, "none"):
        return None, None
    name, _, arg = text.partition(":")
    if name not in ACTIVATIONS:
        raise UsageError("--activation: unknown %r" % text)
    if arg and name != "leaky_relu":
        raise UsageError("--activation: %s takes no argument" % name)
    slope = 0.01
    if name == "leaky_relu" and arg:
        try:
            slope = float(arg)
        except ValueError:
            raise UsageError("--activation: bad slope %r" % arg)
        if not math.isfinite(slope):
            raise UsageError("--activation: bad slope %r" % arg)
    return name, slope


def sigmoid(v):
    e = np.exp(-np.abs(v))
    return np.where(v >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def activate(d, name, slope=0.01):
    if name is None:
        return d
    v, e = d.val, d.err
    inexact = set(d.inexact)
    if name == "relu":
        out = np.maximum(v, 0.0)
    elif name == "abs":
        out = np.abs(v)
    elif name == "leaky_relu":
        out = np.where(v > 0, v, slope * v)
        e = e * max(1.0, abs(slope))
        if frac_bits(slope) is None or not float32_safe(out, np.abs(out)):
            inexact.add("leaky_relu slope")
            e = e + np.where(v > 0, 0.0, 2 * EPS32 * np.abs(out))
    elif name == "sigmoid":
        out = sigmoid(v)
        near = sigmoid(np.maximum(np.abs(v) - e, 0.0))       # steepest point within v +- e
        e = near * (1 - near) * e + 4 * EPS32
        inexact.add("sigmoid")
    elif name == "tanh":
        out = np.tanh(v)
        e = (1 - np.tanh(np.maximum(np.abs(v) - e, 0.0)) ** 2) * e + 4 * EPS32
        inexact.add("tanh")
    else:
        raise ValueError(name)
    return Data(out, e, inexact)


# --------------------------------------------------------------------------------------------
# Pooling (reference 5, 9.9, 9.14)
# --------------------------------------------------------------------------------------------

POOLS = ("max", "avg", "min")


def check_pool_params(size, stride, padding, where="--pool"):
    if size < 1:
        raise UsageError("%s: window must be >= 1" % where)
    if stride < 1:
        raise UsageError("%s: stride must be >= 1" % where)
    if padding < 0:
        raise UsageError("%s: negative padding" % where)
    if 2 * padding > size:
        raise UsageError("%s: padding %d is more than half the window %d (reference 9.14)" % (where, padding, size))


def pool_out_size(n, p, s, pad, ceil):
    """Floor: floor((n + 2N - P) / S) + 1.  Ceil: ceil(...) + 1, minus one when the last window
    would start at or past the end of the input (in padded coordinates: >= n + N)."""
    span = n + 2 * pad - p
    if ceil:
        out = -((-span) // s) + 1
        if out > 0 and (out - 1) * s >= n + pad:
            out -= 1
    else:
        out = span // s + 1
    return max(out, 0)


def pool_windows(n, p, s, pad, ceil):
    """[(lo, hi)] input index ranges (the cells of each window that are inside the input)."""
    wins = []
    for o in range(pool_out_size(n, p, s, pad, ceil)):
        start = o * s - pad
        lo, hi = max(start, 0), min(start + p, n)
        assert hi > lo, "a pooling window with no input cell (n=%d p=%d s=%d pad=%d)" % (n, p, s, pad)
        wins.append((lo, hi))
    return wins


def pool_plane(plane, err, mode, p, s, pad, ceil):
    h, w = plane.shape
    rows = pool_windows(h, p, s, pad, ceil)
    cols = pool_windows(w, p, s, pad, ceil)
    if not rows or not cols:
        raise RuntimeFailure("pooling window %d leaves no output for %dx%d (reference 9.9)" % (p, w, h))
    out = np.zeros((len(rows), len(cols)))
    oerr = np.zeros_like(out)
    for y, (r0, r1) in enumerate(rows):
        for x, (c0, c1) in enumerate(cols):
            cells = plane[r0:r1, c0:c1]
            errs = err[r0:r1, c0:c1]
            if mode == "max":
                out[y, x] = cells.max()
                oerr[y, x] = errs.max()
            elif mode == "min":
                out[y, x] = cells.min()
                oerr[y, x] = errs.max()
            else:
                out[y, x] = cells.mean()
                oerr[y, x] = errs.max() + ROUND * EPS32 * np.abs(cells).max()
    return out, oerr


def pool(d, mode, p, s=None, pad=0, ceil=False):
    if mode in (None, "none"):
        return d
    s = p if s is None else s
    check_pool_params(p, s, pad)
    planes = [pool_plane(d.val[c], d.err[c], mode, p, s, pad, ceil) for c in range(d.val.shape[0])]
    inexact = set(d.inexact)
    if mode == "avg":
        inexact.add("avg pool")
    return Data(np.stack([v for v, _ in planes]), np.stack([e for _, e in planes]), inexact)


# --------------------------------------------------------------------------------------------
# Combine (reference 1, 9.5)
# --------------------------------------------------------------------------------------------

COMBINES = ("magnitude", "max", "sum")


def combine(ds, mode):
    """ds: list of Data of one shape (one per kernel) -> Data."""
    vals = np.stack([d.val for d in ds])
    errs = np.stack([d.err for d in ds])
    inexact = set().union(*[d.inexact for d in ds])
    if mode == "sum":
        out = vals.sum(axis=0)
        err = errs.sum(axis=0)
        if not float32_safe(vals, np.abs(vals).sum(axis=0)):
            inexact.add("combine sum rounding")
            err = err + ROUND * EPS32 * np.abs(vals).sum(axis=0)
    elif mode == "max":
        out = vals.max(axis=0)                  # signed maximum (reference 9.5)
        err = errs.max(axis=0)
    elif mode == "magnitude":
        out = np.sqrt((vals ** 2).sum(axis=0))
        err = np.sqrt((errs ** 2).sum(axis=0)) + ROUND * EPS32 * out
        inexact.add("combine magnitude")
    else:
        raise ValueError(mode)
    return Data(out, err, inexact)


# --------------------------------------------------------------------------------------------
# Convolution of one kernel (reference 2, 3), with error bounds
# --------------------------------------------------------------------------------------------

class Geometry:
    def __init__(self, padding="same", border="zero", stride=(1, 1), dilation=1):
        self.padding = padding      # "valid" | "same" | (PH, PW)
        self.border = border
        self.stride = stride        # (SY, SX)
        self.dilation = dilation


class Kernel:
    """weights float64 2-D or 3-D (before the divisor), divisor, bias, flip."""

    def __init__(self, weights, divisor=1.0, bias=0.0, flip=False):
        self.weights = np.asarray(weights, dtype=np.float64)
        if self.weights.ndim == 1:
            self.weights = self.weights.reshape(1, -1)
        self.divisor = float(divisor)
        self.bias = float(bias)
        self.flip = bool(flip)


def taps(plane, kh, kw, g, oh, ow, pt, pl):
    """(kh, kw, oh, ow): the input value under every tap of every window (0 for zero border)."""
    h, w = plane.shape
    sy, sx = g.stride
    d = g.dilation
    out = np.zeros((kh, kw, oh, ow))
    for i in range(kh):
        rows = [cnnref.border_index(y * sy + i * d - pt, h, g.border) for y in range(oh)]
        rr = np.array([-1 if r is None else r for r in rows])
        for j in range(kw):
            cols = [cnnref.border_index(x * sx + j * d - pl, w, g.border) for x in range(ow)]
            cc = np.array([-1 if c is None else c for c in cols])
            t = plane[np.clip(rr, 0, None)[:, None], np.clip(cc, 0, None)[None, :]]
            t = np.where((rr[:, None] >= 0) & (cc[None, :] >= 0), t, 0.0)
            out[i, j] = t
    return out


def conv_layout(h, w, kh, kw, g):
    sy, sx = g.stride
    d = g.dilation
    pt, pb = cnnref.pad_amounts(h, kh, sy, d, g.padding, 0)
    pl, pr = cnnref.pad_amounts(w, kw, sx, d, g.padding, 1)
    oh = cnnref.out_size(h, kh, sy, d, pt, pb)
    ow = cnnref.out_size(w, kw, sx, d, pl, pr)
    if oh <= 0 or ow <= 0:
        raise RuntimeFailure("kernel %dx%d leaves no output pixels for %dx%d (reference 9.9)" % (kw, kh, w, h))
    return pt, pl, oh, ow


def luma_data(d):
    if d.val.shape[0] == 1:
        return d
    if d.val.shape[0] != 3:
        raise RuntimeFailure("gray needs 1 or 3 channels, not %d" % d.val.shape[0])
    cf = np.array([0.299, 0.587, 0.114])
    v = np.tensordot(cf, d.val, axes=1)[None]
    e = np.tensordot(cf, d.err, axes=1)[None] + ROUND * EPS32 * np.tensordot(cf, np.abs(d.val), axes=1)[None]
    return Data(v, e, d.inexact | {"luma"})


def conv_kernel(d, k, g, channels, scale=1.0, extra_bias=0.0, where="--kernel"):
    """One kernel on Data d (C,H,W) -> (Data (G,OH,OW), (kh, kw, pt, pl, oh, ow)).

    channels: "sum" (one map: a 2-D kernel on every channel summed, or a 3-D kernel with its own
    plane per channel), "auto"/"rgb" (one map per channel; a 3-D kernel implies sum unless
    forced by rgb, which is an error), "gray" (luma first).  The divisor divides the weighted sum,
    then the kernel's bias and extra_bias (the layer's / --bias) are added."""
    w = k.weights
    if k.flip:
        w = w[..., ::-1, ::-1]
    w = w * scale
    if channels == "gray":
        d = luma_data(d)
        channels = "auto"
    c_in = d.val.shape[0]
    if w.ndim == 3:
        if channels == "rgb":
            raise UsageError("%s: a 3-D kernel reads all channels; it cannot be used with rgb" % where)
        if w.shape[0] != c_in:
            raise RuntimeFailure("%s: kernel has depth %d but the input has %d channels" % (where, w.shape[0], c_in))
        channels = "sum"
    kh, kw = w.shape[-2:]
    h, wd = d.val.shape[1:]
    pt, pl, oh, ow = conv_layout(h, wd, kh, kw, g)

    def plane_sum(c, wk):
        tv = taps(d.val[c], kh, kw, g, oh, ow, pt, pl)
        te = taps(d.err[c], kh, kw, g, oh, ow, pt, pl)
        aw = np.abs(wk)
        return (np.tensordot(wk, tv, axes=2), np.tensordot(aw, np.abs(tv), axes=2), np.tensordot(aw, te, axes=2))

    if channels == "sum":
        parts = [plane_sum(c, w[c] if w.ndim == 3 else w) for c in range(c_in)]
        sums = [tuple(sum(p[i] for p in parts) for i in range(3))]
    else:
        sums = [plane_sum(c, w) for c in range(c_in)]
    bias = k.bias + extra_bias
    div = k.divisor
    vals = np.stack([s[0] for s in sums]) / div + bias
    terms = np.stack([s[1] for s in sums]) / abs(div)          # size of the summed products
    errs = np.stack([s[2] for s in sums]) / abs(div)           # propagated input error
    inexact = set(d.inexact)
    # exact in float32 when weights, data and bias are dyadic, the divisor a power of two, and no
    # partial sum needs more than 24 significant bits
    wb = frac_bits(w)
    xb = frac_bits(d.val)
    ok = (wb is not None and xb is not None and is_float32(w) and frac_bits(div) == 0
          and float(abs(div)) == 2.0 ** round(math.log2(abs(div))) and frac_bits(bias) is not None
          and float(np.max(terms * abs(div), initial=0.0)) * 2.0 ** (wb + xb) < 2.0 ** 24
          and float32_safe(vals, np.abs(vals) + terms + abs(bias)))
    if not ok:
        inexact.add("conv rounding")
        errs = errs + ROUND * EPS32 * (terms + abs(bias))
    return Data(vals, errs, inexact), (kh, kw, pt, pl, oh, ow)


def kernel_from_spec(spec, where="--kernel"):
    """A CLI / pipeline kernel string: built-in name or inline matrix (2-D, 3-D, 1-D = one row)."""
    try:
        w = cnnref.parse_kernel(spec)
    except UsageError:
        raise
    except (ValueError, TypeError) as e:
        raise UsageError("%s: %s" % (where, e))
    return Kernel(w)


# --------------------------------------------------------------------------------------------
# One CLI layer (reference 1, 9.5, 9.10)
# --------------------------------------------------------------------------------------------

class LayerOptions:
    def __init__(self):
        self.kernels = []             # spec strings
        self.geometry = Geometry()
        self.flip = False
        self.channels = "auto"
        self.alpha = "keep"
        self.scale = 1.0
        self.bias = 0.0
        self.activation = (None, None)
        self.pool = None
        self.pool_size = 2
        self.pool_stride = None
        self.pool_padding = 0
        self.ceil = False
        self.combine = "none"
        self.pipeline = None
        self.input = None
        self.output = None


def _ints(text, flag, counts):
    try:
        vals = [int(t) for t in str(text).split(",")]
    except ValueError:
        raise UsageError("%s: not an integer: %r" % (flag, text))
    if len(vals) not in counts:
        raise UsageError("%s: bad value %r" % (flag, text))
    return vals


LAYER_FLAGS = ("-k", "--kernel", "--padding", "--border", "--stride", "--dilation", "--flip", "--channels",
               "--scale", "--bias", "--activation", "--pool", "--pool-size", "--pool-stride", "--pool-padding",
               "--ceil", "--combine")


def parse_args(argv):
    o = LayerOptions()
    vals = {"-k": "kernel", "--kernel": "kernel", "--padding": "padding", "--border": "border",
            "--stride": "stride", "--dilation": "dilation", "--channels": "channels", "--alpha": "alpha",
            "--scale": "scale", "--bias": "bias", "--map": "map", "-j": "jobs", "--jobs": "jobs",
            "--activation": "activation", "--pool": "pool", "--pool-size": "pool-size",
            "--pool-stride": "pool-stride", "--pool-padding": "pool-padding", "--combine": "combine",
            "--pipeline": "pipeline"}
    seen, raw, pos = set(), {}, []
    i = 0
    while i < len(argv):
        a = argv[i]
        key, val = a, None
        if a.startswith("--") and "=" in a:
            key, val = a.split("=", 1)
        if key in ("--flip", "--ceil"):
            seen.add(key)
            raw[key] = True
            i += 1
            continue
        if key in vals:
            if val is None:
                if i + 1 >= len(argv):
                    raise UsageError("%s: missing value" % key)
                val = argv[i + 1]
                i += 2
            else:
                i += 1
            seen.add(key)
            if vals[key] == "kernel":
                o.kernels.append(val)
            else:
                raw[vals[key]] = val
            continue
        if a.startswith("-") and a != "-":
            raise UsageError("%s: unknown option" % a)
        pos.append(a)
        i += 1
    if len(pos) != 2:
        raise UsageError("need INPUT and OUTPUT")
    o.input, o.output = pos
    if "pipeline" in raw:
        bad = [f for f in LAYER_FLAGS if f in seen]
        if bad:
            raise UsageError("%s: not with --pipeline (reference 9.12)" % bad[0])
        o.pipeline = raw["pipeline"]
        return o
    g = o.geometry
    p = raw.get("padding", "same")
    if p in ("valid", "same"):
        g.padding = p
    else:
        pv = _ints(p, "--padding", (1, 2))
        if min(pv) < 0:
            raise UsageError("--padding: negative")
        g.padding = (pv[0], pv[-1])
    g.border = raw.get("border", "replicate")   # the command-line form's default
    if g.border not in ("zero", "replicate", "reflect", "mirror", "wrap"):
        raise UsageError("--border: bad value")
    sv = _ints(raw.get("stride", "1"), "--stride", (1, 2))
    g.stride = (sv[0], sv[-1])
    g.dilation = _ints(raw.get("dilation", "1"), "--dilation", (1,))[0]
    if min(g.stride) < 1 or g.dilation < 1:
        raise UsageError("--stride/--dilation: must be >= 1")
    o.flip = "--flip" in seen
    o.ceil = "--ceil" in seen
    o.channels = raw.get("channels", "auto")
    if o.channels not in ("auto", "gray", "rgb", "sum"):
        raise UsageError("--channels: bad value")
    o.alpha = raw.get("alpha", "keep")
    if o.alpha not in ("keep", "drop"):
        raise UsageError("--alpha: bad value")
    try:
        o.scale = float(raw.get("scale", 1))
        o.bias = float(raw.get("bias", 0))
    except ValueError:
        raise UsageError("--scale/--bias: not a number")
    o.activation = parse_activation(raw.get("activation"))
    o.pool = raw.get("pool", "none")
    if o.pool not in ("none",) + POOLS:
        raise UsageError("--pool: bad value")
    if o.pool == "none":
        o.pool = None
    o.pool_size = _ints(raw.get("pool-size", "2"), "--pool-size", (1,))[0]
    o.pool_stride = _ints(raw["pool-stride"], "--pool-stride", (1,))[0] if "pool-stride" in raw else None
    o.pool_padding = _ints(raw.get("pool-padding", "0"), "--pool-padding", (1,))[0]
    if o.pool:
        check_pool_params(o.pool_size, o.pool_size if o.pool_stride is None else o.pool_stride, o.pool_padding,
                          "--pool-padding")
    o.combine = raw.get("combine", "none")
    if o.combine not in ("none",) + COMBINES:
        raise UsageError("--combine: bad value")
    if not o.kernels and not o.pool:
        raise UsageError("--kernel: required (unless --pool is given)")
    if len(o.kernels) > 1 and o.combine == "none" and "{index}" not in o.output and "{kernel}" not in o.output:
        raise UsageError("a filter bank with --combine none needs {kernel} or {index} in OUTPUT")
    return o


def pool_alpha(alpha, o):
    if alpha is None or not o.pool:
        return alpha
    return pool(Data(alpha[None]), o.pool, o.pool_size, o.pool_stride, o.pool_padding, o.ceil)


def cli_layer(o, colour, alpha):
    """One CLI layer.  colour float64 (C,H,W), alpha (H,W) or None.
    Returns a list of (Data colour, Data alpha or None): one per kernel for a bank with
    --combine none, else one."""
    d = Data(colour)
    if o.alpha == "drop":
        alpha = None
    if not o.kernels:
        # pooling alone (reference 9.10): channels as they are, activation then pooling
        if o.channels == "gray":
            d = luma_data(d)
        d = activate(d, *o.activation)
        d = pool(d, o.pool, o.pool_size, o.pool_stride, o.pool_padding, o.ceil)
        a = pool_alpha(alpha, o) if alpha is not None else None
        return [(d, a)]
    maps, alphas = [], []
    for spec in o.kernels:
        k = kernel_from_spec(spec)
        k.flip = o.flip
        m, (kh, kw, pt, pl, oh, ow) = conv_kernel(d, k, o.geometry, o.channels, o.scale, o.bias)
        maps.append(m)
        if alpha is not None:
            g = o.geometry
            alphas.append(cnnref.sample_anchor(alpha, kh, kw, g.stride[0], g.stride[1], g.dilation, pt, pl,
                                               oh, ow, g.border))
        else:
            alphas.append(None)
    if o.combine != "none":
        shapes = set(m.val.shape for m in maps)
        if len(shapes) != 1:
            raise UsageError("--combine: the kernels' maps have different shapes %s" % sorted(shapes))
        maps = [combine(maps, o.combine)]
        alphas = alphas[:1]
    out = []
    for m, a in zip(maps, alphas):
        m = activate(m, *o.activation)
        if o.pool:
            m = pool(m, o.pool, o.pool_size, o.pool_stride, o.pool_padding, o.ceil)
            if a is not None:
                a = pool_alpha(a, o)
        elif a is not None:
            a = Data(a[None])
        out.append((m, a))
    return out


def planes(m, a):
    """Data of all output planes (alpha last) as .npy holds them."""
    if a is None:
        return m
    return Data(np.concatenate([m.val, a.val]), np.concatenate([m.err, a.err]), m.inexact | a.inexact)


# --------------------------------------------------------------------------------------------
# Pipelines (reference 4, 9.12, 9.15, 9.17)
# --------------------------------------------------------------------------------------------

LAYER_KEYS = {
    "conv": {"type", "kernels", "padding", "stride", "dilation", "border", "channels", "bias"},
    "relu": {"type"}, "abs": {"type"}, "sigmoid": {"type"}, "tanh": {"type"},
    "leaky_relu": {"type", "slope"},
    "maxpool": {"type", "size", "stride", "padding", "ceil"},
    "avgpool": {"type", "size", "stride", "padding", "ceil"},
    "minpool": {"type", "size", "stride", "padding", "ceil"},
    "combine": {"type", "mode"},
}
KERNEL_KEYS = {"name", "weights", "divisor", "bias", "flip"}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pair(v, what, where):
    if _is_int(v):
        return (v, v)
    if isinstance(v, list) and len(v) == 2 and all(_is_int(t) for t in v):
        return (v[0], v[1])
    raise UsageError("%s: %s must be an integer or [A, B]" % (where, what))


def kernel_from_object(obj, where):
    bad = set(obj) - KERNEL_KEYS
    if bad:
        raise UsageError("%s: unknown key %r in a kernel" % (where, sorted(bad)[0]))
    if "weights" not in obj:
        raise UsageError("%s: a kernel needs weights" % where)
    w = np.array(obj["weights"], dtype=np.float64)
    if w.ndim == 1:
        w = w.reshape(1, -1)
    if w.ndim not in (2, 3) or w.size == 0 or not np.all(np.isfinite(w)):
        raise UsageError("%s: weights must be a non-empty rectangular 2-D or 3-D array" % where)
    div = obj.get("divisor", 1)
    if not _is_num(div) or div == 0:
        raise UsageError("%s: divisor must be a non-zero number" % where)
    bias = obj.get("bias", 0)
    if not _is_num(bias):
        raise UsageError("%s: bias must be a number" % where)
    flip = obj.get("flip", False)
    if not isinstance(flip, bool):
        raise UsageError("%s: flip must be true or false" % where)
    return Kernel(w, div, bias, flip)


def parse_pipeline(doc):
    """Validates a pipeline document (already parsed JSON) -> list of layer dicts."""
    if not isinstance(doc, dict) or not isinstance(doc.get("layers"), list) or not doc["layers"]:
        raise UsageError("a pipeline is {\"layers\": [...]} with at least one layer")
    bad = set(doc) - {"layers", "name", "description"}
    if bad:
        raise UsageError("unknown key %r" % sorted(bad)[0])
    layers = []
    for n, layer in enumerate(doc["layers"], 1):
        where = "layer %d" % n
        if not isinstance(layer, dict) or "type" not in layer:
            raise UsageError("%s: a layer is an object with a type" % where)
        t = layer["type"]
        if t not in LAYER_KEYS:
            raise UsageError("%s: unknown layer type %r" % (where, t))
        bad = set(layer) - LAYER_KEYS[t]
        if bad:
            raise UsageError("%s: unknown key %r" % (where, sorted(bad)[0]))
        L = {"type": t, "where": "%s (%s)" % (where, t)}
        if t == "conv":
            ks = layer.get("kernels")
            if not isinstance(ks, list) or not ks:
                raise UsageError("%s: kernels must be a non-empty list" % where)
            L["kernels"] = [kernel_from_spec(k, where) if isinstance(k, str) else kernel_from_object(k, where)
                            if isinstance(k, dict) else _bad(where, "a kernel is a string or an object")
                            for k in ks]
            p = layer.get("padding", "same")
            if p in ("valid", "same"):
                pad = p
            else:
                pad = _pair(p, "padding", where)
                if min(pad) < 0:
                    raise UsageError("%s: negative padding" % where)
            st = _pair(layer.get("stride", 1), "stride", where)
            dil = layer.get("dilation", 1)
            if not _is_int(dil) or dil < 1 or min(st) < 1:
                raise UsageError("%s: stride and dilation must be >= 1" % where)
            border = layer.get("border", "zero")
            if border not in ("zero", "replicate", "reflect", "mirror", "wrap"):
                raise UsageError("%s: bad border" % where)
            L["geometry"] = Geometry(pad, border, st, dil)
            ch = layer.get("channels", "sum")
            if ch not in ("auto", "gray", "rgb", "sum"):
                raise UsageError("%s: bad channels" % where)
            L["channels"] = ch
            b = layer.get("bias", 0)
            if _is_num(b):
                L["bias"] = [float(b)] * len(ks)
            elif isinstance(b, list) and len(b) == len(ks) and all(_is_num(v) for v in b):
                L["bias"] = [float(v) for v in b]
            else:
                raise UsageError("%s: bias must be a number or one number per kernel" % where)
        elif t == "leaky_relu":
            s = layer.get("slope", 0.01)
            if not _is_num(s):
                raise UsageError("%s: slope must be a number" % where)
            L["slope"] = float(s)
        elif t in ("maxpool", "avgpool", "minpool"):
            size = layer.get("size", 2)
            stride = layer.get("stride", size)
            pad = layer.get("padding", 0)
            ceil = layer.get("ceil", False)
            if not all(_is_int(v) for v in (size, stride, pad)) or not isinstance(ceil, bool):
                raise UsageError("%s: size/stride/padding are integers, ceil true or false" % where)
            check_pool_params(size, stride, pad, where)
            L.update(size=size, stride=stride, padding=pad, ceil=ceil)
        elif t == "combine":
            if "mode" not in layer:
                raise UsageError("%s: a combine layer must name its mode (reference 9.17)" % where)
            if layer["mode"] not in COMBINES:
                raise UsageError("%s: bad mode %r" % (where, layer["mode"]))
            L["mode"] = layer["mode"]
        layers.append(L)
    return layers


def _bad(where, msg):
    raise UsageError("%s: %s" % (where, msg))


def run_pipeline(layers, colour):
    """colour float64 (C,H,W) (input alpha already dropped, reference 9.15) -> Data (maps)."""
    d = Data(colour)
    groups = None            # (K kernels, G maps per kernel) of the last conv layer
    for L in layers:
        t = L["type"]
        if t == "conv":
            maps = []
            for k, b in zip(L["kernels"], L["bias"]):
                m, _ = conv_kernel(d, k, L["geometry"], L["channels"], 1.0, b, where=L["where"])
                maps.append(m)
            shapes = set(m.val.shape[1:] for m in maps)
            if len(shapes) != 1:
                raise UsageError("%s: the kernels make maps of different sizes %s" % (L["where"], sorted(shapes)))
            groups = (len(maps), maps[0].val.shape[0])
            if len(set(m.val.shape[0] for m in maps)) != 1:
                raise UsageError("%s: kernels make different numbers of maps" % L["where"])
            d = Data(np.concatenate([m.val for m in maps]), np.concatenate([m.err for m in maps]),
                     set().union(*[m.inexact for m in maps]))       # kernel-major
        elif t in ACTIVATIONS:
            d = activate(d, t, L.get("slope", 0.01))
        elif t in ("maxpool", "avgpool", "minpool"):
            d = pool(d, t[:3], L["size"], L["stride"], L["padding"], L["ceil"])
        elif t == "combine":
            if groups is None:
                raise UsageError("%s: no conv layer before it" % L["where"])
            k, g = groups
            if d.val.shape[0] != k * g:
                raise UsageError("%s: %d maps are not %d kernels x %d" % (L["where"], d.val.shape[0], k, g))
            parts = [Data(d.val[i * g:(i + 1) * g], d.err[i * g:(i + 1) * g], d.inexact) for i in range(k)]
            d = combine(parts, L["mode"])
            groups = (1, g)
    return d


def pipeline_file(path, colour):
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise UsageError("%s: %s" % (path, e))
    return run_pipeline(parse_pipeline(doc), colour)


# --------------------------------------------------------------------------------------------
# Self-test (hand-computed values) and the program
# --------------------------------------------------------------------------------------------

def self_test():
    fails = []

    def check(name, got, want):
        want = np.array(want, dtype=np.float64)
        if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=1e-12):
            fails.append("%s: got %s want %s" % (name, got.tolist(), want.tolist()))

    def p2(m, mode, p, s=None, pad=0, ceil=False):
        return pool(Data(np.array(m, dtype=np.float64)[None]), mode, p, s, pad, ceil).val[0]

    check("seed pool", p2([[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]], "max", 2, 1), [[4, 7, 10], [5, 8, 11]])
    check("seed 8 pool", p2([[1, 2, 1], [0, 2, 0], [1, 2, 1]], "max", 2, ceil=True), [[2, 1], [2, 1]])
    check("ceil drop", p2([[1, 5, 2, 8, 3]], "max", 2, 2, 1, True), [[1, 5, 8]])
    check("ceil keep", p2([[1, 5, 2, 8, 3], [0, 0, 0, 0, 0]], "max", 2, 2, 0, True), [[5, 8, 3]])
    check("avg partial", p2([[1, 2, 3], [4, 5, 6], [7, 8, 9]], "avg", 2, 2, 1), [[1, 2.5], [5.5, 7]])
    check("min pad", p2([[5, 6], [7, 8]], "min", 2, 2, 1), [[5, 6], [7, 8]])
    check("max pad neg", p2([[-5, -6], [-7, -8]], "max", 2, 2, 1), [[-5, -6], [-7, -8]])
    check("ceil 1x1", p2([[7]], "max", 2, ceil=True), [[7]])
    if pool_out_size(1, 2, 2, 0, False) != 0:
        fails.append("floor 1x1 window 2 should be empty")
    if pool_out_size(5, 2, 2, 1, True) != 3 or pool_out_size(5, 2, 2, 0, True) != 3 or pool_out_size(4, 3, 2, 1, True) != 3:
        fails.append("ceil sizes")
    a = [Data([[[1.0, -1.0]]]), Data([[[-2.0, 2.0]]])]
    check("combine max", combine(a, "max").val[0], [[1, 2]])
    check("combine sum", combine(a, "sum").val[0], [[-1, 1]])
    check("combine magnitude", combine(a, "magnitude").val[0], [[math.sqrt(5), math.sqrt(5)]])
    check("leaky", activate(Data([[[-4.0, 2.0]]]), "leaky_relu", 0.5).val[0], [[-2, 2]])
    check("sigmoid", activate(Data([[[0.0, -1000.0, 1000.0]]]), "sigmoid").val[0], [[0.5, 0, 1]])
    for f in fails:
        print("self-test FAIL:", f)
    print("layers_ref self-test: %d failed" % len(fails))
    return 1 if fails else 0


def run_argv(argv):
    """Returns (options, [Data per output file]) for CLI arguments (INPUT and OUTPUT last)."""
    o = parse_args(argv)
    colour, alpha = cnnref.load_input(o.input)
    if o.pipeline:
        return o, [pipeline_file(o.pipeline, colour)]
    return o, [planes(m, a) for m, a in cli_layer(o, colour, alpha)]


def main(argv):
    if argv[:1] == ["--self-test"]:
        return self_test()
    try:
        o, outs = run_argv(argv)
        for i, d in enumerate(outs):
            path = o.output.replace("{index}", str(i)).replace("{kernel}", "k%d" % i)
            if not path.endswith(".npy"):
                raise UsageError("this reference writes .npy only")
            np.save(path, d.val.astype(np.float32))
    except UsageError as e:
        print("layers_ref: %s" % e, file=sys.stderr)
        return 2
    except (RuntimeFailure, OSError) as e:
        print("layers_ref: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

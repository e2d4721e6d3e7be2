#!/usr/bin/env python3
"""test_random.py - randomized cross-check of the cnnfilter CLI against cnnref.py (reference-only).

Usage: test_random.py [--seed N] [--case I] [--keep] [--ref-only] [-v]
  CNNFILTER_BIN   path of the binary (default: <repo>/build/cnnfilter)
  --seed N        generator seed (default 20240611); the same seed gives the same cases
  --case I        run only case I (with its files kept; the directory is printed)
  --keep          keep the temporary directory
  --ref-only      do not run the CLI: generate the cases, run the reference (and torch) only
  -v              print every case, not only the failing ones

Prints one line per failing case, then `random-ref: N passed, M failed, K skipped`.
Exit status 1 if any case failed, 0 otherwise, 77 if the binary is missing.
"""

import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True      # no __pycache__ beside the sources
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402  (re-executes under /usr/bin/python3 when numpy is missing)
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("CNNFILTER_BIN") or os.path.join(ROOT, "build", "cnnfilter")

N_MATRIX = 64
N_EMPTY = 5
N_IMAGE = 34
N_LARGE = 4

BORDERS = ["zero", "replicate", "reflect", "mirror", "wrap"]
MAPS = ["clamp", "abs", "offset", "normalize"]


# --------------------------------------------------------------------------------------------
# Random values
# --------------------------------------------------------------------------------------------

def rand_values(rng, kind, shape):
    """float64 array of values exactly representable in float32.
    int: integers; dyadic: multiples of 1/8; float: float32 values in [-2, 2)."""
    n = int(np.prod(shape))
    if kind == "int":
        lo, hi = rng.choice([(0, 9), (-20, 20), (-3, 3)])
        vals = [rng.randint(lo, hi) for _ in range(n)]
    elif kind == "dyadic":
        vals = [rng.randint(-64, 64) / 8.0 for _ in range(n)]
    else:
        vals = [float(np.float32(rng.uniform(-2, 2))) for _ in range(n)]
    return np.array(vals, dtype=np.float64).reshape(shape)


def fmt_weight(v, kind):
    if v == 0:
        return "0"
    if kind == "int":
        return "%d" % v
    return repr(float(v))


def rand_kernel(rng, kind, kh, kw, planes=None):
    """Returns (spec string, float64 weights as the reference will parse them)."""
    def one():
        if kind == "int":
            return [[rng.randint(-3, 3) for _ in range(kw)] for _ in range(kh)]
        if kind == "dyadic":
            return [[rng.randint(-8, 8) / 4.0 for _ in range(kw)] for _ in range(kh)]
        return [[round(rng.uniform(-1, 1), 3) for _ in range(kw)] for _ in range(kh)]

    sep = rng.choice([",", ", "])

    def fmt2(m):
        return "[" + sep.join("[" + sep.join(fmt_weight(v, kind) for v in row) + "]" for row in m) + "]"

    if planes is None:
        m = one()
        if kh == 1 and rng.random() < 0.4:   # a 1-D array is one row (reference 9.10)
            return "[" + sep.join(fmt_weight(v, kind) for v in m[0]) + "]", np.array(m, dtype=np.float64)
        return fmt2(m), np.array(m, dtype=np.float64)
    ms = [one() for _ in range(planes)]
    return "[" + sep.join(fmt2(m) for m in ms) + "]", np.array(ms, dtype=np.float64)


BUILTINS = ["identity", "sobel_v", "sobel_h", "prewitt_v", "prewitt_h", "scharr_v", "scharr_h",
            "edge_v", "edge_h", "laplacian", "laplacian8", "sharpen", "emboss", "box", "box:2",
            "box:4", "box:5", "gaussian", "gaussian:2", "gaussian:4", "gaussian:5", "line_v",
            "line_h:5", "line_diag", "line_anti:4", "line_diag:2", "frame", "frame:4"]


def is_dyadic(w):
    """All weights multiples of 1/1024: float sums of them stay exact at these sizes."""
    return bool(np.all(w * 1024 == np.round(w * 1024)))


def pick_kernel_shape(rng):
    """Returns (builtin spec or None, kh, kw)."""
    if rng.random() < 0.12:
        spec = rng.choice(BUILTINS)
        kh, kw = cnnref.parse_kernel(spec).shape
        return spec, kh, kw
    kh, kw = rng.randint(1, 5), rng.randint(1, 5)
    if rng.random() < 0.15:
        kh = 1
    return None, kh, kw


def rand_geometry(rng, h, w, kh, kw):
    """Random padding/border/stride/dilation arguments (list) and their parsed values."""
    args = []
    r = rng.random()
    if r < 0.25:
        padding = "valid"
    elif r < 0.5:
        padding = "same"
    elif r < 0.75:
        padding = str(rng.randint(0, 4))
    else:
        padding = "%d,%d" % (rng.randint(0, 4), rng.randint(0, 4))
    if padding != "same" or rng.random() < 0.5:   # same is the default: leave it out sometimes
        args += ["--padding", padding]
    border = rng.choice(BORDERS)
    if border != "replicate" or rng.random() < 0.5:   # replicate is the default
        args += ["--border", border]
    r = rng.random()
    if r < 0.45:
        pass
    elif r < 0.7:
        args += ["--stride", str(rng.randint(1, 3))]
    else:
        args += ["--stride", "%d,%d" % (rng.randint(1, 3), rng.randint(1, 3))]
    r = rng.random()
    if r > 0.6:
        args += ["--dilation", str(rng.randint(1, 3))]
    if rng.random() < 0.4:
        args += ["--flip"]
    return args


def rand_scale_bias(rng, exact):
    args = []
    if rng.random() < 0.35:
        args += ["--scale", rng.choice(["0.5", "2", "-1", "0.25", "1.5"] if exact else ["0.3", "1.1", "-0.7"])]
    if rng.random() < 0.35:
        args += ["--bias", rng.choice(["-3.5", "2", "0.25", "10"] if exact else ["0.1", "-2.7", "3.3"])]
    return args


# --------------------------------------------------------------------------------------------
# Input files
# --------------------------------------------------------------------------------------------

def write_txt(path, data):
    with open(path, "w") as f:
        f.write("\n\n".join("\n".join(" ".join("%.9g" % v for v in row) for row in plane)
                            for plane in data) + "\n")


def write_json(path, data, rng):
    def num(v):
        return int(v) if float(v).is_integer() and abs(v) < 1e15 else float(v)
    c, h, w = data.shape
    if c == 1 and h == 1 and rng.random() < 0.5:
        obj = [num(v) for v in data[0, 0]]                      # 1-D: one row
    elif c == 1 and rng.random() < 0.7:
        obj = [[num(v) for v in row] for row in data[0]]        # 2-D
    else:
        obj = [[[num(v) for v in row] for row in plane] for plane in data]   # 3-D
    with open(path, "w") as f:
        json.dump(obj, f)


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

class Case:
    def __init__(self, idx, kind):
        self.idx = idx
        self.kind = kind            # "matrix", "empty", "image"
        self.args = []              # CLI arguments, INPUT and OUTPUT last
        self.exact = True           # values must match bit for bit
        self.files = {}             # name -> writer callable(path)
        self.input_repr = ""        # short description of the input for failure lines
        self.torch = False          # also cross-check with torch


def out_empty(h, w, kh, kw, args):
    """Whether the geometry in args leaves no output (reference 9.9), using the reference's parser."""
    o = cnnref.parse_args(["-k", "[[1]]"] + args + ["i.txt", "o.npy"])
    sy, sx = o.stride
    pt, pb = cnnref.pad_amounts(h, kh, sy, o.dilation, o.padding, 0)
    pl, pr = cnnref.pad_amounts(w, kw, sx, o.dilation, o.padding, 1)
    return (cnnref.out_size(h, kh, sy, o.dilation, pt, pb) <= 0
            or cnnref.out_size(w, kw, sx, o.dilation, pl, pr) <= 0)


def gen_matrix_case(idx, seed):
    rng = random.Random(seed * 7919 + idx)
    case = Case(idx, "matrix")
    for _attempt in range(200):
        c = 3 if rng.random() < 0.3 else 1
        shape_kind = rng.random()
        if shape_kind < 0.15:
            h, w = 1, rng.randint(1, 12)
        elif shape_kind < 0.3:
            h, w = rng.randint(1, 12), 1
        else:
            h, w = rng.randint(1, 12), rng.randint(1, 12)
        dkind = rng.choice(["int", "int", "dyadic", "float"])
        wkind = rng.choice(["int", "int", "dyadic", "float"])
        builtin, kh, kw = pick_kernel_shape(rng)
        three_d = not builtin and (c == 3 and rng.random() < 0.3 or c == 1 and rng.random() < 0.05)
        geo = rand_geometry(rng, h, w, kh, kw)
        if out_empty(h, w, kh, kw, geo):
            continue
        break
    else:
        raise RuntimeError("could not generate case %d" % idx)
    data = rand_values(rng, dkind, (c, h, w))
    spec, _ = rand_kernel(rng, wkind, kh, kw, planes=c if three_d else None)
    if builtin:
        spec = builtin
        wkind = "int" if is_dyadic(cnnref.parse_kernel(spec)) else "float"
    if three_d:
        chan = rng.choice([None, "sum", "auto"])
    else:
        chan = rng.choice([None, "auto", "rgb", "sum", "gray"])
    exact = dkind != "float" and wkind != "float" and not (chan == "gray" and c == 3)
    args = ["-k", spec] + geo + rand_scale_bias(rng, exact)
    if chan:
        args += ["--channels", chan]
    ext_in = rng.choice([".txt", ".json"])
    ext_out = rng.choice([".npy"] * 6 + [".txt", ".json"])
    inp, out = "in" + ext_in, "out" + ext_out
    case.args = args + [inp, out]
    case.exact = exact
    case.files[inp] = (lambda p, d=data, e=ext_in, r=random.Random(idx): write_txt(p, d) if e == ".txt"
                       else write_json(p, d, r))
    case.input_repr = json.dumps(data.tolist() if c > 1 else data[0].tolist())
    case.torch = dkind != "float" and wkind != "float" and chan != "gray"
    case.shape = (h, w)
    return case


def gen_empty_case(idx, seed):
    rng = random.Random(seed * 104729 + idx)
    fixed = [
        ((2, 3), "[[1,1,1],[1,1,1],[1,1,1]]", ["--padding", "valid"]),
        ((1, 6), "[[1],[1]]", ["--padding", "valid"]),
        ((5, 5), "[[1,0,1]]", ["--padding", "0", "--dilation", "3"]),
        ((4, 1), "[[1,2],[3,4]]", ["--padding", "0,0", "--stride", "2", "--border", "wrap"]),
        ((3, 3), "[[1,1,1,1,1]]", ["--padding", "1,0", "--border", "reflect"]),
    ]
    (h, w), spec, geo = fixed[idx % len(fixed)]
    data = rand_values(rng, "int", (1, h, w))
    case = Case(idx, "empty")
    inp, out = "in.txt", "out.npy"
    case.args = ["-k", spec] + geo + [inp, out]
    case.files[inp] = lambda p, d=data: write_txt(p, d)
    case.input_repr = json.dumps(data[0].tolist())
    return case


def gen_image_case(idx, seed, large=False):
    """A random PNG case; large: 30..60 pixels a side and -j N (row bands, reference 5 determinism)."""
    rng = random.Random(seed * 15485863 + idx)
    case = Case(idx, "image")
    for _attempt in range(200):
        ptype = rng.choice(["gray", "ga", "rgb", "rgba", "rgb", "rgba"])
        ch = {"gray": 1, "ga": 2, "rgb": 3, "rgba": 4}[ptype]
        if large:
            h, w = rng.randint(30, 60), rng.randint(30, 60)
        else:
            h, w = rng.randint(1, 14), rng.randint(1, 14)
        builtin, kh, kw = pick_kernel_shape(rng)
        geo = rand_geometry(rng, h, w, kh, kw)
        if not out_empty(h, w, kh, kw, geo):
            break
    ncol = 1 if ch <= 2 else 3
    wkind = rng.choice(["int", "int", "dyadic", "float"])
    three_d = not builtin and ncol == 3 and rng.random() < 0.25
    spec, _ = rand_kernel(rng, wkind, kh, kw, planes=3 if three_d else None)
    if builtin:
        spec = builtin
        wkind = "int" if is_dyadic(cnnref.parse_kernel(spec)) else "float"
    if three_d:
        chan = rng.choice([None, "sum"])
    else:
        chan = rng.choice([None, "auto", "rgb", "sum", "gray"])
    dyadic_sb = wkind != "float"
    args = ["-k", spec] + geo + rand_scale_bias(rng, dyadic_sb)
    if chan:
        args += ["--channels", chan]
    if ch in (2, 4) and rng.random() < 0.6:
        args += ["--alpha", rng.choice(["keep", "drop"])]
    if large:
        args += ["-j", rng.choice(["1", "2", "3", "7"])]
    out = "out.png"
    r = rng.random()
    if r < 0.2:
        out = "out.npy"           # unrounded values, alpha as the last channel
    else:
        if r > 0.9:
            out = "-"             # PNG on stdout (reference 1)
        mp = rng.choice(MAPS)
        if mp != "clamp" or rng.random() < 0.5:
            args += ["--map", mp]
    pixels = np.array([rng.randint(0, 255) for _ in range(h * w * ch)], dtype=np.uint8).reshape(h, w, ch)
    if ch in (2, 4) and rng.random() < 0.5:      # some fully opaque / transparent pixels
        pixels[:, :, -1] = np.where(pixels[:, :, -1] > 128, 255, pixels[:, :, -1])
    filters = [rng.randint(0, 4) for _ in range(h)]
    inp = "in.png"
    case.args = args + [inp, out]
    case.exact = wkind != "float" and not (chan == "gray" and ncol == 3)
    case.files[inp] = lambda p, px=pixels, f=filters: open(p, "wb").write(cnnref.png_write(px, f))
    case.input_repr = "%s %dx%d png (rerun with --case %d to keep it)" % (ptype, w, h, idx)
    return case


def all_cases(seed):
    cases = []
    for i in range(N_MATRIX):
        cases.append(gen_matrix_case(len(cases), seed))
    for i in range(N_EMPTY):
        cases.append(gen_empty_case(len(cases), seed))
    for i in range(N_IMAGE):
        cases.append(gen_image_case(len(cases), seed))
    for i in range(N_LARGE):
        cases.append(gen_image_case(len(cases), seed, large=True))
    return cases


# --------------------------------------------------------------------------------------------
# Reading the CLI's outputs
# --------------------------------------------------------------------------------------------

def read_output(path, want_channels):
    ext = os.path.splitext(path)[1]
    if ext == ".npy":
        a = np.load(path, allow_pickle=False)
        if a.dtype != np.float32:
            raise ValueError(".npy dtype is %s, reference 2 says float32" % a.dtype)
        if a.ndim != 3:
            raise ValueError(".npy shape %s is not (C,H,W)" % (a.shape,))
        return a.astype(np.float64)
    if ext == ".txt":
        colour, _ = cnnref.load_input(path)   # reference 9.6: it reads back as .txt input
        return colour
    if ext == ".json":
        with open(path) as f:
            a = np.array(json.load(f), dtype=np.float64)
        if a.ndim == 2 and want_channels == 1:
            a = a[None]                        # a 1-channel matrix may be written 2-D
        if a.ndim == 1:
            a = a.reshape(1, 1, -1)
        # The CLI's values are float32; JSON may print them with just enough digits (%.9g)
        # to read back as the same float32, as reference 9.6 does for .txt.
        return a.astype(np.float32).astype(np.float64)
    if ext == ".png":
        with open(path, "rb") as f:
            px = cnnref.png_read(f.read())
        return np.moveaxis(px, 2, 0).astype(np.int64)
    raise ValueError(ext)


def first_diff(got, want, bad):
    pos = tuple(int(v) for v in np.argwhere(bad)[0])
    return pos, got[pos], want[pos]


EPS32 = 2.0 ** -23


def tolerance(value, magnitude):
    """Allowed |diff| for inexact cases: 1e-5 relative, plus 8 float32 ulps of the terms' size.

    The CLI holds pixels (and so luma) in float32 (include/cnnfilter.h), so a result that
    cancels terms of size M (e.g. 3*255 - 3*255 + 0.5) is only as good as ~eps32*M; that is
    float32 arithmetic, not a wrong formula."""
    return 1e-5 * np.maximum(1.0, np.abs(value)) + 8 * EPS32 * magnitude


def compare_values(got, want, exact, magnitude=None):
    """Returns None or a message.  want float64 (C,H,W); magnitude like want or None."""
    if got.shape != want.shape:
        return "shape %s, expected %s" % (got.shape, want.shape)
    want32 = want.astype(np.float32).astype(np.float64)
    if magnitude is None:
        magnitude = np.zeros_like(want)
    if exact:
        bad = got != want32
    else:
        bad = np.abs(got - want) > tolerance(want, magnitude)
    if bad.any():
        pos, g, w = first_diff(got, want32, bad)
        return "max diff %.9g (%d values differ); first at (c,y,x)=%s: got %.9g expected %.9g" % (
            float(np.max(np.abs(got - want32))), int(bad.sum()), pos, g, w)
    return None


def magnitude_planes(result):
    """Result.magnitude with the alpha plane (sampled, never computed: magnitude 0) appended."""
    if result.alpha is None:
        return result.magnitude
    return np.concatenate([result.magnitude, np.zeros_like(result.alpha)[None]], axis=0)


def pre_round(result, mode):
    """The real value each 8-bit pixel is the rounding of (for tie detection), alpha last."""
    v = result.colour
    if mode == "abs":
        v = np.abs(v)
    elif mode == "offset":
        v = v + 128.0
    elif mode == "normalize":
        lo, hi = float(v.min()), float(v.max())
        v = np.zeros_like(v) if hi == lo else (v - lo) * 255.0 / (hi - lo)
    planes = [v]
    if result.alpha is not None:
        planes.append(result.alpha[None])
    return np.concatenate(planes, axis=0)


def compare_pixels(got, result, mode, exact):
    want = cnnref.map_8bit(result, mode).astype(np.int64)
    if got.shape != want.shape:
        return "decoded PNG is (C,H,W)=%s, expected %s" % (got.shape, want.shape)
    diff = np.abs(got - want)
    # +-1 allowed only where the value before rounding is (nearly) a .5 tie and float error in
    # luma / non-dyadic weights / the normalize division could push it either way.  With exact
    # (integer or dyadic) values the reference's ties-to-even rule is checked strictly, except for
    # normalize, whose rounding reference 5 does not state.
    v = pre_round(result, mode)
    tol = tolerance(v, magnitude_planes(result))
    if mode == "normalize":
        lo, hi = float(result.colour.min()), float(result.colour.max())
        tol = tol * (255.0 / (hi - lo) if hi > lo else 1.0) + 1e-4
    near_tie = np.abs(np.abs(v - np.floor(v)) - 0.5) <= tol
    if exact and mode != "normalize":
        allowed = np.zeros_like(diff)
    else:
        allowed = np.where(near_tie, 1, 0)
    bad = diff > allowed
    if bad.any():
        pos, g, w = first_diff(got, want, bad)
        return "max pixel diff %d (%d pixels); first at (c,y,x)=%s: got %d expected %d (value before rounding %.9g)" % (
            int(diff.max()), int(bad.sum()), pos, g, w, v[pos])
    return None


# --------------------------------------------------------------------------------------------
# torch as a third opinion
# --------------------------------------------------------------------------------------------

def load_torch():
    try:
        import torch
        import torch.nn.functional as F
        return torch, F
    except Exception:
        return None


def torch_pads(opts, h, wd, kh, kw):
    """Per-side padding (top, bottom, left, right) written again from reference 3 for torch."""
    sy, sx = opts.stride
    d = opts.dilation

    def pads(n, k, s, axis):
        if opts.padding == "valid":
            return 0, 0
        if opts.padding == "same":
            t = max((int(np.ceil(n / s)) - 1) * s + d * (k - 1) + 1 - n, 0)
            return t // 2, t - t // 2
        return opts.padding[axis], opts.padding[axis]

    return pads(h, kh, sy, 0) + pads(wd, kw, sx, 1)


TORCH_MODE = {"zero": "constant", "replicate": "replicate", "mirror": "reflect", "wrap": "circular"}


def torch_applicable(opts, h, wd):
    """Whether F.pad has this border for this padding (decided without torch, so the number of
    torch checks does not depend on torch being installed).  reference reflect (edge repeated) has no
    F.pad mode; F.pad reflect (= reference mirror) needs pad < n, circular (= wrap) pad <= n."""
    kh, kw = cnnref.parse_kernel(opts.kernel).shape[-2:]
    pt, pb, pl, pr = torch_pads(opts, h, wd, kh, kw)
    mode = TORCH_MODE.get(opts.border)
    if mode is None:
        return False
    if mode == "reflect" and (max(pt, pb) >= h or max(pl, pr) >= wd):
        return False
    if mode == "circular" and (max(pt, pb) > h or max(pl, pr) > wd):
        return False
    return True


def torch_reference(tf, opts, colour):
    """Same single layer with torch.nn.functional (pad, conv2d), float64."""
    torch, F = tf
    w = cnnref.parse_kernel(opts.kernel)
    sy, sx = opts.stride
    d = opts.dilation
    c, h, wd = colour.shape
    kh, kw = w.shape[-2:]
    pt, pb, pl, pr = torch_pads(opts, h, wd, kh, kw)
    mode = TORCH_MODE[opts.border]
    x = torch.tensor(colour, dtype=torch.float64)[None]
    if any((pt, pb, pl, pr)):
        x = F.pad(x, (pl, pr, pt, pb), mode=mode) if mode != "constant" else F.pad(x, (pl, pr, pt, pb))
    wt = torch.tensor(np.ascontiguousarray(w), dtype=torch.float64)
    if opts.flip:
        wt = torch.flip(wt, dims=[-2, -1])
    wt = wt * opts.scale
    if wt.ndim == 3:
        out = F.conv2d(x, wt[None], stride=(sy, sx), dilation=d)
    elif opts.channels == "sum":
        out = F.conv2d(x, wt[None, None].expand(1, c, kh, kw).contiguous(), stride=(sy, sx), dilation=d)
    else:
        out = F.conv2d(x, wt[None, None].expand(c, 1, kh, kw).contiguous(), stride=(sy, sx), dilation=d, groups=c)
    return (out[0] + opts.bias).numpy()


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def run_case(case, workdir, ref_only, tf, report):
    """Returns list of (name, status, message) with status in pass/fail/skip."""
    d = os.path.join(workdir, "case%03d" % case.idx)
    os.makedirs(d)
    for name, writer in case.files.items():
        writer(os.path.join(d, name))
    inp, out = case.args[-2], case.args[-1]
    out_path = "-" if out == "-" else os.path.join(d, out)
    cmd = [BIN] + case.args[:-2] + [os.path.join(d, inp), out_path]
    shown = shlex.join(["cnnfilter"] + case.args)
    results = []

    # reference
    try:
        opts, ref = cnnref.run_argv(case.args[:-2] + [os.path.join(d, inp), out_path])
        ref_status = 0
    except cnnref.RuntimeFailure:
        opts, ref, ref_status = None, None, 1
    except cnnref.UsageError:
        opts, ref, ref_status = None, None, 2
    if case.kind == "empty" and ref_status != 1:
        return [("case %d" % case.idx, "fail", "%s | reference did not find it empty (generator bug)" % shown)]
    if case.kind != "empty" and ref_status != 0:
        return [("case %d" % case.idx, "fail", "%s | reference failed (status %d) (generator bug)" % (shown, ref_status))]

    # CLI
    if ref_only:
        results.append(("case %d" % case.idx, "skip", shown))
        got = None
    else:
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=20)
            rc, err = p.returncode, p.stderr.decode("utf-8", "replace").strip()
            if out == "-" and rc == 0:
                with open(os.path.join(d, "stdout.png"), "wb") as f:
                    f.write(p.stdout)
                out = "stdout.png"
        except subprocess.TimeoutExpired:
            rc, err = None, "timed out after 20 s"
        except OSError as e:
            rc, err = None, "cannot run the binary: %s" % e
        left = sorted(set(os.listdir(d)) - set(case.files) - ({out} if rc == 0 else set()))
        msg = None
        got = None
        if case.kind == "empty":
            if rc != 1:
                msg = "exit %s, expected 1 (no output pixels, reference 9.9); stderr: %s" % (rc, err)
            elif os.path.exists(os.path.join(d, out)):
                msg = "exit 1 but OUTPUT was written (reference 1: no OUTPUT on failure)"
        elif rc != 0:
            msg = "exit %s, expected 0; stderr: %s" % (rc, err)
        elif not os.path.exists(os.path.join(d, out)):
            msg = "exit 0 but no OUTPUT file"
        else:
            try:
                want_c = ref.planes().shape[0]
                got = read_output(os.path.join(d, out), want_c)
                if out.endswith(".png"):
                    msg = compare_pixels(got, ref, opts.map, case.exact)
                else:
                    msg = compare_values(got, ref.planes(), case.exact, magnitude_planes(ref))
            except Exception as e:      # undecodable output
                msg = "cannot read OUTPUT: %s" % e
        if msg is None and left:
            msg = "files left in the output folder: %s" % left
        if msg:
            inp_txt = case.input_repr
            if len(inp_txt) > 300:
                inp_txt = inp_txt[:300] + "... (rerun with --case %d to keep the files)" % case.idx
            results.append(("case %d" % case.idx, "fail", "%s | %s | input=%s" % (shown, msg, inp_txt)))
        else:
            results.append(("case %d" % case.idx, "pass", shown))

    # torch third opinion
    if case.torch and torch_applicable(opts, *case.shape):
        if tf is None:
            results.append(("torch %d" % case.idx, "skip", "torch not available"))
        else:
            colour, _ = cnnref.load_input(os.path.join(d, inp))
            t = torch_reference(tf, opts, colour)
            m = compare_values(t, ref.planes(), True)
            if m:
                results.append(("torch %d" % case.idx, "fail", "%s | torch vs reference: %s" % (shown, m)))
            elif got is not None and compare_values(got, t, True):
                results.append(("torch %d" % case.idx, "fail", "%s | CLI vs torch: %s" % (
                    shown, compare_values(got, t, True))))
            else:
                results.append(("torch %d" % case.idx, "pass", shown))
    return results


def main(argv):
    seed, only, keep, ref_only, verbose = 20240611, None, False, False, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--seed":
            seed = int(argv[i + 1])
            i += 1
        elif a == "--case":
            only = int(argv[i + 1])
            keep = True
            i += 1
        elif a == "--keep":
            keep = True
        elif a == "--ref-only":
            ref_only = True
        elif a == "-v":
            verbose = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
        i += 1
    if not ref_only and not os.access(BIN, os.X_OK):
        print("random-ref: binary not found: %s (set CNNFILTER_BIN)" % BIN)
        print("random-ref: 0 passed, 0 failed, 0 skipped")
        return 77
    tf = load_torch()
    cases = all_cases(seed)
    if only is not None:
        cases = [c for c in cases if c.idx == only]
    workdir = tempfile.mkdtemp(prefix="cnnfilter-ref-")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    torch_skipped_absent = 0
    try:
        for case in cases:
            for name, status, msg in run_case(case, workdir, ref_only, tf, None):
                counts[status] += 1
                if status == "fail":
                    print("FAIL %s: %s" % (name, msg))
                elif verbose:
                    print("%s %s: %s" % (status, name, msg))
                if status == "skip" and msg == "torch not available":
                    torch_skipped_absent += 1
    finally:
        if keep:
            print("random-ref: files kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if torch_skipped_absent:
        print("random-ref: torch is not importable: %d torch cross-checks skipped" % torch_skipped_absent)
    print("random-ref: %d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

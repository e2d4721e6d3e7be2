#!/usr/bin/env python3
"""test_layers.py - randomized cross-check of cnnfilter's CNN layers against layers_ref.py.

Usage: test_layers.py [--seed N] [--case NAME] [--keep] [-v]
  CNNFILTER_BIN   path of the binary (default: <repo>/build/cnnfilter)
  --seed N        generator seed (default 7301); the same seed gives the same cases
  --case NAME     run only the case(s) whose name starts with NAME (e.g. "cli 12", "hand", "err")
  --keep          keep the temporary directory (printed)
  -v              print every case, not only the failing ones

Cases (fixed seed):
- "cli N": one CLI layer on a random matrix (.txt/.json, 1 or 3 channels) or a small PNG with
  alpha: 1-3 kernels (inline 2-D/1-D/3-D), random geometry, --channels, --scale/--bias,
  --combine none|magnitude|max|sum (none with several kernels writes out_{index}.npy),
  --activation, --pool max|avg|min with size/stride/padding/ceil;
- "pool N": pooling alone (no -k), sometimes after an activation, on matrices and PNGs with alpha;
- "pipe N": random 1-4 layer pipelines (--pipeline p.json) with inline string kernels, kernel
  objects (divisor, bias, flip), 3-D weights matching the incoming maps, per-layer geometry,
  "channels": "rgb", list biases, activations, pools and combine layers;
- "hand N": hand-computed values (comments give the arithmetic), also checked on the reference;
- "err N": error cases (exit status, one stderr line, where it points, no OUTPUT left);
- "torch N": pooling cases cross-checked against torch.nn.functional (when torch imports).

Values are compared on float32 .npy outputs (C,H,W): bit-exact when the reference says no
operation can round (integer/dyadic data and weights, power-of-two divisors, no avg pool,
magnitude, sigmoid, tanh or non-dyadic slope, no partial sum over 24 bits); otherwise
|diff| <= base + 2*E, base = 1e-6 when only sigmoid/tanh rounded, else 1e-5*max(1,|v|), and E
the reference's propagated float32 error bound.

Prints one line per failing case, then `layers-ref: N passed, M failed, K skipped`.
Exit status 1 if any case failed, 0 otherwise, 77 if the binary is missing.
"""

import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402  (re-executes under /usr/bin/python3 when numpy is missing)
import layers_ref as L  # noqa: E402
import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN") or os.path.join(ROOT, "build", "cnnfilter"))

N_CLI = 50
N_POOL = 22
N_PIPE = 45

BORDERS = ["zero", "replicate", "reflect", "mirror", "wrap"]
ACTS = ["relu", "abs", "leaky_relu", "leaky_relu:0.5", "leaky_relu:0.25", "sigmoid", "tanh"]


# --------------------------------------------------------------------------------------------
# Cases and input files
# --------------------------------------------------------------------------------------------

class Case:
    def __init__(self, name, args):
        self.name = name
        self.args = args              # CLI arguments, run in the case's folder
        self.files = {}               # name -> bytes
        self.expect = None            # list of L.Data, one per output file (from the reference)
        self.outputs = []             # output file names, same order
        self.hand = None              # list of exact expected arrays (hand cases)
        self.hand_tol = 0.0
        self.error = None             # dict for error cases
        self.input_repr = ""
        self.torch = None             # (input array (C,H,W), mode, size, stride, padding, ceil)


def txt_bytes(data):
    return ("\n\n".join("\n".join(" ".join("%.9g" % v for v in row) for row in plane)
                        for plane in data) + "\n").encode()


def json_bytes(data, rng):
    def num(v):
        return int(v) if float(v).is_integer() else float(v)
    c, h, w = data.shape
    if c == 1 and h == 1 and rng.random() < 0.4:
        obj = [num(v) for v in data[0, 0]]                     # 1-D: one row (reference 9.10)
    elif c == 1 and rng.random() < 0.7:
        obj = [[num(v) for v in row] for row in data[0]]
    else:
        obj = [[[num(v) for v in row] for row in plane] for plane in data]
    return json.dumps(obj).encode()


def matrix_file(rng, data):
    """(file name, bytes) for a (C,H,W) float64 array with C in (1, 3)."""
    if rng.random() < 0.5:
        return "in.txt", txt_bytes(data)
    return "in.json", json_bytes(data, rng)


def rand_data(rng, kind, shape):
    n = int(np.prod(shape))
    if kind == "int":
        lo, hi = rng.choice([(0, 9), (-9, 9), (0, 3), (-5, 5)])
        vals = [rng.randint(lo, hi) for _ in range(n)]
    elif kind == "dyadic":
        vals = [rng.randint(-32, 32) / 4.0 for _ in range(n)]
    else:
        vals = [float(np.float32(rng.uniform(-3, 3))) for _ in range(n)]
    return np.array(vals, dtype=np.float64).reshape(shape)


def rand_png(rng, h, w, ch):
    px = np.array([rng.randint(0, 255) for _ in range(h * w * ch)], dtype=np.uint8).reshape(h, w, ch)
    return cnnref.png_write(px, [rng.randint(0, 4) for _ in range(h)]), px


def fmt_num(v):
    return "%d" % v if float(v).is_integer() else repr(float(v))


def fmt_matrix(m, sep=","):
    m = np.asarray(m)
    if m.ndim == 1:
        return "[" + sep.join(fmt_num(v) for v in m) + "]"
    return "[" + sep.join(fmt_matrix(r, sep) for r in m) + "]"


def rand_weights(rng, kind, shape):
    n = int(np.prod(shape))
    if kind == "int":
        vals = [rng.randint(-3, 3) for _ in range(n)]
    elif kind == "small":
        vals = [rng.randint(-2, 2) for _ in range(n)]
    elif kind == "dyadic":
        vals = [rng.randint(-8, 8) / 4.0 for _ in range(n)]
    else:
        vals = [round(rng.uniform(-1, 1), 3) for _ in range(n)]
    return np.array(vals, dtype=np.float64).reshape(shape)


def rand_geometry(rng, allow_stride=True):
    """allow_stride False: kernels of several shapes in one bank: padding same, stride 1, so
    that all maps have one size."""
    args = []
    r = rng.random()
    if not allow_stride:
        args += ["--padding", "same"] if r < 0.5 else []
    elif r < 0.3:
        args += ["--padding", "valid"]
    elif r < 0.55:
        if rng.random() < 0.5:
            args += ["--padding", "same"]
    elif r < 0.8:
        args += ["--padding", str(rng.randint(0, 3))]
    else:
        args += ["--padding", "%d,%d" % (rng.randint(0, 3), rng.randint(0, 3))]
    b = rng.choice(BORDERS)
    if b != "replicate" or rng.random() < 0.3:   # replicate is the default
        args += ["--border", b]
    if allow_stride:
        r = rng.random()
        if r < 0.2:
            args += ["--stride", str(rng.randint(1, 3))]
        elif r < 0.3:
            args += ["--stride", "%d,%d" % (rng.randint(1, 3), rng.randint(1, 3))]
        if rng.random() < 0.15:
            args += ["--dilation", "2"]
    if rng.random() < 0.2:
        args += ["--flip"]
    return args


def rand_pool_args(rng, always=False):
    if not always and rng.random() < 0.3:
        return []
    mode = rng.choice(["max", "max", "avg", "min"])
    args = ["--pool", mode]
    size = rng.choice([1, 2, 2, 2, 3, 3, 4])
    if size != 2 or rng.random() < 0.3:
        args += ["--pool-size", str(size)]
    if rng.random() < 0.35:
        args += ["--pool-stride", str(rng.randint(1, 3))]
    if rng.random() < 0.35 and size // 2 > 0:
        args += ["--pool-padding", str(rng.randint(0, size // 2))]
    if rng.random() < 0.45:
        args += ["--ceil"]
    return args


def input_file(rng, case, c, h, w, dkind, alpha_png):
    """Writes the case's input; returns its name."""
    if alpha_png:
        ch = c + 1
        data, px = rand_png(rng, h, w, ch)
        case.files["in.png"] = data
        case.input_repr = "%s %dx%d PNG %s" % ({2: "gray+alpha", 4: "RGBA"}[ch], w, h,
                                              json.dumps(np.moveaxis(px, 2, 0).tolist()))
        return "in.png"
    data = rand_data(rng, dkind, (c, h, w))
    name, body = matrix_file(rng, data)
    case.files[name] = body
    case.input_repr = json.dumps(data.tolist() if c > 1 else data[0].tolist())
    return name


def reference_outputs(case, d):
    """Runs the reference on the case's files; fills expect/outputs.  Raises on failure."""
    for name, body in case.files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    old = os.getcwd()
    os.chdir(d)
    try:
        o, outs = L.run_argv(case.args)
    finally:
        os.chdir(old)
    case.expect = outs
    out = case.args[-1]
    if len(outs) > 1 or "{index}" in out:
        case.outputs = [out.replace("{index}", str(i)) for i in range(len(outs))]
    else:
        case.outputs = [out]


def gen_cli_case(idx, seed, scratch):
    rng = random.Random(seed * 1000003 + idx)
    for _attempt in range(100):
        case = Case("cli %d" % idx, [])
        alpha_png = rng.random() < 0.2
        c = 3 if rng.random() < 0.35 else 1
        h, w = rng.randint(1, 11), rng.randint(1, 11)
        dkind = rng.choice(["int", "int", "int", "int", "dyadic", "dyadic", "float"])
        wkind = rng.choice(["int", "int", "int", "dyadic", "float"])
        k = rng.choice([1, 1, 2, 2, 3])
        same_shape = k == 1 or alpha_png or rng.random() < 0.75
        three_d = c == 3 and rng.random() < 0.2
        base = (rng.randint(1, 4), rng.randint(1, 4))
        if rng.random() < 0.1:
            base = (1, base[1])
        args = []
        geo = rand_geometry(rng, allow_stride=same_shape)
        for _ in range(k):
            shape = base if same_shape else (rng.randint(1, 4), rng.randint(1, 4))
            wt = rand_weights(rng, wkind, ((c,) if three_d else ()) + shape)
            spec = fmt_matrix(wt[0] if (not three_d and shape[0] == 1 and rng.random() < 0.4) else wt,
                              rng.choice([",", ", "]))
            args += ["-k", spec]
        args += geo
        if three_d:
            ch = rng.choice([None, "sum", "auto"])
        else:
            ch = rng.choice([None, None, "auto", "rgb", "sum", "gray"])
        if ch:
            args += ["--channels", ch]
        if rng.random() < 0.25:
            args += ["--scale", rng.choice(["2", "0.5", "-1", "1.5", "0.3"])]
        if rng.random() < 0.3:
            args += ["--bias", rng.choice(["1", "-2", "0.25", "-3.5", "0.1"])]
        comb = "none"
        if k > 1:
            comb = rng.choice(["none", "magnitude", "max", "sum", "max", "sum"])
        elif rng.random() < 0.15:
            comb = rng.choice(["magnitude", "max", "sum"])
        if comb != "none" or (k > 1 and rng.random() < 0.5):
            args += ["--combine", comb]
        if rng.random() < 0.65:
            args += ["--activation", rng.choice(ACTS)]
        args += rand_pool_args(rng)
        if alpha_png and rng.random() < 0.2:
            args += ["--alpha", "drop"]
        inp = input_file(rng, case, c, h, w, dkind, alpha_png)
        out = "out_{index}.npy" if (k > 1 and comb == "none") else "out.npy"
        case.args = args + [inp, out]
        d = os.path.join(scratch, "gen")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        try:
            reference_outputs(case, d)
        except L.RuntimeFailure:
            continue
        return case
    raise RuntimeError("cannot generate %s" % case.name)


def gen_pool_case(idx, seed, scratch):
    rng = random.Random(seed * 15485863 + idx)
    for _attempt in range(100):
        case = Case("pool %d" % idx, [])
        alpha_png = rng.random() < 0.25
        c = 3 if rng.random() < 0.3 else 1
        h, w = rng.randint(1, 12), rng.randint(1, 12)
        dkind = rng.choice(["int", "int", "dyadic", "float"])
        args = []
        if rng.random() < 0.25:
            args += ["--activation", rng.choice(ACTS)]
        args += rand_pool_args(rng, always=True)
        inp = input_file(rng, case, c, h, w, dkind, alpha_png)
        case.args = args + [inp, "out.npy"]
        d = os.path.join(scratch, "gen")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        try:
            reference_outputs(case, d)
        except L.RuntimeFailure:
            continue
        if not alpha_png and "--activation" not in args:
            colour, _ = cnnref.load_input(os.path.join(d, inp))
            o = L.parse_args(case.args)
            case.torch = (colour, o.pool, o.pool_size, o.pool_stride or o.pool_size, o.pool_padding, o.ceil)
        return case
    raise RuntimeError("cannot generate %s" % case.name)


# --------------------------------------------------------------------------------------------
# Random pipelines
# --------------------------------------------------------------------------------------------

BUILTIN_2D = ["sobel_v", "sobel_h", "laplacian", "edge_h", "identity", "gaussian", "box", "sharpen"]


def rand_kernel_entry(rng, maps, sum_mode, shape, wkind):
    """A pipeline kernel: string (built-in / inline 2-D / inline 3-D) or object."""
    r = rng.random()
    depth3 = sum_mode and rng.random() < 0.45
    wshape = ((maps,) if depth3 else ()) + shape
    if r < 0.08 and not depth3:
        return rng.choice(BUILTIN_2D)       # 3x3: a bank of other shapes may be regenerated
    wt = rand_weights(rng, wkind, wshape)
    if r < 0.55:
        if not depth3 and shape[0] == 1 and rng.random() < 0.4:
            return fmt_matrix(wt[0])
        return fmt_matrix(wt, rng.choice([",", ", "]))
    obj = {"weights": json.loads(fmt_matrix(wt))}
    if rng.random() < 0.6:
        obj["divisor"] = rng.choice([2, 4, 2, 4, -2, 3])
    if rng.random() < 0.5:
        obj["bias"] = rng.choice([1, -1, 2, 0.5, -3])
    if rng.random() < 0.2:
        obj["flip"] = rng.choice([True, False])
    if rng.random() < 0.2:
        obj["name"] = rng.choice(["edge", "k", "my kernel"])
    return obj


def rand_pipeline(rng, c_in):
    layers = []
    maps = c_in
    groups = None            # (kernels, maps per kernel) of the last conv, None after a combine
    n = rng.randint(1, 4)
    convs = 0
    for i in range(n):
        r = rng.random()
        if groups is not None and groups[0] > 1 and rng.random() < 0.35:
            layers.append({"type": "combine", "mode": rng.choice(["magnitude", "max", "sum"])})
            maps = groups[1]
            groups = None
        elif (i == 0 and r < 0.8) or (i > 0 and r < 0.3 and convs < 3):
            convs += 1
            k = rng.choice([1, 1, 2, 2, 3])
            chan = rng.choice([None, None, None, "sum", "rgb"])
            if chan == "rgb" and maps * k > 6:
                chan = None
            sum_mode = chan != "rgb"
            same = rng.random() < 0.8
            shape = (rng.randint(1, 3), rng.randint(1, 3))
            if rng.random() < 0.3:
                shape = (3, 3)
            wkind = rng.choice(["small", "small", "small", "dyadic", "float"])
            lay = {"type": "conv", "kernels": []}
            for _ in range(k):
                sh = shape if same else (rng.randint(1, 3), rng.randint(1, 3))
                lay["kernels"].append(rand_kernel_entry(rng, maps, sum_mode, sh, wkind))
            if chan:
                lay["channels"] = chan
            p = rng.random()
            if not same:
                if rng.random() < 0.5:
                    lay["padding"] = "same"
            elif p < 0.3:
                lay["padding"] = "valid"
            elif p < 0.45:
                lay["padding"] = "same"
            elif p < 0.6:
                lay["padding"] = rng.randint(0, 2)
            elif p < 0.7:
                lay["padding"] = [rng.randint(0, 2), rng.randint(0, 2)]
            if same and rng.random() < 0.2:
                lay["stride"] = rng.choice([2, [1, 2], [2, 1], 1])
            if same and rng.random() < 0.1:
                lay["dilation"] = 2
            if rng.random() < 0.35:
                lay["border"] = rng.choice(BORDERS)
            b = rng.random()
            if b < 0.2:
                lay["bias"] = rng.choice([1, -2, 0.5])
            elif b < 0.4:
                lay["bias"] = [rng.choice([0, 1, -1, 2, -0.5]) for _ in range(k)]
            layers.append(lay)
            groups = (k, maps if chan == "rgb" else 1)
            maps = k * groups[1]
        elif r < 0.55:
            t = rng.choice(["relu", "relu", "abs", "leaky_relu", "sigmoid", "tanh"])
            lay = {"type": t}
            if t == "leaky_relu" and rng.random() < 0.7:
                lay["slope"] = rng.choice([0.5, 0.25, 0.1, 0.01])
            layers.append(lay)
        else:
            lay = {"type": rng.choice(["maxpool", "maxpool", "avgpool", "minpool"])}
            size = rng.choice([1, 2, 2, 3])
            if size != 2 or rng.random() < 0.4:
                lay["size"] = size
            if rng.random() < 0.3:
                lay["stride"] = rng.randint(1, 3)
            if rng.random() < 0.3:
                lay["padding"] = rng.randint(0, size // 2)
            if rng.random() < 0.4:
                lay["ceil"] = rng.choice([True, True, False])
            layers.append(lay)
    return layers


def pipeline_text(layers):
    """One layer per line (error positions are then easy to check)."""
    return '{"layers": [\n' + ",\n".join("  " + json.dumps(lay) for lay in layers) + "\n]}\n"


def gen_pipe_case(idx, seed, scratch):
    rng = random.Random(seed * 2750159 + idx)
    for _attempt in range(200):
        case = Case("pipe %d" % idx, [])
        alpha_png = rng.random() < 0.15
        c = 3 if rng.random() < 0.4 else 1
        h, w = rng.randint(2, 12), rng.randint(2, 12)
        dkind = rng.choice(["int", "int", "int", "int", "dyadic", "dyadic", "float"])
        layers = rand_pipeline(rng, c)
        case.files["p.json"] = pipeline_text(layers).encode()
        inp = input_file(rng, case, c, h, w, dkind, alpha_png)
        case.args = ["--pipeline", "p.json", inp, "out.npy"]
        if rng.random() < 0.2:
            case.args = ["-j", rng.choice(["1", "2"])] + case.args
        d = os.path.join(scratch, "gen")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        try:
            reference_outputs(case, d)
        except (L.RuntimeFailure, L.UsageError):
            continue
        return case
    raise RuntimeError("cannot generate %s" % case.name)


# --------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------

EIGHT = [[0, 1, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0], [0, 1, 0, 1, 0], [0, 1, 1, 1, 0]]
M34 = [[0, 3, 6, 9], [1, 4, 7, 10], [2, 5, 8, 11]]


def hand(name, args, inputs, expect, tol=0.0, torch=None):
    c = Case("hand %s" % name, args)
    for fname, data in inputs.items():
        c.files[fname] = data if isinstance(data, bytes) else txt_bytes(np.array(data, dtype=np.float64).reshape(
            (-1,) + np.array(data).shape[-2:]))
    c.hand = [np.array(e, dtype=np.float64) for e in expect]
    out = args[-1]
    c.outputs = [out.replace("{index}", str(i)) for i in range(len(expect))] if "{index}" in out else [out]
    c.hand_tol = tol
    c.input_repr = json.dumps({k: (v if not isinstance(v, bytes) else "<%d bytes>" % len(v)) for k, v in inputs.items()})
    c.torch = torch
    return c


def rgba_png(pixels):
    px = np.array(pixels, dtype=np.uint8)
    return cnnref.png_write(px)


def hand_cases():
    cs = []
    # 1. Seed example (reference 6): the "8" digit, kernel [[0,0,0],[0,0,0],[1,0,1]] valid:
    #    out(y,x) = in(y+2,x) + in(y+2,x+2) -> rows 2,3,4 of the digit:
    #    [0+1, 1+1, 1+0] = [1,2,1]; [0+0, 1+1, 0+0] = [0,2,0]; [1,2,1]
    #    relu keeps it; max pool 2 ceil on 3x3: ceil((3-2)/2)+1 = 2 windows per axis, rows {0,1},{2}
    #    cols {0,1},{2}: max(1,2,0,2)=2, max(1,0)=1, max(1,2)=2, max(1)=1 -> [[2,1],[2,1]]
    cs.append(hand("seed-8", ["-k", "[[0,0,0],[0,0,0],[1,0,1]]", "--padding", "valid", "--activation", "relu",
                              "--pool", "max", "--ceil", "in.txt", "out.npy"],
                   {"in.txt": [EIGHT]}, [[[[2, 1], [2, 1]]]]))
    # 2. the same as a pipeline
    pipe = ('{"layers": [\n  {"type": "conv", "kernels": ["[[0,0,0],[0,0,0],[1,0,1]]"], "padding": "valid"},\n'
            '  {"type": "relu"},\n  {"type": "maxpool", "size": 2, "ceil": true}\n]}\n')
    cs.append(hand("seed-8-pipeline", ["--pipeline", "p.json", "in.txt", "out.npy"],
                   {"in.txt": [EIGHT], "p.json": pipe.encode()}, [[[[2, 1], [2, 1]]]]))
    # 3. Seed example: [[0,3,6,9],[1,4,7,10],[2,5,8,11]] max pool 2 stride 1, no -k:
    #    floor((3-2)/1)+1 = 2 rows, floor((4-2)/1)+1 = 3 cols; each 2x2 max is its bottom-right cell
    #    -> [[4,7,10],[5,8,11]]
    cs.append(hand("seed-pool", ["--pool", "max", "--pool-size", "2", "--pool-stride", "1", "in.txt", "out.npy"],
                   {"in.txt": [M34]}, [[[[4, 7, 10], [5, 8, 11]]]],
                   torch=(np.array([M34], dtype=np.float64), "max", 2, 1, 0, False)))
    # 4. Ceil mode, last window dropped: 1x5 [1,5,2,8,3], P=2 S=2 N=1 ceil.
    #    cols: ceil((5+2-2)/2)+1 = ceil(2.5)+1 = 4, but window 3 starts at 3*2 = 6 >= 5+1 -> dropped: 3
    #    windows (padded coords [0,2),[2,4),[4,6) -> input {0},{1,2},{3,4}) -> 1, 5, 8
    #    rows: ceil((1+2-2)/2)+1 = 2, window 1 starts at 2 >= 1+1 -> dropped: 1 row
    cs.append(hand("ceil-drop", ["--pool", "max", "--pool-padding", "1", "--ceil", "in.txt", "out.npy"],
                   {"in.txt": [[[1, 5, 2, 8, 3]]]}, [[[[1, 5, 8]]]],
                   torch=(np.array([[[1, 5, 2, 8, 3]]], dtype=np.float64), "max", 2, 2, 1, True)))
    # 5. Ceil mode keeps a partial last window: 2x5, P=2 S=2 N=0 ceil: cols ceil(3/2)+1 = 3, window 2
    #    starts at 4 < 5 -> kept, covers only col 4; rows 1.  Avg over inside cells only:
    #    [[1,5,2,8,3],[3,7,4,0,5]] -> (1+5+3+7)/4 = 4, (2+8+4+0)/4 = 3.5, (3+5)/2 = 4
    cs.append(hand("ceil-keep-avg", ["--pool", "avg", "--ceil", "in.txt", "out.npy"],
                   {"in.txt": [[[1, 5, 2, 8, 3], [3, 7, 4, 0, 5]]]}, [[[[4, 3.5, 4]]]],
                   torch=(np.array([[[1, 5, 2, 8, 3], [3, 7, 4, 0, 5]]], dtype=np.float64), "avg", 2, 2, 0, True)))
    # 6. Avg with padding, partial windows count only inside cells: 3x3 1..9, P=2 S=2 N=1:
    #    floor((3+2-2)/2)+1 = 2; windows per axis: input {0}, {1,2}
    #    (0,0): 1; (0,1): (2+3)/2 = 2.5; (1,0): (4+7)/2 = 5.5; (1,1): (5+6+8+9)/4 = 7
    #    (count_include_pad=True would give 0.25, 1.25, 2.75, 7)
    m33 = [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    cs.append(hand("avg-pad", ["--pool", "avg", "--pool-padding", "1", "in.txt", "out.npy"],
                   {"in.txt": [m33]}, [[[[1, 2.5], [5.5, 7]]]],
                   torch=(np.array([m33], dtype=np.float64), "avg", 2, 2, 1, False)))
    # 7. Even pool size 4 and stride 2 on 4x6: floor((4-4)/2)+1 = 1 row, floor((6-4)/2)+1 = 2 cols;
    #    avg of cols 0..3 / 2..5 of [[0..5],[6..11],[12..17],[18..23]]:
    #    cols 0..3: mean of {0,1,2,3,6,...,21} = (0+1+2+3 + 6+7+8+9 + 12+...+15 + 18+...+21)/16 = 10.5
    #    cols 2..5: the same cells + 2 -> 12.5
    m46 = [[r * 6 + c for c in range(6)] for r in range(4)]
    cs.append(hand("even-4-stride-2", ["--pool", "avg", "--pool-size", "4", "--pool-stride", "2", "in.txt", "out.npy"],
                   {"in.txt": [m46]}, [[[[10.5, 12.5]]]],
                   torch=(np.array([m46], dtype=np.float64), "avg", 4, 2, 0, False)))
    # 8. Stride != size: 3x7, P=3 S=2: rows floor(0/2)+1 = 1, cols floor(4/2)+1 = 3, windows cols
    #    0-2, 2-4, 4-6 over all 3 rows: max(1,7,3,0,0,0,5,1,1) = 7, max(3,9,2,0,0,0,1,1,1) = 9,
    #    max(2,8,4,0,0,0,1,1,6) = 8
    m37 = [[1, 7, 3, 9, 2, 8, 4], [0, 0, 0, 0, 0, 0, 0], [5, 1, 1, 1, 1, 1, 6]]
    cs.append(hand("stride-ne-size", ["--pool", "max", "--pool-size", "3", "--pool-stride", "2", "in.txt", "out.npy"],
                   {"in.txt": [m37]}, [[[[7, 9, 8]]]],
                   torch=(np.array([m37], dtype=np.float64), "max", 3, 2, 0, False)))
    # 9. Min pool, 2 stride 1 on the seed 3x4: top-left of each window -> [[0,3,6],[1,4,7]]
    cs.append(hand("min", ["--pool", "min", "--pool-size", "2", "--pool-stride", "1", "in.txt", "out.npy"],
                   {"in.txt": [M34]}, [[[[0, 3, 6], [1, 4, 7]]]]))
    # 10. Padding cells are ignored, not zeros: min pool of [[5,6],[7,8]] P=2 S=2 N=1 -> each window
    #     has one inside cell -> [[5,6],[7,8]] (zeros would give all 0); max pool of the negatives
    #     likewise -> [[-5,-6],[-7,-8]]
    cs.append(hand("min-pad", ["--pool", "min", "--pool-padding", "1", "in.txt", "out.npy"],
                   {"in.txt": [[[5, 6], [7, 8]]]}, [[[[5, 6], [7, 8]]]]))
    cs.append(hand("max-pad-negative", ["--pool", "max", "--pool-padding", "1", "in.txt", "out.npy"],
                   {"in.txt": [[[-5, -6], [-7, -8]]]}, [[[[-5, -6], [-7, -8]]]],
                   torch=(np.array([[[-5, -6], [-7, -8]]], dtype=np.float64), "max", 2, 2, 1, False)))
    # 11. Ceil on a 1x1 input with P=2 (stride 2): ceil((1-2)/2)+1 = 0+1 = 1 window (starts at 0 < 1,
    #     kept) -> [[7]]; PyTorch gives the same.
    cs.append(hand("ceil-1x1", ["--pool", "max", "--ceil", "in.txt", "out.npy"], {"in.txt": [[[7]]]}, [[[[7]]]],
                   torch=(np.array([[[7.0]]]), "max", 2, 2, 0, True)))
    # 12. Pooling RGBA alpha: 2x2 RGBA pixels (R,G,B,A):
    #     (10,20,30,0) (40,5,6,255) / (7,80,9,128) (1,2,90,64)
    #     max: R 40, G 80, B 90, A 255;  min: 1, 2, 6, 0
    #     avg: R (10+40+7+1)/4 = 14.5, G (20+5+80+2)/4 = 26.75, B (30+6+9+90)/4 = 33.75,
    #          A (0+255+128+64)/4 = 111.75  (alpha is the last .npy channel, unrounded, reference 9.1/9.15)
    rgba = rgba_png([[[10, 20, 30, 0], [40, 5, 6, 255]], [[7, 80, 9, 128], [1, 2, 90, 64]]])
    cs.append(hand("rgba-max", ["--pool", "max", "in.png", "out.npy"], {"in.png": rgba},
                   [[[[40]], [[80]], [[90]], [[255]]]]))
    cs.append(hand("rgba-min", ["--pool", "min", "in.png", "out.npy"], {"in.png": rgba},
                   [[[[1]], [[2]], [[6]], [[0]]]]))
    cs.append(hand("rgba-avg", ["--pool", "avg", "in.png", "out.npy"], {"in.png": rgba},
                   [[[[14.5]], [[26.75]], [[33.75]], [[111.75]]]]))
    # 13. Alpha through a kernel and the pool: identity 3x3 (same) keeps colour and alpha
    #     (anchor (1,1), PT=PL=1 -> alpha(y,x)); then avg pool 2 ceil on 2x2 -> as above
    cs.append(hand("rgba-kernel-avg", ["-k", "identity", "--pool", "avg", "--ceil", "in.png", "out.npy"],
                   {"in.png": rgba}, [[[[14.5]], [[26.75]], [[33.75]], [[111.75]]]]))
    # 14. Combine max is the signed maximum: [[3,-1]] with [[1]] -> [3,-1], with [[-2]] -> [-6,2]
    #     max -> [3,2] (largest |v| would give -6); sum -> [-3,1]; magnitude -> [sqrt 45, sqrt 5]
    cs.append(hand("combine-max", ["-k", "[[1]]", "-k", "[[-2]]", "--combine", "max", "in.txt", "out.npy"],
                   {"in.txt": [[[3, -1]]]}, [[[[3, 2]]]]))
    cs.append(hand("combine-sum", ["-k", "[[1]]", "-k", "[[-2]]", "--combine", "sum", "in.txt", "out.npy"],
                   {"in.txt": [[[3, -1]]]}, [[[[-3, 1]]]]))
    cs.append(hand("combine-magnitude", ["-k", "[[1]]", "-k", "[[-2]]", "--combine", "magnitude", "in.txt",
                                         "out.npy"],
                   {"in.txt": [[[3, -1]]]}, [[[[45 ** 0.5, 5 ** 0.5]]]], tol=1e-6))
    # 15. Bank without combine: one file per kernel: out_0 = [3,-1], out_1 = [-6,2]
    cs.append(hand("bank-index", ["-k", "[[1]]", "-k", "[[-2]]", "in.txt", "out_{index}.npy"],
                   {"in.txt": [[[3, -1]]]}, [[[[3, -1]]], [[[-6, 2]]]]))
    # 16. Order: bias before combine: [[1]] with kernels [[1]], [[0]], bias -3 -> maps -2, -3;
    #     magnitude sqrt(4+9) = sqrt(13) (bias after combine would give 1-3 = -2)
    cs.append(hand("order-bias-combine", ["-k", "[[1]]", "-k", "[[0]]", "--bias", "-3", "--combine", "magnitude",
                                          "in.txt", "out.npy"],
                   {"in.txt": [[[1]]]}, [[[[13 ** 0.5]]]], tol=1e-6))
    # 17. Order: activation before pool: [[-5,1],[0,2]] identity 1x1, abs then max pool -> 5
    #     (pool then abs would give 2)
    cs.append(hand("order-act-pool", ["-k", "[[1]]", "--activation", "abs", "--pool", "max", "in.txt", "out.npy"],
                   {"in.txt": [[[-5, 1], [0, 2]]]}, [[[[5]]]]))
    # 18. Order: combine before activation: kernels [[1]], [[-1]] on [[2]], combine sum -> 0, then
    #     sigmoid -> 0.5 (sigmoid per map then sum would give sigmoid(2)+sigmoid(-2) = 1)
    cs.append(hand("order-combine-act", ["-k", "[[1]]", "-k", "[[-1]]", "--combine", "sum", "--activation",
                                         "sigmoid", "in.txt", "out.npy"],
                   {"in.txt": [[[2]]]}, [[[[0.5]]]], tol=1e-6))
    # 19. leaky_relu:0.5 on [[-4,2]] -> [[-2,2]]; default slope 0.01: -100 -> -1
    cs.append(hand("leaky", ["-k", "[[1]]", "--activation", "leaky_relu:0.5", "in.txt", "out.npy"],
                   {"in.txt": [[[-4, 2]]]}, [[[[-2, 2]]]]))
    cs.append(hand("leaky-default", ["-k", "[[1]]", "--activation", "leaky_relu", "in.txt", "out.npy"],
                   {"in.txt": [[[-100, 3]]]}, [[[[-1, 3]]]], tol=1e-6))
    # 20. Pipeline: 3-channel 1x2 input R=[1,2], G=[10,20], B=[100,200]; conv valid with
    #     k0 = 3-D "[[[1,0]],[[0,1]],[[0,0]]]" -> 1 + 20 = 21, plus list bias 10 -> 31;
    #     k1 = {"weights": [[1,1]], "divisor": 2, "bias": 1} (2-D, sum over channels):
    #     (1+2 + 10+20 + 100+200)/2 = 166.5, + 1 + layer bias 100 -> 267.5
    pipe = ('{"layers": [\n  {"type": "conv", "padding": "valid", "bias": [10, 100], "kernels": '
            '["[[[1,0]],[[0,1]],[[0,0]]]", {"weights": [[1,1]], "divisor": 2, "bias": 1}]}\n]}\n')
    cs.append(hand("pipe-3d-bias", ["--pipeline", "p.json", "in.txt", "out.npy"],
                   {"in.txt": [[[1, 2]], [[10, 20]], [[100, 200]]], "p.json": pipe.encode()},
                   [[[[31]], [[267.5]]]]))
    # 21. Pipeline "channels": "rgb", kernel-major: 3-channel 1x2 input [1,2],[3,4],[5,6], kernels
    #     [[1,1]] and [[1,-1]] valid -> k0: 3, 7, 11; k1: -1, -1, -1 (6 maps); then combine max per
    #     channel across kernels -> 3, 7, 11; then a sum variant -> 2, 6, 10
    for mode, want in (("none", [3, 7, 11, -1, -1, -1]), ("max", [3, 7, 11]), ("sum", [2, 6, 10])):
        layers = ['{"type": "conv", "padding": "valid", "channels": "rgb", "kernels": ["[[1,1]]", "[[1,-1]]"]}']
        if mode != "none":
            layers.append('{"type": "combine", "mode": "%s"}' % mode)
        pipe = '{"layers": [\n  ' + ",\n  ".join(layers) + "\n]}\n"
        cs.append(hand("pipe-rgb-%s" % mode, ["--pipeline", "p.json", "in.txt", "out.npy"],
                       {"in.txt": [[[1, 2]], [[3, 4]], [[5, 6]]], "p.json": pipe.encode()},
                       [[[[v]] for v in want]]))
    # 22. Pipeline combine over a sum-mode bank: 2 kernels [[1]] and [[2]] on gray [[-3, 1]] ->
    #     maps [-3,1], [-6,2]; magnitude -> [sqrt 45, sqrt 5]; then leaky_relu slope 0.5 (positive:
    #     unchanged); then minpool size 1 (identity)
    pipe = ('{"layers": [\n  {"type": "conv", "kernels": ["[[1]]", "[[2]]"]},\n  {"type": "combine", "mode": '
            '"magnitude"},\n  {"type": "leaky_relu", "slope": 0.5},\n  {"type": "minpool", "size": 1}\n]}\n')
    cs.append(hand("pipe-combine-magnitude", ["--pipeline", "p.json", "in.txt", "out.npy"],
                   {"in.txt": [[[-3, 1]]], "p.json": pipe.encode()}, [[[[45 ** 0.5, 5 ** 0.5]]]], tol=1e-6))
    # 23. Pipelines drop alpha: the RGBA 2x2 above, conv [[1]] (sum over R,G,B) ->
    #     [[60, 51], [96, 93]], 1 channel, no alpha
    pipe = '{"layers": [\n  {"type": "conv", "kernels": ["[[1]]"]}\n]}\n'
    cs.append(hand("pipe-alpha-drop", ["--pipeline", "p.json", "in.png", "out.npy"],
                   {"in.png": rgba, "p.json": pipe.encode()}, [[[[60, 51], [96, 93]]]]))
    return cs


# --------------------------------------------------------------------------------------------
# Error cases
# --------------------------------------------------------------------------------------------

def err(name, args, files, codes, line_re=None, contains=()):
    c = Case("err %s" % name, args)
    c.files = {k: (v if isinstance(v, bytes) else v.encode()) for k, v in files.items()}
    c.error = {"codes": codes, "re": line_re, "contains": contains}
    c.outputs = [args[-1]]
    return c


def error_cases():
    m = txt_bytes(np.array([M34], dtype=np.float64))
    cs = []
    # reference 9.14: pool padding more than half the window -> usage error
    cs.append(err("pool-padding-cli", ["--pool", "max", "--pool-size", "2", "--pool-padding", "2", "in.txt",
                                       "out.npy"], {"in.txt": m}, (2,), r"^cnnfilter: "))
    cs.append(err("pool-padding-cli-3", ["--pool", "avg", "--pool-size", "3", "--pool-padding", "2", "in.txt",
                                         "out.npy"], {"in.txt": m}, (2,), r"^cnnfilter: "))
    # reference 9.9: a pool window that leaves no output -> runtime failure
    cs.append(err("pool-empty", ["--pool", "max", "--pool-size", "5", "in.txt", "out.npy"], {"in.txt": m}, (1,),
                  r"^cnnfilter: "))
    # 3x4 valid 3x3 -> 1x2, then pool 2 (floor): floor((1-2)/2)+1 = 0 rows -> exit 1
    cs.append(err("pool-empty-after-conv", ["-k", "box", "--padding", "valid", "--pool", "max", "in.txt",
                                            "out.npy"], {"in.txt": m}, (1,), r"^cnnfilter: "))
    lay = ['{"type": "conv", "kernels": ["[[1,0],[0,-1]]", "[[0,1],[1,0]]"]}']
    # reference 9.17: combine without mode -> usage error, FILE:LINE:COL (the combine is on line 3)
    pj = '{"layers": [\n  %s,\n  {"type": "combine"}\n]}\n' % lay[0]
    cs.append(err("combine-no-mode", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (2,), r"^cnnfilter: p\.json:3:\d+: "))
    # unknown key in a layer -> usage error with line:col (line 3)
    pj = '{"layers": [\n  %s,\n  {"type": "relu", "slop": 1}\n]}\n' % lay[0]
    cs.append(err("unknown-key", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (2,), r"^cnnfilter: p\.json:3:\d+: "))
    pj = '{"layers": [\n  {"type": "maxpool", "size": 2, "strid": 1}\n]}\n'
    cs.append(err("unknown-key-pool", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (2,), r"^cnnfilter: p\.json:2:\d+: "))
    # 3-D kernel depth mismatch: layer 1 makes 2 maps, layer 3 has a depth-3 kernel -> names layer 3
    pj = ('{"layers": [\n  %s,\n  {"type": "relu"},\n  {"type": "conv", "kernels": ["[[[1]],[[1]],[[1]]]"]}\n]}\n'
          % lay[0])
    cs.append(err("depth-mismatch", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (1, 2), r"^cnnfilter: p\.json\b", contains=("layer 3",)))
    # depth 2 on a 1-channel input in layer 1
    pj = '{"layers": [\n  {"type": "conv", "kernels": [{"weights": [[[1]],[[2]]]}]}\n]}\n'
    cs.append(err("depth-mismatch-1", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (1, 2), r"^cnnfilter: p\.json\b", contains=("layer 1",)))
    # pipeline pool padding more than half the window
    pj = '{"layers": [\n  {"type": "avgpool", "size": 4, "padding": 3}\n]}\n'
    cs.append(err("pipe-pool-padding", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (2,), r"^cnnfilter: p\.json"))
    # bad combine mode
    pj = '{"layers": [\n  %s,\n  {"type": "combine", "mode": "mean"}\n]}\n' % lay[0]
    cs.append(err("combine-bad-mode", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (2,), r"^cnnfilter: p\.json:3:\d+: "))
    # pipeline pool that leaves no output -> exit 1
    pj = '{"layers": [\n  {"type": "maxpool", "size": 4}\n]}\n'
    cs.append(err("pipe-pool-empty", ["--pipeline", "p.json", "in.txt", "out.npy"], {"in.txt": m, "p.json": pj},
                  (1,), r"^cnnfilter: "))
    # reference 9.12: layer flags with --pipeline
    pj = '{"layers": [\n  {"type": "relu"}\n]}\n'
    for flag in (["-k", "identity"], ["--pool", "max"], ["--combine", "sum"], ["--activation", "relu"]):
        cs.append(err("pipe-with-%s" % flag[0].lstrip("-"), ["--pipeline", "p.json"] + flag + ["in.txt", "out.npy"],
                      {"in.txt": m, "p.json": pj}, (2,), r"^cnnfilter: "))
    # reference 1: a bank with --combine none needs {kernel} or {index}
    cs.append(err("bank-no-template", ["-k", "[[1]]", "-k", "[[2]]", "in.txt", "out.npy"], {"in.txt": m}, (2,),
                  r"^cnnfilter: "))
    cs.append(err("leaky-bad-slope", ["-k", "[[1]]", "--activation", "leaky_relu:x", "in.txt", "out.npy"],
                  {"in.txt": m}, (2,), r"^cnnfilter: --activation: "))
    return cs


# --------------------------------------------------------------------------------------------
# Running and comparing
# --------------------------------------------------------------------------------------------

def run_cli(args, cwd):
    try:
        p = subprocess.run([BIN] + args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        return p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "timed out after 20 s"
    except OSError as e:
        return None, "cannot run the binary: %s" % e


def load_npy(path):
    a = np.load(path, allow_pickle=False)
    if a.dtype != np.float32:
        raise ValueError(".npy dtype is %s, reference 2 says float32" % a.dtype)
    if a.ndim != 3:
        raise ValueError(".npy shape %s is not (C,H,W)" % (a.shape,))
    return a.astype(np.float64)


def compare(got, d):
    """got float64 array; d L.Data (expected).  None or a message."""
    want = d.val
    if got.shape != want.shape:
        return "shape (C,H,W)=%s, expected %s" % (got.shape, want.shape)
    want32 = want.astype(np.float32).astype(np.float64)
    if not d.inexact:
        bad = got != want32
        how = "exact"
    else:
        if d.inexact <= {"sigmoid", "tanh"}:
            base = 1e-6
        else:
            base = 1e-5 * np.maximum(1.0, np.abs(want))
        tol = base + 2 * d.err
        bad = ~(np.abs(got - want) <= tol)
        how = "tolerance (%s)" % ", ".join(sorted(d.inexact))
    if bad.any():
        pos = tuple(int(v) for v in np.argwhere(bad)[0])
        return "%s: %d values differ, max diff %.9g; first at (c,y,x)=%s: got %.9g expected %.9g; expected %s got %s" % (
            how, int(bad.sum()), float(np.nanmax(np.abs(got - want))), pos, got[pos], want[pos],
            short(want), short(got))
    return None


def short(a, limit=400):
    s = json.dumps(np.round(a, 6).tolist())
    return s if len(s) <= limit else s[:limit] + "..."


def run_value_case(case, d):
    """Returns (status, message)."""
    shown = shlex.join(["cnnfilter"] + case.args)
    for name, body in case.files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    rc, stderr = run_cli(case.args, d)
    where = "input=%s" % (case.input_repr if len(case.input_repr) < 400 else case.input_repr[:400] + "...")
    if "p.json" in case.files:
        where += " pipeline=%s" % case.files["p.json"].decode().replace("\n", " ")
    if rc != 0:
        return "fail", "%s | exit %s, expected 0; stderr: %s | %s" % (shown, rc, stderr.strip(), where)
    msgs = []
    present = set(os.listdir(d)) - set(case.files)
    missing = [o for o in case.outputs if o not in present]
    extra = sorted(present - set(case.outputs))
    if missing:
        msgs.append("missing output file(s) %s (present: %s)" % (missing, sorted(present)))
    if extra:
        msgs.append("unexpected file(s) left: %s" % extra)
    expect = case.expect if case.hand is None else [L.Data(h, inexact=({"hand"} if case.hand_tol else ()))
                                                     for h in case.hand]
    for i, o in enumerate(case.outputs):
        if o in missing:
            continue
        try:
            got = load_npy(os.path.join(d, o))
        except Exception as e:
            msgs.append("%s: cannot read: %s" % (o, e))
            continue
        if case.hand is not None and case.hand_tol:
            want = expect[i].val
            if got.shape != want.shape or not np.all(np.abs(got - want) <= case.hand_tol * np.maximum(1, np.abs(want))):
                msgs.append("%s: expected %s got %s" % (o, short(want), short(got)))
            continue
        m = compare(got, expect[i])
        if m:
            msgs.append("%s: %s" % (o, m))
    if msgs:
        return "fail", "%s | %s | %s" % (shown, "; ".join(msgs), where)
    return "pass", shown


def run_error_case(case, d):
    shown = shlex.join(["cnnfilter"] + case.args)
    for name, body in case.files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    rc, stderr = run_cli(case.args, d)
    e = case.error
    msgs = []
    if rc not in e["codes"]:
        msgs.append("exit %s, expected %s" % (rc, " or ".join(map(str, e["codes"]))))
    lines = stderr.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if len(lines) != 1:
        msgs.append("stderr is %d lines, expected exactly one" % len(lines))
    first = lines[0] if lines else ""
    if e["re"] and not re.search(e["re"], first):
        msgs.append("stderr does not match /%s/" % e["re"])
    for s in e["contains"]:
        if s not in first:
            msgs.append("stderr does not name %r" % s)
    left = sorted(set(os.listdir(d)) - set(case.files))
    if left:
        msgs.append("files left after the failure: %s" % left)
    if msgs:
        return "fail", "%s | %s | stderr: %r" % (shown, "; ".join(msgs), stderr)
    return "pass", shown


def hand_vs_reference(case, d):
    """The reference must agree with the hand-computed values too (else the reference is wrong)."""
    for name, body in case.files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(body)
    old = os.getcwd()
    os.chdir(d)
    try:
        _, outs = L.run_argv(case.args)
    except Exception as e:
        return "reference raised %r" % e
    finally:
        os.chdir(old)
    if len(outs) != len(case.hand):
        return "reference gives %d outputs, hand %d" % (len(outs), len(case.hand))
    for r, h in zip(outs, case.hand):
        if r.val.shape != h.shape or not np.allclose(r.val, h, rtol=1e-12, atol=1e-12):
            return "reference gives %s, hand %s" % (short(r.val), short(h))
    return None


def load_torch():
    try:
        import torch
        import torch.nn.functional as F
        return torch, F
    except Exception:
        return None


def torch_pool(tf, x, mode, size, stride, pad, ceil):
    torch, F = tf
    t = torch.tensor(x, dtype=torch.float64)[None]
    if mode == "max":
        out = F.max_pool2d(t, size, stride, pad, ceil_mode=ceil)
    elif mode == "min":
        out = -F.max_pool2d(-t, size, stride, pad, ceil_mode=ceil)
    else:
        out = F.avg_pool2d(t, size, stride, pad, ceil_mode=ceil, count_include_pad=False)
    return out[0].numpy()


def run_torch(case, d, tf):
    x, mode, size, stride, pad, ceil = case.torch
    shown = "%s: torch %s_pool2d(kernel=%d, stride=%d, padding=%d, ceil_mode=%s)" % (
        case.name, mode, size, stride, pad, ceil)
    try:
        t = torch_pool(tf, x, mode, size, stride, pad, ceil)
    except Exception as e:
        return "fail", "%s raised %s" % (shown, e)
    ref = L.pool(L.Data(x), mode, size, stride, pad, ceil).val
    msgs = []
    if t.shape != ref.shape or not np.allclose(t, ref, rtol=1e-12, atol=1e-12):
        msgs.append("torch %s vs reference %s" % (short(t), short(ref)))
    out = os.path.join(d, case.outputs[0])
    if os.path.exists(out):
        got = load_npy(out)
        if got.shape != t.shape or not np.all(np.abs(got - t) <= 1e-5 * np.maximum(1, np.abs(t))):
            msgs.append("torch %s vs CLI %s" % (short(t), short(got)))
    if msgs:
        return "fail", "%s | %s | input=%s" % (shown, "; ".join(msgs), short(x))
    return "pass", shown


def main(argv):
    seed, only, keep, verbose = 7301, None, False, False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--seed":
            seed = int(argv[i + 1])
            i += 1
        elif a == "--case":
            only = argv[i + 1]
            keep = True
            i += 1
        elif a == "--keep":
            keep = True
        elif a == "-v":
            verbose = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
        i += 1
    if not os.access(BIN, os.X_OK):
        print("layers-ref: binary not found: %s (set CNNFILTER_BIN)" % BIN)
        print("layers-ref: 0 passed, 0 failed, 0 skipped")
        return 77
    workdir = tempfile.mkdtemp(prefix="cnnfilter-layers-")
    counts = {"pass": 0, "fail": 0, "skip": 0}
    try:
        cases = []
        cases += [gen_cli_case(i, seed, workdir) for i in range(N_CLI)]
        cases += [gen_pool_case(i, seed, workdir) for i in range(N_POOL)]
        cases += [gen_pipe_case(i, seed, workdir) for i in range(N_PIPE)]
        cases += hand_cases()
        cases += error_cases()
        shutil.rmtree(os.path.join(workdir, "gen"), ignore_errors=True)
        if only is not None:
            cases = [c for c in cases if c.name.startswith(only)]
        tf = load_torch() if any(c.torch is not None for c in cases) else None

        def run(ic):
            idx, case = ic
            d = os.path.join(workdir, "c%03d" % idx)
            os.makedirs(d)
            if case.error is not None:
                return [(case.name,) + run_error_case(case, d)]
            res = [(case.name,) + run_value_case(case, d)]
            return res

        with ThreadPoolExecutor(max_workers=2) as ex:
            results = list(ex.map(run, enumerate(cases)))
        for idx, (case, res) in enumerate(zip(cases, results)):
            d = os.path.join(workdir, "c%03d" % idx)
            if case.hand is not None:
                rd = os.path.join(workdir, "r%03d" % idx)
                os.makedirs(rd)
                m = hand_vs_reference(case, rd)
                res.append(("%s (reference)" % case.name, "fail" if m else "pass",
                            "%s | %s" % (shlex.join(["layers_ref"] + case.args), m) if m else case.name))
            if case.torch is not None:
                if tf is None:
                    res.append(("%s (torch)" % case.name, "skip", "torch not importable"))
                else:
                    res.append(("%s (torch)" % case.name,) + run_torch(case, d, tf))
            for name, status, msg in res:
                counts[status] += 1
                if status == "fail":
                    print("FAIL %s: %s" % (name, msg))
                elif verbose:
                    print("%s %s: %s" % (status, name, msg))
    finally:
        if keep:
            print("layers-ref: files kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("layers-ref: %d passed, %d failed, %d skipped" % (counts["pass"], counts["fail"], counts["skip"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

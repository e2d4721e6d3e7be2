#!/usr/bin/env python3
"""test_torch_train.py - cnf_train against PyTorch autograd, weight by weight.

Each case describes a net once; the description becomes (a) the command line of the test tool
train_driver (CNNFILTER_TRAIN_DRIVER, or build/tests/train_driver), which trains it with
cnf_train in float32, and (b) the same net in PyTorch in float64, trained with torch.optim on
the same data in the same order (the epoch order and the drawn initial weights reproduced
with nn_rng_ref.py, the generator's definition).  Borders are gathers of the padded image by
the border rule, so autograd sends each padded cell's gradient to the pixel it copies;
per-channel maps are kernel-major.  Every learned weight and bias must agree to
|cnf - torch| <= 2e-5 + 2e-5 |torch| (float32 against float64 after a few steps: measured
differences are below 1e-6), and every epoch's loss (and validation loss) to 1e-5 relative.

Exit 0 when all pass, 1 on a difference, 77 (skipped) when torch cannot be imported or the
driver is not built.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import nn_rng_ref as rng  # noqa: E402

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - the skip path
    torch = None

ATOL = RTOL = 2e-5
LOSS_RTOL = 1e-5


# ----------------------------------------------------------------- layer descriptions

def conv(count, kh, kw, depth3d=True, padding="same", border="zero", stride=1, dilation=1,
         channels="sum", frozen=False, nobias=False, drawn=False):
    return dict(kind="conv", count=count, kh=kh, kw=kw, depth3d=depth3d, padding=padding,
                border=border, stride=stride, dilation=dilation, channels=channels,
                frozen=frozen, nobias=nobias, drawn=drawn)


def act(name, slope=0.01):
    return dict(kind="act", name=name, slope=slope)


def pool(mode, size=2, stride=0, padding=0, ceil=False):
    return dict(kind="pool", mode=mode, size=size, stride=stride or size, padding=padding,
                ceil=ceil)


def combine(mode):
    return dict(kind="combine", mode=mode)


def dense(units, frozen=False, nobias=False, drawn=False):
    return dict(kind="dense", units=units, frozen=frozen, nobias=nobias, drawn=drawn)


def simple(kind, **kw):
    return dict(kind=kind, **kw)


# --------------------------------------------------------------------- geometry rules

def border_index(border, i, n):
    if 0 <= i < n:
        return i
    if border == "zero":
        return -1
    if border == "replicate":
        return 0 if i < 0 else n - 1
    if border == "wrap":
        return i % n
    if border == "reflect":
        r = i % (2 * n)
        return r if r < n else 2 * n - 1 - r
    if n == 1:  # mirror
        return 0
    r = i % (2 * n - 2)
    return r if r < n else 2 * n - 2 - r


def pads(padding, n, k, s, d, axis):
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        return total // 2, total - total // 2
    p = padding if isinstance(padding, int) else padding[axis]
    return p, p


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def gather_pad(x, pt, pb, pl, pr, border):
    """x (N, C, H, W) padded by the border rule through index_select (autograd sums the
    gradients of a pixel's copies)."""
    h, w = x.shape[2], x.shape[3]
    ys = [border_index(border, i - pt, h) for i in range(h + pt + pb)]
    xs = [border_index(border, j - pl, w) for j in range(w + pl + pr)]
    if border == "zero":
        x = F.pad(x, (0, 1, 0, 1))  # a zero row and column at index h, w
        ys = [h if v < 0 else v for v in ys]
        xs = [w if v < 0 else v for v in xs]
    return x.index_select(2, torch.tensor(ys)).index_select(3, torch.tensor(xs))


def pool_out(n, k, s, p, ceil):
    o = (n + 2 * p - k + (s - 1 if ceil else 0)) // s + 1
    if ceil and (o - 1) * s >= n + p:
        o -= 1
    return o


# ----------------------------------------------------------------------- net builder

class Net:
    """The net of a case: initial weights, the driver's arguments, the torch forward."""

    def __init__(self, layers, shape, seed, gen):
        self.layers, self.seed, self.gen = layers, seed, gen
        self.params = {}  # layer index -> {"w": tensor, "b": tensor or None}
        self.args = []
        self.files = {}
        c, h, w = shape
        last_groups = 0
        for i, L in enumerate(layers):
            c, h, w, last_groups = self.add(i, L, c, h, w, last_groups)
        self.out = (c, h, w)

    def weights(self, i, shape_w, n_b, fan, drawn):
        if drawn:
            s = rng.Stream(self.seed, 1, i)
            wv = [rng.draw(s, fan) for _ in range(int(np.prod(shape_w)))]
            bv = [rng.draw(s, fan) for _ in range(n_b)]
            return np.array(wv).reshape(shape_w), np.array(bv)
        wv = self.gen.uniform(-1, 1, shape_w) / math.sqrt(fan)
        bv = self.gen.uniform(-1, 1, n_b) / math.sqrt(fan)
        return wv.astype(np.float32).astype(np.float64), bv.astype(np.float32).astype(np.float64)

    def tensors(self, i, L, wv, bv):
        t_w = torch.tensor(wv, dtype=torch.float64, requires_grad=not L["frozen"])
        t_b = None if L["nobias"] else torch.tensor(bv, dtype=torch.float64,
                                                    requires_grad=not L["frozen"])
        self.params[i] = {"w": t_w, "b": t_b}

    def add(self, i, L, c, h, w, last_groups):
        k = L["kind"]
        if k == "conv":
            return self.add_conv(i, L, c, h, w)
        if k == "dense":
            n_in = c * h * w
            wv, bv = self.weights(i, (L["units"], n_in), 0 if L["nobias"] else L["units"],
                                  n_in, L["drawn"])
            if L["nobias"]:
                bv = np.zeros(0)
            self.tensors(i, L, wv, bv)
            spec = "dense:%d" % L["units"]
            if not L["drawn"]:
                self.files["w%d.npy" % i] = wv.astype(np.float32)
                spec += ":{dir}/w%d.npy" % i
                if not L["nobias"]:
                    self.files["b%d.npy" % i] = bv.astype(np.float32)
                    spec += ":{dir}/b%d.npy" % i
            self.args += [spec] + (["--frozen"] if L["frozen"] else []) + \
                (["--no-bias"] if L["nobias"] else [])
            return L["units"], 1, 1, last_groups
        if k == "act":
            t = {"type": L["name"]}
            if L["name"] == "leaky_relu":
                t["slope"] = L["slope"]
            self.args.append(json.dumps(t))
            return c, h, w, last_groups
        if k == "pool":
            self.args.append(json.dumps({"type": L["mode"] + "pool", "size": L["size"],
                                         "stride": L["stride"], "padding": L["padding"],
                                         "ceil": L["ceil"]}))
            return (c, pool_out(h, L["size"], L["stride"], L["padding"], L["ceil"]),
                    pool_out(w, L["size"], L["stride"], L["padding"], L["ceil"]), last_groups)
        if k == "combine":
            self.args.append(json.dumps({"type": "combine", "mode": L["mode"]}))
            g = last_groups if last_groups > 0 and c % last_groups == 0 else c
            L["groups"] = g
            return c // g, h, w, last_groups
        if k == "flatten":
            self.args.append("flatten")
            return c * h * w, 1, 1, last_groups
        if k == "softmax":
            self.args.append("softmax")
            return c, h, w, last_groups
        if k == "affine":
            self.args.append("affine:%r:%r" % (L["scale"], L["shift"]))
            return c, h, w, last_groups
        raise ValueError(k)

    def add_conv(self, i, L, c, h, w):
        cin = 1 if L["channels"] == "gray" else c
        depth = cin if L["depth3d"] else 1
        K, kh, kw = L["count"], L["kh"], L["kw"]
        wv, bv = self.weights(i, (K, depth, kh, kw), 0 if L["nobias"] else K,
                              depth * kh * kw, L["drawn"])
        if L["nobias"]:
            bv = np.zeros(K)
        self.tensors(i, L, wv, bv)
        sy, sx = pair(L["stride"])
        d = L["dilation"]
        pt, pb = pads(L["padding"], h, kh, sy, d, 0)
        pl, pr = pads(L["padding"], w, kw, sx, d, 1)
        L["pads"] = (pt, pb, pl, pr)
        t = {"type": "conv", "padding": L["padding"], "border": L["border"],
             "stride": L["stride"], "dilation": d, "channels": L["channels"],
             "kernels": [{"weights": (wv[g] if L["depth3d"] else wv[g, 0]).tolist(),
                          "bias": float(bv[g])} for g in range(K)]}
        self.args.append(json.dumps(t))
        if L["drawn"]:
            self.args += ["--shape", str(K), str(kh), str(kw)]
        self.args += (["--frozen"] if L["frozen"] else []) + (["--no-bias"] if L["nobias"] else [])
        oh = (h + pt + pb - d * (kh - 1) - 1) // sy + 1
        ow = (w + pl + pr - d * (kw - 1) - 1) // sx + 1
        per_channel = L["channels"] in ("rgb", "auto", "gray") and not L["depth3d"]
        return (K * cin if per_channel else K), oh, ow, K

    # -------------------------------------------------------------- torch forward

    def forward(self, x):
        """(result, pre-softmax values of the last layer)."""
        pre = None
        for i, L in enumerate(self.layers):
            pre = x
            x = self.layer(i, L, x)
        return x, pre

    def layer(self, i, L, x):
        k = L["kind"]
        if k == "conv":
            return self.conv(i, L, x)
        if k == "dense":
            p = self.params[i]
            return F.linear(x.reshape(x.shape[0], -1), p["w"], p["b"]).reshape(x.shape[0], -1, 1, 1)
        if k == "act":
            return {"relu": F.relu, "abs": torch.abs, "sigmoid": torch.sigmoid,
                    "tanh": torch.tanh,
                    "leaky_relu": lambda v: F.leaky_relu(v, L["slope"])}[L["name"]](x)
        if k == "pool":
            a = (L["size"], L["stride"], L["padding"])
            if L["mode"] == "max":
                return F.max_pool2d(x, *a, ceil_mode=L["ceil"])
            if L["mode"] == "min":
                return -F.max_pool2d(-x, *a, ceil_mode=L["ceil"])
            return F.avg_pool2d(x, *a, ceil_mode=L["ceil"], count_include_pad=False)
        if k == "combine":
            g = L["groups"]
            v = x.reshape(x.shape[0], g, x.shape[1] // g, x.shape[2], x.shape[3])
            if L["mode"] == "magnitude":
                return torch.sqrt((v * v).sum(1))
            if L["mode"] == "max":
                return v.max(1).values
            return v.sum(1)
        if k == "flatten":
            return x.reshape(x.shape[0], -1, 1, 1)
        if k == "softmax":
            return torch.softmax(x, 1)
        if k == "affine":
            return x * L["scale"] + L["shift"]
        raise ValueError(k)

    def conv(self, i, L, x):
        p = self.params[i]
        if L["channels"] == "gray" and x.shape[1] == 3:
            x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
        pt, pb, pl, pr = L["pads"]
        xp = gather_pad(x, pt, pb, pl, pr, L["border"])
        a = dict(stride=pair(L["stride"]), dilation=L["dilation"])
        W, c = p["w"], x.shape[1]
        if L["depth3d"]:
            return F.conv2d(xp, W, p["b"], **a)
        if L["channels"] == "sum":
            return F.conv2d(xp, W.expand(W.shape[0], c, W.shape[2], W.shape[3]), p["b"], **a)
        maps = []
        for g in range(W.shape[0]):
            for ci in range(c):
                maps.append(F.conv2d(xp[:, ci:ci + 1], W[g:g + 1],
                                     None if p["b"] is None else p["b"][g:g + 1], **a))
        return torch.cat(maps, 1)


# ------------------------------------------------------------------------ training

def torch_train(net, x, y, o):
    params = [t for p in net.params.values() for t in (p["w"], p["b"])
              if t is not None and t.requires_grad]
    if o.get("optimizer") == "adam":
        opt = torch.optim.Adam(params, lr=o["lr"], betas=(0.9, 0.999), eps=1e-8,
                               weight_decay=o.get("weight_decay", 0))
    else:
        opt = torch.optim.SGD(params, lr=o["lr"], momentum=o.get("momentum", 0),
                              weight_decay=o.get("weight_decay", 0))
    n = len(y)
    train, val = rng.split(o["seed"], n, o.get("val", 0))
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y)
    history = []
    for epoch in range(1, o["epochs"] + 1):
        order = rng.epoch_order(o["seed"], epoch, train, o.get("shuffle", True))
        total = 0.0
        for s in range(0, len(order), o["batch"]):
            idx = torch.tensor(order[s:s + o["batch"]])
            per = sample_losses(net, xt[idx], yt[idx], o["loss"])
            opt.zero_grad()
            per.mean().backward()
            opt.step()
            total += float(per.detach().sum())
        entry = {"loss": total / len(order)}
        if val:
            with torch.no_grad():
                idx = torch.tensor(val)
                entry["val_loss"] = float(sample_losses(net, xt[idx], yt[idx], o["loss"]).mean())
        history.append(entry)
    return history


def sample_losses(net, xb, yb, loss):
    out, pre = net.forward(xb)
    if loss == "cross_entropy":
        return F.cross_entropy(pre.reshape(pre.shape[0], -1), yb, reduction="none")
    onehot = F.one_hot(yb, out[0].numel()).to(torch.float64)
    return ((out.reshape(out.shape[0], -1) - onehot) ** 2).mean(1)


def run_driver(exe, net, x, y, o, tmp, threads=1):
    np.save(os.path.join(tmp, "x.npy"), x.astype(np.float32))
    np.save(os.path.join(tmp, "y.npy"), np.array(y, dtype=np.int64))
    for name, arr in net.files.items():
        np.save(os.path.join(tmp, name), arr)
    cmd = [exe, "--epochs", str(o["epochs"]), "--batch", str(o["batch"]), "--lr", repr(o["lr"]),
           "--optimizer", o.get("optimizer", "sgd"), "--momentum", repr(o.get("momentum", 0)),
           "--weight-decay", repr(o.get("weight_decay", 0)), "--loss", o["loss"],
           "--seed", str(o["seed"]), "--threads", str(threads), "--val", repr(o.get("val", 0))]
    if not o.get("shuffle", True):
        cmd.append("--no-shuffle")
    cmd += [os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy"), "-"]
    cmd += [a.replace("{dir}", tmp) for a in net.args]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError("driver failed: " + run.stderr.strip())
    return run.stdout


def parse(text):
    epochs, tensors = [], {}
    for line in text.splitlines():
        f = line.split()
        if f[0] == "epoch":
            epochs.append({f[i]: float(f[i + 1]) for i in range(2, len(f), 2)})
        else:
            tensors[(int(f[0]), f[2])] = np.array([float(v) for v in f[3:]])
    return epochs, tensors


def compare(name, net, history, epochs, tensors):
    problems, worst = [], 0.0
    for i, p in net.params.items():
        for what in ("w", "b"):
            t = p[what]
            if t is None:
                if (i, "bias") in tensors and net.layers[i]["kind"] == "dense":
                    problems.append("layer %d has a bias" % i)
                continue
            key = (i, "weights" if what == "w" else "bias")
            got, want = tensors.get(key), t.detach().numpy().reshape(-1)
            if got is None or got.shape != want.shape:
                problems.append("layer %d %s: shape %s, expected %s" % (
                    i, key[1], None if got is None else got.shape, want.shape))
                continue
            err = np.abs(got - want)
            worst = max(worst, float(np.max(err)))
            bad = err > ATOL + RTOL * np.abs(want)
            if bad.any():
                j = int(np.argmax(bad))
                problems.append("layer %d %s[%d]: %.9g, torch %.9g" % (i, key[1], j, got[j], want[j]))
    if len(epochs) != len(history):
        problems.append("%d epochs, torch %d" % (len(epochs), len(history)))
    for e, (a, b) in enumerate(zip(epochs, history)):
        for k in ("loss", "val_loss"):
            if (k in b) != (k in a) or (k in b and abs(a[k] - b[k]) > LOSS_RTOL * max(1, abs(b[k]))):
                problems.append("epoch %d %s: %s, torch %s" % (e + 1, k, a.get(k), b.get(k)))
    for p in problems:
        print("  %s: %s" % (name, p))
    return problems, worst


# --------------------------------------------------------------------------- cases

def classifier(first):
    return first + [act("relu"), pool("max"), simple("flatten"), dense(5), simple("softmax")]


CASES = [
    ("sgd, one step", classifier([conv(3, 3, 3)]), (2, 6, 6), 6,
     dict(epochs=1, batch=6, lr=0.1, loss="cross_entropy", shuffle=False)),
    ("sgd, several shuffled steps", classifier([conv(3, 3, 3)]), (2, 6, 6), 20,
     dict(epochs=3, batch=6, lr=0.1, loss="cross_entropy", seed=3)),
    ("momentum and weight decay", classifier([conv(3, 3, 3, border="replicate")]), (2, 6, 6), 16,
     dict(epochs=2, batch=4, lr=0.05, momentum=0.9, weight_decay=0.01, loss="cross_entropy")),
    ("adam", classifier([conv(3, 3, 3, padding="valid")]), (1, 7, 7), 15,
     dict(epochs=3, batch=5, lr=0.01, optimizer="adam", loss="cross_entropy", seed=1)),
    ("adam with weight decay", classifier([conv(2, 3, 3)]), (1, 6, 6), 12,
     dict(epochs=2, batch=4, lr=0.02, optimizer="adam", weight_decay=0.05, loss="cross_entropy")),
    ("mse on sigmoid, tanh, avg pool with padding and ceil",
     [conv(3, 3, 3), act("tanh"), pool("avg", 3, 2, 1, True), simple("flatten"), dense(4),
      act("sigmoid")], (2, 7, 6), 12, dict(epochs=2, batch=3, lr=0.5, loss="mse")),
    ("mse after softmax", classifier([conv(2, 2, 2)]), (1, 6, 6), 8,
     dict(epochs=2, batch=4, lr=0.5, loss="mse")),
    ("frozen conv, bias-free dense, affine, leaky relu, min pool",
     [simple("affine", scale=1 / 255.0, shift=-0.5), conv(3, 3, 3, frozen=True), act("leaky_relu", 0.1),
      pool("min", 3, 2, 1), simple("flatten"), dense(4, nobias=True), simple("softmax")],
     (1, 7, 7), 10, dict(epochs=2, batch=5, lr=0.2, loss="cross_entropy", scale255=True)),
    ("bias-free conv, frozen dense",
     [conv(2, 3, 3, nobias=True), act("abs"), simple("flatten"), dense(6, frozen=True), dense(3),
      simple("softmax")], (1, 4, 4), 9, dict(epochs=2, batch=3, lr=0.1, loss="cross_entropy")),
    ("shared 2-D kernels, stride, dilation, reflect, explicit padding",
     classifier([conv(2, 3, 3, depth3d=False, padding=[2, 1], border="reflect", stride=[2, 1],
                      dilation=2)]), (3, 8, 7), 10,
     dict(epochs=2, batch=5, lr=0.1, loss="cross_entropy")),
    ("per-channel maps, wrap, even kernels, combine magnitude",
     [conv(2, 2, 3, depth3d=False, channels="rgb", border="wrap"), combine("magnitude"),
      simple("flatten"), dense(4), simple("softmax")], (2, 5, 5), 10,
     dict(epochs=2, batch=5, lr=0.1, loss="cross_entropy")),
    ("gray, combine max and sum",
     [conv(3, 3, 3, depth3d=False, channels="gray", border="replicate"), combine("max"), act("relu"),
      conv(2, 3, 3, depth3d=False, channels="auto", border="mirror", padding=4),
      combine("sum"), simple("flatten"), dense(3), simple("softmax")], (3, 5, 5), 10,
     dict(epochs=2, batch=5, lr=0.1, loss="cross_entropy")),
    ("mirror wide padding, stride 2, ceil max pool",
     [conv(2, 2, 4, padding=4, border="mirror", stride=2), act("relu"), pool("max", 3, 2, 1, True),
      simple("flatten"), dense(3), simple("softmax")], (1, 5, 5), 8,
     dict(epochs=2, batch=4, lr=0.1, loss="cross_entropy")),
    ("weights drawn by the generator",
     [conv(4, 3, 3, drawn=True), act("relu"), pool("max"), simple("flatten"), dense(5, drawn=True),
      simple("softmax")], (1, 6, 6), 10, dict(epochs=2, batch=5, lr=0.1, loss="cross_entropy",
                                               seed=5)),
    ("validation split",
     classifier([conv(3, 3, 3, drawn=True)]), (1, 6, 6), 16,
     dict(epochs=2, batch=4, lr=0.1, loss="cross_entropy", seed=7, val=0.25)),
]


def run_case(exe, index, case, tmp):
    name, layers, shape, n, o = case
    o = dict(o)
    o.setdefault("seed", 0)
    gen = np.random.default_rng(1000 + index)
    x = gen.uniform(0, 255 if o.pop("scale255", False) else 1, (n,) + shape)
    x = x.astype(np.float32).astype(np.float64)
    net = Net([dict(L) for L in layers], shape, o["seed"], gen)
    classes = int(np.prod(net.out))
    y = [int(v) for v in gen.integers(0, classes, n)]
    text = run_driver(exe, net, x, y, o, tmp)
    epochs, tensors = parse(text)
    history = torch_train(net, x, y, o)
    problems, worst = compare(name, net, history, epochs, tensors)
    if index == 2 and run_driver(exe, net, x, y, o, tmp, threads=3) != text:
        problems.append("threads 3 gave other output")
        print("  %s: threads 3 gave other output" % name)
    print("%-4s %s (largest weight difference %.2g)" % ("ok" if not problems else "FAIL", name, worst))
    return not problems


def main():
    if torch is None:
        print("test_torch_train: SKIP: torch cannot be imported (apt-get install python3-torch)")
        return 77
    exe = os.environ.get("CNNFILTER_TRAIN_DRIVER") or os.path.join(
        HERE, "..", "..", "build", "tests", "train_driver")
    if not os.path.exists(exe):
        print("test_torch_train: SKIP: train_driver is not built")
        return 77
    torch.set_default_dtype(torch.float64)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(CASES):
            try:
                failed += not run_case(exe, i, case, tmp)
            except RuntimeError as e:
                print("FAIL %s: %s" % (case[0], e))
                failed += 1
    print("test_torch_train: %d cases, %d failed" % (len(CASES), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

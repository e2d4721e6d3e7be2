#!/usr/bin/env python3
"""test_learned_torch.py - the learned pipeline layers against PyTorch, through the real binary.

Each case builds a network in torch (default initialisation, fixed seed), saves its weights as
.npy files the way PyTorch stores them (Conv2d.weight (N, C, KH, KW), Linear.weight (N, IN)),
writes the same network as a pipeline (some weights inline as JSON numbers, some from the
.npy files, some layers without bias), runs `cnnfilter --pipeline net.json in.npy out.npy`
and compares the float32 result with torch's float32 forward pass.

Cases:
- "lenet5": affine 1/255, conv 5x5x6 pad 2, relu, maxpool 2, conv 5x5x16, relu, maxpool 2,
  flatten, dense 120, relu, dense 84, relu, dense 10, softmax on 28x28 inputs (0..255);
- "rgb head": conv 3x3 stride 2 without bias (torch's padding_mode "reflect" is our "mirror"),
  tanh, avgpool 2, leaky_relu 0.1, flatten, dense 7 without bias (inline weights), softmax;
- "maps": 1x1 conv to 5 maps, then softmax over the channels at each position (dim=1), and
  a dense layer reading a C x H x W input without a flatten layer.

Tolerance: |cnnfilter - torch| <= 1e-6 + 1e-5 |torch| (cnnfilter sums in double and rounds
once per layer, torch sums in float32).

Prints one line per failing case, then `learned-torch: N passed, M failed`.  Exit status 1
if any case failed, 0 otherwise (also when torch is not installed: the case list is skipped
with a message), 77 if the binary is missing.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN") or os.path.join(ROOT, "build", "cnnfilter"))


def save(folder, name, tensor):
    np.save(os.path.join(folder, name), tensor.detach().numpy())
    return name


def lenet5(tmp, rng):
    import torch
    nn = torch.nn
    torch.manual_seed(5)
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                        nn.Linear(84, 10), nn.Softmax(dim=1))
    folder = os.path.join(tmp, "lenet5")
    os.makedirs(folder)
    w = {i: (save(folder, "w%d.npy" % i, m.weight), save(folder, "b%d.npy" % i, m.bias))
         for i, m in enumerate(net) if hasattr(m, "weight")}
    layers = [{"type": "affine", "scale": 1 / 255},
              {"type": "conv", "weights": w[0][0], "bias": w[0][1], "padding": 2},
              {"type": "relu"}, {"type": "maxpool", "size": 2},
              {"type": "conv", "weights": w[3][0], "bias": w[3][1], "padding": "valid"},
              {"type": "relu"}, {"type": "maxpool", "size": 2}, {"type": "flatten"},
              {"type": "dense", "units": 120, "weights": w[7][0], "bias": w[7][1]},
              {"type": "relu"},
              {"type": "dense", "units": 84, "weights": w[9][0], "bias": w[9][1]},
              {"type": "relu"},
              {"type": "dense", "units": 10, "weights": w[11][0], "bias": w[11][1]},
              {"type": "softmax"}]
    inputs = [np.round(rng.rand(1, 28, 28) * 255).astype(np.float32) for _ in range(3)]
    return run_case_in(folder, "lenet5", net, layers, inputs, 1 / 255)


def run_case_in(folder, name, net, layers, inputs, scale=1.0):
    """Write `layers` as folder/net.json (its weight files are there already), run it on each
    input with the binary and compare with torch's net(input * scale); None when all agree."""
    import torch
    path = os.path.join(folder, "net.json")
    with open(path, "w") as f:
        json.dump({"name": name, "layers": layers}, f)
    for i, x in enumerate(inputs):
        src, out = os.path.join(folder, "in%d.npy" % i), os.path.join(folder, "out%d.npy" % i)
        np.save(src, x)
        r = subprocess.run([BIN, "--pipeline", path, src, out], capture_output=True, text=True)
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        got = np.load(out)
        with torch.no_grad():
            want = net(torch.from_numpy(x)[None] * scale).numpy()[0]
        want = want.reshape(got.shape)
        if (np.abs(got - want) > 1e-6 + 1e-5 * np.abs(want)).any():
            return "input %d: max difference %g" % (i, np.abs(got - want).max())
    return None


def rgb_head(tmp, rng):
    import torch
    nn = torch.nn
    torch.manual_seed(6)
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, padding_mode="reflect", bias=False)
    dense = nn.Linear(4 * 5 * 4, 7, bias=False)
    net = nn.Sequential(conv, nn.Tanh(), nn.AvgPool2d(2), nn.LeakyReLU(0.1), nn.Flatten(),
                        dense, nn.Softmax(dim=1))
    folder = os.path.join(tmp, "rgb_head")
    os.makedirs(folder)
    layers = [{"type": "conv", "weights": save(folder, "conv.npy", conv.weight), "bias": False,
               "padding": 1, "stride": 2, "border": "mirror"},
              {"type": "tanh"}, {"type": "avgpool", "size": 2},
              {"type": "leaky_relu", "slope": 0.1}, {"type": "flatten"},
              {"type": "dense", "units": 7, "bias": False,
               "weights": [[float("%.9g" % v) for v in row]
                           for row in dense.weight.detach().numpy().astype(np.float64)]},
              {"type": "softmax"}]
    inputs = [rng.rand(3, 21, 17).astype(np.float32) * 4 - 2 for _ in range(3)]
    return run_case_in(folder, "rgb head", net, layers, inputs)


def maps(tmp, rng):
    import torch
    nn = torch.nn
    torch.manual_seed(7)
    conv = nn.Conv2d(2, 5, 1)
    net1 = nn.Sequential(conv, nn.Softmax(dim=1))
    folder = os.path.join(tmp, "maps")
    os.makedirs(folder)
    layers = [{"type": "conv", "weights": save(folder, "c.npy", conv.weight),
               "bias": save(folder, "cb.npy", conv.bias)}, {"type": "softmax"}]
    inputs = [rng.rand(2, 6, 7).astype(np.float32) * 10 for _ in range(2)]
    err = run_case_in(folder, "maps", net1, layers, inputs)
    if err:
        return "softmax over channels: " + err
    dense = nn.Linear(2 * 6 * 7, 3)
    net2 = nn.Sequential(nn.Flatten(), dense)
    folder2 = os.path.join(tmp, "maps_dense")
    os.makedirs(folder2)
    layers = [{"type": "dense", "units": 3, "weights": save(folder2, "d.npy", dense.weight),
               "bias": save(folder2, "db.npy", dense.bias)}]
    err = run_case_in(folder2, "maps dense", net2, layers, inputs)
    return "dense without flatten: " + err if err else None


def main():
    if not os.access(BIN, os.X_OK):
        print("learned-torch: no binary at %s" % BIN)
        return 77
    try:
        import torch  # noqa: F401
    except ImportError:
        print("learned-torch: torch is not installed: cases skipped")
        return 0
    rng = np.random.RandomState(20261205)
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="cnf-learned-torch-") as tmp:
        for name, case in (("lenet5", lenet5), ("rgb head", rgb_head), ("maps", maps)):
            err = case(tmp, rng)
            if err:
                print("FAIL %s: %s" % (name, err))
                failed += 1
            else:
                passed += 1
    print("learned-torch: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

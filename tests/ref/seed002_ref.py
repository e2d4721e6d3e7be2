#!/usr/bin/env python3
"""seed002_ref.py - the "kernel feature learning" loop of examples/seed002 in float64 NumPy
(doc/reference.md 10.5 rule 4).

The 5x5 "8" digit, label 8; conv with the kernel [[0,0,0],[0,0,0],[1,0,1]] (valid, no bias),
relu, max pool 2 with ceil, flatten, dense 4 -> 10, softmax; cross entropy; SGD, lr 0.01,
batch 1, 50 epochs.  Written from the textbook loop and cnnfilter(1), not from the C code,
with the rules the textbook leaves open made as doc/reference.md 10.2 says: the max pool's
gradient goes to the FIRST maximum of its window in row-major order (the textbook splits
ties), relu'(0) = 0, and the loss is -log p[label] from the pre-softmax values by
log-sum-exp (the textbook adds 1e-9 inside its log).  The textbook's dense weights were
unseeded random numbers; DENSE_W and DENSE_B below
are fixed starting weights (any would do).

    python3 seed002_ref.py               the 50 per-epoch losses, one per line
    python3 seed002_ref.py --json        losses, start and final weights, and the pipeline
    python3 seed002_ref.py --pipeline    the pipeline document with the start weights
    python3 seed002_ref.py --self-test   the seed's forward values and a gradient check
"""
import json
import sys

import numpy as np

IMAGE = np.array([[0, 1, 1, 1, 0],
                  [0, 1, 0, 1, 0],
                  [0, 1, 1, 1, 0],
                  [0, 1, 0, 1, 0],
                  [0, 1, 1, 1, 0]], dtype=np.float64)
LABEL = 8
KERNEL = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 1.0]]
# W[u][i] (10 x 4, as nn.Linear.weight) and b[u]: small, distinct, exact in float32.
DENSE_W = [[((u * 4 + i) * 7 % 13 - 6) / 64.0 for i in range(4)] for u in range(10)]
DENSE_B = [((u * 3) % 7 - 3) / 128.0 for u in range(10)]
EPOCHS = 50
LR = 0.01


def conv_valid(img, k):
    kh, kw = k.shape
    oh, ow = img.shape[0] - kh + 1, img.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for y in range(oh):
        for x in range(ow):
            out[y, x] = np.sum(img[y:y + kh, x:x + kw] * k)
    return out


def pool_windows(h, w, size=2):
    """Max pool `size`, stride `size`, ceil mode: the clipped windows of each output."""
    oh, ow = -(-h // size), -(-w // size)
    return [[(y * size, min(y * size + size, h), x * size, min(x * size + size, w))
             for x in range(ow)] for y in range(oh)]


def first_max(a, win):
    y0, y1, x0, x1 = win
    best = (y0, x0)
    for y in range(y0, y1):
        for x in range(x0, x1):
            if a[y, x] > a[best]:
                best = (y, x)
    return best


def forward(kernel, w, b, image=IMAGE):
    feat = conv_valid(image, kernel)
    act = np.maximum(feat, 0.0)
    wins = pool_windows(*act.shape)
    picks = [[first_max(act, win) for win in row] for row in wins]
    pooled = np.array([[act[p] for p in row] for row in picks])
    f = pooled.reshape(-1)
    z = w @ f + b
    return feat, act, picks, f, z


def loss_of(z, label):
    m = np.max(z)
    return float(m + np.log(np.sum(np.exp(z - m))) - z[label])


def step(kernel, w, b, lr=LR, label=LABEL, image=IMAGE):
    """One SGD step on the one sample: (loss before the step, new kernel, w, b)."""
    feat, act, picks, f, z = forward(kernel, w, b, image)
    loss = loss_of(z, label)
    p = np.exp(z - np.max(z))
    p /= np.sum(p)
    dz = p.copy()
    dz[label] -= 1.0
    dw, db, df = np.outer(dz, f), dz, w.T @ dz
    dact = np.zeros_like(act)
    for (y, x), g in zip([q for row in picks for q in row], df):
        dact[y, x] += g
    dfeat = dact * (feat > 0)
    kh, kw = kernel.shape
    dk = np.zeros_like(kernel)
    for i in range(kh):
        for j in range(kw):
            dk[i, j] = np.sum(image[i:i + feat.shape[0], j:j + feat.shape[1]] * dfeat)
    return loss, kernel - lr * dk, w - lr * dw, b - lr * db


def reference(epochs=EPOCHS, lr=LR, kernel=KERNEL, dense_w=DENSE_W, dense_b=DENSE_B):
    """Per-epoch losses and the final (kernel, w, b), all float64."""
    k, w, b = (np.array(kernel, dtype=np.float64), np.array(dense_w, dtype=np.float64),
               np.array(dense_b, dtype=np.float64))
    losses = []
    for _ in range(epochs):
        loss, k, w, b = step(k, w, b, lr)
        losses.append(loss)
    return losses, k, w, b


def pipeline(kernel=KERNEL, dense_w=DENSE_W, dense_b=DENSE_B):
    """The pipeline document of the loop (cnnfilter(1) PIPELINES, doc/reference.md 10.1)."""
    return {"layers": [
        {"type": "conv", "kernels": [{"weights": kernel}], "padding": "valid", "bias": False},
        {"type": "relu"},
        {"type": "maxpool", "size": 2, "ceil": True},
        {"type": "flatten"},
        {"type": "dense", "units": 10, "weights": dense_w, "bias": dense_b},
        {"type": "softmax"}]}


def self_test():
    k = np.array(KERNEL)
    feat, act, picks, f, _ = forward(k, np.array(DENSE_W), np.array(DENSE_B))
    assert feat.tolist() == [[1, 2, 1], [0, 2, 0], [1, 2, 1]], feat
    assert f.tolist() == [2, 1, 2, 1], f
    assert picks[0][0] == (0, 1), picks  # the tie 2, 2 in window (0, 0): the first
    # The gradient of the loss with respect to the kernel and the dense weights against
    # central differences (at the start, relu'(0) and the pool tie are not perturbed away
    # by a small h: check a point moved off them).
    k0 = k + np.array([[0.01, -0.02, 0.03], [0.015, 0.005, -0.01], [0.02, 0.012, -0.007]])
    w0, b0 = np.array(DENSE_W), np.array(DENSE_B)
    _, k1, w1, b1 = step(k0, w0, b0, lr=1.0)
    dk, dw = k0 - k1, w0 - w1
    h = 1e-6
    for idx in np.ndindex(k0.shape):
        kp, km = k0.copy(), k0.copy()
        kp[idx] += h
        km[idx] -= h
        num = (loss_of(forward(kp, w0, b0)[4], LABEL) - loss_of(forward(km, w0, b0)[4], LABEL)) / (2 * h)
        assert abs(num - dk[idx]) < 1e-6, (idx, num, dk[idx])
    for idx in [(8, 0), (3, 2), (0, 3)]:
        wp, wm = w0.copy(), w0.copy()
        wp[idx] += h
        wm[idx] -= h
        num = (loss_of(forward(k0, wp, b0)[4], LABEL) - loss_of(forward(k0, wm, b0)[4], LABEL)) / (2 * h)
        assert abs(num - dw[idx]) < 1e-6, (idx, num, dw[idx])
    losses, _, _, _ = reference()
    assert len(losses) == EPOCHS and losses[-1] < losses[0], losses
    print("seed002_ref: self-test passed (first loss %.6f, last %.6f)" % (losses[0], losses[-1]))
    return 0


def main():
    if "--self-test" in sys.argv:
        return self_test()
    if "--pipeline" in sys.argv:
        print(json.dumps(pipeline(), indent=1))
        return 0
    losses, k, w, b = reference()
    if "--json" in sys.argv:
        print(json.dumps({"losses": losses, "kernel": k.tolist(), "dense_weights": w.tolist(),
                          "dense_bias": b.tolist(), "pipeline": pipeline()}))
        return 0
    for v in losses:
        print("%.10f" % v)
    return 0


if __name__ == "__main__":
    sys.exit(main())

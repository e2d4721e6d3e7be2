#!/usr/bin/env python3
"""test_seed002.py - the examples/seed002 learning loop through cnf_train equals the float64 reference.

Runs the test tool train_driver (CNNFILTER_TRAIN_DRIVER, or build/tests/train_driver) on the
5x5 "8" digit with the loop of seed002_ref.py (SPEC 10.5 rule 4) and checks every epoch's loss
against the reference to 1e-4 (float32 training against float64: measured differences are
near 1e-7), and the learned kernel and dense weights to 1e-4.  Exit 0 on success, 1 on a
difference, 77 when the driver is not built.
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import numpy as np  # noqa: E402

import seed002_ref as ref  # noqa: E402


def driver():
    path = os.environ.get("CNNFILTER_TRAIN_DRIVER") or os.path.join(
        HERE, "..", "..", "build", "tests", "train_driver")
    return path if os.path.exists(path) else None


def parse(text):
    """(per-epoch losses, {(layer, what): values}) from the driver's output."""
    losses, tensors = [], {}
    for line in text.splitlines():
        f = line.split()
        if f[0] == "epoch":
            losses.append(float(f[3]))
        else:
            tensors[(int(f[0]), f[1] + " " + f[2])] = np.array([float(v) for v in f[3:]])
    return losses, tensors


def main():
    exe = driver()
    if not exe:
        print("test_seed002: SKIP: train_driver is not built")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), ref.IMAGE.astype(np.float32).reshape(1, 1, 5, 5))
        np.save(os.path.join(tmp, "y.npy"), np.array([ref.LABEL], dtype=np.int64))
        np.save(os.path.join(tmp, "w.npy"), np.array(ref.DENSE_W, dtype=np.float32))
        np.save(os.path.join(tmp, "b.npy"), np.array(ref.DENSE_B, dtype=np.float32))
        kernel = '{"type": "conv", "kernels": [{"weights": %s}], "padding": "valid"}' % ref.KERNEL
        cmd = [exe, "--epochs", str(ref.EPOCHS), "--batch", "1", "--lr", str(ref.LR),
               "--optimizer", "sgd", "--loss", "cross_entropy",
               os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy"), "-",
               kernel, "--no-bias", '{"type": "relu"}',
               '{"type": "maxpool", "size": 2, "ceil": true}', "flatten",
               "dense:10:%s:%s" % (os.path.join(tmp, "w.npy"), os.path.join(tmp, "b.npy")),
               "softmax"]
        run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print("test_seed002: the driver failed: %s" % run.stderr.strip())
        return 1
    losses, tensors = parse(run.stdout)
    want, k, w, b = ref.reference()
    failures = 0
    if len(losses) != len(want):
        print("test_seed002: %d epochs, expected %d" % (len(losses), len(want)))
        return 1
    worst = max(abs(a - e) for a, e in zip(losses, want))
    for i, (a, e) in enumerate(zip(losses, want)):
        if abs(a - e) > 1e-4:
            print("test_seed002: epoch %d: loss %.8f, reference %.8f" % (i + 1, a, e))
            failures += 1
    for key, exp in (((0, "conv weights"), k.reshape(-1)), ((4, "dense weights"), w.reshape(-1)),
                     ((4, "dense bias"), b)):
        got = tensors.get(key)
        if got is None or got.shape != exp.shape or np.max(np.abs(got - exp)) > 1e-4:
            print("test_seed002: %s %s differ: %s vs %s" % (key[0], key[1], got, exp))
            failures += 1
    print("test_seed002: %d epochs, largest loss difference %.2g, first %.6f, last %.6f: %s"
          % (len(losses), worst, losses[0], losses[-1], "FAILED" if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

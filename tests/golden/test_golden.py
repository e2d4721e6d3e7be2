#!/usr/bin/env python3
"""test_golden.py - run every case of cases.txt through cnnfilter and compare the decoded pixels
with the golden PNG made by the independent reference (make_goldens.py).

Exact equality is required, except where a case's weights are not exact binary fractions
(non-dyadic scale, sampled Gaussian, float luma): there the float32 result may land on the
other side of a rounding tie from the float64 reference, so 1 level is allowed and counted.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import cnnref  # noqa: E402
from make_goldens import read_cases  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))


def inexact(args):
    s = " ".join(args)
    return ("--channels gray" in s or "0.333" in s or
            any(a.startswith("gaussian:") and a.count(":") == 2 for a in args))


def main():
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="cnnfilter-golden-")
    try:
        for name, args in read_cases():
            out = os.path.join(tmp, name + ".png")
            r = subprocess.run([BIN] + args + [out], cwd=ROOT, capture_output=True, timeout=120)
            if r.returncode != 0:
                print("FAIL %s: exit %d: %s" % (name, r.returncode, r.stderr.decode().strip()))
                failed += 1
                continue
            with open(out, "rb") as f:
                got = cnnref.png_read(f.read()).astype(int)
            with open(os.path.join(HERE, name + ".png"), "rb") as f:
                want = cnnref.png_read(f.read()).astype(int)
            if got.shape != want.shape:
                print("FAIL %s: shape %s, golden %s" % (name, got.shape, want.shape))
                failed += 1
                continue
            diff = np.abs(got - want)
            tol = 1 if inexact(args) else 0
            if diff.max() > tol:
                y, x, c = np.unravel_index(diff.argmax(), diff.shape)
                print("FAIL %s: max difference %d at (%d,%d,%d): %d, golden %d (allowed %d)"
                      % (name, diff.max(), y, x, c, got[y, x, c], want[y, x, c], tol))
                failed += 1
                continue
            print("ok   %s%s" % (name, " (%d pixels off by 1)" % (diff > 0).sum() if diff.max() else ""))
            passed += 1
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print("golden: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""make_goldens.py - (re)make tests/golden/*.png with the independent NumPy reference.

Usage: /usr/bin/python3 tests/golden/make_goldens.py [NAME...]
Each line of cases.txt is run through tests/ref/cnnref.py (written from doc/reference.md, sharing no
code with cnnfilter).  The reference has no gaussian:N:SIGMA or composite kernels, so this
script adds those two from the reference's formulas.  Review the PNGs before committing them.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
import cnnref  # noqa: E402

COMPOSITES = {"sobel": ("sobel_v", "sobel_h"), "prewitt": ("prewitt_v", "prewitt_h"),
              "scharr": ("scharr_v", "scharr_h")}


def read_cases():
    cases = []
    with open(os.path.join(HERE, "cases.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, args = (s.strip() for s in line.split("|", 1))
            cases.append((name, args.split()))
    return cases


def sigma_gaussian(n, sigma):
    c = (n - 1) / 2.0
    y, x = np.mgrid[0:n, 0:n] - c
    w = np.exp(-(x * x + y * y) / (2.0 * sigma * sigma))
    return w / w.sum()


def reference(args, out):
    argv = list(args)
    k = argv[argv.index("-k") + 1]
    base = k.split(":")[0]
    if base == "gaussian" and k.count(":") == 2:
        n, s = k.split(":")[1:]
        argv[argv.index("-k") + 1] = repr(sigma_gaussian(int(n), float(s)).tolist())
    if base in COMPOSITES and k == base:
        maps = []
        for part in COMPOSITES[base]:
            a = list(argv)
            a[a.index("-k") + 1] = part
            opts, res = cnnref.run_argv(a + [out])
            maps.append(res)
        res = maps[0]
        res.colour = np.sqrt(maps[0].colour ** 2 + maps[1].colour ** 2)
        cnnref.write_output(res, opts)
        return
    opts, res = cnnref.run_argv(argv + [out])
    cnnref.write_output(res, opts)


def main(names):
    os.chdir(ROOT)
    for name, args in read_cases():
        if names and name not in names:
            continue
        out = os.path.join(HERE, name + ".png")
        reference(args, out)
        print("wrote", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main(sys.argv[1:])

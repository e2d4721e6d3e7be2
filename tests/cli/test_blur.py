#!/usr/bin/env python3
"""test_blur.py - blurs through the real binary: gaussian::SIGMA against OpenCV and a NumPy
float64 reference on every border, the two-pass path's bound, --explain, the same bytes for
any -j, and integer separable kernels still exact.

The references are independent of cnnfilter: OpenCV's GaussianBlur and filter2D (its
BORDER_REPLICATE is cnnfilter's `--border replicate`), and a direct float64 sum over a
NumPy-padded image.  Outputs are read as .npy (the exact float32 values) or decoded PNG.
The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import math
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-blur-")

# cnnfilter border -> numpy.pad mode
NP_MODE = {"zero": "constant", "replicate": "edge", "reflect": "symmetric", "mirror": "reflect",
           "wrap": "wrap"}


def path(*p):
    return os.path.join(TMP, *p)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP,
                       timeout=120)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, "exit %d: %s" % (rc, err)
    return out, err


def photo(name, w, h, channels, seed):
    """A smooth random 8-bit image with edges (blurs have something to do), as PNG."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 127 + 100 * np.sin(x / 7.0) * np.cos(y / 5.0)
    im = np.stack([base + rng.integers(-40, 41, (h, w)) for _ in range(channels)], axis=-1)
    im[h // 3:h // 2, w // 4:w // 2] = 250
    im = np.clip(im, 0, 255).astype(np.uint8)
    p = path(name)
    assert cv2.imwrite(p, im if channels == 3 else im[:, :, 0])
    return p, im.astype(np.float64)  # (h, w, c), RGB order is cv2's BGR: planes as stored


def gauss1d(sigma, n):
    x = np.arange(n) - (n - 1) / 2.0
    g = np.exp(-x * x / (2 * sigma * sigma))
    return g / g.sum()


def ref_conv(im, k, border):
    """Direct float64 cross-correlation, 'same' padding (before = (k-1)//2), per channel."""
    kh, kw = k.shape
    pt, pl = (kh - 1) // 2, (kw - 1) // 2
    h, w, c = im.shape
    mode = NP_MODE[border]
    p = np.pad(im, ((pt, kh - 1 - pt), (pl, kw - 1 - pl), (0, 0)), mode=mode)
    out = np.zeros((h, w, c))
    for i in range(kh):
        for j in range(kw):
            if k[i, j] != 0:
                out += k[i, j] * p[i:i + h, j:j + w]
    return out


def npy_hwc(p):
    """An .npy output (C, H, W), RGB, as (H, W, C) in OpenCV's BGR order."""
    a = np.transpose(np.load(p).astype(np.float64), (1, 2, 0))
    return a[:, :, ::-1] if a.shape[2] == 3 else a


def bound(k, vmax):
    """doc/reference.md: (kh + kw + 8) * 2^-24 * sum|w| * max|input| (no scale, no bias)."""
    return (k.shape[0] + k.shape[1] + 8) * 2.0 ** -24 * np.abs(k).sum() * vmax


def gaussian_by_sigma_matches_opencv_gaussianblur_with_replicate():
    src, im = photo("g.png", 61, 47, 3, 1)
    ok("-k", "gaussian::2", "--border", "replicate", src, path("g.npy"))
    got = npy_hwc(path("g.npy"))
    assert got.shape == im.shape, got.shape
    # 2*ceil(3*2)+1 = 13; OpenCV's own Gaussian weights for (13, sigma 2), in float32
    cvo = cv2.GaussianBlur(im.astype(np.float32), (13, 13), 2, borderType=cv2.BORDER_REPLICATE)
    d = np.abs(got - cvo).max()
    assert d < 2e-3, "max |cnnfilter - GaussianBlur| = %g" % d
    # and as 8-bit PNG: OpenCV on uint8 rounds too; within one level
    ok("-k", "gaussian::2", "--border", "replicate", src, path("g8.png"))
    got8 = cv2.imread(path("g8.png"), cv2.IMREAD_UNCHANGED).astype(int)
    cv8 = cv2.GaussianBlur(im.astype(np.uint8), (13, 13), 2,
                           borderType=cv2.BORDER_REPLICATE).astype(int)
    assert np.abs(got8 - cv8).max() <= 1, np.abs(got8 - cv8).max()
    # a real blur: far from the input
    assert np.abs(got - im).max() > 50


def gaussian_by_sigma_equals_filter2d_with_the_same_kernel():
    src, im = photo("f.png", 40, 33, 1, 2)
    k = np.outer(gauss1d(1.5, 11), gauss1d(1.5, 11))  # 2*ceil(4.5)+1 = 11
    ok("-k", "gaussian::1.5", "--border", "replicate", src, path("f.npy"))
    got = npy_hwc(path("f.npy"))[:, :, 0]
    cvo = cv2.filter2D(im[:, :, 0], -1, k, borderType=cv2.BORDER_REPLICATE)  # float64
    d = np.abs(got - cvo).max()
    assert d <= bound(k, 255), "max |cnnfilter - filter2D| = %g > %g" % (d, bound(k, 255))


def every_border_within_the_bound_of_a_float64_sum():
    src, im = photo("b.png", 37, 29, 3, 3)
    for sigma, n in (("1.2", 9), ("0.5", 5)):
        k = np.outer(gauss1d(float(sigma), n), gauss1d(float(sigma), n))
        for border in NP_MODE:
            out = path("b_%s_%s.npy" % (border, sigma))
            ok("-k", "gaussian::" + sigma, "--border", border, src, out)
            got = npy_hwc(out)
            ref = ref_conv(im, k, border)
            d = np.abs(got - ref).max()
            assert d <= bound(k, 255), "%s sigma %s: %g > %g" % (border, sigma, d,
                                                                bound(k, 255))
            # the bound is no blanket: a border off by one cell is far outside it
            other = ref_conv(im, k, "zero" if border != "zero" else "replicate")
            assert np.abs(got - other).max() > 1, border


def rank1_fraction_kernel_with_stride_and_dilation():
    src, im = photo("s.png", 45, 38, 1, 4)
    u, v = np.array([0.25, -0.5, 1.0]), np.array([0.1, 0.7, 0.3, -0.2])
    k = np.outer(u, v)
    spec = "[" + ",".join("[" + ",".join(repr(float(x)) for x in row) + "]" for row in k) + "]"
    args = ["-k", spec, "--padding", "valid", "--stride", "2,3", "--dilation", "2", src,
            path("s.npy")]
    out, _ = ok("--explain", *args)
    assert "separable 3x1 then 1x4 in float32" in out, out
    ok(*args)
    got = npy_hwc(path("s.npy"))[:, :, 0]
    a = im[:, :, 0]
    oh, ow = (38 - 5) // 2 + 1, (45 - 7) // 3 + 1
    ref = np.zeros((oh, ow))
    for i in range(3):
        for j in range(4):
            ref += k[i, j] * a[2 * i:2 * i + 2 * (oh - 1) + 1:2, 2 * j:2 * j + 3 * (ow - 1) + 1:3]
    assert got.shape == ref.shape, (got.shape, ref.shape)
    d = np.abs(got - ref).max()
    assert d <= bound(k, 255), d


def explain_names_the_two_passes_and_sizes_from_sigma():
    src, _ = photo("e.png", 20, 20, 1, 5)
    out, _ = ok("--explain", "-k", "gaussian::5", src, path("e_out.png"))
    assert "gaussian--5 31x31" in out, out
    assert "path: separable 31x1 then 1x31 in float32" in out, out
    out, _ = ok("--explain", "--portable", "-k", "gaussian::5", src, path("e_out.png"))
    assert "direct, 961 non-zero taps, double accumulation" in out, out
    # an integer kernel keeps its exact path
    out, _ = ok("--explain", "-k", "gaussian:9", src, path("e_out.png"))
    assert "path: separable 9x1 then 1x9;" in out, out


def any_thread_count_gives_the_same_bytes():
    src, _ = photo("j.png", 517, 301, 3, 6)  # many bands of 32 rows
    outs = []
    for j, name in ((1, "j1"), (2, "j2"), (2, "j2b"), (3, "j3")):
        ok("-j", j, "-k", "gaussian::3", "--border", "reflect", src, path(name + ".npy"))
        with open(path(name + ".npy"), "rb") as f:
            outs.append(f.read())
    assert outs[0] == outs[1] == outs[2] == outs[3], "outputs differ between -j values"


def integer_separable_kernels_stay_exact():
    src, im = photo("i.png", 50, 41, 3, 7)
    for spec, n in (("gaussian:5", 5), ("gaussian:9", 9)):
        row = np.array([math.comb(n - 1, j) for j in range(n)], dtype=np.float64)
        k = np.outer(row, row)
        ok("-k", spec, "--border", "mirror", src, path("i.npy"))
        got = npy_hwc(path("i.npy"))
        ref = (ref_conv(im, k, "mirror") / 4.0 ** (n - 1)).astype(np.float32)
        assert np.array_equal(got, ref), spec
    ok("-k", "box:5", "--border", "zero", src, path("x.npy"))
    got = npy_hwc(path("x.npy"))
    ref = (ref_conv(im, np.ones((5, 5)), "zero") / 25.0).astype(np.float32)
    assert np.array_equal(got, ref)


def a_sigma_too_big_for_the_size_limit_is_a_usage_error():
    src, _ = photo("z.png", 8, 8, 1, 8)
    rc, _, err = run("-k", "gaussian::50", src, path("z_out.png"))
    assert rc == 2, rc
    line = harness.one_error_line(err, "cnnfilter: --kernel: ")
    assert "2*ceil(3*sigma)+1 = 301" in line and "255" in line, line
    assert not os.path.exists(path("z_out.png"))
    rc, _, err = run("-k", "gaussian::", src, path("z_out.png"))
    assert rc == 2 and "sigma of 'gaussian' must be a positive number" in err, err


def the_kernels_listing_shows_the_sigma_form():
    out, _ = ok("kernels")
    line = [ln for ln in out.splitlines() if ln.startswith("gaussian")]
    assert line and "gaussian::SIGMA" in line[0] and "2*ceil(3*SIGMA)+1" in line[0], line
    out, _ = ok("show-kernel", "gaussian::1")
    assert "7 x 7" in out and "separable: yes" in out, out


TESTS = [
    gaussian_by_sigma_matches_opencv_gaussianblur_with_replicate,
    gaussian_by_sigma_equals_filter2d_with_the_same_kernel,
    every_border_within_the_bound_of_a_float64_sum,
    rank1_fraction_kernel_with_stride_and_dilation,
    explain_names_the_two_passes_and_sizes_from_sigma,
    any_thread_count_gives_the_same_bytes,
    integer_separable_kernels_stay_exact,
    a_sigma_too_big_for_the_size_limit_is_a_usage_error,
    the_kernels_listing_shows_the_sigma_form,
]


def main():
    return harness.run_tests("blur", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

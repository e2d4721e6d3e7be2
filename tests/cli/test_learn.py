#!/usr/bin/env python3
"""test_learn.py - `cnnfilter learn` through the real binary (reference 10.4).

Targets come from the independent float64 reference (tests/ref/cnnref.py) as exact .npy
files, from the filter itself as 8-bit PNGs, and from ImageMagick's -morphology Correlate and
Convolve (skipped with a message when ImageMagick is not installed).  The learned kernel file
is read back with -k.  Usage errors exit 2 naming the flag, runtime failures exit 1 naming the
file, and no KERNEL.json (nor a temporary file) is left by a failure.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-learn-")
one_error_line = harness.one_error_line


def path(name):
    return os.path.join(TMP, name)


def run(*args, stdin=None):
    r = subprocess.run([BIN] + [str(a) for a in args], input=stdin, capture_output=True,
                       cwd=TMP, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def learn(*args, stdin=None):
    return run("learn", *args, stdin=stdin)


def noise_png(name, h, w, c=1, seed=1, lo=0, hi=256):
    px = np.random.default_rng(seed).integers(lo, hi, size=(h, w, c), dtype=np.uint8)
    with open(path(name), "wb") as f:
        f.write(cnnref.png_write(px))
    return np.moveaxis(px.astype(np.float64), 2, 0)


def reference(colour, w, padding="same", border="replicate", stride=(1, 1), dilation=1,
              bias=0.0, channels="auto"):
    """The filter's result in float64 by the independent reference: (C, OH, OW)."""
    if channels == "gray":
        colour = cnnref.luma(colour)
    h, wd = colour.shape[1:]
    kh, kw = w.shape[-2:]
    sy, sx = stride
    pt, pb = cnnref.pad_amounts(h, kh, sy, dilation, padding, 0)
    pl, pr = cnnref.pad_amounts(wd, kw, sx, dilation, padding, 1)
    oh = cnnref.out_size(h, kh, sy, dilation, pt, pb)
    ow = cnnref.out_size(wd, kw, sx, dilation, pl, pr)

    def corr(plane, wk):
        return cnnref.correlate_plane(plane, wk, sy, sx, dilation, pt, pl, oh, ow, border)
    if w.ndim == 3:
        return (sum(corr(colour[c], w[c]) for c in range(colour.shape[0])) + bias)[None]
    return np.stack([corr(colour[c], w) for c in range(colour.shape[0])]) + bias


def kernel_file(name):
    with open(path(name)) as f:
        doc = json.load(f)
    return np.array(doc["weights"], dtype=np.float64), doc.get("bias", 0), doc


def random_kernel(rng, *shape):
    return rng.uniform(-1, 1, size=shape)


# --------------------------------------------------------------------------- exact targets

def npy_targets_give_random_kernels_back_for_every_geometry():
    rng = np.random.default_rng(7)
    img = noise_png("n1.png", 41, 37)
    cases = [
        dict(),
        dict(border="zero"),
        dict(border="reflect", bias=3.25),
        dict(border="mirror", stride=(2, 2)),
        dict(border="wrap", padding=(2, 3), bias=-7.5),
        dict(padding="valid", stride=(2, 3), dilation=2),
        dict(padding="valid", dilation=3),
    ]
    sizes = [(3, 3), (4, 4), (2, 5), (5, 3), (3, 3), (3, 2), (2, 2)]
    for case, (kh, kw) in zip(cases, sizes):
        w = random_kernel(rng, kh, kw)
        t = reference(img, w, **case)
        np.save(path("t.npy"), t[0])
        args = ["--size", "%dx%d" % (kh, kw), "n1.png", "t.npy", "-o", "k.json"]
        if "bias" in case:
            args.append("--bias")
        if "border" in case:
            args += ["--border", case["border"]]
        if "padding" in case:
            p = case["padding"]
            args += ["--padding", p if isinstance(p, str) else "%d,%d" % p]
        if "stride" in case:
            args += ["--stride=%d,%d" % case["stride"]]
        if "dilation" in case:
            args += ["--dilation", case["dilation"]]
        rc, out, err = learn(*args)
        assert rc == 0, (case, err)
        got, b, _ = kernel_file("k.json")
        assert got.shape == (kh, kw), (case, got.shape)
        assert np.abs(got - w).max() < 1e-6, (case, np.abs(got - w).max())
        assert abs(b - case.get("bias", 0)) < 1e-6, (case, b)


def gray_shared_rgb_and_sum_channel_rules_come_back():
    rng = np.random.default_rng(11)
    img = noise_png("rgb.png", 30, 34, 3, seed=5)
    # auto: one kernel shared by R, G and B, an RGB target.
    w = random_kernel(rng, 3, 3)
    np.save(path("t3.npy"), reference(img, w))
    rc, out, err = learn("--size", 3, "rgb.png", "t3.npy", "-o", "k.json")
    assert rc == 0 and "from 3060 values" in err, err
    assert np.abs(kernel_file("k.json")[0] - w).max() < 1e-6
    # gray: luma of the input against a one-channel target.
    np.save(path("tg.npy"), reference(img, w, channels="gray", bias=2)[0])
    rc, out, err = learn("--size", 3, "--bias", "--channels", "gray", "rgb.png", "tg.npy",
                         "-o", "k.json")
    assert rc == 0 and "from 1020 values" in err, err
    got, b, _ = kernel_file("k.json")
    assert np.abs(got - w).max() < 1e-6 and abs(b - 2) < 1e-5, (got - w, b)
    # sum: a 3-D kernel over the channels against one channel.
    w3 = random_kernel(rng, 3, 2, 3)
    np.save(path("ts.npy"), reference(img, w3, border="zero")[0])
    rc, out, err = learn("--size", "2x3", "--channels", "sum", "--border", "zero", "rgb.png",
                         "ts.npy", "-o", "k3.json")
    assert rc == 0 and "2x3 kernel over 3 channels" in err, err
    got, b, doc = kernel_file("k3.json")
    assert got.shape == (3, 2, 3) and np.abs(got - w3).max() < 1e-6


# --------------------------------------------------------------------------- 8-bit targets

def an_8bit_png_target_of_the_filter_comes_back_and_reruns_with_k():
    noise_png("n2.png", 64, 64, seed=2, lo=30, hi=226)
    with open(path("sharp.json"), "w") as f:
        json.dump({"weights": [[0, -0.5, 0], [-0.5, 3, -0.5], [0, -0.5, 0]], "bias": 4}, f)
    rc, out, err = run("-k", "sharp.json", "--border", "replicate", "n2.png", "t8.png")
    assert rc == 0, err
    rc, out, err = learn("--size", 3, "--bias", "n2.png", "t8.png", "-o", "k8.json")
    assert rc == 0, err
    assert err.startswith("cnnfilter: learned 3x3 kernel (+ bias) from ") and "left out as clipped" in err
    assert "RMS residual" in err and ", max " in err, err
    got, b, _ = kernel_file("k8.json")
    want = np.array([[0, -0.5, 0], [-0.5, 3, -0.5], [0, -0.5, 0]])
    assert np.abs(got - want).max() < 0.01 and abs(b - 4) < 0.5, (got, b)
    # Kept, the clamped values pull the fit away.
    rc, out, err = learn("--size", 3, "--bias", "--keep-clipped", "n2.png", "t8.png", "-o",
                         "kk.json")
    assert rc == 0 and "left out" not in err, err
    assert np.abs(kernel_file("kk.json")[0] - want).max() > 0.05
    # The learned kernel file works with -k and remakes the target to rounding.
    rc, out, err = run("-k", "k8.json", "--border", "replicate", "n2.png", "again.png")
    assert rc == 0, err
    rc, out, err = run("compare", "--tolerance", 1, "t8.png", "again.png")
    assert rc == 0, out


def imagemagick(*args):
    exe = shutil.which("convert")
    if not exe:
        return None
    r = subprocess.run([exe, "-version"], capture_output=True)
    if not r.stdout.startswith(b"Version: ImageMagick"):
        return None
    r = subprocess.run([exe] + list(args), capture_output=True, cwd=TMP)
    assert r.returncode == 0, r.stderr
    return True


IM_KERNEL = np.array([[0.1, -0.2, 0.3], [0.05, 0.5, 0.15], [-0.1, 0.2, 0.05]])
IM_SPEC = "3x3: " + " ".join(",".join("%g" % v for v in row) for row in IM_KERNEL)


def imagemagick_correlate_comes_back_to_0_01_from_its_8bit_output():
    noise_png("im_in.png", 96, 96, 3, seed=3)
    if not imagemagick("im_in.png", "-define", "convolve:scale=1", "-morphology", "Correlate",
                       IM_SPEC, "im_corr.png"):
        print("     (skipped: ImageMagick's convert is not installed)")
        return
    rc, out, err = learn("--size", 3, "im_in.png", "im_corr.png", "-o", "im.json")
    assert rc == 0, err
    got = kernel_file("im.json")[0]
    assert np.abs(got - IM_KERNEL).max() < 0.01, got


def imagemagick_convolve_comes_back_rotated_by_180_degrees():
    noise_png("im_in1.png", 96, 96, seed=4, lo=20, hi=236)
    if not imagemagick("im_in1.png", "-define", "convolve:scale=1", "-morphology", "Convolve",
                       IM_SPEC, "im_conv.png"):
        print("     (skipped: ImageMagick's convert is not installed)")
        return
    rc, out, err = learn("--size", 3, "im_in1.png", "im_conv.png", "-o", "imc.json")
    assert rc == 0, err
    got = kernel_file("imc.json")[0]
    assert np.abs(got - IM_KERNEL[::-1, ::-1]).max() < 0.01, got
    assert np.abs(got - IM_KERNEL).max() > 0.1


# --------------------------------------------------------------------------- failures

def usage_errors_exit_2_with_one_line_naming_the_flag():
    noise_png("u.png", 10, 10)
    cases = [
        (["u.png", "u.png", "-o", "x.json"], "cnnfilter: --size: is required"),
        (["--size", "0", "u.png", "u.png", "-o", "x.json"], "cnnfilter: --size: '0' is not"),
        (["--size", "32", "u.png", "u.png", "-o", "x.json"], "cnnfilter: --size: '32' is not"),
        (["--size", "3x", "u.png", "u.png", "-o", "x.json"], "cnnfilter: --size: "),
        (["--size", "3", "--padding", "some", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --padding: 'some' is not"),
        (["--size", "3", "--border", "edge", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --border: 'edge' is not one of: zero, replicate"),
        (["--size", "3", "--channels", "rgb", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --channels: 'rgb' is not one of: auto, gray, sum"),
        (["--size", "3", "--stride", "0", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --stride: "),
        (["--size", "3", "--dilation", "x", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --dilation: "),
        (["--size", "3", "--bias=1", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --bias: takes no value"),
        (["--size", "3", "--frobnicate", "u.png", "u.png", "-o", "x.json"],
         "cnnfilter: --frobnicate: not an option of learn"),
        (["--size", "3", "u.png", "u.png"], "cnnfilter: --output: is required"),
        (["--size", "3", "u.png", "-o", "x.json"], "cnnfilter: learn needs INPUT and TARGET"),
        (["--size", "3", "u.png", "u.png", "u.png", "-o", "x.json"], "cnnfilter: u.png: "),
        (["--size", "3", "-", "-", "-o", "x.json"], "cnnfilter: -: standard input"),
        (["--size", "3", "u.png", "u.png", "-o", "u.png"], "cnnfilter: u.png: the kernel file "
                                                            "would overwrite INPUT"),
        (["--size", "3", "u.png", "u.png", "-o"], "cnnfilter: --output: needs a value"),
    ]
    for args, prefix in cases:
        rc, out, err = learn(*args)
        assert rc == 2 and out == b"", (args, rc, err)
        line = one_error_line(err, prefix)
        assert line.endswith("(try 'cnnfilter learn --help')"), line
        assert not os.path.exists(path("x.json")), args


def settings_the_images_make_wrong_are_usage_errors_of_learn():
    np.save(path("five.npy"), np.random.default_rng(3).uniform(0, 1, size=(5, 40, 40)))
    np.save(path("one.npy"), np.zeros((40, 40)))
    rc, out, err = learn("--size", 31, "--channels", "sum", "five.npy", "one.npy", "-o", "x.json")
    assert rc == 2, err
    one_error_line(err, "cnnfilter: --size: a 31x31 kernel over 5 channels has 4805 unknowns, "
                        "over the limit of 4096 (try 'cnnfilter learn --help')")
    np.save(path("two.npy"), np.zeros((2, 40, 40)))
    rc, out, err = learn("--size", 3, "--channels", "gray", "two.npy", "one.npy", "-o", "x.json")
    assert rc == 2, err
    one_error_line(err, "cnnfilter: --channels: 'gray' needs a gray or RGB input")
    assert not os.path.exists(path("x.json"))


def a_flat_input_is_refused_naming_it_and_no_kernel_is_written():
    with open(path("flat.png"), "wb") as f:
        f.write(cnnref.png_write(np.full((20, 20, 1), 90, dtype=np.uint8)))
    with open(path("old.json"), "w") as f:
        f.write("old")
    rc, out, err = learn("--size", 3, "--bias", "flat.png", "flat.png", "-o", "old.json")
    assert rc == 1, err
    one_error_line(err, "cnnfilter: flat.png: the input has too little variation to "
                        "determine the kernel")
    assert open(path("old.json")).read() == "old"
    harness.assert_no_temp_files(TMP)


def a_target_of_the_wrong_size_is_refused_with_both_sizes():
    noise_png("a.png", 20, 30)
    noise_png("b.png", 20, 30)
    rc, out, err = learn("--size", 3, "--padding", "valid", "a.png", "b.png", "-o", "w.json")
    assert rc == 1
    line = one_error_line(err, "cnnfilter: b.png: is 30x20 pixels")
    assert "makes 28x18 from the 30x20 input" in line, line
    assert not os.path.exists(path("w.json"))
    # Channels that do not match: an RGB target for a gray input.
    noise_png("c.png", 20, 30, 3)
    rc, out, err = learn("--size", 3, "a.png", "c.png", "-o", "w.json")
    assert rc == 1
    one_error_line(err, "cnnfilter: c.png: has 3 channels but the input has 1")
    assert not os.path.exists(path("w.json"))


def unreadable_and_corrupt_files_exit_1_naming_them():
    noise_png("r.png", 12, 12)
    rc, out, err = learn("--size", 3, "missing.png", "r.png", "-o", "w.json")
    assert rc == 1
    one_error_line(err, "cnnfilter: missing.png: ")
    with open(path("bad.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\nnot really")
    rc, out, err = learn("--size", 3, "r.png", "bad.png", "-o", "w.json")
    assert rc == 1
    one_error_line(err, "cnnfilter: bad.png: ")
    assert not os.path.exists(path("w.json"))
    rc, out, err = learn("--size", 3, "r.png", "r.png", "-o", "no_such_dir/w.json")
    assert rc == 1
    one_error_line(err, "cnnfilter: no_such_dir/w.json: ")


# --------------------------------------------------------------------------- the rest

def help_quiet_verbose_stdin_and_stdout():
    rc, out, err = learn("--help")
    assert rc == 0 and out.startswith(b"Usage: cnnfilter learn --size") and err == ""
    rc, out, err = run("--help")
    assert b"cnnfilter learn --size K INPUT TARGET -o KERNEL.json" in out
    img = noise_png("s.png", 24, 24, seed=9)
    np.save(path("s.npy"), reference(img, np.eye(3) / 3)[0])
    rc, out, err = learn("-q", "--size", 3, "s.png", "s.npy", "-o", "q.json")
    assert rc == 0 and err == "", err
    rc, out, err = learn("-v", "--size", 3, "s.png", "s.npy", "-o", "q.json")
    assert rc == 0 and "; condition number " in err and "(limit 1e10)" in err, err
    with open(path("s.png"), "rb") as f:
        data = f.read()
    rc, out, err = learn("--size", 3, "-", "s.npy", "-o", "-", stdin=data)
    assert rc == 0, err
    doc = json.loads(out)
    assert np.abs(np.array(doc["weights"]) - np.eye(3) / 3).max() < 1e-6
    assert doc["name"] == "learned" and doc["bias"] == 0


TESTS = [npy_targets_give_random_kernels_back_for_every_geometry,
         gray_shared_rgb_and_sum_channel_rules_come_back,
         an_8bit_png_target_of_the_filter_comes_back_and_reruns_with_k,
         imagemagick_correlate_comes_back_to_0_01_from_its_8bit_output,
         imagemagick_convolve_comes_back_rotated_by_180_degrees,
         usage_errors_exit_2_with_one_line_naming_the_flag,
         settings_the_images_make_wrong_are_usage_errors_of_learn,
         a_flat_input_is_refused_naming_it_and_no_kernel_is_written,
         a_target_of_the_wrong_size_is_refused_with_both_sizes,
         unreadable_and_corrupt_files_exit_1_naming_them,
         help_quiet_verbose_stdin_and_stdout]


def main():
    return harness.run_tests("learn", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

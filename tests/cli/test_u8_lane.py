#!/usr/bin/env python3
"""test_u8_lane.py - the 8-bit lane end to end: one small integer kernel from an 8-bit PNG or
JPEG to an 8-bit PNG gives the same decoded pixels as the float path (--portable, which never
takes the lane) and as a NumPy float64 reference, for odd sizes, gray and RGB, every border the
lane takes, clamp and abs, one and two threads, and in a batch; --explain says which path runs.

The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import json
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
TMP = tempfile.mkdtemp(prefix="cnnfilter-u8-")

NP_MODE = {"zero": "constant", "replicate": "edge", "reflect": "symmetric", "mirror": "reflect"}


def path(*p):
    return os.path.join(TMP, *p)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP,
                       timeout=300)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, "exit %d: %s" % (rc, err)
    return out


def image(name, w, h, channels, seed):
    """Random 8-bit pixels with flat runs and full-range steps, written by OpenCV."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, size=(h, w, channels), dtype=np.uint8)
    a[:, : w // 3] = 0
    a[h // 2:, w // 2:] = 255
    if channels == 1:
        a = a[:, :, 0]
    f = path(name)
    assert cv2.imwrite(f, a)
    return f


def decoded(f):
    a = cv2.imread(f, cv2.IMREAD_UNCHANGED)
    assert a is not None, f
    return a


def kernel_of(spec):
    """Weights and divisor as `cnnfilter show-kernel` prints them."""
    out = ok("show-kernel", spec)
    lines = out.splitlines()
    i = lines.index("weights:") + 1
    rows = []
    while i < len(lines) and not lines[i].startswith("divisor"):
        rows.append([float(v) for v in lines[i].split()])
        i += 1
    div = float(lines[i].split(":")[1])
    return np.array(rows), div


def reference(src, spec, border, mapping):
    """float64 correlation with 'same' padding (the extra cell after), / divisor, rounded half
    to even, then clamp or |.|, per channel: independent of cnnfilter's code."""
    k, div = kernel_of(spec)
    kh, kw = k.shape
    a = src.astype(np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    pt, pl = (kh - 1) // 2, (kw - 1) // 2
    pad = ((pt, kh - 1 - pt), (pl, kw - 1 - pl), (0, 0))
    p = np.pad(a, pad, mode=NP_MODE[border])
    h, w = a.shape[:2]
    s = np.zeros_like(a)
    for i in range(kh):
        for j in range(kw):
            s += k[i, j] * p[i:i + h, j:j + w]
    v = s / div
    if mapping == "abs":
        v = np.abs(v)
    v = np.clip(np.rint(v), 0, 255).astype(np.uint8)
    return v[:, :, 0] if src.ndim == 2 else v


def explain(*args):
    return [ln for ln in ok(*args, "--explain").splitlines() if ln.startswith("8-bit lane:")]


def lane_and_float(src, spec, border, mapping, extra=()):
    """Run with the lane and with --portable; both decoded; the lane must be the one taken."""
    out_l, out_f = path("lane.png"), path("float.png")
    args = ["-k", spec, "--border", border, "--map", mapping] + list(extra)
    said = explain(*args, src, out_l)
    assert said and said[0].startswith("8-bit lane: yes"), (spec, said)
    ok(*args, src, out_l)
    ok(*args, "--portable", src, out_f)
    return decoded(out_l), decoded(out_f)


BIG = "[[0,0,300,0,0],[0,-90,0,90,0],[7,0,-500,0,7],[0,-90,0,90,0],[0,0,300,0,0]]"


def test_png_inputs_of_odd_sizes_give_the_float_paths_pixels():
    sizes = [(1, 1), (2, 7), (17, 5), (33, 33), (100, 37)]
    specs = ["sobel_v", "laplacian", "gaussian", "sharpen", "box:5", "gaussian:5", BIG]
    n = 0
    for si, (w, h) in enumerate(sizes):
        for ch in (1, 3):
            src = image("in%d_%d.png" % (si, ch), w, h, ch, 10 * si + ch)
            px = decoded(src)
            for ki, spec in enumerate(specs):
                border = ("zero", "replicate", "reflect", "mirror")[(si + ki) % 4]
                mapping = ("clamp", "abs")[(si + ki + ch) % 2]
                lane, flt = lane_and_float(src, spec, border, mapping)
                want = reference(px, spec, border, mapping)
                assert lane.shape == want.shape, (lane.shape, want.shape)
                assert np.array_equal(lane, flt), (spec, w, h, ch, border, mapping)
                assert np.array_equal(lane, want), (spec, w, h, ch, border, mapping)
                n += 1
    assert n == len(sizes) * 2 * len(specs)


def test_both_borders_and_maps_on_one_image_each():
    src = image("both.png", 41, 19, 3, 7)
    px = decoded(src)
    for border in ("zero", "replicate"):
        for mapping in ("clamp", "abs"):
            for spec in ("sobel_v", "emboss", "line_v:5"):
                lane, flt = lane_and_float(src, spec, border, mapping)
                assert np.array_equal(lane, flt), (spec, border, mapping)
                assert np.array_equal(lane, reference(px, spec, border, mapping))


def test_a_kernel_file_with_a_divisor_rounds_half_to_even():
    # [1 1] / 2 along a row of 1 2 3 4 5 (replicate): 1.5 2.5 3.5 4.5 5 -> 2 2 4 4 5
    kf = path("pair.json")
    with open(kf, "w") as f:
        json.dump({"weights": [[1, 1]], "divisor": 2}, f)
    src = path("ramp.png")
    cv2.imwrite(src, np.array([[1, 2, 3, 4, 5]], np.uint8))
    lane, flt = lane_and_float(src, kf, "replicate", "clamp")
    assert lane.tolist() == [[2, 2, 4, 4, 5]], lane.tolist()
    assert np.array_equal(lane, flt)


def test_jpeg_inputs_give_the_float_paths_pixels():
    for ch in (1, 3):
        for w, h in ((1, 9), (33, 17), (100, 64)):
            base = image("j%d_%d_%d.png" % (ch, w, h), w, h, ch, w + h + ch)
            src = path("j%d_%d_%d.jpg" % (ch, w, h))
            assert cv2.imwrite(src, decoded(base), [cv2.IMWRITE_JPEG_QUALITY, 85])
            for spec, border, mapping in (("sobel_v", "zero", "abs"),
                                          ("gaussian:5", "replicate", "clamp"),
                                          ("sharpen", "reflect", "clamp")):
                lane, flt = lane_and_float(src, spec, border, mapping)
                assert np.array_equal(lane, flt), (src, spec)


def test_the_same_pixels_for_one_and_two_threads_and_in_a_batch():
    srcs = [image("b%d.png" % i, 57 + i, 300 + 7 * i, 3, 40 + i) for i in range(3)]
    for spec in ("laplacian", BIG):
        ok("-j1", "-k", spec, "--border", "zero", srcs[2], path("j1.png"))
        ok("-j2", "-k", spec, "--border", "zero", srcs[2], path("j2.png"))
        assert np.array_equal(decoded(path("j1.png")), decoded(path("j2.png")))
        os.makedirs(path("lane_out"), exist_ok=True)
        os.makedirs(path("float_out"), exist_ok=True)
        ok("-j2", "-k", spec, "--border", "zero", "-o", path("lane_out"), *srcs)
        ok("-j2", "-k", spec, "--border", "zero", "--portable", "-o", path("float_out"), *srcs)
        for s in srcs:
            name = os.path.basename(s)
            a, b = decoded(path("lane_out", name)), decoded(path("float_out", name))
            assert np.array_equal(a, b), (spec, name)
            assert np.array_equal(a, reference(decoded(s), spec, "zero", "clamp"))


def test_a_corrupt_input_fails_as_on_the_float_path():
    # the image data cut short (PNG) or its scans damaged (JPEG): one error line naming the file,
    # exit 1, no output left, for -j1 and -j2, the same message as the float path gives
    src = image("whole.png", 300, 200, 3, 5)
    data = open(src, "rb").read()
    cut = path("cut.png")
    with open(cut, "wb") as f:
        f.write(data[: len(data) // 2] + data[-12:])
    jpg = path("whole.jpg")
    assert cv2.imwrite(jpg, decoded(src))
    jdata = bytearray(open(jpg, "rb").read())
    bad_j = path("bad.jpg")
    with open(bad_j, "wb") as f:
        f.write(bytes(jdata[: len(jdata) // 2]))
    for bad in (cut, bad_j):
        said = explain("-k", "sobel_v", bad, path("never.png"))
        assert said and said[0].startswith("8-bit lane: yes"), said
        for j in ("-j1", "-j2"):
            rc, _, err = run(j, "-k", "sobel_v", bad, path("never.png"))
            rc_f, _, err_f = run(j, "-k", "sobel_v", "--portable", bad, path("never.png"))
            assert rc == 1 and rc_f == 1, (rc, err, rc_f, err_f)
            line = harness.one_error_line(err, "cnnfilter: " + bad + ": ")
            assert line == err_f.strip(), (line, err_f)
            assert not os.path.exists(path("never.png"))
            harness.assert_no_temp_files(TMP)


def test_explain_says_when_the_float_path_runs_instead():
    rgb = image("e.png", 20, 10, 3, 1)
    rgba = path("e4.png")
    cv2.imwrite(rgba, np.dstack([decoded(rgb), np.full((10, 20), 200, np.uint8)]))
    deep = path("e16.png")
    cv2.imwrite(deep, decoded(rgb).astype(np.uint16) * 257)
    out = path("e_out.png")
    cases = [
        ((("-k", "sobel_v", deep, out)), "not read as 8-bit rows"),
        ((("-k", "box:7", rgb, out)), "not one integer kernel"),
        ((("-k", "gaussian:3:0.8", rgb, out)), "not one integer kernel"),
        ((("-k", "sobel_v", "--stride", "2", rgb, out)), "not one integer kernel"),
        ((("-k", "sobel_v", "--border", "wrap", rgb, out)), "border not wrap"),
        ((("-k", "sobel_v", "--portable", rgb, out)), "--portable"),
        ((("-k", "sobel_v", "--map", "normalize", rgb, out)), "--map is not clamp or abs"),
        ((("-k", "sobel_v", "-v", rgb, out)), "-v reports"),
        ((("-k", "sobel_v", rgba, out)), "alpha"),
        ((("-k", "sobel_v", rgb, path("e.tif"))), "not one 8-bit PNG"),
        ((("-k", "sobel_v", "--depth", "16", rgb, out)), "not one 8-bit PNG"),
        ((("-k", "sobel_v", "-k", "sobel_h", rgb, path("e_{kernel}.png"))), "not one 8-bit PNG"),
    ]
    for args, why in cases:
        said = explain(*args)
        assert len(said) == 1 and said[0].startswith("8-bit lane: no") and why in said[0], \
            (args, said)
    said = explain("-k", "sobel_v", rgb, out)
    assert said == ["8-bit lane: yes (16-bit sums, AVX2): the decoder's 8-bit rows through the "
                    "kernel straight to the PNG writer, the same pixels as the float path"] or \
        said[0].startswith("8-bit lane: yes (16-bit sums, portable)"), said
    said = explain("-k", BIG, rgb, out)
    assert said[0].startswith("8-bit lane: yes (32-bit sums, portable)"), said


def main():
    tests = [v for k, v in sorted(globals().items()) if k.startswith("test_")]
    return harness.run_tests("test_u8_lane", tests, TMP)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_stream_formats.py - .npy, TIFF, JPEG, PGM/PPM and one-channel .txt outputs written as
their rows arrive, through the real binary.

A file output in those formats is written by rows into its temporary file (.npy and TIFF at
offsets, the others in order); the same result written whole (on standard output, which
cannot seek, or as the outputs of a bank of more than 4 kernels) is the reference: the same
bytes (same options), or the same decoded pixels where the options differ and so does the
mark they leave in the file (tests/unit/test_row_writer.c compares every format's bytes with
cnf_encode's).  The values are checked against NumPy and OpenCV besides, the memory of a
4000x4000 result stays far below what holding it whole takes (--max-memory 64M, peak RSS from
wait4), and a non-finite value met half-way leaves no file behind.
"""
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
TMP = tempfile.mkdtemp(prefix="cnnfilter-streamfmt-")
RNG = np.random.default_rng(20261205)
# Sanitizer builds take several times the memory (shadow, quarantine): the RSS bounds are
# checked on the plain build only.
ASAN = os.environ.get("CNNFILTER_ASAN") == "1"


def path(name):
    return os.path.join(TMP, name)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP, timeout=300)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, (args, rc, err)
    return out


def read(name):
    with open(path(name), "rb") as f:
        return f.read()


def png(name, a):
    assert cv2.imwrite(path(name), a[:, :, ::-1] if a.ndim == 3 and a.shape[2] in (3, 4) else a)


def random_png(name, h, w, c):
    a = RNG.integers(0, 256, size=(h, w, c) if c > 1 else (h, w), dtype=np.uint8)
    if c == 4:  # cv2 writes BGRA
        a = a[:, :, [2, 1, 0, 3]]
        assert cv2.imwrite(path(name), a)
        return a[:, :, [2, 1, 0, 3]]
    png(name, a)
    return a


def same_pixels(a, b):
    """Two image files decode (OpenCV, any depth) to the same samples."""
    x = cv2.imread(path(a), cv2.IMREAD_UNCHANGED)
    y = cv2.imread(path(b), cv2.IMREAD_UNCHANGED)
    return x is not None and y is not None and x.dtype == y.dtype and np.array_equal(x, y)


# (extension, extra options): every output written by rows
STREAMED = [("npy", []), ("tif", []), ("tif", ["--depth", "16"]), ("tif", ["--depth", "float"]),
            ("jpg", []), ("jpg", ["--quality", "70"]), ("pnm", []), ("pnm", ["--depth", "16"]),
            ("txt", [])]


def a_streamed_file_has_the_bytes_of_the_same_result_written_whole():
    # odd sizes, more than one band (over 200 rows), gray, RGB and RGBA inputs
    shapes = [(1, 1, 1), (1, 45, 3), (45, 1, 1), (23, 37, 3), (233, 301, 1), (211, 67, 4)]
    for i, (h, w, c) in enumerate(shapes):
        random_png("in%d.png" % i, h, w, c)
        for ext, extra in STREAMED:
            if ext == "txt" and c > 1:
                continue  # a .txt of several channels is written whole
            if ext == "pnm" and c == 4:
                continue  # PNM holds no alpha
            args = ["-k", "sobel_v", "--border", "zero", "--map", "abs"] + extra
            ok(*args, "in%d.png" % i, "s.%s" % ext)
            whole = ok(*args, "--output-format", ext, "in%d.png" % i, "-")
            streamed = read("s.%s" % ext)
            if ext in ("npy", "tif"):  # written whole on standard output, which cannot seek
                assert streamed == whole, (i, ext, extra, len(streamed), len(whole))
            else:
                # written by rows on stdout too: the whole reference is a bank of 5 kernels
                # (more than 4 outputs are written whole), whose first output is this one
                assert streamed == whole, (i, ext, extra)
                ok(*args[:2], "-k", "box", "-k", "box", "-k", "box", "-k", "box", *args[2:],
                   "--combine", "none", "in%d.png" % i, "b{index}.%s" % ext)
                if ext == "txt":
                    assert streamed == read("b0.txt"), (i, extra)
                else:
                    assert same_pixels("s." + ext, "b0." + ext), (i, ext, extra)
    harness.assert_no_temp_files(TMP)


def npy_values_are_the_exact_filter_results():
    a = random_png("v.png", 257, 131, 3).astype(np.float32)
    ok("-k", "[[0,0,0],[0,0,2],[0,0,0]]", "--border", "zero", "v.png", "v.npy")
    got = np.load(path("v.npy"))
    want = np.zeros_like(a)
    want[:, :-1] = 2 * a[:, 1:]  # the right neighbour, doubled; zero past the edge
    assert got.shape == (3, 257, 131) and got.dtype == np.float32
    assert np.array_equal(got, want.transpose(2, 0, 1))
    # the same values from the float TIFF (OpenCV reads it as BGR)
    ok("-k", "[[0,0,0],[0,0,2],[0,0,0]]", "--border", "zero", "--depth", "float", "v.png", "v.tif")
    t = cv2.imread(path("v.tif"), cv2.IMREAD_UNCHANGED)
    assert t.dtype == np.float32 and np.array_equal(t[:, :, ::-1], want)
    # one-channel .txt: %.9g rows
    random_png("g.png", 203, 5, 1)
    ok("-k", "box", "--border", "reflect", "g.png", "g.txt")
    ok("-k", "box", "--border", "reflect", "g.png", "g.npy")
    txt = np.loadtxt(path("g.txt"), dtype=np.float64).astype(np.float32)
    assert np.array_equal(txt, np.load(path("g.npy"))[0])


def a_bank_of_up_to_four_outputs_streams_each_file():
    random_png("k.png", 240, 50, 3)
    ks = ["sobel_v", "sobel_h", "laplacian", "box"]
    args = sum((["-k", k] for k in ks), []) + ["--combine", "none", "--border", "zero"]
    ok(*args, "k.png", "k-{kernel}.npy")
    for k in ks:
        one = ok("-k", k, "--border", "zero", "--output-format", "npy", "k.png", "-")
        assert read("k-%s.npy" % k) == one, k
    ok(*args, "--map", "abs", "k.png", "k-{kernel}.jpg")
    for k in ks:
        ok("-k", k, "--border", "zero", "--map", "abs", "k.png", "one.jpg")
        assert same_pixels("k-%s.jpg" % k, "one.jpg"), k


def verbose_lines_match_the_whole_path():
    random_png("vb.png", 220, 40, 1)
    for ext in ("npy", "jpg", "tif"):
        rc, _, err_s = run("-v", "-k", "sobel_v", "--border", "zero", "vb.png", "vb." + ext)
        assert rc == 0, err_s
        rc, _, err_w = run("-v", "-k", "sobel_v", "--border", "zero", "--output-format", ext,
                           "vb.png", "-")
        assert rc == 0, err_w
        line_s = [ln for ln in err_s.splitlines() if ln.startswith("cnnfilter: vb.%s: " % ext)]
        line_w = [ln for ln in err_w.splitlines() if ln.startswith("cnnfilter: -: ")]
        assert len(line_s) == 1 and len(line_w) == 1, (err_s, err_w)
        assert line_s[0].split(": ", 2)[2] == line_w[0].split(": ", 2)[2], (line_s, line_w)
        assert ("written exactly" in line_s[0]) == (ext == "npy"), line_s


def a_non_finite_value_met_mid_stream_leaves_no_output():
    a = np.ones((300, 20), np.float32)
    a[250, 3] = 3e38  # x 10 overflows float32
    np.save(path("big.npy"), a)
    for out, extra, what in (("nf.npy", [], ".npy"), ("nf.tif", ["--depth", "float"], "a float TIFF")):
        rc, _, err = run("-k", "[[10]]", *extra, "big.npy", out)
        assert rc == 2, err  # as when written whole: the format cannot hold the result
        harness.one_error_line(
            err, "cnnfilter: %s: the result holds +inf at (channel 0, row 250, column 3): %s holds "
                 "finite values only" % (out, what))
        assert not os.path.exists(path(out))
    # an 8-bit image maps it to 255 instead
    ok("-k", "[[10]]", "big.npy", "nf.pnm")
    harness.assert_no_temp_files(TMP)


def a_failed_write_to_a_full_disk_is_one_line_and_exit_1():
    if not os.path.exists("/dev/full"):
        return
    random_png("full.png", 300, 300, 3)
    rc, _, err = run("-k", "box", "full.png", "/dev/full", "--output-format", "jpg")
    # /dev/full is a device: written in place, in order (JPEG by rows)
    assert rc == 1, err
    harness.one_error_line(err, "cnnfilter: /dev/full: write error: No space left on device")


def flat_rgb(name, side):
    a = np.zeros((side, side, 3), np.uint8)
    a[:] = (30, 120, 200)
    a[side // 4:3 * side // 4, side // 8:7 * side // 8] = (200, 50, 10)
    png(name, a)
    return a


def a_4000x4000_result_streams_within_64_mib():
    # 4000 x 4000 x 3 floats are 183 MiB: held whole, this was refused under --max-memory 64M
    # (and took about 380 MiB of RSS for .npy); by rows it stays near the plan's own memory.
    a = flat_rgb("flat.png", 4000)
    rc, _, err, base = harness.run_peak([BIN, "--version"], TMP)
    assert rc == 0, err
    for out, extra in (("flat.npy", []), ("flat.tif", ["--depth", "float"]), ("flat.jpg", [])):
        rc, _, err, peak = harness.run_peak([BIN, "-k", "identity", "--max-memory", "64M"] +
                                            extra + ["flat.png", out], TMP)
        assert rc == 0, (out, err)
        if not ASAN:
            assert peak < base + 32 * 1024, (out, peak, base)  # KiB
    got = np.load(path("flat.npy"), mmap_mode="r")
    assert got.shape == (3, 4000, 4000)
    for y in (0, 999, 1000, 2999, 3000, 3999):
        assert np.array_equal(got[:, y, :], a[y].T.astype(np.float32)), y
    t = cv2.imread(path("flat.tif"), cv2.IMREAD_UNCHANGED)
    assert t.shape == (4000, 4000, 3) and np.array_equal(t[:, :, ::-1], a.astype(np.float32))
    del t
    j = cv2.imread(path("flat.jpg"))[:, :, ::-1].astype(int)
    assert j.shape == (4000, 4000, 3)
    # JPEG at quality 90: flat areas come back within a few levels
    assert np.abs(j[100:900, 100:900] - (30, 120, 200)).max() <= 3
    assert np.abs(j[1100:2900, 600:3400] - (200, 50, 10)).max() <= 3
    # on standard output (a pipe) .npy is written whole, so the same limit refuses it
    rc, _, err = run("-k", "identity", "--max-memory", "64M", "--output-format", "npy",
                     "flat.png", "-")
    assert rc == 1 and "over the memory limit of 64 MiB" in err, err
    for f in ("flat.npy", "flat.tif", "flat.jpg", "flat.png"):
        os.unlink(path(f))


def main():
    tests = [
        a_streamed_file_has_the_bytes_of_the_same_result_written_whole,
        npy_values_are_the_exact_filter_results,
        a_bank_of_up_to_four_outputs_streams_each_file,
        verbose_lines_match_the_whole_path,
        a_non_finite_value_met_mid_stream_leaves_no_output,
        a_failed_write_to_a_full_disk_is_one_line_and_exit_1,
        a_4000x4000_result_streams_within_64_mib,
    ]
    return harness.run_tests("test_stream_formats", tests, TMP)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_compare.py - `cnnfilter compare` through the real binary: metrics lines, exit codes,
tolerance, shapes, errors, the --diff image, matrix inputs, folders and -q.

Inputs are hand-made PNGs (tests/ref/cnnref.py's png_write) and matrices whose differences
are known exactly; the --diff image is read back with cnnref's independent PNG reader.
The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import math
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
TMP = tempfile.mkdtemp(prefix="cnnfilter-compare-")


def path(*p):
    return os.path.join(TMP, *p)


def write(name, data):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p


def run(*args, cwd=None):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=cwd or TMP,
                       timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def compare(*args, cwd=None):
    return run("compare", *args, cwd=cwd)


def png_file(name, px):
    """Write uint8 pixels (H,W) or (H,W,C) as a PNG under TMP."""
    px = np.asarray(px, dtype=np.uint8)
    if px.ndim == 2:
        px = px[:, :, None]
    return write(name, cnnref.png_write(px))


def png(p):
    with open(p, "rb") as f:
        return cnnref.png_read(f.read())


one_error_line = harness.one_error_line


def no_temp_files(d=None):
    harness.assert_no_temp_files(d or TMP)


def gray(seed, h=4, w=5):
    return np.random.default_rng(seed).integers(10, 240, size=(h, w), dtype=np.uint8)


def psnr(sse, n):
    return "%.2f" % (10 * math.log10(255.0 ** 2 / (sse / n)))


# --------------------------------------------------------------------------- tests

def identical_images_exit_0_with_an_exact_metrics_line():
    px = gray(1)
    png_file("same_a.png", px)
    png_file("same_b.png", px)
    rc, out, err = compare("same_a.png", "same_b.png")
    assert rc == 0 and err == "", (rc, err)
    assert out == "same_a.png same_b.png: max difference 0, 0 of 20 pixels differ (0.00%), PSNR inf\n", out


def one_pixel_off_by_3_gives_max_3_one_pixel_and_the_hand_computed_psnr():
    px = gray(2)
    qx = px.copy()
    qx[2, 3] += 3
    png_file("off_a.png", px)
    png_file("off_b.png", qx)
    rc, out, err = compare("off_a.png", "off_b.png")
    # MSE = 3^2 / 20 values: PSNR = 10 log10(255^2 * 20 / 9) = 51.60 dB.
    want = "off_a.png off_b.png: max difference 3, 1 of 20 pixels differ (5.00%%), PSNR %s dB\n" % psnr(9, 20)
    assert want.endswith("PSNR 51.60 dB\n")
    assert rc == 1 and out == want and err == "", (rc, out, err)
    # RGB: one channel of one pixel; the MSE is over all 60 values.
    rgb = np.stack([gray(3), gray(4), gray(5)], axis=2)
    rgb2 = rgb.copy()
    rgb2[0, 0, 1] -= 3
    png_file("off_rgb_a.png", rgb)
    png_file("off_rgb_b.png", rgb2)
    rc, out, err = compare("off_rgb_a.png", "off_rgb_b.png")
    assert rc == 1, err
    assert out == ("off_rgb_a.png off_rgb_b.png: max difference 3, 1 of 20 pixels differ (5.00%%), "
                   "PSNR %s dB\n" % psnr(9, 60)), out


def a_pixel_differs_when_any_channel_does_alpha_included():
    rgba = np.random.default_rng(6).integers(10, 240, size=(3, 4, 4), dtype=np.uint8)
    b = rgba.copy()
    b[0, 0, 0] += 1      # pixel (0,0): two channels differ, counted once
    b[0, 0, 2] += 2
    b[1, 2, 3] += 5      # pixel (1,2): only alpha differs
    png_file("ch_a.png", rgba)
    png_file("ch_b.png", b)
    rc, out, err = compare("ch_a.png", "ch_b.png")
    assert rc == 1, err
    assert out == ("ch_a.png ch_b.png: max difference 5, 2 of 12 pixels differ (16.67%%), PSNR %s dB\n"
                   % psnr(1 + 4 + 25, 48)), out


def tolerance_3_accepts_a_difference_of_3_and_tolerance_2_does_not():
    cases = [(("--tolerance", "3", "off_a.png", "off_b.png"), 0),
             (("off_a.png", "off_b.png", "--tolerance", "3"), 0),
             (("--tolerance=3", "off_a.png", "off_b.png"), 0),
             (("--tolerance", "2", "off_a.png", "off_b.png"), 1),
             (("off_a.png", "--tolerance=2", "off_b.png"), 1),
             (("--tolerance", "2.999", "off_a.png", "off_b.png"), 1)]
    for args, code in cases:
        rc, out, err = compare(*args)
        assert rc == code and err == "", (args, rc, err)
        # The line reports the differences whatever the tolerance.
        assert "max difference 3, 1 of 20 pixels differ" in out, out


def different_sizes_are_different_with_a_one_line_message():
    png_file("size_a.png", gray(7, 4, 5))
    png_file("size_b.png", gray(7, 5, 4))
    rc, out, err = compare("size_a.png", "size_b.png")
    assert rc == 1 and err == "", (rc, err)
    assert out == "size_a.png size_b.png: different shapes: 1 x 4 x 5 vs 1 x 5 x 4 (C x H x W)\n", out


def different_channel_counts_are_different():
    g = gray(8)
    png_file("chn_gray.png", g)
    png_file("chn_rgb.png", np.stack([g, g, g], axis=2))
    png_file("chn_rgba.png", np.stack([g, g, g, g], axis=2))
    rc, out, err = compare("chn_gray.png", "chn_rgb.png")
    assert rc == 1 and err == "", (rc, err)
    assert out == "chn_gray.png chn_rgb.png: different shapes: 1 x 4 x 5 vs 3 x 4 x 5 (C x H x W)\n", out
    rc, out, err = compare("chn_rgba.png", "chn_rgb.png")
    assert rc == 1 and "different shapes: 4 x 4 x 5 vs 3 x 4 x 5" in out, (rc, out, err)


def a_corrupt_or_missing_file_is_exit_2_with_one_line_on_stderr():
    data = cnnref.png_write(np.stack([gray(9)] * 3, axis=2))
    write("corrupt.png", data[:len(data) // 2])
    png_file("good.png", np.stack([gray(9)] * 3, axis=2))
    rc, out, err = compare("good.png", "corrupt.png")
    assert rc == 2 and out == "", (rc, out)
    one_error_line(err, "cnnfilter: corrupt.png: ")
    write("garbage.png", b"\x89PNG\r\n\x1a\nthis is not a png")
    rc, out, err = compare("garbage.png", "good.png")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: garbage.png: ")
    rc, out, err = compare("good.png", "nosuch.png")
    assert rc == 2 and out == ""
    assert one_error_line(err, "cnnfilter: nosuch.png: ").endswith("No such file or directory")
    rc, out, err = compare("nosuch_dir/x.png", "good.png")
    assert rc == 2
    one_error_line(err, "cnnfilter: nosuch_dir/x.png: ")


def bad_options_are_usage_errors_naming_the_flag():
    for args, prefix in [(("--tolerance", "abc", "off_a.png", "off_b.png"), "cnnfilter: --tolerance: "),
                         (("--tolerance=-1", "off_a.png", "off_b.png"), "cnnfilter: --tolerance: "),
                         (("--tolerance", "nan", "off_a.png", "off_b.png"), "cnnfilter: --tolerance: "),
                         (("off_a.png", "off_b.png", "--tolerance"), "cnnfilter: --tolerance: "),
                         (("--diff", "d.xyz", "off_a.png", "off_b.png"), "cnnfilter: --diff: "),
                         (("--diff", "-", "off_a.png", "off_b.png"), "cnnfilter: --diff: "),
                         (("--bogus", "off_a.png", "off_b.png"), "cnnfilter: --bogus: "),
                         (("off_a.png",), "cnnfilter: "),
                         (("off_a.png", "off_b.png", "same_a.png"), "cnnfilter: same_a.png: "),
                         (("--diff", "off_a.png", "off_a.png", "off_b.png"), "cnnfilter: off_a.png: ")]:
        rc, out, err = compare(*args)
        assert rc == 2 and out == "", (args, rc, out)
        line = one_error_line(err, prefix)
        assert "try 'cnnfilter compare --help'" in line, line
    rc, out, err = compare("--help")
    assert rc == 0 and err == "" and out.startswith("Usage: cnnfilter compare ")
    assert "--tolerance" in out and "--diff" in out and "only in A" in out


def diff_image_is_amplified_so_the_largest_difference_is_white():
    a = np.stack([gray(10), gray(11), gray(12)], axis=2)
    b = a.copy()
    b[0, 0, 0] += 3   # largest: 255
    b[1, 2, 1] -= 1   # 1 * 255 / 3 = 85
    b[3, 4, 2] += 2   # 2 * 255 / 3 = 170
    png_file("d_a.png", a)
    png_file("d_b.png", b)
    rc, out, err = compare("--diff", "d_out.png", "d_a.png", "d_b.png")
    assert rc == 1 and err == "", (rc, err)
    assert "max difference 3, 3 of 20 pixels differ (15.00%)" in out, out
    d = png(path("d_out.png"))
    want = np.zeros((4, 5, 3), dtype=np.uint8)
    want[0, 0, 0], want[1, 2, 1], want[3, 4, 2] = 255, 85, 170
    assert d.shape == (4, 5, 3) and (d == want).all(), d
    no_temp_files()
    # Within tolerance the difference image is still written; identical gives black.
    rc, out, err = compare("d_a.png", "d_a.png", "--diff=d_zero.png")
    assert rc == 0 and err == ""
    d = png(path("d_zero.png"))
    assert d.shape == (4, 5, 3) and not d.any()
    # Gray stays gray.
    rc, out, err = compare("--diff", "d_gray.png", "off_a.png", "off_b.png")
    assert rc == 1
    d = png(path("d_gray.png"))
    want = np.zeros((4, 5, 1), dtype=np.uint8)
    want[2, 3, 0] = 255
    assert d.shape == (4, 5, 1) and (d == want).all(), d


def diff_drops_alpha_and_scales_by_the_colour_difference():
    a = np.random.default_rng(13).integers(20, 200, size=(2, 3, 4), dtype=np.uint8)
    b = a.copy()
    b[0, 1, 2] += 4
    b[1, 1, 0] += 1
    b[1, 0, 3] += 50   # alpha: counted in the metrics, not in the image
    png_file("da_a.png", a)
    png_file("da_b.png", b)
    rc, out, err = compare("--diff", "da_out.png", "da_a.png", "da_b.png")
    assert rc == 1 and "max difference 50, 3 of 6 pixels differ" in out, (out, err)
    d = png(path("da_out.png"))
    want = np.zeros((2, 3, 3), dtype=np.uint8)
    want[0, 1, 2], want[1, 1, 0] = 255, 64   # 1 * 255 / 4 = 63.75 -> 64
    assert d.shape == (2, 3, 3) and (d == want).all(), d


def diff_is_not_written_when_the_shapes_differ():
    rc, out, err = compare("--diff", "d_shape.png", "size_a.png", "size_b.png")
    assert rc == 1 and "different shapes" in out
    one_error_line(err, "cnnfilter: d_shape.png: not written")
    assert not os.path.exists(path("d_shape.png"))
    rc, out, err = compare("-q", "--diff", "d_shape.png", "size_a.png", "size_b.png")
    assert rc == 1 and out == "" and err == ""
    no_temp_files()


def matrices_compare_values_with_non_integer_differences():
    write("m_a.txt", "1 2 3\n4.5 5 6\n")
    write("m_b.txt", "1 2.25 3\n4.5 5 5.25\n")
    rc, out, err = compare("m_a.txt", "m_b.txt")
    assert rc == 1 and err == "", (rc, err)
    assert out == "m_a.txt m_b.txt: max difference 0.75, 2 of 6 values differ (33.33%)\n", out
    rc, _, _ = compare("--tolerance", "0.75", "m_a.txt", "m_b.txt")
    assert rc == 0
    rc, _, _ = compare("--tolerance", "0.7", "m_a.txt", "m_b.txt")
    assert rc == 1
    # .npy (C,H,W) against .npy and against the same values as text / json / csv.
    a = np.array([[[0.5, -1.0], [2.0, 3.0]], [[1e6, 0.0], [7.0, 8.0]]], dtype=np.float32)
    b = a.copy()
    b[1, 0, 1] = 0.125
    b[0, 1, 0] = 2.0625
    np.save(path("m_a.npy"), a)
    np.save(path("m_b.npy"), b)
    rc, out, err = compare("m_a.npy", "m_b.npy")
    assert rc == 1 and err == ""
    assert out == "m_a.npy m_b.npy: max difference 0.125, 2 of 8 values differ (25.00%)\n", out
    write("m_a2.txt", "0.5 -1\n2 3\n\n1000000 0\n7 8\n")
    write("m_a2.json", "[[[0.5, -1], [2, 3]], [[1e6, 0], [7, 8]]]")
    for other in ("m_a2.txt", "m_a2.json"):
        rc, out, err = compare("m_a.npy", other)
        assert rc == 0 and err == "", (other, err)
        assert out.endswith(": max difference 0, 0 of 8 values differ (0.00%)\n"), out
    write("m_c.csv", "1,2,3\n4.5,5,6\n")
    rc, out, err = compare("m_c.csv", "m_a.txt")
    assert rc == 0 and "0 of 6 values differ" in out, (out, err)
    write("m_d.txt", "1 2\n3 4\n")
    rc, out, err = compare("m_a.txt", "m_d.txt")
    assert rc == 1 and "different shapes: 1 x 2 x 3 vs 1 x 2 x 2" in out, out
    # The exact difference as .npy: every channel, no amplification.
    rc, out, err = compare("--diff", "m_diff.npy", "m_a.npy", "m_b.npy")
    assert rc == 1, err
    d = np.load(path("m_diff.npy"))
    assert d.shape == (2, 2, 2) and (d == np.abs(a - b)).all(), d
    # A corrupt matrix is an error.
    write("m_bad.txt", "1 2 3\n4 x 6\n")
    rc, out, err = compare("m_a.txt", "m_bad.txt")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: m_bad.txt")


def quiet_prints_nothing_but_keeps_the_exit_status_and_errors():
    for args, code in [(("-q", "off_a.png", "off_b.png"), 1), (("same_a.png", "same_b.png", "-q"), 0),
                       (("off_a.png", "--quiet", "off_b.png"), 1)]:
        rc, out, err = compare(*args)
        assert rc == code and out == "" and err == "", (args, rc, out, err)
    rc, out, err = compare("-q", "off_a.png", "nosuch.png")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: nosuch.png: ")


def folders_pair_files_by_relative_path_and_report_missing_ones():
    base = gray(20)
    off = base.copy()
    off[0, 0] += 2
    for side in ("fa", "fb"):
        png_file(side + "/same.png", base)
        png_file(side + "/sub/deeper/same2.png", base)
        png_file(side + "/sub/off.png", base if side == "fa" else off)
        write(side + "/notes.md", "# not an image, skipped\n")
        write(side + "/.hidden.png", "skipped\n")
    png_file("fa/sub/only_a.png", base)
    png_file("fb/only_b.png", base)
    png_file("fa/shape.png", gray(21, 3, 3))
    png_file("fb/shape.png", gray(21, 3, 4))
    rc, out, err = compare("fa", "fb/")
    assert rc == 1 and err == "", (rc, err)
    assert out.splitlines() == [
        "only in fb/: only_b.png",
        "fa/same.png fb/same.png: max difference 0, 0 of 20 pixels differ (0.00%), PSNR inf",
        "fa/shape.png fb/shape.png: different shapes: 1 x 3 x 3 vs 1 x 3 x 4 (C x H x W)",
        "fa/sub/deeper/same2.png fb/sub/deeper/same2.png: max difference 0, 0 of 20 pixels "
        "differ (0.00%), PSNR inf",
        "fa/sub/off.png fb/sub/off.png: max difference 2, 1 of 20 pixels differ (5.00%%), "
        "PSNR %s dB" % psnr(4, 20),
        "only in fa: sub/only_a.png",
        "compared 4, identical-within-tolerance 2, different 2, missing 2",
    ], out
    # Tolerance applies per pair; a missing file still makes the folders different.
    rc, out, err = compare("--tolerance", "2", "fa", "fb")
    assert rc == 1
    assert out.splitlines()[-1] == "compared 4, identical-within-tolerance 3, different 1, missing 2"
    rc, out, err = compare("-q", "fa", "fb")
    assert rc == 1 and out == "" and err == ""
    # Identical trees: exit 0.
    shutil.copytree(path("fa"), path("fa_copy"))
    rc, out, err = compare("fa", "fa_copy")
    assert rc == 0 and out.splitlines()[-1] == \
        "compared 5, identical-within-tolerance 5, different 0, missing 0", out


def folders_go_on_after_an_unreadable_file_and_exit_2():
    base = gray(22)
    for side in ("ea", "eb"):
        png_file(side + "/a.png", base)
        png_file(side + "/c.png", base)
    write("ea/b.png", "not a png\n")
    png_file("eb/b.png", base)
    rc, out, err = compare("ea", "eb")
    assert rc == 2
    one_error_line(err, "cnnfilter: ea/b.png: ")
    lines = out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("ea/a.png eb/a.png: ") and \
        lines[1].startswith("ea/c.png eb/c.png: "), out
    assert lines[2] == "compared 3, identical-within-tolerance 2, different 0, missing 0, errors 1"


def a_symlink_back_to_a_folder_above_is_not_followed():
    for side in ("la", "lb"):
        png_file(side + "/x.png", gray(23))
        os.makedirs(path(side, "s"))
        os.symlink("..", path(side, "s", "loop"))
    rc, out, err = compare("la", "lb")
    assert rc == 0, (rc, out, err)
    assert out.splitlines()[-1] == "compared 1, identical-within-tolerance 1, different 0, missing 0"
    assert "la/s/loop: leads back to a folder above it" in err, err
    rc, out, err = compare("-q", "la", "lb")
    assert rc == 0 and out == "" and err == "", (rc, out, err)


def folder_against_file_and_diff_with_folders_are_usage_errors():
    rc, out, err = compare("fa", "same_a.png")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: fa: is a folder")
    rc, out, err = compare("same_a.png", "fa")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: same_a.png: is a file")
    rc, out, err = compare("--diff", "x.png", "fa", "fb")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: --diff: ")
    assert not os.path.exists(path("x.png"))
    rc, out, err = compare("fa", "no_such_folder")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: no_such_folder: ")


def standard_input_can_be_one_side():
    with open(path("off_b.png"), "rb") as f:
        data = f.read()
    r = subprocess.run([BIN, "compare", "off_a.png", "-"], input=data, capture_output=True,
                       cwd=TMP, timeout=60)
    assert r.returncode == 1 and b"off_a.png -: max difference 3, 1 of 20 pixels" in r.stdout, r


TESTS = [v for k, v in list(globals().items()) if callable(v) and v.__module__ == "__main__"
         and k not in ("path", "write", "run", "compare", "png_file", "png", "one_error_line",
                       "no_temp_files", "gray", "psnr", "main")]


def main():
    return harness.run_tests("compare", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_compare.py - `cnnfilter compare` through the real binary: metrics lines, exit codes,
tolerance, shapes, errors, the --diff image, matrix inputs, folders and -q.

Inputs are hand-made PNGs (tests/ref/cnnref.py's png_write) and matrices whose differences
are known exactly; the --diff image is read back with cnnref's independent PNG reader.
The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

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
                         (("--diff-format", "png", "off_a.png", "off_b.png"),
                          "cnnfilter: --diff-format: "),
                         (("--diff-format", "gif", "--diff", "x", "off_a.png", "off_b.png"),
                          "cnnfilter: --diff-format: "),
                         (("--json", "--tsv", "off_a.png", "off_b.png"), "cnnfilter: --tsv: "),
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


def faded(px):
    """The difference image's background for uint8 pixels (H,W,C) of A: gray
    192 + floor(G/4), G = round(0.299 R + 0.587 G + 0.114 B) (integer arithmetic) for colour,
    the value itself for gray; alpha left out."""
    px = np.asarray(px).astype(np.int64)
    if px.ndim == 2:
        px = px[:, :, None]
    colour = 3 if px.shape[2] >= 3 else 1
    if colour == 3:
        g = (299 * px[:, :, 0] + 587 * px[:, :, 1] + 114 * px[:, :, 2] + 500) // 1000
    else:
        g = px[:, :, 0]
    return np.repeat((192 + g // 4)[:, :, None], 3, axis=2).astype(np.uint8)


def marked(a, changed):
    """The expected difference image: red where `changed` (H,W bool), faded A elsewhere."""
    want = faded(a)
    want[changed] = (255, 0, 0)
    return want


def diff_image_marks_changed_pixels_red_over_a_faded_gray_copy_of_a():
    a = np.stack([gray(10), gray(11), gray(12)], axis=2)
    b = a.copy()
    b[0, 0, 0] += 3
    b[1, 2, 1] -= 1
    b[3, 4, 2] += 2
    png_file("d_a.png", a)
    png_file("d_b.png", b)
    rc, out, err = compare("--diff", "d_out.png", "d_a.png", "d_b.png")
    assert rc == 1 and err == "", (rc, err)
    assert "max difference 3, 3 of 20 pixels differ (15.00%)" in out, out
    d = png(path("d_out.png"))
    changed = np.zeros((4, 5), dtype=bool)
    changed[0, 0] = changed[1, 2] = changed[3, 4] = True
    assert d.shape == (4, 5, 3) and (d == marked(a, changed)).all(), d
    # A hand-computed pixel: (R, G, B) -> G = round(.299 R + .587 G + .114 B), 192 + G // 4.
    r_, g_, b_ = (int(v) for v in a[0, 1])
    g = (299 * r_ + 587 * g_ + 114 * b_ + 500) // 1000
    assert tuple(d[0, 1]) == (192 + g // 4,) * 3 and 192 <= d[0, 1, 0] <= 255
    no_temp_files()
    # The tolerance decides which pixels are red: differences 1 and 2 are not over 2.
    rc, out, err = compare("--tolerance", "2", "--diff", "d_tol.png", "d_a.png", "d_b.png")
    assert rc == 1, err
    changed[1, 2] = changed[3, 4] = False
    assert (png(path("d_tol.png")) == marked(a, changed)).all()
    # Two files: FILE is written even when they pass (identical: no red at all).
    rc, out, err = compare("d_a.png", "d_a.png", "--diff=d_zero.png")
    assert rc == 0 and err == ""
    assert (png(path("d_zero.png")) == faded(a)).all()
    # Gray: the background is the value itself; the image is RGB.
    rc, out, err = compare("--diff", "d_gray.png", "off_a.png", "off_b.png")
    assert rc == 1
    changed = np.zeros((4, 5), dtype=bool)
    changed[2, 3] = True
    assert (png(path("d_gray.png")) == marked(gray(2), changed)).all()
    # The extension decides; --diff-format only for a FILE without one, never against it.
    rc, out, err = compare("--diff", "d_noext", "--diff-format", "png", "off_a.png", "off_b.png")
    assert rc == 1 and (png(path("d_noext")) == marked(gray(2), changed)).all(), err
    rc, out, err = compare("--diff", "d_x.png", "--diff-format", "npy", "off_a.png", "off_b.png")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: --diff-format: ")
    assert not os.path.exists(path("d_x.png"))


def diff_counts_alpha_changes_but_fades_only_the_colour():
    a = np.random.default_rng(13).integers(20, 200, size=(2, 3, 4), dtype=np.uint8)
    b = a.copy()
    b[0, 1, 2] += 4
    b[1, 1, 0] += 1
    b[1, 0, 3] += 50   # alpha only: a changed pixel, red too
    png_file("da_a.png", a)
    png_file("da_b.png", b)
    rc, out, err = compare("--diff", "da_out.png", "da_a.png", "da_b.png")
    assert rc == 1 and "max difference 50, 3 of 6 pixels differ" in out, (out, err)
    d = png(path("da_out.png"))
    changed = np.zeros((2, 3), dtype=bool)
    changed[0, 1] = changed[1, 1] = changed[1, 0] = True
    assert d.shape == (2, 3, 3) and (d == marked(a[:, :, :3], changed)).all(), d


def diff_is_not_written_when_the_shapes_differ():
    rc, out, err = compare("--diff", "d_shape.png", "size_a.png", "size_b.png")
    assert rc == 1 and "different shapes" in out
    one_error_line(err, "cnnfilter: d_shape.png: not written")
    assert not os.path.exists(path("d_shape.png"))
    # -q: the pair's line, no warning; -s: nothing.
    rc, out, err = compare("-q", "--diff", "d_shape.png", "size_a.png", "size_b.png")
    assert rc == 1 and "different shapes" in out and err == "", (out, err)
    rc, out, err = compare("-s", "--diff", "d_shape.png", "size_a.png", "size_b.png")
    assert rc == 1 and out == "" and err == ""
    assert not os.path.exists(path("d_shape.png"))
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


def quiet_prints_only_failing_pairs_and_silent_nothing():
    for args, code, printed in [(("-q", "off_a.png", "off_b.png"), 1, True),
                                (("same_a.png", "same_b.png", "-q"), 0, False),
                                (("off_a.png", "--quiet", "off_b.png"), 1, True),
                                (("--tolerance", "3", "-q", "off_a.png", "off_b.png"), 0, False),
                                (("-s", "off_a.png", "off_b.png"), 1, False),
                                (("off_a.png", "off_b.png", "--silent"), 1, False),
                                (("-s", "same_a.png", "same_b.png"), 0, False)]:
        rc, out, err = compare(*args)
        want = "off_a.png off_b.png: max difference 3, 1 of 20 pixels differ (5.00%), " \
               "PSNR 51.60 dB\n" if printed else ""
        assert rc == code and out == want and err == "", (args, rc, out, err)
    for flag in ("-q", "-s"):
        rc, out, err = compare(flag, "off_a.png", "nosuch.png")
        assert rc == 2 and out == ""
        one_error_line(err, "cnnfilter: nosuch.png: ")
    rc, out, err = compare("-s", "--json", "off_a.png", "off_b.png")
    assert rc == 2 and out == ""
    one_error_line(err, "cnnfilter: --silent: ")


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
    # -q: only the pairs that do not pass, no last line; -s: nothing.
    rc, out, err = compare("-q", "fa", "fb")
    assert rc == 1 and err == "" and out.splitlines() == [
        "only in fb: only_b.png",
        "fa/shape.png fb/shape.png: different shapes: 1 x 3 x 3 vs 1 x 3 x 4 (C x H x W)",
        "fa/sub/off.png fb/sub/off.png: max difference 2, 1 of 20 pixels differ (5.00%%), "
        "PSNR %s dB" % psnr(4, 20),
        "only in fa: sub/only_a.png"], out
    rc, out, err = compare("-s", "fa", "fb")
    assert rc == 1 and out == "" and err == ""
    # Identical trees: exit 0.
    shutil.copytree(path("fa"), path("fa_copy"))
    rc, out, err = compare("fa", "fa_copy")
    assert rc == 0 and out.splitlines()[-1] == \
        "compared 5, identical-within-tolerance 5, different 0, missing 0", out
    rc, out, err = compare("-q", "fa", "fa_copy")
    assert rc == 0 and out == "" and err == "", (out, err)


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


def a_report_that_cannot_be_written_is_an_error_not_a_verdict():
    for args in (("--json", "same_a.png", "same_b.png"), ("off_a.png", "off_b.png"),
                 ("--tsv", "fa", "fb")):
        with open("/dev/full", "w") as full:
            r = subprocess.run([BIN, "compare"] + list(args), stdout=full, stderr=subprocess.PIPE,
                               cwd=TMP, timeout=60)
        assert r.returncode == 2, (args, r)
        one_error_line(r.stderr.decode(), "cnnfilter: -: write error on standard output")


def standard_input_can_be_one_side():
    with open(path("off_b.png"), "rb") as f:
        data = f.read()
    r = subprocess.run([BIN, "compare", "off_a.png", "-"], input=data, capture_output=True,
                       cwd=TMP, timeout=60)
    assert r.returncode == 1 and b"off_a.png -: max difference 3, 1 of 20 pixels" in r.stdout, r


def make_tree(root, files):
    """files: {relative path: uint8 pixels}."""
    for rel, px in files.items():
        png_file(os.path.join(root, rel), px)


files_under = harness.files_under


def golden_trees(tag):
    """goldens/ and actual/ under TMP/tag with mirrored subfolders: two pairs differ (a gray one
    and an RGB one), three match, one differs in shape, one file is on each side only."""
    g1 = gray(30, 6, 7)
    g1b = g1.copy()
    g1b[0, 0] += 9
    g1b[5, 6] -= 4
    g1b[2, 3] += 1
    rgb = np.stack([gray(31), gray(32), gray(33)], axis=2)
    rgbb = rgb.copy()
    rgbb[1, 1, 2] += 7
    common = {"top.png": gray(34), "sub/same.png": gray(35), "sub/deep/same.png": gray(36)}
    g = dict(common, **{"sub/gray off.png": g1, "sub/deep/rgb.png": rgb, "shape.png": gray(37),
                        "sub/only_golden.png": gray(38)})
    b = dict(common, **{"sub/gray off.png": g1b, "sub/deep/rgb.png": rgbb,
                        "shape.png": gray(37, 5, 5), "only_actual.png": gray(39)})
    make_tree(os.path.join(tag, "goldens"), g)
    make_tree(os.path.join(tag, "actual"), b)
    return g1, rgb


def diff_dir_gets_one_image_per_differing_pair_at_the_mirrored_path():
    g1, rgb = golden_trees("dd")
    os.makedirs(path("dd", "diffs"))
    write("dd/diffs/stale.txt", "left alone\n")
    rc, out, err = compare("goldens", "actual", "--diff", "diffs", cwd=path("dd"))
    assert rc == 1, (rc, out, err)
    # shapes differ: no image, a warning naming where it would have gone
    one_error_line(err, "cnnfilter: diffs/shape.png: not written: the shapes differ")
    assert files_under(path("dd", "diffs")) == ["stale.txt", "sub/deep/rgb.png", "sub/gray off.png"]
    d = png(path("dd", "diffs", "sub", "gray off.png"))
    changed = np.zeros((6, 7), dtype=bool)
    changed[0, 0] = changed[5, 6] = changed[2, 3] = True
    assert d.shape == (6, 7, 3) and (d == marked(g1, changed)).all(), d
    assert tuple(d[0, 0]) == (255, 0, 0) and tuple(d[0, 1]) == (192 + g1[0, 1] // 4,) * 3
    d = png(path("dd", "diffs", "sub", "deep", "rgb.png"))
    changed = np.zeros((4, 5), dtype=bool)
    changed[1, 1] = True
    assert (d == marked(rgb, changed)).all(), d
    no_temp_files(path("dd", "diffs", "sub"))
    # Over the tolerance 1 the gray pair has 2 of 42 pixels changed (4.76%), the RGB pair 1 of
    # 20 (5%): --max-share 4.8 passes the gray pair only.
    shutil.rmtree(path("dd", "diffs"))
    rc, out, err = compare("-q", "--tolerance", "1", "--max-share", "4.8%", "goldens", "actual",
                           "--diff", "diffs/run 2", cwd=path("dd"))
    assert rc == 1
    assert files_under(path("dd", "diffs", "run 2")) == ["sub/deep/rgb.png"], err
    assert (png(path("dd", "diffs", "run 2", "sub", "deep", "rgb.png")) == marked(rgb, changed)).all()
    assert "gray off" not in out and "rgb.png" in out, out
    # --diff-format npy: the exact differences, at PATH.npy.
    rc, out, err = compare("-s", "--diff-format", "npy", "goldens", "actual", "--diff", "dn",
                           cwd=path("dd"))
    assert rc == 1 and files_under(path("dd", "dn")) == ["sub/deep/rgb.png.npy",
                                                          "sub/gray off.png.npy"]
    m = np.load(path("dd", "dn", "sub", "gray off.png.npy"))
    want = np.zeros((1, 6, 7), dtype=np.float32)
    want[0, 0, 0], want[0, 5, 6], want[0, 2, 3] = 9, 4, 1
    assert (m == want).all(), m
    # Nothing differs: no image, and no folder made.
    rc, out, err = compare("goldens", "goldens/../goldens", "--diff", "none", cwd=path("dd"))
    assert rc == 0 and not os.path.exists(path("dd", "none")), err


def diff_dir_may_not_be_inside_or_around_the_compared_folders():
    golden_trees("dz")
    write("dz/afile", "x\n")
    for d, msg in [("goldens/diffs", "is or lies inside goldens"),
                   ("actual", "is or lies inside actual"),
                   ("actual/new/deeper", "is or lies inside actual"),
                   (".", "contains goldens"),
                   ("afile", "is not a folder"),
                   ("out.png", "looks like an image file"),
                   ("new/../actual/x", "cannot tell where")]:
        rc, out, err = compare("goldens", "actual", "--diff", d, cwd=path("dz"))
        assert rc == 2 and out == "", (d, rc, out)
        assert msg in one_error_line(err, "cnnfilter: --diff: "), (d, err)
    assert files_under(path("dz", "goldens")) == files_under(path("dd", "goldens"))
    assert not os.path.exists(path("dz", "new")) and not os.path.exists(path("dz", "out.png"))
    # A link in DIR to an input is never written through.
    os.makedirs(path("dz", "diffs", "sub"))
    os.symlink(path("dz", "goldens", "sub", "gray off.png"), path("dz", "diffs", "sub", "gray off.png"))
    before = open(path("dz", "goldens", "sub", "gray off.png"), "rb").read()
    rc, out, err = compare("goldens", "actual", "--diff", "diffs", cwd=path("dz"))
    assert rc == 2 and "is an input of this comparison" in err, err
    assert open(path("dz", "goldens", "sub", "gray off.png"), "rb").read() == before
    assert os.path.exists(path("dz", "diffs", "sub", "deep", "rgb.png"))
    # Two pairs whose images would have one name: neither is written, exit 2.
    base = gray(41)
    off = base.copy()
    off[0, 0] += 1
    for side, px in (("ca", base), ("cb", off)):
        png_file(side + "/c.bmp", px)   # PNG data: the content decides, not the name
        png_file(side + "/c.bmp.png", px)
        png_file(side + "/d.png", px)
    rc, out, err = compare("ca", "cb", "--diff", "cd", "-q")
    assert rc == 2, (rc, out, err)
    assert sorted(err.splitlines()) == [
        "cnnfilter: cd/c.bmp.png: would be the difference image of two pairs (one name is the "
        "other's plus its extension); not written"] * 2, err
    assert files_under(path("cd")) == ["d.png"]


def json_has_every_pair_with_its_status_and_numbers():
    g1, rgb = golden_trees("js")
    rc, out, err = compare("--json", "goldens", "actual", "--diff", "diffs", cwd=path("js"))
    assert rc == 1, err
    doc = json.loads(out)
    pairs = {p["a"]: p for p in doc["pairs"]}
    assert [p["a"] for p in doc["pairs"]] == [
        "goldens/only_actual.png", "goldens/shape.png", "goldens/sub/deep/rgb.png",
        "goldens/sub/deep/same.png", "goldens/sub/gray off.png", "goldens/sub/only_golden.png",
        "goldens/sub/same.png", "goldens/top.png"], out
    p = pairs["goldens/sub/gray off.png"]
    sse = 9 ** 2 + 4 ** 2 + 1
    assert p["status"] == "different" and p["b"] == "actual/sub/gray off.png"
    assert p["unit"] == "pixels" and p["max_difference"] == 9 and p["changed"] == 3
    assert p["total"] == 42 and abs(p["changed_percent"] - 300 / 42) < 1e-12
    assert abs(p["psnr"] - 10 * math.log10(255 ** 2 * 42 / sse)) < 1e-9, p
    assert p["size_mismatch"] is False and p["shape_a"] == [1, 6, 7] and p["only_in"] is None
    assert p["diff"] == "diffs/sub/gray off.png" and p["error"] is None
    p = pairs["goldens/top.png"]
    assert p["status"] == "same" and p["psnr"] is None and p["max_difference"] == 0 \
        and p["changed"] == 0 and p["diff"] is None
    p = pairs["goldens/shape.png"]
    assert p["status"] == "different" and p["size_mismatch"] is True and \
        p["shape_a"] == [1, 4, 5] and p["shape_b"] == [1, 5, 5] and p["max_difference"] is None
    assert pairs["goldens/only_actual.png"]["status"] == "missing" and \
        pairs["goldens/only_actual.png"]["only_in"] == "b"
    assert pairs["goldens/sub/only_golden.png"]["only_in"] == "a"
    assert (doc["compared"], doc["same"], doc["different"], doc["missing"], doc["errors"]) == \
        (6, 3, 3, 2, 0)
    assert doc["status"] == "different" and doc["tolerance"] == 0 and doc["min_psnr"] is None
    # -q keeps only the pairs that do not pass; the counts stay whole.
    rc, out, err = compare("--json", "-q", "--max-share", "5", "--min-psnr", "30", "goldens",
                           "actual", cwd=path("js"))
    doc = json.loads(out)
    assert rc == 1 and doc["max_share"] == 5 and doc["min_psnr"] == 30
    assert [p["a"] for p in doc["pairs"]] == [
        "goldens/only_actual.png", "goldens/shape.png", "goldens/sub/gray off.png",
        "goldens/sub/only_golden.png"], out
    assert doc["same"] == 4
    # A corrupt file: status error, its reason, exit 2; all-same gives an empty list, exit 0.
    write("js/actual/top.png", b"\x89PNG\r\n\x1a\nnot really")
    rc, out, err = compare("--json", "-q", "goldens", "actual", cwd=path("js"))
    doc = json.loads(out)
    assert rc == 2 and doc["status"] == "error" and doc["errors"] == 1
    p = [p for p in doc["pairs"] if p["a"] == "goldens/top.png"][0]
    assert p["status"] == "error" and p["error"].startswith("actual/top.png: "), p
    one_error_line(err, "cnnfilter: actual/top.png: ")
    rc, out, err = compare("--json", "-q", "goldens/sub/deep", "goldens/sub/deep", cwd=path("js"))
    assert rc == 0 and json.loads(out)["pairs"] == [] and json.loads(out)["status"] == "same"
    # Two files: the same document with one pair; matrices have no PSNR.
    rc, out, err = compare("--json", "m_a.txt", "m_b.txt")
    doc = json.loads(out)
    assert rc == 1 and len(doc["pairs"]) == 1
    p = doc["pairs"][0]
    assert p["unit"] == "values" and p["max_difference"] == 0.75 and p["changed"] == 2 and \
        p["total"] == 6 and p["psnr"] is None and p["shape_a"] == [1, 2, 3]


# Spaces, a tab, a newline, a backslash, a quote, UTF-8 and a byte that is not UTF-8.
ODD_NAMES = [b"with space.png", b"tab\there.png", b"new\nline.png", b"back\\slash \"q\".png",
             "caf\u00e9.png".encode(), b"latin1 \xe9.png"]


def odd_trees():
    base = gray(40)
    off = base.copy()
    off[1, 1] += 1
    for side in (b"oa", b"ob"):
        d = os.path.join(os.fsencode(TMP), side)
        os.makedirs(d, exist_ok=True)
        for i, n in enumerate(ODD_NAMES):
            with open(os.path.join(d, n), "wb") as f:
                f.write(cnnref.png_write((off if side == b"ob" and i % 2 else base)[:, :, None]))


def json_and_tsv_keep_names_with_spaces_tabs_and_newlines_unambiguous():
    odd_trees()
    r = subprocess.run([BIN, "compare", "--json", "oa", "ob"], capture_output=True, cwd=TMP,
                       timeout=60)
    assert r.returncode == 1, r
    doc = json.loads(r.stdout)
    got = {os.fsencode(p["a"]): p["status"] for p in doc["pairs"]}
    want = {b"oa/" + n: "different" if i % 2 else "same" for i, n in enumerate(ODD_NAMES)}
    assert got == want, got
    assert all(os.fsencode(p["b"]) == b"ob/" + os.fsencode(p["a"])[3:] for p in doc["pairs"])
    # TSV: split on tabs and lines, then undo the escapes.
    r = subprocess.run([BIN, "compare", "--tsv", "oa", "ob"], capture_output=True, cwd=TMP,
                       timeout=60)
    assert r.returncode == 1, r
    lines = r.stdout.split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(ODD_NAMES) + 2, lines
    header = lines[0].split(b"\t")
    assert header == [b"status", b"a", b"b", b"only_in", b"unit", b"max_difference", b"changed",
                      b"total", b"changed_percent", b"psnr", b"size_mismatch", b"shape_a",
                      b"shape_b", b"diff", b"error"], header
    rows = [dict(zip(header, l.split(b"\t"))) for l in lines[1:-1]]
    assert all(len(l.split(b"\t")) == len(header) for l in lines[1:-1])
    got = {tsv_unescape(row[b"a"]): row[b"status"].decode() for row in rows}
    assert got == want, got
    for row in rows:
        name = tsv_unescape(row[b"a"])
        if want[name] == "same":
            assert row[b"psnr"] == b"inf" and row[b"max_difference"] == b"0"
        else:
            assert row[b"max_difference"] == b"1" and row[b"changed"] == b"1" and \
                row[b"total"] == b"20" and float(row[b"changed_percent"]) == 5.0
            assert abs(float(row[b"psnr"]) - 10 * math.log10(255 ** 2 * 20)) < 1e-9
        assert row[b"shape_a"] == b"1x4x5" and row[b"size_mismatch"] == b"false"
    # The human lines escape control characters (one line per pair).
    r = subprocess.run([BIN, "compare", "-q", "oa", "ob"], capture_output=True, cwd=TMP, timeout=60)
    assert b"oa/tab\\there.png ob/tab\\there.png: max difference 1" in r.stdout, r.stdout
    assert len(r.stdout.splitlines()) == 3


def tsv_unescape(field):
    out, i = bytearray(), 0
    while i < len(field):
        c = field[i:i + 1]
        if c == b"\\":
            out += {b"\\": b"\\", b"t": b"\t", b"n": b"\n", b"r": b"\r"}[field[i + 1:i + 2]]
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


def tsv_lists_missing_files_and_shapes():
    golden_trees("ts")
    rc, out, err = compare("--tsv", "-q", "goldens", "actual", cwd=path("ts"))
    assert rc == 1, err
    rows = [l.split("\t") for l in out.splitlines()[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("missing", "goldens/only_actual.png", "actual/only_actual.png", "b"),
        ("different", "goldens/shape.png", "actual/shape.png", ""),
        ("different", "goldens/sub/deep/rgb.png", "actual/sub/deep/rgb.png", ""),
        ("different", "goldens/sub/gray off.png", "actual/sub/gray off.png", ""),
        ("missing", "goldens/sub/only_golden.png", "actual/sub/only_golden.png", "a")], rows
    assert rows[1][10:13] == ["true", "1x4x5", "1x5x5"] and rows[1][4:10] == [""] * 6
    assert rows[0][4:] == [""] * 11


def max_share_passes_at_the_boundary_and_fails_below_it():
    # 10 x 10 gray, 3 pixels changed (by 1, 2 and 5): 3% of the pixels.
    a = gray(50, 10, 10)
    b = a.copy()
    b[0, 0] += 1
    b[4, 4] += 2
    b[9, 9] -= 5
    png_file("s_a.png", a)
    png_file("s_b.png", b)
    for args, code in [(("--max-share", "3%"), 0), (("--max-share", "3"), 0),
                       (("--max-share=3.000000",), 0), (("--max-share", "100"), 0),
                       (("--max-share", "2.9%"), 1), (("--max-share", "2.999999"), 1),
                       (("--max-share", "0.5%"), 1), ((), 1),
                       # over the tolerance 1: 2 pixels, 2%
                       (("--tolerance", "1", "--max-share", "2"), 0),
                       (("--tolerance", "1", "--max-share", "1.99"), 1),
                       (("--tolerance", "4"), 1), (("--tolerance", "5"), 0),
                       (("--tolerance", "4", "--max-share", "1%"), 0),
                       (("--tolerance", "4", "--max-share", "0.999999%"), 1)]:
        rc, out, err = compare(*args, "s_a.png", "s_b.png")
        assert rc == code and err == "", (args, rc, err)
    rc, out, err = compare("--tolerance", "1", "s_a.png", "s_b.png")
    assert out == "s_a.png s_b.png: max difference 5, 3 of 100 pixels differ (3.00%%), " \
                  "2 over tolerance (2.00%%), PSNR %s dB\n" % psnr(1 + 4 + 25, 100), out
    # A share of values for matrices: 2 of 6 values.
    assert compare("--max-share", "33.333334", "m_a.txt", "m_b.txt")[0] == 0
    assert compare("--max-share", "33.333333", "m_a.txt", "m_b.txt")[0] == 1
    for bad in ("101", "-1", "abc", "1.0000001", "5%%", "", "1e1", "%", "."):
        rc, out, err = compare("--max-share", bad, "s_a.png", "s_b.png")
        assert rc == 2 and out == "", bad
        one_error_line(err, "cnnfilter: --max-share: ")


def min_psnr_passes_at_the_boundary_and_fails_above_it():
    a = gray(50, 10, 10)
    b = a.copy()
    b[0, 0] += 1
    b[4, 4] += 2
    b[9, 9] -= 5
    mse = ((a.astype(float) - b.astype(float)) ** 2).mean()
    value = 10 * math.log10(255 ** 2 / mse)   # 53.36 dB
    assert abs(value - 10 * math.log10(255 ** 2 * 100 / 30)) < 1e-12
    below, above = "%.4f" % (value - 1e-4), "%.4f" % (value + 1e-4)
    # The PSNR alone does not pass pixels that changed: --max-share has to allow them.
    for args, code in [(("--min-psnr", below), 1),
                       (("--max-share", "3", "--min-psnr", below), 0),
                       (("--max-share", "3", "--min-psnr", above), 1),
                       (("--max-share", "3", "--min-psnr", "0"), 0),
                       (("--max-share", "2", "--min-psnr", below), 1)]:
        rc, out, err = compare(*args, "s_a.png", "s_b.png")
        assert rc == code and err == "", (args, rc, err)
    # Exactly at the minimum passes: the PSNR the JSON report gives, as the minimum.
    rc, out, err = compare("--json", "s_a.png", "s_b.png")
    exact = json.loads(out)["pairs"][0]["psnr"]
    assert abs(exact - value) < 1e-9
    assert compare("--max-share", "3", "--min-psnr", repr(exact), "s_a.png", "s_b.png")[0] == 0
    assert compare("--max-share", "3", "--min-psnr", repr(math.nextafter(exact, 100)), "s_a.png",
                   "s_b.png")[0] == 1
    # Identical: PSNR inf passes any minimum.
    assert compare("--min-psnr", "1000", "s_a.png", "s_a.png")[0] == 0
    # Matrices have no PSNR: an error for that pair.
    rc, out, err = compare("--min-psnr", "20", "m_a.txt", "m_b.txt")
    assert rc == 2 and out == "m_a.txt m_b.txt: max difference 0.75, 2 of 6 values differ (33.33%)\n"
    one_error_line(err, "cnnfilter: m_a.txt: --min-psnr is for images")
    for bad in ("-1", "x", "inf", "nan"):
        rc, out, err = compare("--min-psnr", bad, "s_a.png", "s_b.png")
        assert rc == 2
        one_error_line(err, "cnnfilter: --min-psnr: ")


def big_rgba_png(name, w, h):
    """A w x h RGBA PNG of zeros: a few hundred KB that decode to w*h*16 bytes of planes."""
    raw = b"".join(b"\0" + bytes(w * 4) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    return write(name, data)


def max_memory_and_max_pixels_bound_a_comparison():
    a = big_rgba_png("mem_a.png", 3000, 3000)   # 137 MiB of planes each
    b = big_rgba_png("mem_b.png", 3000, 3000)
    # Without a difference image both are read row by row: a few MiB, whatever the size.
    rc, out, err, peak = harness.run_peak([BIN, "compare", "--max-memory", "16M", a, b], TMP)
    assert rc == 0 and b"max difference 0" in out, (rc, out, err)
    if not os.environ.get("CNNFILTER_ASAN"):  # ASan keeps freed memory in quarantine
        assert peak < 40 * 1024, peak  # KiB: never the 2 x 137 MiB
    # The rows themselves must fit (64 rows x 3000 x 4 planes of floats: 3 MiB).
    rc, _, err = compare("--max-memory", "1M", a, b)
    assert rc == 2, err
    one_error_line(err, "cnnfilter: %s: 3000x3000 with 4 channels needs 3 MiB to compare, and "
                        "1 MiB of the memory limit are left for it" % a)
    assert "--max-memory" in err, err
    # A difference image needs both whole.
    for args, first, why in ((["--max-memory", "64M"], a, "memory limit"),
                             (["--max-memory", "200M"], a, "do not fit"),
                             (["--max-memory", "300M"], b, "memory limit")):
        args = args + ["--diff", path("mem_d.png")]
        rc, _, err, peak = harness.run_peak([BIN, "compare"] + args + [a, b], TMP)
        assert rc == 2, (args, err)
        one_error_line(err, "cnnfilter: %s: " % first)
        assert why in err and "--max-memory" in err, err
        # never more than the limit (plus the program): the refused image is not decoded
        limit = int(args[1][:-1]) * 1024
        assert peak < limit + 100 * 1024, (args, peak)
    assert not os.path.exists(path("mem_d.png"))
    rc, out, err = compare("--max-memory", "600M", "--diff", path("mem_d.png"), a, b)
    assert rc == 0 and "max difference 0" in out, (rc, out, err)
    rc, out, err = compare("--max-pixels", "1M", a, b)
    assert rc == 2, (rc, out, err)
    one_error_line(err, "cnnfilter: %s: 3000x3000 image is over the pixel limit" % a)


def rows_and_whole_images_give_the_same_metrics():
    # Without --diff a pair is read by rows, with it whole: the same numbers, to the last
    # digit of the PSNR, for images (per pixel) and matrices (per value).
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (301, 203, 3), dtype=np.uint8)
    y = x.copy()
    y[rng.random((301, 203)) < 0.1] += 7
    pa, pb = png_file("rw_a.png", x), png_file("rw_b.png", y)
    ma, mb = path("rw_a.npy"), path("rw_b.npy")
    np.save(ma, rng.standard_normal((3, 130, 70)).astype(np.float32))
    np.save(mb, np.load(ma) + np.float32(0.25) * (rng.random((3, 130, 70)) < 0.3))
    for a, b, tol in ((pa, pb, "3"), (ma, mb, "0.1")):
        rc1, rows, err1 = compare("--json", "--tolerance", tol, a, b)
        rc2, whole, err2 = compare("--json", "--tolerance", tol, "--diff", path("rw_d.png"), a, b)
        assert rc1 == rc2 == 1, (err1, err2)
        assert rows.replace('"diff": null', '"diff": "%s"' % path("rw_d.png")) == whole, (rows, whole)
        os.unlink(path("rw_d.png"))


TESTS = [v for k, v in list(globals().items()) if callable(v) and v.__module__ == "__main__"
         and k not in ("path", "write", "run", "compare", "png_file", "png", "one_error_line",
                       "no_temp_files", "gray", "psnr", "main", "faded", "marked", "make_tree",
                       "files_under", "golden_trees", "odd_trees", "tsv_unescape", "big_rgba_png")]


def main():
    return harness.run_tests("compare", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

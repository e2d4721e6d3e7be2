#!/usr/bin/env python3
"""test_memory.py - what decoders and threads hold is in the --max-memory estimate.

A progressive JPEG's whole-image coefficients, stb_image's own copy of the pixels (Radiance
HDR as floats, GIF frames), and each thread's scratch are counted from the header and the
thread count, refused over the limit before any decoding (exit 1, one line naming
--max-memory), and printed by --explain; runs within the limit still decode, and their
measured peak RSS stays under the estimate.  Each case takes a second or two.
"""
import os
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-memory-")
# ASan keeps freed memory in quarantine and adds its shadow: no RSS bounds there.
ASAN = os.environ.get("CNNFILTER_ASAN") == "1"
MiB = 1 << 20


def path(*p):
    return os.path.join(TMP, *p)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP, timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


one_error_line = harness.one_error_line


def refused_small(peak):
    """A refusal's peak RSS (KiB) is small: 32 MiB, or this process's own peak and 16 MiB (a
    child's maxrss starts from its parent's when it forks), far below the sizes refused."""
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak < max(32 * 1024, mine + 16 * 1024)


def explain(*args):
    """--explain's figures: (plan estimate, input bytes while decoding, input bytes held), MiB."""
    rc, out, err = run("--explain", *args)
    assert rc == 0, err
    plan = re.search(r"^memory estimate: ([\d.]+) MiB \((\d+) threads?\)$", out, re.M)
    inp = re.search(r"^input memory: ([\d.]+) MiB while decoding, ([\d.]+) MiB held while the "
                    r"plan runs \((read row by row|decoded whole)\)$", out, re.M)
    assert plan and inp, out
    return float(plan.group(1)), float(inp.group(1)), float(inp.group(2))


def convert(*args):
    subprocess.run(["convert"] + [str(a) for a in args], check=True, cwd=TMP)


def progressive_jpeg(name, w, h, sampling="1x1", colorspace=None):
    extra = ["-colorspace", colorspace] if colorspace else []
    convert("-size", "%dx%d" % (w, h), "plasma:fractal", "-seed", "7", *extra, "-interlace",
            "JPEG", "-sampling-factor", sampling, "-quality", "90", path(name))
    data = open(path(name), "rb").read()
    assert data.find(b"\xff\xc2") > 0, "not progressive"
    return path(name)


def coefficient_bytes(w, h, factors):
    """libjpeg's whole-image coefficients, by hand: per component, its 8x8 blocks (width
    and height in blocks rounded up to its sampling factors) x 64 x 2 bytes."""
    hmax = max(f[0] for f in factors)
    vmax = max(f[1] for f in factors)
    total = 0
    for hs, vs in factors:
        bw = -(-w * hs // (8 * hmax))
        bh = -(-h * vs // (8 * vmax))
        total += (-(-bw // hs) * hs) * (-(-bh // vs) * vs) * 128
    return total


def a_progressive_jpeg_bomb_is_refused_from_its_header():
    # A 16 x 16 progressive 4:4:4 JPEG whose SOF2 says 13000 x 13000: a few hundred bytes
    # that libjpeg would decode from 1 GB of coefficients (before: 1.04 GB and 6.5 s
    # under --max-memory 64M).
    small = progressive_jpeg("p16.jpg", 16, 16)
    data = bytearray(open(small, "rb").read())
    sof = data.find(b"\xff\xc2")
    struct.pack_into(">HH", data, sof + 5, 13000, 13000)
    assert data[sof + 9] == 3 and all(data[sof + 11 + 3 * k] == 0x11 for k in range(3))
    bomb = path("bomb.jpg")
    open(bomb, "wb").write(bytes(data))
    assert len(data) < 1000
    t0 = time.time()
    rc, _, err, peak = harness.run_peak([BIN, "-k", "box", "--max-memory", "64M", bomb,
                                         path("bomb.png")], TMP)
    took = time.time() - t0
    assert rc == 1, err
    one_error_line(err, "cnnfilter: %s: decoding 13000x13000 needs 970 MiB (970 MiB of "
                        "decoder buffers), over the memory limit of 64 MiB" % bomb)
    assert "--max-memory" in err, err
    assert took < 1.0, took
    if not ASAN:
        assert refused_small(peak), peak
    assert not os.path.exists(path("bomb.png"))
    # --explain shows it: the coefficients (1625 x 1625 blocks x 3 x 128 bytes) and the
    # rows and tables libjpeg holds beside them (a few MiB at most).
    coef = coefficient_bytes(13000, 13000, [(1, 1)] * 3)
    assert coef == 1625 * 1625 * 3 * 128
    _, decoding, held = explain("-k", "box", bomb)
    assert coef / MiB <= decoding <= coef / MiB + 8, decoding
    assert held == decoding  # read row by row: the decoder's buffers are held for the run
    # The same header as a baseline JPEG (one scan of all components: no coefficients
    # held) costs only its rows.
    data[sof + 1] = 0xc0
    open(path("base.jpg"), "wb").write(bytes(data))
    _, base, _ = explain("-k", "box", path("base.jpg"))
    assert abs((decoding - base) - coef / MiB) < 0.1, (decoding, base)


def progressive_jpegs_of_a_normal_size_still_decode():
    # Each sampling, gray and CMYK: the pixels libjpeg-turbo gives ImageMagick.
    for name, sampling, cs in (("p444.jpg", "1x1", None), ("p420.jpg", "2x2", None),
                               ("p422.jpg", "2x1", None), ("pgray.jpg", "1x1", "gray")):
        f = progressive_jpeg(name, 999, 701, sampling, cs)
        rc, _, err = run("-k", "identity", f, path(name + ".npy"))
        assert rc == 0, (name, err)
        got = np.load(path(name + ".npy"))
        channels = 1 if cs == "gray" else 3
        raw = subprocess.run(["convert", f, "-depth", "8", ("gray" if cs else "rgb") + ":-"],
                             capture_output=True, check=True).stdout
        want = np.frombuffer(raw, np.uint8).reshape(701, 999, channels).transpose(2, 0, 1)
        assert got.shape == want.shape and np.array_equal(got, want), name
    # A 3000 x 3000 one holds 51.5 MiB of coefficients while it streams: refused at 40M,
    # and at 128M its peak stays under the estimate (and above the coefficients alone).
    big = progressive_jpeg("p3000.jpg", 3000, 3000)
    coef = coefficient_bytes(3000, 3000, [(1, 1)] * 3)
    rc, _, err = run("-j", "1", "-k", "box", "--max-memory", "40M", big, path("p3000.png"))
    assert rc == 1 and "needs 5" in err and "--max-memory" in err, err
    assert not os.path.exists(path("p3000.png"))
    plan, decoding, held = explain("-j", "1", "-k", "box", big)
    assert coef / MiB <= decoding <= coef / MiB + 4, decoding
    rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "box", "--max-memory", "128M",
                                         big, path("p3000.png")], TMP)
    assert rc == 0, err
    if not ASAN:
        file_mib = os.path.getsize(big) / MiB
        assert coef / 1024 < peak < (decoding + plan + file_mib + 8) * 1024, (peak, decoding, plan)


def radiance_hdr(name, w, h):
    # Flat RLE scanlines (a run of w of each RGBE component): a valid file of a few KB.
    runs = b""
    for comp in (128, 64, 32, 129):     # 1.0, 0.5, 0.25 (exponent 129: x 2 / 256)
        left = w
        while left:
            n = min(left, 127)
            runs += bytes([128 + n, comp])
            left -= n
    line = bytes([2, 2, w >> 8, w & 255]) + runs
    data = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (h, w) + line * h
    open(path(name), "wb").write(data)
    return path(name)


def stb_buffers_are_counted_for_hdr_and_gif():
    # 3000 x 3000 HDR: the float image is 103 MiB, and stb's float copy another 103: decoding
    # needs 206 MiB (2 x 3000 x 3000 x 12 bytes and a 12000-byte scanline).  Before, a limit
    # of 150M let it through and the run peaked at 211 MiB.
    hdr = radiance_hdr("big.hdr", 3000, 3000)
    _, decoding, held = explain("-j", "1", "-k", "identity", hdr)
    assert decoding == round((2 * 3000 * 3000 * 12 + 12000) / MiB, 1) == 206.0, decoding
    assert held == 103.0, held
    t0 = time.time()
    rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "identity", "--max-memory",
                                         "150M", hdr, path("hdr.png")], TMP)
    assert rc == 1 and time.time() - t0 < 1.0, err
    one_error_line(err, "cnnfilter: %s: decoding 3000x3000 needs 206 MiB (the image decoded "
                        "whole and 103 MiB of decoder buffers), over the memory limit of 150 "
                        "MiB" % hdr)
    assert "--max-memory" in err and not os.path.exists(path("hdr.png")), err
    if not ASAN:
        assert refused_small(peak), peak
    # Within the limit it decodes, right (1.0 is 255), and its peak is what was counted.
    plan, decoding, _ = explain("-j", "1", "-k", "identity", hdr)
    rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "identity", "--max-memory",
                                         "400M", hdr, path("hdr.npy")], TMP)
    assert rc == 0, err
    got = np.load(path("hdr.npy"), mmap_mode="r")
    assert got.shape == (3, 3000, 3000)
    assert [float(got[c, 1234, 2345]) for c in range(3)] == [255.0, 127.5, 63.75]
    del got
    rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "identity", hdr,
                                         path("hdr.png")], TMP)
    assert rc == 0, err
    if not ASAN:
        assert 180 * 1024 < peak < (decoding + plan + 8) * 1024, (peak, decoding)
    # GIF: stb holds its frame as RGBA, the background and a history byte (9 bytes a pixel)
    # beside the 4-plane float image: 61 + 34.3 MiB for 2000 x 2000.
    convert("-size", "2000x2000", "xc:gray50", path("big.gif"))
    plan, decoding, held = explain("-j", "1", "-k", "identity", path("big.gif"))
    assert decoding == round(2000 * 2000 * (16 + 9) / MiB, 1) and held == 61.0, (decoding, held)
    rc, _, err = run("-j", "1", "-k", "identity", "--max-memory", "80M", path("big.gif"),
                     path("gif.png"))
    assert rc == 1 and "needs 95 MiB (the image decoded whole and 34 MiB" in err, err
    rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "identity", "--max-memory",
                                         "120M", path("big.gif"), path("gif.png")], TMP)
    assert rc == 0, err
    if not ASAN:
        assert peak < (decoding + plan + 8) * 1024, (peak, decoding)


def each_threads_scratch_is_counted():
    # 40 x 30000 and a 255-wide box: each thread's part of a band pads 254 more rows of
    # 30254 values.  The estimate grows with -j; a limit between the -j 1 and -j 8
    # estimates takes -j 1 and refuses -j 8 (before, -j 8 ran at 240M and peaked at 268 MB).
    img = np.arange(40 * 30000, dtype=np.float32).reshape(40, 30000) % 255
    np.save(path("wide.npy"), img)
    args = ["-k", "box:255", "--border", "replicate", path("wide.npy")]
    est = {j: explain("-j", j, *args) for j in (1, 2, 8)}
    assert est[1][0] < est[2][0] < est[8][0], est
    assert est[1][0] < 200 < 240 < est[8][0], est
    rc, _, err = run("-j", "1", "--max-memory", "240M", *args, path("w1.npy"))
    assert rc == 0, err
    rc, _, err = run("-j", "8", "--max-memory", "240M", *args, path("w8.npy"))
    assert rc == 1, err
    one_error_line(err, "cnnfilter: %s: the plan needs about " % path("wide.npy"))
    assert "on 8 threads, over the memory limit of 240 MiB" in err and "--max-memory" in err
    assert not os.path.exists(path("w8.npy"))
    # With room, -j 8 runs, gives the -j 1 pixels, and stays under its estimate.
    rc, _, err, peak = harness.run_peak([BIN, "-j", "8"] + args + [path("w8.npy")], TMP)
    assert rc == 0, err
    assert np.array_equal(np.load(path("w8.npy")), np.load(path("w1.npy")))
    if not ASAN:
        plan, decoding, _ = est[8]
        whole = 40 * 30000 * 8 / MiB   # the .npy result held whole with its encoding
        assert peak < (plan + decoding + whole) * 1024, (peak, est[8])


def a_batch_counts_the_threads_each_file_gets():
    # -j 8 over two files: each runs on 4 threads, and is refused at 240M on its own; -j 2:
    # one thread each, both run (sharing the limit).
    d = path("wide_batch")
    os.makedirs(d)
    img = np.arange(40 * 30000, dtype=np.float32).reshape(40, 30000) % 255
    files = [os.path.join(d, n) for n in ("a.npy", "b.npy")]
    for f in files:
        np.save(f, img)
    rc, out, err = run("-j", "8", "--max-memory", "240M", "-k", "box:255", "--border",
                       "replicate", "-o", path("wb8"), "--output-format", "npy", *files)
    assert rc == 1, err
    assert err.count("on 4 threads, over the memory limit of 240 MiB") == 2, err
    rc, out, err = run("-j", "2", "--max-memory", "240M", "-k", "box:255", "--border",
                       "replicate", "-o", path("wb2"), "--output-format", "npy", *files)
    assert rc == 0, err
    assert sorted(os.listdir(path("wb2"))) == ["a.npy", "b.npy"], os.listdir(path("wb2"))


def compare_counts_the_decoders_buffers():
    # compare reads rows side by side, but an HDR is decoded whole: a 3000 x 3000 one needs
    # 103 MiB of planes and 103 MiB of stb's floats while it decodes, beside compare's 64
    # rows (2.2 MiB) and the file.
    hdr = radiance_hdr("cmp.hdr", 3000, 3000)
    rc, out, err = run("compare", "--max-memory", "150M", hdr, hdr)
    assert rc == 2 and "--max-memory" in err and "needs 209 MiB to compare" in err, err


TESTS = [a_progressive_jpeg_bomb_is_refused_from_its_header,
         progressive_jpegs_of_a_normal_size_still_decode,
         stb_buffers_are_counted_for_hdr_and_gif,
         each_threads_scratch_is_counted,
         a_batch_counts_the_threads_each_file_gets,
         compare_counts_the_decoders_buffers]


def main():
    return harness.run_tests("memory", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

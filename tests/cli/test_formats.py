#!/usr/bin/env python3
"""test_formats.py - TIFF, WebP and PNM through the real binary: written and read back, files
made by ImageMagick read as ImageMagick decodes them, --depth 8|16|float, --quality for WebP,
bad files, --max-pixels, and cnnfilter's mark in every image it writes.

References are ImageMagick's `convert` (its raw decode of each file) and NumPy; cnf_image_mark
is run through tests/cli/mark_driver.c ($CNNFILTER_MARK_DRIVER).  The filter is always the
1x1 identity with --border zero given, so the pixels are the input's.
The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
MARK = os.environ.get("CNNFILTER_MARK_DRIVER",
                      os.path.join(os.path.dirname(BIN), "tests", "mark_driver"))
TMP = tempfile.mkdtemp(prefix="cnnfilter-formats-")
ID = ("-k", "identity", "--border", "zero")


def path(*p):
    return os.path.join(TMP, *p)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, (args, rc, err)
    return out


def convert(*args):
    r = subprocess.run(["convert"] + [str(a) for a in args], capture_output=True, cwd=TMP,
                       timeout=120)
    assert r.returncode == 0, (args, r.stderr)
    return r.stdout


def im_pixels(name, channels, depth=8):
    """ImageMagick's decode of a file: (H, W, C) of its samples at `depth` bits
    (8, 16 unsigned; 32: float)."""
    w, h = [int(v) for v in convert(name, "-format", "%w %h", "info:").split()]
    fmt = {1: "gray", 2: "graya", 3: "rgb", 4: "rgba"}[channels]
    if depth == 32:
        raw = convert(name, "-define", "quantum:format=floating-point", "-depth", "32",
                      "-endian", "LSB", fmt + ":-")
        a = np.frombuffer(raw, "<f4")
    elif depth == 16:
        a = np.frombuffer(convert(name, "-depth", "16", "-endian", "MSB", fmt + ":-"), ">u2")
    else:
        a = np.frombuffer(convert(name, "-depth", "8", fmt + ":-"), np.uint8)
    return a.reshape(h, w, channels)


def npy_of(name, *extra):
    """cnnfilter's reading of a file: (C, H, W) float32, through an .npy output."""
    out = path(os.path.basename(name) + ".npy")
    ok(*ID, *extra, name, out)
    return np.load(out)


def mark(name, nbytes=None):
    args = [MARK, path(name)] + ([str(nbytes)] if nbytes is not None else [])
    r = subprocess.run(args, capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    line = r.stdout.decode().rstrip("\n")
    return (1, line[2:]) if line.startswith("1 ") else (0, None)


def noise_png(name, w, h, channels=3, depth=8, seed=1):
    """A PNG of uniform noise written by ImageMagick from raw samples."""
    rng = np.random.default_rng(seed)
    hi = 255 if depth == 8 else 65535
    a = rng.integers(0, hi + 1, size=(h, w, channels), dtype=np.uint16 if depth == 16 else np.uint8)
    fmt = {1: "gray", 2: "graya", 3: "rgb", 4: "rgba"}[channels]
    raw = path(name + ".raw")
    (a.astype(">u2") if depth == 16 else a).tofile(raw)
    convert("-size", "%dx%d" % (w, h), "-depth", str(depth), "-endian", "MSB", fmt + ":" + raw,
            path(name))
    return a


def smooth_png(name, w=96, h=64, alpha=False):
    """A smooth RGB(A) 8-bit image (what lossy codecs are for), as a PNG; returns (H, W, C)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rgb = [128 + 100 * np.sin(x / 9.0) * np.cos(y / 13.0), 128 + 90 * np.cos((x + y) / 17.0),
           100 + 80 * np.sin(y / 7.0)]
    if alpha:
        rgb.append((x * 255 / (w - 1)))
    a = np.clip(np.rint(np.stack(rgb, -1)), 0, 255).astype(np.uint8)
    raw = path(name + ".raw")
    a.tofile(raw)
    convert("-size", "%dx%d" % (w, h), "-depth", "8", ("rgba:" if alpha else "rgb:") + raw,
            path(name))
    return a


def chw(a):
    return np.transpose(a, (2, 0, 1)).astype(np.float64)


# ------------------------------------------------------------------ TIFF


def tiff_8bit_written_and_read_back_exactly():
    a = noise_png("n8.png", 53, 31, 4)
    ok(*ID, "n8.png", "n8.tif")
    assert np.array_equal(im_pixels("n8.tif", 4), a)
    assert np.array_equal(npy_of("n8.tif"), chw(a))


def tiff_16bit_keeps_a_16bit_png_exactly():
    a = noise_png("n16.png", 40, 27, 3, depth=16, seed=2)
    ok(*ID, "--depth", "16", "n16.png", "n16.tif")
    assert convert("n16.tif", "-format", "%z", "info:") == b"16"
    assert np.array_equal(im_pixels("n16.tif", 3, 16), a)
    # What a 16-bit PNG gets from the same input is the same.
    ok(*ID, "--depth", "16", "n16.png", "n16b.png")
    assert np.array_equal(im_pixels("n16b.png", 3, 16), a)
    # And it is read as v / 257.
    got = npy_of("n16.tif")
    assert np.array_equal(got, (chw(a) / 257.0).astype(np.float32))


def tiff_float_keeps_npy_values_bit_for_bit():
    rng = np.random.default_rng(3)
    v = (rng.standard_normal((3, 17, 29)) * 1000).astype(np.float32)
    # (no -0.0: the filter's sum makes it +0.0, whatever the format)
    v[0, 0, :5] = [1e-42, -1e-30, -3.25, 0.1, 65504.5]
    np.save(path("f.npy"), v)
    ok(*ID, "--depth", "float", "f.npy", "f.tif")
    back = npy_of("f.tif")
    assert back.dtype == np.float32 and back.shape == v.shape
    assert back.tobytes() == v.tobytes()
    # libvips reads the same floats (its raw export of the TIFF, band-interleaved).
    subprocess.run(["vips", "rawsave", path("f.tif"), path("f.raw")], check=True, timeout=60)
    ref = np.fromfile(path("f.raw"), "<f4").reshape(17, 29, 3)
    assert np.transpose(ref, (2, 0, 1)).tobytes() == v.tobytes()
    # One and two channels too.
    np.save(path("f1.npy"), v[:1])
    ok(*ID, "--depth", "float", "f1.npy", "f1.tif")
    assert npy_of("f1.tif").tobytes() == v[:1].tobytes()


def tiffs_made_by_imagemagick_read_as_it_decodes_them():
    a = noise_png("src.png", 150, 90, 3, seed=4)
    noise_png("src16.png", 70, 40, 3, depth=16, seed=5)
    noise_png("srcga.png", 66, 33, 2, seed=6)
    cases = [
        ("strips.tif", ["src.png"], 3, 8),
        ("lzw.tif", ["src.png", "-compress", "lzw"], 3, 8),
        ("zip.tif", ["src.png", "-compress", "zip"], 3, 8),
        ("tiles.tif", ["src.png", "-define", "tiff:tile-geometry=64x64"], 3, 8),
        ("planes.tif", ["src.png", "-interlace", "plane"], 3, 8),
        ("planes_tiles.tif", ["src.png", "-interlace", "plane", "-define",
                              "tiff:tile-geometry=32x32"], 3, 8),
        ("s16.tif", ["src16.png"], 3, 16),
        ("ga.tif", ["srcga.png"], 2, 8),
        ("gray.tif", ["src.png", "-colorspace", "gray"], 1, 8),
        ("float.tif", ["src.png", "-define", "quantum:format=floating-point", "-depth", "32"],
         3, 32),
    ]
    for name, args, channels, depth in cases:
        convert(*args, name)
        ref = im_pixels(name, channels, depth).astype(np.float64)
        got = npy_of(name)
        assert got.shape == (channels, ref.shape[0], ref.shape[1]), (name, got.shape)
        want = chw(ref) / (257.0 if depth == 16 else 1.0)
        assert np.array_equal(got, want.astype(np.float32)), (name, np.abs(got - want).max())
    # The strip file is the PNG's pixels (ImageMagick agrees with the source).
    assert np.array_equal(im_pixels("strips.tif", 3), a)
    # Float TIFFs from ImageMagick hold 0..1.
    got = npy_of("float.tif")
    assert 0 <= got.min() and got.max() <= 1.0 and got.max() > 0.9


# ------------------------------------------------------------------ WebP


def webp_lossless_round_trip_is_exact_with_alpha():
    a = smooth_png("s.png", alpha=True)
    ok(*ID, "s.png", "s.webp")
    with open(path("s.webp"), "rb") as f:
        head = f.read(16)
    assert head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    assert np.array_equal(im_pixels("s.webp", 4), a)
    assert np.array_equal(npy_of("s.webp"), chw(a))


def webp_lossy_with_quality_is_smaller_and_close():
    a = smooth_png("q.png", 256, 192)
    ok(*ID, "q.png", "lossless.webp")
    ok(*ID, "--quality", "50", "q.png", "lossy.webp")
    small, big = os.path.getsize(path("lossy.webp")), os.path.getsize(path("lossless.webp"))
    assert small < big, (small, big)
    got = im_pixels("lossy.webp", 3).astype(np.float64)
    mse = np.mean((got - a) ** 2)
    psnr = 10 * np.log10(255.0 ** 2 / mse)
    assert 30 < psnr < 99, psnr  # lossy, but close
    assert not np.array_equal(got, a)


def a_webp_made_by_imagemagick_is_read():
    a = smooth_png("m.png", 80, 50, alpha=True)
    convert("m.png", "-define", "webp:lossless=true", "m.webp")
    ref = im_pixels("m.webp", 4)
    assert np.array_equal(npy_of("m.webp"), chw(ref))
    # Where alpha is not 0, the colours are the source's (lossless).
    seen = ref[:, :, 3] > 0
    assert np.array_equal(ref[seen], a[seen])
    convert("m.png", "-quality", "80", "-alpha", "off", "ml.webp")
    ref = im_pixels("ml.webp", 3)
    got = npy_of("ml.webp")
    # libwebp's decoder in both: the same pixels, or within 1 of its fancy upsampling.
    assert np.abs(got - chw(ref)).max() <= 1


def webp_over_16383_pixels_wide_is_refused():
    np.save(path("wide.npy"), np.zeros((1, 2, 16400), np.float32))
    rc, _, err = run(*ID, "wide.npy", "wide.webp")
    assert rc == 2, (rc, err)
    harness.one_error_line(err, "cnnfilter: wide.webp: WebP holds at most 16383")
    assert not os.path.exists(path("wide.webp"))


# ------------------------------------------------------------------ PNM


def pnm_8_and_16_bit_written_as_imagemagick_reads_them():
    g = noise_png("g8.png", 21, 13, 1, seed=7)
    ok(*ID, "g8.png", "g8.pgm")
    with open(path("g8.pgm"), "rb") as f:
        assert f.read(3) == b"P5\n"
    assert np.array_equal(im_pixels("g8.pgm", 1), g)
    c = noise_png("c16.png", 19, 11, 3, depth=16, seed=8)
    ok(*ID, "--depth", "16", "c16.png", "c16.ppm")
    assert np.array_equal(im_pixels("c16.ppm", 3, 16), c)
    assert np.array_equal(npy_of("c16.ppm"), (chw(c) / 257.0).astype(np.float32))
    # Alpha cannot be held: a usage-level format error, and --alpha drop writes it.
    noise_png("ga.png", 5, 5, 4, seed=9)
    rc, _, err = run(*ID, "ga.png", "ga.ppm")
    assert rc == 2, (rc, err)
    harness.one_error_line(err, "cnnfilter: ga.ppm: PGM/PPM cannot hold alpha")
    assert not os.path.exists(path("ga.ppm"))
    ok(*ID, "--alpha", "drop", "ga.png", "ga.ppm")


# ------------------------------------------------------------------ errors and limits


def truncated_and_corrupt_tiff_and_webp_fail_with_one_line():
    noise_png("t.png", 64, 64, 3, seed=10)
    ok(*ID, "t.png", "t.tif")
    ok(*ID, "t.png", "t.webp")
    for src in ("t.tif", "t.webp"):
        with open(path(src), "rb") as f:
            data = f.read()
        ext = src[-4:] if src.endswith("webp") else src[-3:]
        bad = {"cut." + ext: data[: len(data) * 2 // 3],
               "junk." + ext: data[:16] + bytes(range(256)) * 4,
               "head." + ext: data[:6]}
        for name, b in bad.items():
            with open(path(name), "wb") as f:
                f.write(b)
            rc, _, err = run(*ID, name, "o.png")
            assert rc == 1, (name, rc, err)
            harness.one_error_line(err, "cnnfilter: %s: " % name)
            assert not os.path.exists(path("o.png"))


def unsupported_tiffs_are_refused_in_one_line():
    noise_png("pal_src.png", 16, 16, 3, seed=16)
    convert("pal_src.png", "-type", "palette", "pal.tif")
    convert("pal_src.png", "-colorspace", "cmyk", "cmyk.tif")
    convert("pal_src.png", "-monochrome", "-depth", "1", "mono.tif")
    for name, what in (("pal.tif", "palette"), ("cmyk.tif", "photometric"),
                       ("mono.tif", "1-bit")):
        rc, _, err = run(*ID, name, "o.png")
        assert rc == 1, (name, rc, err)
        line = harness.one_error_line(err, "cnnfilter: %s: " % name)
        assert what in line, line
        assert not os.path.exists(path("o.png"))


def max_pixels_refuses_big_tiff_and_webp_headers_before_decoding():
    convert("-size", "4000x3000", "xc:gray", "-compress", "zip", "big.tif")
    convert("-size", "4000x3000", "xc:gray", "-define", "webp:lossless=true", "big.webp")
    for name in ("big.tif", "big.webp"):
        rc, _, err = run(*ID, "--max-pixels", "1000000", name, "o.png")
        assert rc == 1, (name, rc, err)
        line = harness.one_error_line(err, "cnnfilter: %s: " % name)
        assert "4000x3000" in line and "pixel limit" in line, line


def depth_and_format_usage_errors():
    noise_png("u.png", 4, 4, 3, seed=11)
    for args, prefix in [
        (("--depth", "float", "u.png", "o.png"),
         "cnnfilter: --depth: float output is for .tif only"),
        (("--depth", "16", "u.png", "o.webp"),
         "cnnfilter: --depth: 16-bit output is for .png, .tif and .pnm only"),
        (("--depth", "32", "u.png", "o.tif"), "cnnfilter: --depth: '32' is not 8, 16 or float"),
        (("--output-format", "heic", "-o", "od", "u.png"), "cnnfilter: --output-format: "),
    ]:
        rc, _, err = run(*ID, *args)
        assert rc == 2, (args, rc, err)
        harness.one_error_line(err, prefix)
    assert not os.path.exists(path("o.png"))
    # --map with float TIFF: a warning, the values unmapped.
    rc, _, err = run(*ID, "--depth", "float", "--map", "abs", "u.png", "o.tif")
    assert rc == 0 and "--map" in err and "float TIFF" in err, err


def batch_writes_the_new_extensions_and_skip_existing_checks_them():
    os.makedirs(path("bin"), exist_ok=True)
    noise_png(os.path.join("bin", "a.png"), 8, 8, 3, seed=12)
    for fmt, ext in (("tiff", "tiff"), ("webp", "webp"), ("ppm", "ppm")):
        ok(*ID, "--output-format", fmt, "-o", "bout_" + fmt, "bin")
        assert os.listdir(path("bout_" + fmt)) == ["a." + ext], os.listdir(path("bout_" + fmt))
    # A cut WebP output is not complete; its mark (at the end, where WebP keeps metadata) is
    # gone with the cut, so whose it is cannot be told: refused without -f, then made again.
    p = path("bout_webp", "a.webp")
    with open(p, "rb") as f:
        whole = f.read()
    with open(p, "wb") as f:
        f.write(whole[:-4])
    rc, _, err = run(*ID, "--output-format", "webp", "--skip-existing", "-o", "bout_webp", "bin")
    assert rc == 2 and "a.webp: exists and is an image cnnfilter did not write" in err, err
    ok(*ID, "--output-format", "webp", "--skip-existing", "-f", "-o", "bout_webp", "bin")
    with open(p, "rb") as f:
        assert f.read() == whole
    p = path("bout_tiff", "a.tiff")
    with open(p, "rb") as f:
        whole = f.read()
    with open(p, "wb") as f:
        f.write(whole[: len(whole) // 2])
    ok(*ID, "--output-format", "tiff", "--skip-existing", "-o", "bout_tiff", "bin")
    with open(p, "rb") as f:
        assert f.read() == whole


def help_and_completion_list_the_new_formats():
    out = ok("--help").decode()
    assert "png, jpg, tif, webp, bmp, tga, pnm, npy, txt or json" in out, out
    assert "--depth 8|16|float" in out
    words = ok("complete", "--output-format").decode().split()
    assert words == ["png", "jpg", "tif", "webp", "bmp", "tga", "pnm", "npy", "txt", "json"], words
    assert ok("complete", "--depth").decode().split() == ["8", "16", "float"]


# ------------------------------------------------------------------ the mark


def every_image_format_with_text_carries_the_mark():
    noise_png("mk.png", 30, 20, 3, seed=13)
    opts = "--kernel identity --border zero"
    for out, extra in (("mk_o.png", ()), ("mk_o.jpg", ()), ("mk_o.tif", ()),
                       ("mk_16.tif", ("--depth", "16")), ("mk_f.tif", ("--depth", "float")),
                       ("mk_o.webp", ()), ("mk_q.webp", ("--quality", "60")), ("mk_o.ppm", ()),
                       ("mk_16.ppm", ("--depth", "16"))):
        ok(*ID, *extra, "mk.png", out)
        found, comment = mark(out)
        assert found == 1, out
        assert re.match(r"cnnfilter \d+\.\d+\.\d+ " + opts, comment), (out, comment)
        for e in extra:
            assert e in comment, (out, comment)
    # BMP and TGA have no text: no mark.
    for out in ("mk_o.bmp", "mk_o.tga"):
        ok(*ID, "mk.png", out)
        assert mark(out) == (0, None), out
    # ImageMagick's text is not ours.
    assert "cnnfilter" in convert("mk_o.tif", "-verbose", "info:").decode()


def files_imagemagick_makes_have_no_mark():
    noise_png("im.png", 30, 20, 3, seed=14)
    for out in ("im.tif", "im.webp", "im.jpg", "im.ppm", "im2.png"):
        convert("im.png", "-set", "comment", "cnnfilter --kernel x", out)
        assert mark(out) == (0, None), out


def the_mark_is_found_in_the_first_64_kib():
    big = noise_png("bigmk.png", 700, 500, 3, seed=15)
    for out in ("bigmk_o.png", "bigmk_o.jpg", "bigmk_o.tif", "bigmk_o.ppm"):
        ok(*ID, "bigmk.png", out)
        assert os.path.getsize(path(out)) > 200000, out
        found, comment = mark(out, 65536)
        assert found == 1 and re.match(r"cnnfilter \d+\.\d+\.\d+ --kernel identity", comment), out
    # The TIFF's directory, written before its strips and rewritten in place: ImageMagick
    # decodes all of its strips (about 256 KiB each) as the source.
    assert np.array_equal(im_pixels("bigmk_o.tif", 3), big)
    with open(path("bigmk_o.tif"), "rb") as f:
        assert f.read(8) == b"II*\0\x08\0\0\0"
    # WebP keeps metadata after the image: the whole file is needed (documented).
    ok(*ID, "bigmk.png", "bigmk_o.webp")
    assert mark("bigmk_o.webp")[0] == 1


TESTS = [v for k, v in list(globals().items()) if callable(v) and v.__module__ == "__main__"
         and k not in ("path", "run", "ok", "convert", "im_pixels", "npy_of", "mark", "noise_png",
                       "smooth_png", "chw", "main")]


def main():
    return harness.run_tests("formats", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_orient.py - inputs turned upright by their EXIF orientation, and Radiance HDR read as floats.

The JPEGs carry an APP1 "Exif" segment written here (each of the 8 orientations, both byte
orders) in front of the same pixels; the PNGs an eXIf chunk.  Each result is checked against
NumPy's turn of the stored pixels (read with --no-auto-orient, exact in .npy) and against
independent tools: ImageMagick's `convert x.jpg -auto-orient` for JPEG (ImageMagick 6 does not
read PNG's eXIf) and libvips' `vips autorot` for PNG.  Both use libjpeg(-turbo) as cnnfilter
does, so the decoded JPEG pixels agree; a difference of 1 is allowed in case a build's IDCT
differs.  The HDR files are written here with RGBE values whose floats are known exactly.
The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import json
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
TMP = tempfile.mkdtemp(prefix="cnnfilter-orient-")
CONVERT = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else None
IDENTIFY = "/usr/bin/identify" if os.path.exists("/usr/bin/identify") else None
VIPS = shutil.which("vips")
NAMES = {1: "TopLeft", 2: "TopRight", 3: "BottomRight", 4: "BottomLeft", 5: "LeftTop",
         6: "RightTop", 7: "RightBottom", 8: "LeftBottom"}
ID = ["-k", "identity", "--border", "replicate"]


def path(*p):
    return os.path.join(TMP, *p)


def write(name, data):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return p


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP, timeout=60)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, "exit %d: %s" % (rc, err)
    return out, err


def tiff(o, big):
    """A TIFF-structured EXIF block: IFD0 with Make and Orientation = o."""
    e = ">" if big else "<"
    ifd = (struct.pack(e + "H", 2) + struct.pack(e + "HHI", 0x010F, 2, 4) + b"ABC\0" +
           struct.pack(e + "HHIHH", 0x0112, 3, 1, o, 0) + struct.pack(e + "I", 0))
    return (b"MM" if big else b"II") + struct.pack(e + "HI", 42, 8) + ifd


def with_app1(jpeg, o, big):
    payload = b"Exif\0\0" + tiff(o, big)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def with_exif_chunk(png, o, big):
    t = tiff(o, big)
    chunk = struct.pack(">I", len(t)) + b"eXIf" + t + struct.pack(">I", zlib.crc32(b"eXIf" + t))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def upright(a, o):
    """NumPy's turn of (C,H,W) stored pixels for EXIF orientation o."""
    return {1: lambda: a, 2: lambda: a[:, :, ::-1], 3: lambda: a[:, ::-1, ::-1],
            4: lambda: a[:, ::-1, :], 5: lambda: a.transpose(0, 2, 1),
            6: lambda: np.rot90(a, -1, axes=(1, 2)),
            7: lambda: np.rot90(a, -1, axes=(1, 2))[:, ::-1, :],
            8: lambda: np.rot90(a, 1, axes=(1, 2))}[o]()


def base_pixels():
    """7 wide, 4 high RGB: no turn of it equals another."""
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, size=(4, 7, 3), dtype=np.uint8)


_plain = {}


def plain_jpeg():
    """A JPEG of the base pixels, without EXIF, written by cnnfilter at quality 100."""
    if "jpg" not in _plain:
        src = write("base.png", cnnref.png_write(base_pixels()))
        ok(*ID, "--quality", "100", src, path("plain.jpg"))
        with open(path("plain.jpg"), "rb") as f:
            _plain["jpg"] = f.read()
    return _plain["jpg"]


def stored_pixels():
    """The plain JPEG's decoded pixels (C,H,W), exact, through .npy."""
    ok(*ID, write("plain.jpg", plain_jpeg()), path("stored.npy"))
    return npy(path("stored.npy"))


def npy(p):
    return np.load(p).astype(np.float64)


def png_chw(p):
    with open(p, "rb") as f:
        px = cnnref.png_read(f.read())
    px = np.asarray(px, dtype=np.float64)
    if px.ndim == 2:
        px = px[:, :, None]
    return px.transpose(2, 0, 1)


def oriented_jpeg(o, big=None):
    name = "o%d%s.jpg" % (o, "" if big is None else ("m" if big else "i"))
    return write(name, with_app1(plain_jpeg(), o, (o % 2 == 0) if big is None else big))


# --------------------------------------------------------------------------- tests

def each_jpeg_orientation_turns_as_numpy_and_imagemagick_say():
    stored = stored_pixels()
    assert stored.shape == (3, 4, 7), stored.shape
    worst = 0
    for o in range(1, 9):
        for big in (False, True):
            src = oriented_jpeg(o, big)
            if IDENTIFY:
                got = subprocess.run([IDENTIFY, "-format", "%[orientation]", src],
                                     capture_output=True, text=True).stdout
                assert got == NAMES[o], "identify reads %r for %d" % (got, o)
            ok(*ID, src, path("up.npy"))
            up = npy(path("up.npy"))
            want = upright(stored, o)
            assert up.shape == want.shape, (o, up.shape, want.shape)
            assert np.array_equal(up, want), "orientation %d differs from NumPy's turn" % o
            if o != 1:
                assert up.shape != stored.shape or not np.array_equal(up, stored), o
            if CONVERT:
                ok(*ID, src, path("up.png"))
                subprocess.run([CONVERT, src, "-auto-orient", "PNG24:" + path("im.png")], check=True)
                im = png_chw(path("im.png"))
                mine = png_chw(path("up.png"))
                assert im.shape == mine.shape, (o, im.shape, mine.shape)
                worst = max(worst, int(np.abs(im - mine).max()))
    assert worst <= 1, "ImageMagick's -auto-orient differs by %d" % worst
    print("     (largest difference from ImageMagick's decode: %d)" % worst)


def no_auto_orient_keeps_the_stored_order():
    src = oriented_jpeg(6)
    ok(*ID, "--no-auto-orient", src, path("kept.npy"))
    ok(*ID, "--no-auto-orient", write("plain.jpg", plain_jpeg()), path("plain.npy"))
    assert np.array_equal(npy(path("kept.npy")), npy(path("plain.npy")))
    if CONVERT:  # ImageMagick without -auto-orient: the stored order too
        ok(*ID, "--no-auto-orient", src, path("kept.png"))
        subprocess.run([CONVERT, src, "PNG24:" + path("im_kept.png")], check=True)
        assert np.abs(png_chw(path("kept.png")) - png_chw(path("im_kept.png"))).max() <= 1


def explain_shows_the_upright_size():
    for o, hw in ((6, "7 x 4"), (8, "7 x 4"), (3, "4 x 7")):
        out, _ = ok(*ID, "--explain", oriented_jpeg(o))
        assert "input: 3 x %s (channels x height x width)" % hw in out, out
    out, _ = ok(*ID, "--explain", "--no-auto-orient", oriented_jpeg(6))
    assert "input: 3 x 4 x 7 (channels x height x width)" in out, out


def verbose_says_the_input_was_turned():
    _, err = ok(*ID, "-v", oriented_jpeg(6), path("v.png"))
    assert "turned upright (EXIF orientation 6): 4 x 7" in err, err
    _, err = ok(*ID, "-v", write("plain.jpg", plain_jpeg()), path("v.png"))
    assert "turned" not in err, err


def batch_mode_turns_them_too():
    stored = stored_pixels()
    ins = [oriented_jpeg(o) for o in (5, 6, 7, 8)]
    ok(*ID, "--output-format", "npy", "-o", path("batch"), *ins)
    for o in (5, 6, 7, 8):
        got = npy(path("batch", "o%d.npy" % o))
        assert np.array_equal(got, upright(stored, o)), o
    ok(*ID, "--no-auto-orient", "--output-format", "npy", "-o", path("batch_kept"), *ins)
    for o in (5, 6, 7, 8):
        assert np.array_equal(npy(path("batch_kept", "o%d.npy" % o)), stored), o


def a_png_with_exif_is_turned_as_libvips_does():
    stored = base_pixels()
    png = cnnref.png_write(stored)
    chw = stored.astype(np.float64).transpose(2, 0, 1)
    for o in range(1, 9):
        src = write("p%d.png" % o, with_exif_chunk(png, o, o % 2 == 1))
        ok(*ID, src, path("pup.npy"))
        assert np.array_equal(npy(path("pup.npy")), upright(chw, o)), o
        ok(*ID, "--no-auto-orient", src, path("pkept.npy"))
        assert np.array_equal(npy(path("pkept.npy")), chw), o
        if VIPS:
            subprocess.run([VIPS, "autorot", src, path("va.png")], check=True)
            ok(*ID, src, path("pup.png"))
            assert np.array_equal(png_chw(path("va.png")), png_chw(path("pup.png"))), o


def with_webp_exif(webp, o, big):
    """A WebP with its EXIF chunk (cnnfilter writes one, with its mark) replaced by one holding
    orientation o."""
    t = tiff(o, big)
    out, i = [webp[:12]], 12
    while i + 8 <= len(webp):
        tag, n = webp[i:i + 4], struct.unpack("<I", webp[i + 4:i + 8])[0]
        body = t if tag == b"EXIF" else webp[i + 8:i + 8 + n]
        out.append(tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b""))
        i += 8 + n + (n % 2)
    data = b"".join(out)
    assert b"EXIF" in data
    return data[:4] + struct.pack("<I", len(data) - 8) + data[8:]


IM_ORIENT = {1: "top-left", 2: "top-right", 3: "bottom-right", 4: "bottom-left", 5: "left-top",
             6: "right-top", 7: "right-bottom", 8: "left-bottom"}


def tiff_and_webp_are_turned_too():
    stored = base_pixels()
    src = write("tbase.png", cnnref.png_write(stored))
    chw = stored.astype(np.float64).transpose(2, 0, 1)
    ok(*ID, src, path("tbase.webp"))   # lossless, with an EXIF chunk (cnnfilter's mark)
    with open(path("tbase.webp"), "rb") as f:
        webp = f.read()
    for o in range(1, 9):
        t = path("t%d.tif" % o)
        subprocess.run(["convert", src, "-orient", IM_ORIENT[o], t], check=True)
        ok(*ID, t, path("tup.npy"))
        assert np.array_equal(npy(path("tup.npy")), upright(chw, o)), ("tiff", o)
        ok(*ID, "--no-auto-orient", t, path("tkept.npy"))
        assert np.array_equal(npy(path("tkept.npy")), chw), ("tiff", o)
        w = write("w%d.webp" % o, with_webp_exif(webp, o, o % 2 == 0))
        ok(*ID, w, path("wup.npy"))
        assert np.array_equal(npy(path("wup.npy")), upright(chw, o)), ("webp", o)
        ok(*ID, "--no-auto-orient", w, path("wkept.npy"))
        assert np.array_equal(npy(path("wkept.npy")), chw), ("webp", o)


def a_broken_exif_block_leaves_the_image_as_stored():
    plain = plain_jpeg()
    ok(*ID, "--no-auto-orient", write("plain.jpg", plain), path("plain.npy"))
    t = bytearray(tiff(6, False))
    t[4:8] = struct.pack("<I", 0xFFFFFF00)  # IFD0 far past the end
    payload = b"Exif\0\0" + bytes(t)
    bad = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + plain[2:]
    ok(*ID, write("bad.jpg", bad), path("bad.npy"))
    assert np.array_equal(npy(path("bad.npy")), npy(path("plain.npy")))


def learn_turns_too_unless_told_not_to():
    src = oriented_jpeg(6)
    ok(*ID, "--no-auto-orient", src, path("stored.png"))  # a target as stored, 7 x 4
    rc, _, err = run("learn", "--size", "1", src, path("stored.png"), "-o", path("k.json"))
    assert rc == 1 and "is 7x4 pixels" in err and "makes 4x7" in err, (rc, err)
    ok("learn", "--size", "1", "--no-auto-orient", src, path("stored.png"), "-o", path("k.json"))
    with open(path("k.json")) as f:
        w = json.load(f)["weights"]
    assert len(w) == 1 and len(w[0]) == 1 and abs(w[0][0] - 1) < 1e-9, w  # the identity


NET = {"layers": [{"type": "affine", "scale": 0.01, "shift": -1},
                   {"type": "conv", "kernels": {"count": 2, "size": 3}}, {"type": "relu"},
                   {"type": "flatten"}, {"type": "dense", "units": 2}, {"type": "softmax"}]}


def train_and_predict_turn_too_unless_told_not_to():
    # class a: the JPEG stored 7 x 4, upright 4 x 7; class b: a PNG stored 4 x 7
    os.makedirs(path("tree", "a"), exist_ok=True)
    os.makedirs(path("tree", "b"), exist_ok=True)
    write(os.path.join("tree", "a", "x.jpg"), with_app1(plain_jpeg(), 6, True))
    write(os.path.join("tree", "b", "y.png"), cnnref.png_write(base_pixels().transpose(1, 0, 2)))
    write("net.json", json.dumps(NET).encode())
    ok("train", "--pipeline", path("net.json"), "-o", path("trained.json"), path("tree"))
    rc, _, err = run("train", "--no-auto-orient", "--pipeline", path("net.json"), "-o",
                     path("kept.json"), path("tree"))
    assert rc == 1 and "all samples must have one shape" in err, (rc, err)
    assert not os.path.exists(path("kept.json"))
    # predict: the JPEG gives what its upright pixels give, or with --no-auto-orient what its
    # stored pixels give (the net's flatten takes either shape: 4 x 7 and 7 x 4 values)
    x = path("tree", "a", "x.jpg")
    ok(*ID, x, path("upright.png"))
    ok(*ID, "--no-auto-orient", x, path("as-stored.png"))

    def prob(*args):
        out, _ = ok("predict", "--pipeline", path("trained.json"), *args)
        return out.split(",", 1)[1]
    turned, kept = prob(x), prob("--no-auto-orient", x)
    assert turned == prob(path("upright.png")), turned
    assert kept == prob(path("as-stored.png")), kept
    assert turned != kept, (turned, kept)


def rgbe(pixels, w, h):
    """A flat (not run-length) Radiance file: stb reads widths under 8 flat."""
    head = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (h, w)
    return head + bytes(v for px in pixels for v in px)


def hdr_keeps_float_values_times_255():
    # RGBE: value = mantissa x 2^(exponent - 136); exponent 0 is black.
    px = [(128, 64, 32, 129), (192, 128, 255, 130), (1, 1, 1, 128),
          (0, 0, 0, 0), (200, 100, 50, 136), (255, 3, 17, 121)]
    src = write("t.hdr", rgbe(px, 3, 2))
    ok(*ID, src, path("h.npy"))
    got = np.load(path("h.npy"))
    assert got.dtype == np.float32 and got.shape == (3, 2, 3), (got.dtype, got.shape)
    want = np.zeros((3, 2, 3))
    for i, (r, g, b, e) in enumerate(px):
        for c, m in enumerate((r, g, b)):
            want[c, i // 3, i % 3] = 0.0 if e == 0 else m * 2.0 ** (e - 136) * 255
    assert np.array_equal(got.astype(np.float64), want), (got, want)
    # by hand: 1.0 -> 255, 0.5 -> 127.5, 2^-8 -> 255 / 256, 3.0 -> 765
    assert got[0, 0, 0] == 255 and got[1, 0, 0] == 127.5 and got[2, 0, 0] == 63.75
    assert got[0, 0, 2] == 0.99609375 and got[0, 0, 1] == 765 and got[0, 1, 1] > 255
    assert got.max() > 255 and not np.array_equal(got, np.round(got))


def hdr_probe_and_limits_still_hold():
    src = write("big.hdr", rgbe([(128, 128, 128, 129)] * 12, 4, 3))
    out, _ = ok(*ID, "--explain", src)
    assert "input: 3 x 3 x 4" in out, out
    rc, _, err = run(*ID, "--max-pixels", "11", src, path("no.npy"))
    assert rc == 1 and "over the pixel limit 11" in err, (rc, err)
    assert not os.path.exists(path("no.npy"))
    ok(*ID, "--max-pixels", "12", src, path("yes.npy"))
    assert np.array_equal(np.load(path("yes.npy")), np.full((3, 3, 4), 255, np.float32))


def main():
    tests = [each_jpeg_orientation_turns_as_numpy_and_imagemagick_say,
             no_auto_orient_keeps_the_stored_order, explain_shows_the_upright_size,
             verbose_says_the_input_was_turned, batch_mode_turns_them_too,
             a_png_with_exif_is_turned_as_libvips_does, tiff_and_webp_are_turned_too,
             a_broken_exif_block_leaves_the_image_as_stored, learn_turns_too_unless_told_not_to,
             train_and_predict_turn_too_unless_told_not_to,
             hdr_keeps_float_values_times_255,
             hdr_probe_and_limits_still_hold]
    return harness.run_tests("test_orient", tests, TMP)


if __name__ == "__main__":
    sys.exit(main())

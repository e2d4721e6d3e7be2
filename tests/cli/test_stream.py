#!/usr/bin/env python3
"""test_stream.py - the streaming engine through the real binary.

PNG outputs are written as the rows arrive (decoder -> ring buffers -> row
mapping -> a PNG writer compressing segments on several threads).  These
tests check that this changes nothing but speed and memory: the pixels equal
the exact values written whole (.npy) and mapped by the reference rule, the bytes
are the same for any --jobs, every --compression level gives the same
pixels, --depth 16 keeps 16-bit inputs exact, and a file that breaks
half-way leaves no output behind.  PNGs are decoded here by a small NumPy
reader written here (whole rows at once for none/up, byte by byte for the
other filters; the writer uses up and average).
"""
import os
import re
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
TMP = tempfile.mkdtemp(prefix="cnnfilter-stream-")
RNG = np.random.default_rng(20261122)


def path(name):
    return os.path.join(TMP, name)


def run(*args):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def ok(*args):
    rc, out, err = run(*args)
    assert rc == 0, (args, rc, err)
    return out


def chunks(data):
    assert data[:8] == cnnref.PNG_SIG
    pos = 8
    while pos < len(data):
        ln, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + ln]
        crc = struct.unpack(">I", data[pos + 8 + ln:pos + 12 + ln])[0]
        assert zlib.crc32(typ + body) & 0xffffffff == crc, typ
        yield typ, body
        pos += 12 + ln


def png_read(p):
    """(H, W, C) uint8 or uint16 array of a non-interlaced gray/RGB(A) PNG."""
    with open(p, "rb") as f:
        data = f.read()
    idat, hdr = [], None
    for typ, body in chunks(data):
        if typ == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
    w, h, depth, ctype = hdr[:4]
    ch = cnnref._CT_CHANNELS[ctype]
    bps = depth // 8
    stride = w * ch * bps
    raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, stride + 1)
    bpp = ch * bps
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(h):
        ft = raw[y, 0]
        if ft in (0, 2):  # none, up: whole rows at once
            line = (raw[y, 1:].astype(np.uint16) + (prev if ft == 2 else 0)) & 255
        else:  # sub, average, paeth: byte by byte
            cur = bytearray(raw[y, 1:].tobytes())
            b = prev.tobytes()
            for x in range(stride):
                a = cur[x - bpp] if x >= bpp else 0
                c = b[x - bpp] if x >= bpp else 0
                if ft == 1:
                    cur[x] = (cur[x] + a) & 255
                elif ft == 3:
                    cur[x] = (cur[x] + ((a + b[x]) >> 1)) & 255
                elif ft == 4:
                    cur[x] = (cur[x] + cnnref._paeth(a, b[x], c)) & 255
                else:
                    raise AssertionError("bad filter type %d" % ft)
            line = np.frombuffer(bytes(cur), dtype=np.uint8)
        out[y] = line
        prev = out[y]
    if depth == 16:
        return (out.reshape(h, w * ch, 2).astype(np.uint16) @ np.array([256, 1], np.uint16)
                ).reshape(h, w, ch).astype(np.uint16)
    return out.reshape(h, w, ch)


def png16_write(pixels):
    """Encode uint16 (H, W, C) as a 16-bit PNG (filter none)."""
    h, w, ch = pixels.shape
    ctype = {1: 0, 2: 4, 3: 2, 4: 6}[ch]
    raw = b"".join(b"\0" + pixels[y].astype(">u2").tobytes() for y in range(h))

    def chunk(typ, body):
        return struct.pack(">I", len(body)) + typ + body + struct.pack(
            ">I", zlib.crc32(typ + body) & 0xffffffff)
    return (cnnref.PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def save_png(name, pixels):
    p = path(name)
    with open(p, "wb") as f:
        f.write(cnnref.png_write(pixels) if pixels.dtype == np.uint8 else png16_write(pixels))
    return p


def npy_hwc(p):
    a = np.load(p)
    if a.ndim == 2:
        a = a[None]
    return np.transpose(a, (1, 2, 0))


def map_u8(vals, mode, alpha):
    """reference 5 on (H, W, C) exact values: colour through --map, alpha rounded and clamped."""
    colour = vals[..., :-1] if alpha else vals
    r = cnnref.round_half_even
    if mode == "clamp":
        m = r(colour)
    elif mode == "abs":
        m = r(np.abs(colour))
    elif mode == "offset":
        m = r(colour + 128.0)
    else:
        raise ValueError(mode)
    m = np.clip(m, 0, 255)
    if alpha:
        m = np.concatenate([m, np.clip(r(vals[..., -1:]), 0, 255)], axis=-1)
    return m.astype(np.uint8)


def photo_like(h, w, ch):
    """Smooth gradients plus noise: compresses like a photo, exercises every filter."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([(x * (3 + c) + y * (5 - c)) % 256 for c in range(ch)], axis=-1)
    noise = RNG.integers(-20, 21, size=(h, w, ch))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def streamed_png_equals_the_exact_values_mapped_by_the_spec_rule():
    src = save_png("s_rgb.png", photo_like(157, 203, 3))
    rgba = save_png("s_rgba.png", photo_like(61, 90, 4))
    gray = save_png("s_gray.png", photo_like(100, 77, 1))
    cases = [
        (src, ["-k", "sobel_v"]),
        (src, ["-k", "gaussian:5", "--border", "reflect"]),
        (src, ["-k", "box:7", "--border", "wrap"]),
        (src, ["-k", "line_diag:9", "--stride", "2", "--padding", "valid"]),
        (src, ["-k", "laplacian", "--pool", "max", "--activation", "abs"]),
        (src, ["-k", "emboss", "--map", "offset", "--channels", "gray"]),
        (src, ["-k", "sobel", "--dilation", "2", "--border", "replicate"]),
        (src, ["-k", "sharpen", "--map", "abs", "--border", "mirror"]),
        (rgba, ["-k", "box:5", "--stride", "3"]),
        (rgba, ["-k", "sobel_h", "--alpha", "drop"]),
        (gray, ["-k", "line_v:25", "--pool", "avg", "--pool-size", "3"]),
        (gray, ["-k", "[[1,2],[3,4]]", "--padding", "2"]),
    ]
    for i, (inp, args) in enumerate(cases):
        for j in ("1", "2"):
            ok(*args, "-j", j, inp, "st%d.png" % i)
            ok(*args, "-j", j, inp, "st%d.npy" % i)
            got = png_read(path("st%d.png" % i))
            vals = npy_hwc(path("st%d.npy" % i))
            mode = args[args.index("--map") + 1] if "--map" in args else "clamp"
            alpha = got.shape[2] in (2, 4)
            want = map_u8(vals.astype(np.float64), mode, alpha)
            assert got.shape == want.shape, (args, got.shape, want.shape)
            assert np.array_equal(got, want), (args, j, int(np.abs(got.astype(int) - want).max()))


def bytes_are_the_same_for_any_jobs_and_every_level_gives_the_same_pixels():
    # Tall enough for many compression segments and ring-buffer turns.
    src = save_png("big.png", photo_like(2000, 300, 3))  # 4 segments of 581 rows
    ref = None
    for j in ("1", "2", "3", "8"):
        ok("-k", "gaussian", "-j", j, src, "bj%s.png" % j)
        with open(path("bj%s.png" % j), "rb") as f:
            data = f.read()
        ref = ref or data
        assert data == ref, "bytes differ with -j %s" % j
    pixels = png_read(path("bj1.png"))
    sizes = {}
    for level in range(10):
        ok("-k", "gaussian", "--compression", level, "-j", "1", src, "lv%d.png" % level)
        ok("-k", "gaussian", "--compression", level, "-j", "2", src, "lv%d_2.png" % level)
        assert np.array_equal(png_read(path("lv%d.png" % level)), pixels), level
        with open(path("lv%d.png" % level), "rb") as f1, open(path("lv%d_2.png" % level),
                                                               "rb") as f2:
            assert f1.read() == f2.read(), "level %d: bytes differ with -j 2" % level
        sizes[level] = os.path.getsize(path("lv%d.png" % level))
    assert sizes[0] > 2000 * 300 * 3, sizes  # stored: no compression
    assert all(sizes[level] < 0.8 * sizes[0] for level in range(1, 10)), sizes
    # Level 2 (literals and runs under a code per block) is about zlib level 6's size
    # on a photo-like image, and smaller than ISA-L's fastest matcher (level 1).
    assert sizes[2] <= 1.05 * sizes[6] and sizes[2] < sizes[1], sizes
    assert sizes[3] <= sizes[2], sizes
    # --compression changes bytes, not pixels: it is not recorded with them.
    comments = [b for t, b in chunks(open(path("lv9.png"), "rb").read()) if t == b"tEXt"]
    assert any(re.match(rb"Comment\0cnnfilter \d+\.\d+\.\d+ --kernel gaussian", b)
               for b in comments), comments
    assert not any(b"compression" in b for b in comments), comments


def depth_16_keeps_a_16_bit_input_exact_and_keeps_fractions():
    v = RNG.integers(0, 65536, size=(40, 33, 3)).astype(np.uint16)
    src = save_png("in16.png", v)
    ok("-k", "identity", "--depth", "16", src, "id16.png")
    got = png_read(path("id16.png"))
    assert got.dtype == np.uint16 and np.array_equal(got, v)
    # 8-bit input: box:3 values are ninths; 16 bits keep them as round(v * 257).
    src8 = save_png("in8.png", photo_like(30, 31, 1))
    ok("-k", "box:3", "--depth", "16", src8, "b16.png")
    ok("-k", "box:3", src8, "b16.npy")
    want = np.clip(cnnref.round_half_even(npy_hwc(path("b16.npy")).astype(np.float64) * 257),
                   0, 65535)
    assert np.array_equal(png_read(path("b16.png")).astype(np.float64), want)
    # normalize (kept whole for the range) at 16 bits
    ok("-k", "sobel_v", "--map", "normalize", "--depth", "16", src8, "n16.png")
    n16 = png_read(path("n16.png"))
    assert n16.min() == 0 and n16.max() == 65535
    rc, _, err = run("-k", "box:3", "--depth", "16", src8, "b16.jpg")
    assert rc == 2 and err.startswith("cnnfilter: --depth: "), err
    rc, _, err = run("-k", "box:3", "--depth", "12", src8, "b12.png")
    assert rc == 2 and err.startswith("cnnfilter: --depth: "), err


def a_bank_streams_one_png_per_kernel_like_the_whole_path():
    src = save_png("bank.png", photo_like(64, 48, 3))
    ks = ["sobel_v", "sobel_h", "laplacian", "emboss", "sharpen", "box:3"]
    for n in (2, 6):  # up to 4 outputs are streamed together, more are written whole
        args = []
        for k in ks[:n]:
            args += ["-k", k]
        ok(*args, src, "bank%d_{index}.png" % n)
        for i, k in enumerate(ks[:n]):
            ok("-k", k, src, "one_%d.png" % i)
            assert np.array_equal(png_read(path("bank%d_%d.png" % (n, i))),
                                  png_read(path("one_%d.png" % i))), (n, k)


def a_png_that_breaks_half_way_leaves_no_output():
    src = save_png("whole.png", photo_like(400, 300, 3))
    with open(src, "rb") as f:
        data = f.read()
    # Cut inside the image data: the first rows decode, then the stream ends.
    idat = data.index(b"IDAT")
    cut = path("cut.png")
    with open(cut, "wb") as f:
        f.write(data[:idat + (len(data) - idat) // 2])
    for j in ("1", "2"):
        out = path("cut_out.png")
        rc, _, err = run("-k", "sobel_v", "-j", j, cut, out)
        assert rc == 1, (rc, err)
        harness.one_error_line(err, "cnnfilter: " + cut + ": ")
        assert not os.path.exists(out)
        harness.assert_no_temp_files(TMP)
    # A bad CRC in the last chunk is found after every row went out.
    bad = bytearray(data)
    bad[-5] ^= 0xFF  # IEND's CRC
    with open(path("badcrc.png"), "wb") as f:
        f.write(bad)
    rc, _, err = run("-k", "sobel_v", "-j", "2", path("badcrc.png"), "bc_out.png")
    assert rc == 1, (rc, err)
    assert not os.path.exists(path("bc_out.png"))
    harness.assert_no_temp_files(TMP)


def jpeg_inputs_stream_to_the_same_pixels_as_decoded_whole():
    # A JPEG is decoded by scanlines; its .npy (written whole) must agree.
    src = save_png("for_jpeg.png", photo_like(203, 150, 3))
    ok("-k", "identity", "--quality", "80", src, "in.jpg")
    ok("-k", "identity", "--channels", "gray", src, "in_gray.jpg")
    for n in ("in.jpg", "in_gray.jpg"):
        for j in ("1", "2"):
            ok("-k", "sobel_v", "-j", j, n, "jp.png")
            ok("-k", "sobel_v", "-j", j, n, "jp.npy")
            want = map_u8(npy_hwc(path("jp.npy")).astype(np.float64), "clamp", False)
            assert np.array_equal(png_read(path("jp.png")), want), n


def every_png_filter_and_layout_decodes_exactly():
    # The common PNG is read by the ISA-L reader (png_fast.c), the rest by
    # libspng: both must give the stored samples, for every filter type.
    for ch in (1, 2, 3, 4):
        px = photo_like(37, 29, ch)
        filters = [int(f) for f in RNG.integers(0, 5, size=37)]
        p = path("f%d.png" % ch)
        with open(p, "wb") as f:
            f.write(cnnref.png_write(px, filters))
        ok("-k", "identity", p, "f%d.npy" % ch)
        assert np.array_equal(npy_hwc(path("f%d.npy" % ch)), px.astype(np.float32)), ch
        # The same image split over many IDAT chunks, with ancillary chunks between.
        data = open(p, "rb").read()
        parts = list(chunks(data))
        idat = b"".join(b for t, b in parts if t == b"IDAT")

        def chunk(typ, body):
            return struct.pack(">I", len(body)) + typ + body + struct.pack(
                ">I", zlib.crc32(typ + body) & 0xffffffff)
        out = cnnref.PNG_SIG + chunk(b"IHDR", parts[0][1]) + chunk(b"tEXt", b"k\0v")
        out += b"".join(chunk(b"IDAT", idat[i:i + 97]) for i in range(0, len(idat), 97))
        out += chunk(b"tEXt", b"after\0x") + chunk(b"IEND", b"")
        with open(path("split.png"), "wb") as f:
            f.write(out)
        ok("-k", "identity", "split.png", "split.npy")
        assert np.array_equal(npy_hwc(path("split.npy")), px.astype(np.float32)), ch
    # 16-bit goes through libspng and comes in as v / 257.
    v = RNG.integers(0, 65536, size=(9, 11, 3)).astype(np.uint16)
    with open(path("s16.png"), "wb") as f:
        f.write(png16_write(v))
    ok("-k", "identity", "s16.png", "s16.npy")
    assert np.allclose(npy_hwc(path("s16.npy")), v / 257.0, rtol=0, atol=1e-4)


def noise_png(name, h, w, idat=65536):
    """An RGB PNG of random samples, stored (zlib level 0) in IDAT chunks of `idat` bytes
    (0: one chunk): about 3 bytes a pixel, the size of a photo PNG many times its pixels."""
    px = np.random.default_rng(h * w).integers(0, 256, (h, w * 3), dtype=np.uint8)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), px], axis=1).tobytes()
    z = zlib.compress(raw, 0)

    def chunk(typ, body):
        return struct.pack(">I", len(body)) + typ + body + struct.pack(
            ">I", zlib.crc32(typ + body) & 0xffffffff)
    parts = [cnnref.PNG_SIG, chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))]
    step = idat or len(z)
    parts += [chunk(b"IDAT", z[i:i + step]) for i in range(0, len(z), step)]
    parts.append(chunk(b"IEND", b""))
    p = path(name)
    with open(p, "wb") as f:
        f.write(b"".join(parts))
    return p


def a_large_input_file_is_never_resident_whole():
    # A 27 MB PNG streamed to a PNG, in 64 KiB chunks or in one: the file is mapped and its
    # pages are let go behind the decoder, so the peak grows by far less than the file over
    # a small input's.
    small = noise_png("noise_small.png", 30, 30)
    for idat in (65536, 0):
        big = noise_png("noise_big.png", 3000, 3000, idat)
        size = os.path.getsize(big)
        peaks = []
        for src in (small, big):
            rc, _, err, peak = harness.run_peak([BIN, "-j", "1", "-k", "identity", src, "nz.png"],
                                                TMP)
            assert rc == 0, err
            peaks.append(peak * 1024)
        rc, out, err = run("compare", big, "nz.png")
        assert rc == 0 and b"0 of 9000000 pixels differ" in out, (out, err)
        if not os.environ.get("CNNFILTER_ASAN"):  # ASan keeps freed memory in quarantine
            assert peaks[1] - peaks[0] < size // 2, (idat, peaks, size)
        os.unlink(path("nz.png"))
    # One chunk read front to back: a block length broken in its middle is still reported
    # as the chunk's bad CRC, as when the whole chunk was checked before use.
    with open(big, "r+b") as f:
        data_start = 8 + 25 + 8  # signature, IHDR, the IDAT's length and type
        f.seek(data_start + 2 + 5 * 65540 + 1)  # zlib header, 5 stored blocks, a LEN byte
        b = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([b[0] ^ 0x55]))
    rc, _, err = run("-k", "identity", big, "nz.png")
    assert rc == 1, err
    harness.one_error_line(err, "cnnfilter: %s: corrupt PNG (chunk CRC mismatch)" % big)
    assert not os.path.exists(path("nz.png"))
    os.unlink(big)


def an_input_cut_short_while_it_is_read_fails_naming_it():
    # Another process cuts the input file short while cnnfilter reads it (mapped): no
    # crash, one line naming the file, no output.  The run is made slow (a 7x7 kernel
    # of distinct weights, one thread) and the file is cut once the output's temporary
    # file exists, that is once rows are being read.
    src = noise_png("noise_cut.png", 3000, 3000)
    k = "[" + ",".join("[" + ",".join(str(1 + (7 * y + x) % 11) for x in range(7)) + "]"
                       for y in range(7)) + "]"
    outdir = path("cut_out")
    os.makedirs(outdir, exist_ok=True)
    proc = subprocess.Popen([BIN, "-j", "1", "-k", k, "--map", "abs", src,
                             os.path.join(outdir, "o.png")], cwd=TMP,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import time
    t0 = time.time()
    while not os.listdir(outdir) and proc.poll() is None and time.time() - t0 < 60:
        time.sleep(0.002)
    assert proc.poll() is None, "finished before the file could be cut"
    os.truncate(src, 1 << 20)
    err = proc.stderr.read().decode("utf-8", "replace")
    rc = proc.wait(timeout=120)
    assert rc == 1, (rc, err)
    harness.one_error_line(err, "cnnfilter: %s: the file was cut short while it was being read"
                           % src)
    assert os.listdir(outdir) == [], os.listdir(outdir)
    os.unlink(src)


TESTS = [every_png_filter_and_layout_decodes_exactly,
         a_large_input_file_is_never_resident_whole,
         an_input_cut_short_while_it_is_read_fails_naming_it,
         streamed_png_equals_the_exact_values_mapped_by_the_spec_rule,
         bytes_are_the_same_for_any_jobs_and_every_level_gives_the_same_pixels,
         depth_16_keeps_a_16_bit_input_exact_and_keeps_fractions,
         a_bank_streams_one_png_per_kernel_like_the_whole_path,
         a_png_that_breaks_half_way_leaves_no_output,
         jpeg_inputs_stream_to_the_same_pixels_as_decoded_whole]


def main():
    return harness.run_tests("stream", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

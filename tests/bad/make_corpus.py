#!/usr/bin/python3
"""make_corpus.py OUTDIR - write cnnfilter's must-fail corpus and its legal-but-rare images.

Every hostile file is built here byte by byte from small encoders written in this file (PNG,
baseline JPEG, BMP, TGA, GIF, PNM, PSD, HDR, JSON, CSV/TXT, NPY), so the corpus is the same on
every machine and needs nothing but NumPy.  Pillow, when importable, is used only to make a few
legal images this file has no encoder for (progressive and CMYK JPEG).

OUTDIR gets:
  hostile/        the files that must be refused (names may hold control characters)
  legal/          the files that must be accepted, each with <name>.truth.npy (C,H,W) when the
                  expected pixels are known here
  manifest.json   {"hostile": [case...], "legal": [case...]}, read by test_bad.py

A hostile case: {"id", "file" (in hostile/), "role": "input"|"stdin"|"kernel"|"pipeline",
"expect": [exit codes], "json_pos": the error line must give FILE:LINE:COL, "line": the
expected LINE or null, "prefix": the expected name in the error line when it is not the file
name, "args": extra CLI arguments, "what"}.
A legal case: {"id", "file" (in legal/), "args", "truth" (a .npy in legal/ or null),
"tol", "pil": how to read it with Pillow for the comparison (null: no comparison),
"pil_tol", "optional": a format the reference does not list, so a clean refusal (exit 1, one
"cnnfilter: FILE: reason" line, no output) also passes, "what"}.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np

# ---------------------------------------------------------------------------- corpus

class Corpus:
    def __init__(self, root):
        self.root = root
        self.hdir = os.path.join(root, "hostile")
        self.ldir = os.path.join(root, "legal")
        os.makedirs(self.hdir, exist_ok=True)
        os.makedirs(self.ldir, exist_ok=True)
        self.hostile = []
        self.legal = []
        self.names = set()

    def _write(self, folder, name, data):
        assert name not in self.names, name
        assert "/" not in name and "\0" not in name, name
        self.names.add(name)
        path = os.path.join(folder, name)
        if data is None:
            os.mkdir(path)
        else:
            with open(path, "wb") as f:
                f.write(data)

    def bad(self, name, data, expect=1, role="input", json_pos=False, line=None, prefix=None,
            args=(), what=""):
        """A file that must be refused: exit status in `expect` (an int or a list)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._write(self.hdir, name, data)
        self.hostile.append({
            "id": name, "file": name, "role": role,
            "expect": expect if isinstance(expect, list) else [expect],
            "json_pos": json_pos, "line": line, "prefix": prefix, "args": list(args),
            "what": what})

    def good(self, name, data, truth=None, tol=0.0, pil=None, pil_tol=0.0, args=(), role="input",
             optional=False, what=""):
        """A file that must be accepted; `truth` (C,H,W) the pixels -k identity must give."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        self._write(self.ldir, name, data)
        tname = None
        if truth is not None:
            tname = name + ".truth.npy"
            np.save(os.path.join(self.ldir, tname), np.asarray(truth, dtype=np.float64))
        self.legal.append({"id": name, "file": name, "role": role, "args": list(args),
                           "truth": tname, "tol": tol, "pil": pil, "pil_tol": pil_tol,
                           "optional": optional, "what": what})

    def save(self):
        with open(os.path.join(self.root, "manifest.json"), "w") as f:
            json.dump({"hostile": self.hostile, "legal": self.legal}, f, indent=1)


def chw(a):
    """(H, W) or (H, W, C) array -> (C, H, W) float64."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 2:
        return a[None]
    return np.transpose(a, (2, 0, 1))


def pattern(h, w, c, seed, hi=256):
    """Deterministic pseudo-random samples (H, W, C) in 0..hi-1."""
    rng = np.random.RandomState(seed)
    return rng.randint(0, hi, size=(h, w, c)).astype(np.int64)


# ---------------------------------------------------------------------------- PNG

PNG_SIG = b"\x89PNG\r\n\x1a\n"


def chunk(ctype, data, crc=None):
    if crc is None:
        crc = zlib.crc32(ctype + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", crc)


def ihdr(w, h, depth, ctype, interlace=0, comp=0, filt=0):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, comp, filt, interlace))


CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def pack_row(samples, depth):
    """One row of samples (ints) as PNG bytes: MSB-first bit packing below 8 bits."""
    if depth == 8:
        return bytes(int(s) for s in samples)
    if depth == 16:
        return b"".join(struct.pack(">H", int(s)) for s in samples)
    out = bytearray()
    per = 8 // depth
    for i in range(0, len(samples), per):
        byte = 0
        for j in range(per):
            v = int(samples[i + j]) if i + j < len(samples) else 0
            byte |= v << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(rows, bpp, first_filter=0):
    """Filter each row with a different type (0..4 cycling) so every filter is exercised."""
    out = bytearray()
    prior = bytes(len(rows[0])) if rows else b""
    for y, row in enumerate(rows):
        ft = (first_filter + y) % 5
        out.append(ft)
        for x in range(len(row)):
            a = row[x - bpp] if x >= bpp else 0
            b = prior[x]
            c = prior[x - bpp] if x >= bpp else 0
            pred = (0, a, b, (a + b) // 2, paeth(a, b, c))[ft]
            out.append((row[x] - pred) & 0xFF)
        prior = row
    return bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_raw(samples, depth, ctype, interlace=False):
    """The filtered (not yet compressed) image data of samples (H, W, S)."""
    h, w, s = samples.shape
    bpp = max(1, s * depth // 8)
    if not interlace:
        rows = [pack_row(samples[y].reshape(-1), depth) for y in range(h)]
        return filter_rows(rows, bpp)
    out = b""
    for i, (x0, y0, dx, dy) in enumerate(ADAM7):
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        rows = [pack_row(sub[y].reshape(-1), depth) for y in range(sub.shape[0])]
        out += filter_rows(rows, bpp, first_filter=i)
    return out


def png(samples, depth, ctype, interlace=False, plte=None, trns=None, before_idat=(),
        after_idat=(), idat_parts=1, level=9):
    samples = np.asarray(samples)
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w, _ = samples.shape
    z = zlib.compress(png_raw(samples, depth, ctype, interlace), level)
    out = PNG_SIG + ihdr(w, h, depth, ctype, 1 if interlace else 0)
    if plte is not None:
        out += chunk(b"PLTE", bytes(np.asarray(plte, dtype=np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    for c in before_idat:
        out += c
    step = -(-len(z) // idat_parts)
    for i in range(0, len(z), step):
        out += chunk(b"IDAT", z[i:i + step])
    for c in after_idat:
        out += c
    return out + chunk(b"IEND", b"")


def png_chunks(data):
    """[(offset, length, type)] of the chunks of a PNG."""
    out, off = [], 8
    while off + 8 <= len(data):
        n = struct.unpack(">I", data[off:off + 4])[0]
        out.append((off, n, data[off + 4:off + 8]))
        off += 12 + n
    return out


def set_crc(data, index, crc):
    """Replace the CRC of chunk number `index`."""
    off, n, _ = png_chunks(data)[index]
    end = off + 8 + n
    return data[:end] + struct.pack(">I", crc) + data[end + 4:]


def bad_crc(data, index):
    off, n, _ = png_chunks(data)[index]
    good = struct.unpack(">I", data[off + 8 + n:off + 12 + n])[0]
    return set_crc(data, index, good ^ 0x00010000)


# ---------------------------------------------------------------------------- JPEG

def _bits_writer():
    state = {"acc": 0, "n": 0, "out": bytearray()}

    def put(value, nbits):
        for i in range(nbits - 1, -1, -1):
            state["acc"] = (state["acc"] << 1) | ((value >> i) & 1)
            state["n"] += 1
            if state["n"] == 8:
                b = state["acc"]
                state["out"].append(b)
                if b == 0xFF:
                    state["out"].append(0)  # byte stuffing
                state["acc"] = 0
                state["n"] = 0

    def finish():
        while state["n"]:
            put(1, 1)  # pad with 1-bits
        return bytes(state["out"])
    return put, finish


def segment(marker, payload):
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_dc_only(blocks, width=None, height=None, components=1):
    """A baseline JPEG whose 8x8 blocks are flat: blocks[c] is a (BH, BW) array of sample
    values (0..255) per component, 4:4:4, quantisation 1, a 12-symbol DC table (every
    category coded on 4 bits) and a one-symbol AC table (EOB = '00').  A flat block decodes
    exactly to its value, so the expected pixels are known without a DCT."""
    blocks = [np.asarray(b, dtype=np.int64) for b in blocks]
    bh, bw = blocks[0].shape
    height = height or bh * 8
    width = width or bw * 8
    out = b"\xff\xd8"
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += segment(0xDB, b"\x00" + bytes([1] * 64))
    sof = struct.pack(">BHHB", 8, height, width, components)
    for c in range(components):
        sof += bytes([c + 1, 0x11, 0])
    out += segment(0xC0, sof)
    dc_bits = bytes([0, 0, 0, 12] + [0] * 12)
    out += segment(0xC4, b"\x00" + dc_bits + bytes(range(12)))
    ac_bits = bytes([0, 1] + [0] * 14)
    out += segment(0xC4, b"\x10" + ac_bits + b"\x00")
    sos = bytes([components])
    for c in range(components):
        sos += bytes([c + 1, 0x00])
    out += segment(0xDA, sos + b"\x00\x3f\x00")
    put, finish = _bits_writer()
    pred = [0] * components
    for by in range(bh):
        for bx in range(bw):
            for c in range(components):
                dc = 8 * (int(blocks[c][by, bx]) - 128)
                diff = dc - pred[c]
                pred[c] = dc
                cat = abs(diff).bit_length()
                put(cat, 4)
                if cat:
                    put(diff if diff > 0 else diff + (1 << cat) - 1, cat)
                put(0, 2)  # EOB
    out += finish()
    return out + b"\xff\xd9"


def jpeg_segments(data):
    """[(offset, marker)] of the markers of a JPEG up to SOS."""
    out, off = [(0, 0xD8)], 2
    while off + 4 <= len(data) and data[off] == 0xFF:
        m = data[off + 1]
        out.append((off, m))
        if m == 0xDA:
            break
        off += 2 + struct.unpack(">H", data[off + 2:off + 4])[0]
    return out


# ---------------------------------------------------------------------------- BMP, TGA

def bmp(rgb, alpha=None, top_down=False, bpp=24, palette=None, indices=None):
    """BMP: 24-bit BI_RGB, 32-bit BI_BITFIELDS with an alpha mask (V4 header), or 8-bit
    palette.  rgb (H, W, 3)."""
    if bpp == 8:
        h, w = indices.shape
    else:
        h, w, _ = rgb.shape
    rows = []
    for y in range(h):
        if bpp == 24:
            row = bytes(int(v) for px in rgb[y] for v in (px[2], px[1], px[0]))
        elif bpp == 32:
            row = bytes(int(v) for x, px in enumerate(rgb[y])
                        for v in (px[2], px[1], px[0], alpha[y, x]))
        else:
            row = bytes(int(v) for v in indices[y])
        row += bytes((-len(row)) % 4)
        rows.append(row)
    if not top_down:
        rows = rows[::-1]
    pixels = b"".join(rows)
    height = -h if top_down else h
    if bpp == 32:
        info = struct.pack("<IiiHHIIiiII", 108, w, height, 1, 32, 3, len(pixels), 2835, 2835,
                           0, 0)
        info += struct.pack("<IIII", 0x00FF0000, 0x0000FF00, 0x000000FF, 0xFF000000)
        info += b"BGRs" + bytes(36) + bytes(12)
        pal = b""
    else:
        ncol = 0 if palette is None else len(palette)
        info = struct.pack("<IiiHHIIiiII", 40, w, height, 1, bpp, 0, len(pixels), 2835, 2835,
                           ncol, 0)
        pal = b"" if palette is None else b"".join(bytes([b, g, r, 0]) for r, g, b in palette)
    offset = 14 + len(info) + len(pal)
    head = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    return head + info + pal + pixels


def tga_rle(pixels, gray=False, top_left=True):
    """Run-length TGA (type 10 BGR 24-bit or type 11 gray 8-bit); packets stay inside a row,
    with both run and raw packets.  pixels (H, W, 3) or (H, W)."""
    h, w = pixels.shape[:2]
    head = struct.pack("<BBBHHBHHHHBB", 0, 0, 11 if gray else 10, 0, 0, 0, 0, 0, w, h,
                       8 if gray else 24, 0x20 if top_left else 0)
    order = range(h) if top_left else range(h - 1, -1, -1)

    def px(v):
        return bytes([int(v)]) if gray else bytes([int(v[2]), int(v[1]), int(v[0])])
    body = bytearray()
    for y in order:
        row = [px(v) for v in pixels[y]]
        x = 0
        while x < w:
            run = 1
            while x + run < w and run < 128 and row[x + run] == row[x]:
                run += 1
            if run >= 2:
                body.append(0x80 | (run - 1))
                body += row[x]
                x += run
                continue
            raw = 1
            while (x + raw < w and raw < 128 and
                   not (x + raw + 1 < w and row[x + raw] == row[x + raw + 1])):
                raw += 1
            body.append(raw - 1)
            for i in range(raw):
                body += row[x + i]
            x += raw
    return head + bytes(body)


def tga_raw(pixels):
    """Uncompressed 24-bit TGA (type 2), top-left origin."""
    h, w = pixels.shape[:2]
    head = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, w, h, 24, 0x20)
    return head + bytes(int(v) for row in pixels for p in row for v in (p[2], p[1], p[0]))


# ---------------------------------------------------------------------------- GIF

def gif(indices, palette, lsd=None, desc=None):
    """GIF89a with a 256-colour global table; LZW written with a clear code every 254
    literals, so every code is 9 bits.  lsd/desc override the screen and image sizes."""
    h, w = indices.shape
    sw, sh = lsd or (w, h)
    iw, ih = desc or (w, h)
    pal = np.zeros((256, 3), dtype=np.uint8)
    pal[:len(palette)] = palette
    out = b"GIF89a" + struct.pack("<HHBBB", sw, sh, 0xF7, 0, 0) + bytes(pal.reshape(-1))
    out += b"\x2c" + struct.pack("<HHHHB", 0, 0, iw, ih, 0)
    put_codes = []
    flat = [int(v) for v in indices.reshape(-1)]
    for i in range(0, len(flat), 254):
        put_codes.append(256)
        put_codes.extend(flat[i:i + 254])
    put_codes.append(257)
    acc = nbits = 0
    data = bytearray()
    for code in put_codes:
        acc |= code << nbits
        nbits += 9
        while nbits >= 8:
            data.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        data.append(acc & 0xFF)
    out += b"\x08"
    for i in range(0, len(data), 255):
        block = data[i:i + 255]
        out += bytes([len(block)]) + bytes(block)
    return out + b"\x00;"


# ---------------------------------------------------------------------------- PSD, HDR

def packbits(row):
    out = bytearray()
    i = 0
    while i < len(row):
        run = 1
        while i + run < len(row) and run < 128 and row[i + run] == row[i]:
            run += 1
        if run >= 2:
            out += bytes([(257 - run) & 0xFF, row[i]])
            i += run
        else:
            j = i + 1
            while j < len(row) and j - i < 128 and not (j + 1 < len(row) and row[j] == row[j + 1]):
                j += 1
            out += bytes([j - i - 1]) + bytes(row[i:j])
            i = j
    return bytes(out)


def psd(rgb, rle=False, h=None, w=None):
    """Photoshop RGB 8-bit, no layers; raw or PackBits image data.  rgb (H, W, 3)."""
    ph, pw, c = rgb.shape
    head = b"8BPS" + struct.pack(">H6xHIIHH", 1, c, h if h is not None else ph,
                                 w if w is not None else pw, 8, 3)
    head += struct.pack(">III", 0, 0, 0)
    planes = [rgb[:, :, k].astype(np.uint8) for k in range(c)]
    if not rle:
        return head + b"\x00\x00" + b"".join(p.tobytes() for p in planes)
    rows = [packbits(p[y].tobytes()) for p in planes for y in range(ph)]
    return head + b"\x00\x01" + b"".join(struct.pack(">H", len(r)) for r in rows) + b"".join(rows)


def hdr(rgbe, dims=None):
    """Radiance RGBE, flat (uncompressed: width < 8).  rgbe (H, W, 4)."""
    h, w, _ = rgbe.shape
    dims = dims or ("-Y %d +X %d" % (h, w))
    return (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + dims.encode() + b"\n" +
            rgbe.astype(np.uint8).tobytes())


def hdr_truth(rgbe):
    """HDR as a float input: the linear value mantissa x 2^(exponent - 136) (0 for exponent
    0) times 255, not rounded, not clipped (exact in float32 for these mantissas)."""
    m = rgbe[:, :, :3].astype(np.float64)
    e = rgbe[:, :, 3].astype(np.int64)
    f = np.where(e[..., None] > 0, np.ldexp(1.0, (e - 136))[..., None], 0.0)
    return m * f * 255


# ---------------------------------------------------------------------------- PIC

def pic(rgb, rle=False, w=None, h=None, packets=None):
    """Softimage PIC, one packet for R, G, B: uncompressed (type 0) or mixed run-length
    (type 2).  rgb (H, W, 3)."""
    ph, pw, _ = rgb.shape
    head = b"\x53\x80\xf6\x34" + struct.pack(">f", 3.71) + b"made by make_corpus.py".ljust(80,
                                                                                         b"\0")
    head += b"PICT" + struct.pack(">HHfHH", w if w is not None else pw,
                                  h if h is not None else ph, 1.0, 3, 0)
    head += packets if packets is not None else bytes([0, 8, 2 if rle else 0, 0xE0])
    body = bytearray()
    for y in range(ph):
        row = [bytes(int(v) for v in rgb[y, x]) for x in range(pw)]
        if not rle:
            body += b"".join(row)
            continue
        x = 0
        while x < pw:
            run = 1
            while x + run < pw and row[x + run] == row[x]:
                run += 1
            if run >= 2:
                body += bytes([127 + run]) + row[x]  # 129..255: a run of 2..128
            else:
                body += b"\x00" + row[x]  # a raw packet of one pixel
            x += run
    return head + bytes(body)


def hdr_rle(rgbe):
    """Radiance RGBE with new-style run-length scanlines (8 <= width < 32768)."""
    h, w, _ = rgbe.shape
    out = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y %d +X %d\n" % (h, w)
    for y in range(h):
        out += bytes([2, 2, w >> 8, w & 255])
        for k in range(4):
            comp = [int(v) for v in rgbe[y, :, k]]
            x = 0
            while x < w:
                run = 1
                while x + run < w and run < 127 and comp[x + run] == comp[x]:
                    run += 1
                if run >= 3:
                    out += bytes([128 + run, comp[x]])
                    x += run
                else:
                    n = min(2, w - x)
                    out += bytes([n] + comp[x:x + n])
                    x += n
    return out


# ---------------------------------------------------------------------------- NPY

def npy(header_dict_text, data, version=1, magic=b"\x93NUMPY"):
    h = header_dict_text.encode("latin-1")
    pad = (-(len(magic) + 2 + (2 if version == 1 else 4) + len(h) + 1)) % 64
    h = h + b" " * pad + b"\n"
    ln = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return magic + bytes([version, 0]) + ln + h + data


def npy_good(arr):
    arr = np.ascontiguousarray(arr)
    return npy("{'descr': '%s', 'fortran_order': False, 'shape': %r, }"
               % (arr.dtype.str, tuple(arr.shape)), arr.tobytes())


# ---------------------------------------------------------------------------- cases

def stdin_case(c, name, data, expect=1, json_pos=False, line=None, what=""):
    """A hostile file given on standard input (INPUT '-'): the error names '-'."""
    c.bad(name, data, expect=expect, role="stdin", json_pos=json_pos, line=line, prefix="-",
          what=what + " (INPUT -)")


def truncations(c, stem, data, offsets, ext, what, expect=1):
    for off in sorted(set(offsets)):
        assert 0 < off < len(data), (stem, off, len(data))
        c.bad("%s-trunc-%05d.%s" % (stem, off, ext), data[:off], expect=expect,
              what="%s cut to %d of %d bytes" % (what, off, len(data)))


def png_cases(c):
    rgb = pattern(12, 16, 3, 1)
    text = chunk(b"tEXt", b"Comment\x00a small test image")
    base = png(rgb, 8, 2, before_idat=[text], idat_parts=3)
    c.good("png-base.png", base, truth=chw(rgb), pil="RGB", what="16x12 RGB, 3 IDATs, tEXt")
    c.base_truth = chw(rgb)
    ch = png_chunks(base)  # IHDR, tEXt, IDAT x3, IEND
    assert [t for _, _, t in ch] == [b"IHDR", b"tEXt", b"IDAT", b"IDAT", b"IDAT", b"IEND"]
    offs = [1, 4, 7, 8, 10, 14, 20, 28, 31]
    t_off, t_len = ch[1][0], ch[1][1]
    offs += [t_off + 6, t_off + 8 + t_len // 2, t_off + 8 + t_len + 2]
    for k in (2, 3, 4):
        o, n, _ = ch[k]
        offs += [o + 3, o + 8 + n // 2]
    o4, n4, _ = ch[4]
    offs += [o4 + 8 + n4 + 2]
    L = len(base)
    offs += [L - 12, L - 8, L - 4, L - 1]
    truncations(c, "png", base, offs, "png", "16x12 RGB PNG")

    c.bad("png-crc-ihdr.png", bad_crc(base, 0), what="IHDR CRC off by one bit")
    c.bad("png-crc-text.png", bad_crc(base, 1), what="tEXt (ancillary, before IDAT) CRC wrong")
    c.bad("png-crc-idat1.png", bad_crc(base, 2), what="first IDAT CRC wrong")
    c.bad("png-crc-idat3.png", bad_crc(base, 4), what="last IDAT CRC wrong")
    after = png(rgb, 8, 2, after_idat=[chunk(b"tEXt", b"Comment\x00after")])
    c.bad("png-crc-text-after-idat.png", bad_crc(after, 2),
          what="tEXt after IDAT with a wrong CRC")
    c.bad("png-crc-iend.png", bad_crc(base, 5), what="IEND CRC wrong")
    c.bad("png-crc-zero.png", set_crc(base, 2, 0), what="IDAT CRC zeroed")

    def with_ihdr(w, h, depth=8, ctype=2, interlace=0, comp=0, filt=0, body=None):
        z = zlib.compress(body if body is not None else b"\0" * 64)
        return (PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, comp, filt,
                                                        interlace))
                + chunk(b"IDAT", z) + chunk(b"IEND", b""))
    c.bad("png-width0.png", with_ihdr(0, 12), what="width 0, correct CRC")
    c.bad("png-height0.png", with_ihdr(16, 0), what="height 0, correct CRC")
    c.bad("png-both0.png", with_ihdr(0, 0), what="0x0")
    c.bad("png-2p31m1.png", with_ihdr(2**31 - 1, 2**31 - 1), what="(2^31-1)^2, correct CRC")
    c.bad("png-2p31.png", with_ihdr(2**31, 2**31), what="2^31 x 2^31 (over the PNG maximum)")
    c.bad("png-2p31-by-1.png", with_ihdr(2**31, 1), what="2^31 x 1")
    c.bad("png-1-by-2p31m1.png", with_ihdr(1, 2**31 - 1), what="1 x (2^31-1)")
    c.bad("png-2p32m1.png", with_ihdr(2**32 - 1, 2**32 - 1), what="(2^32-1)^2")
    c.bad("png-depth3.png", with_ihdr(4, 4, depth=3, ctype=0), what="bit depth 3")
    c.bad("png-rgb-depth4.png", with_ihdr(4, 4, depth=4, ctype=2), what="RGB at 4 bits")
    c.bad("png-ctype5.png", with_ihdr(4, 4, ctype=5), what="colour type 5")
    c.bad("png-compression1.png", with_ihdr(4, 4, comp=1), what="compression method 1")
    c.bad("png-filter-method1.png", with_ihdr(4, 4, filt=1), what="filter method 1")
    c.bad("png-interlace2.png", with_ihdr(4, 4, interlace=2), what="interlace method 2")

    gray = pattern(16, 16, 1, 2)
    graw = png_raw(gray, 8, 0)

    def gray_png(z, w=16, h=16, chunks=None):
        body = chunks if chunks is not None else chunk(b"IDAT", z)
        return PNG_SIG + ihdr(w, h, 8, 0) + body + chunk(b"IEND", b"")
    c.good("png-gray.png", gray_png(zlib.compress(graw)), truth=chw(gray[:, :, 0]), pil="L",
           what="16x16 gray 8-bit, the base of the IDAT cases")
    c.bad("png-idat-garbage.png", gray_png(bytes(range(7, 250))), what="IDAT not zlib")
    c.bad("png-idat-garbage-deflate.png",
          gray_png(b"\x78\x9c" + bytes((i * 37 + 11) & 0xFF for i in range(300))),
          what="zlib header, then garbage deflate data")
    z = bytearray(zlib.compress(graw))
    z[-1] ^= 0xFF
    c.bad("png-idat-adler.png", gray_png(bytes(z)), what="zlib adler32 wrong")
    c.bad("png-idat-short.png", gray_png(zlib.compress(graw[:len(graw) - 17])),
          what="complete zlib stream one row short")
    c.bad("png-idat-half.png", gray_png(zlib.compress(graw[:len(graw) // 2])),
          what="complete zlib stream with half the rows")
    c.bad("png-idat-empty-stream.png", gray_png(zlib.compress(b"")),
          what="complete zlib stream of 0 bytes")
    c.bad("png-idat-zero-length.png", gray_png(b""), what="IDAT of length 0 only")
    c.bad("png-idat-cut-stream.png", gray_png(zlib.compress(graw)[:-30]),
          what="zlib stream cut inside (IDAT CRC correct)")
    bad_filter = bytearray(graw)
    bad_filter[17 * 5] = 7
    c.bad("png-filter-type7.png", gray_png(zlib.compress(bytes(bad_filter))),
          what="row filter type 7")
    c.bad("png-idat-one-extra-row.png", gray_png(zlib.compress(graw + graw[:17])),
          what="IDAT inflates to one row more than the header implies")
    bomb = zlib.compressobj(9)
    zb = bomb.compress(graw)
    zb += bomb.compress(b"\0" * (24 << 20))
    zb += bomb.flush()
    c.bad("png-bomb-extra-24M.png", gray_png(zb),
          what="16x16 gray whose IDAT inflates to 24 MiB more than the header implies")
    zeros = zlib.compress(b"\0" * (1 << 20), 9)
    huge = gray_png(zeros, w=100000, h=100000)
    c.bad("png-bomb-100000x100000.png", huge,
          what="100000x100000 gray, tiny zlib stream of zeros (default --max-pixels)")
    c.bad("png-bomb-100000x100000-maxpix.png", huge, args=["--max-pixels", "1000000"],
          what="same, --max-pixels 1000000")
    c.bad("png-bomb-20000x20000.png", gray_png(zeros, w=20000, h=20000),
          what="20000x20000 gray: 4e8 pixels, over the default 178956970")
    c.bad("png-bomb-maxpix-raised.png", huge,
          args=["--max-pixels", "20000000000", "--max-memory", "1G"],
          what="100000x100000 with --max-pixels raised but --max-memory 1G: the 40 GB decode "
               "buffer must be refused, not attempted")
    stdin_case(c, "stdin-png-trunc.png", base[:300], what="truncated PNG")
    stdin_case(c, "stdin-png-bomb.png", huge, what="100000x100000 PNG")
    stdin_case(c, "stdin-empty", b"", what="empty standard input")
    stdin_case(c, "stdin-text", b"hello\n", what="text")
    c.bad("png-maxpix-16x16.png", gray_png(zlib.compress(graw)), args=["--max-pixels", "255"],
          what="valid 16x16 with --max-pixels 255")
    c.bad("png-no-idat.png", PNG_SIG + ihdr(16, 16, 8, 0) + chunk(b"IEND", b""),
          what="IHDR then IEND, no IDAT")
    c.bad("png-no-ihdr.png", PNG_SIG + chunk(b"IDAT", zlib.compress(graw)) + chunk(b"IEND", b""),
          what="IDAT first, no IHDR")
    c.bad("png-signature-only.png", PNG_SIG, what="the 8-byte signature alone")
    c.bad("png-bad-signature.png", b"\x89PNG\r\n\x1a\x00" + base[8:],
          what="last signature byte wrong")
    c.bad("png-chunk-len-ffffffff.png",
          PNG_SIG + ihdr(16, 16, 8, 0) + b"\xff\xff\xff\xffIDAT" + zlib.compress(graw),
          what="IDAT length 0xFFFFFFFF")
    c.bad("png-chunk-len-past-end.png",
          PNG_SIG + ihdr(16, 16, 8, 0) + struct.pack(">I", 100000) + b"IDAT" +
          zlib.compress(graw) + b"\0\0\0\0", what="IDAT length past the end of the file")
    c.bad("png-ihdr-long.png",
          PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 0, 0, 0, 0) + b"xyz") +
          chunk(b"IDAT", zlib.compress(graw)) + chunk(b"IEND", b""), what="IHDR of 16 bytes")
    idx = pattern(8, 8, 1, 3, hi=4)
    c.bad("png-palette-missing-plte.png",
          PNG_SIG + ihdr(8, 8, 8, 3) + chunk(b"IDAT", zlib.compress(png_raw(idx, 8, 3))) +
          chunk(b"IEND", b""), what="palette image without PLTE")
    c.bad("png-trns-too-long.png",
          png(idx, 8, 3, plte=[[i, i, i] for i in range(4)], trns=bytes(10)), expect=[0, 1],
          what="tRNS with 10 entries for a 4-colour palette (may decode: must not crash)")
    c.bad("png-plte-after-idat.png",
          PNG_SIG + ihdr(8, 8, 8, 3) + chunk(b"IDAT", zlib.compress(png_raw(idx, 8, 3))) +
          chunk(b"PLTE", bytes(12)) + chunk(b"IEND", b""), what="PLTE after IDAT")
    c.bad("png-unknown-critical.png",
          PNG_SIG + ihdr(16, 16, 8, 0) + chunk(b"ABCD", b"xx") +
          chunk(b"IDAT", zlib.compress(graw)) + chunk(b"IEND", b""),
          what="unknown critical chunk ABCD")
    c.bad("png-text-file.png", "This is a text file, not a PNG.\n", what="text named .png")
    c.bad("png-number-text.png", "1 2 3\n4 5 6\n",
          what="a text file of numbers named .png (matrices are .json/.csv/.txt)")
    c.bad("png-json-text.png", "[[1,2],[3,4]]\n", what="a JSON array named .png")
    c.bad("png-empty.png", b"", what="empty file")
    c.bad("x.png", None, what="a directory named x.png")
    c.bad("png-zeros-4k.png", bytes(4096), what="4096 zero bytes")
    rng = np.random.RandomState(7)
    for i in range(3):
        c.bad("png-random-%d.png" % i, rng.randint(0, 256, 2000).astype(np.uint8).tobytes(),
              what="2000 random bytes (seed 7)")
    trunc = base[:200]
    c.bad("bad\nname.png", trunc, what="truncated PNG, newline in the file name")
    c.bad("tab\there\x01\x7f.png", trunc, what="tab, \\x01 and DEL in the file name")
    c.bad("\x1b[31mred\x1b[0m.png", trunc, what="ANSI escape sequence in the file name")
    c.bad("cr\rname.png", trunc, what="carriage return in the file name")
    c.bad("\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x1f.png", trunc,
          what="many control characters in the file name")


def png_legal(c):
    for depth, (h, w), seed in ((1, (7, 13), 11), (2, (5, 11), 12), (4, (6, 9), 13)):
        g = pattern(h, w, 1, seed, hi=1 << depth)
        scale = 255 // ((1 << depth) - 1)
        c.good("png-gray%d.png" % depth, png(g, depth, 0), truth=chw(g[:, :, 0] * scale), pil="L",
               what="%d-bit gray %dx%d" % (depth, w, h))
    g16 = pattern(8, 10, 1, 14, hi=65536)
    g16[0, :4, 0] = [0, 1, 65534, 65535]
    c.good("png-gray16.png", png(g16, 16, 0), truth=chw(g16[:, :, 0] / 257.0), tol=1e-4,
           pil="I/257", pil_tol=1e-4, what="16-bit gray 10x8")
    rgba16 = pattern(6, 7, 4, 15, hi=65536)
    c.good("png-rgba16.png", png(rgba16, 16, 6), truth=chw(rgba16 / 257.0), tol=1e-4,
           pil="RGBA", pil_tol=1.0,
           what="16-bit RGBA 7x6 (Pillow reads it as 8-bit: within 1 of v/257)")
    pal = [[(i * 53) & 255, (i * 101) & 255, (i * 197) & 255] for i in range(256)]
    idx = pattern(9, 12, 1, 16, hi=256)[:, :, 0]
    trns = bytes((i * 29) & 255 for i in range(100))
    alpha = np.array([trns[i] if i < len(trns) else 255 for i in range(256)])
    rgbp = np.array(pal)[idx]
    c.good("png-palette8-trns.png", png(idx, 8, 3, plte=pal, trns=trns),
           truth=np.concatenate([chw(rgbp), chw(alpha[idx])]), pil="RGBA",
           what="8-bit palette with a 100-entry tRNS: alpha channel appears")
    idx4 = pattern(5, 7, 1, 17, hi=16)[:, :, 0]
    pal16 = pal[:16]
    trns4 = bytes([0, 128, 255, 7])
    alpha4 = np.array([trns4[i] if i < 4 else 255 for i in range(16)])
    c.good("png-palette4-trns.png", png(idx4, 4, 3, plte=pal16, trns=trns4),
           truth=np.concatenate([chw(np.array(pal16)[idx4]), chw(alpha4[idx4])]), pil="RGBA",
           what="4-bit palette 7x5 with tRNS")
    g = pattern(8, 9, 1, 18)[:, :, 0]
    g[2, 3] = g[5, 5] = 77
    c.good("png-gray-trns.png", png(g, 8, 0, trns=struct.pack(">H", 77)),
           truth=np.stack([g, np.where(g == 77, 0, 255)]), pil="LA",
           what="8-bit gray with a tRNS key: gray + alpha")
    rgb = pattern(13, 19, 3, 19)
    c.good("png-adam7-rgb.png", png(rgb, 8, 2, interlace=True), truth=chw(rgb), pil="RGB",
           what="interlaced (Adam7) RGB 19x13")
    tiny = pattern(2, 3, 3, 20)
    c.good("png-adam7-3x2.png", png(tiny, 8, 2, interlace=True), truth=chw(tiny), pil="RGB",
           what="interlaced 3x2: most Adam7 passes empty")
    ga16 = pattern(5, 6, 2, 21, hi=65536)
    c.good("png-adam7-gray-alpha16.png", png(ga16, 16, 4, interlace=True),
           truth=chw(ga16 / 257.0), tol=1e-4, pil=None,
           what="interlaced 16-bit gray+alpha 6x5")
    one = np.array([[[200, 10, 99]]])
    c.good("png-1x1.png", png(one, 8, 2), truth=chw(one), pil="RGB", what="1x1 RGB")
    col = pattern(37, 1, 1, 22)
    c.good("png-1x37.png", png(col, 8, 0), truth=chw(col[:, :, 0]), pil="L",
           what="1 wide, 37 high")
    row = pattern(1, 37, 1, 23)
    c.good("png-37x1.png", png(row, 8, 0), truth=chw(row[:, :, 0]), pil="L",
           what="37 wide, 1 high")
    rgba = pattern(4, 5, 4, 24)
    c.good("png-rgba8.png", png(rgba, 8, 6), truth=chw(rgba), pil="RGBA", what="RGBA 8-bit")
    c.good("png-named.jpg", png(rgb, 8, 2), truth=chw(rgb), pil="RGB",
           what="a PNG named .jpg (recognised by content)")
    c.good("png-text-after-idat.png",
           png(rgb, 8, 2, after_idat=[chunk(b"tEXt", b"Comment\x00after")]), truth=chw(rgb),
           pil="RGB", what="a tEXt chunk after IDAT")
    g4 = pattern(4, 4, 1, 25)
    c.good("png-idat-1-byte-chunks.png", png(g4, 8, 0, idat_parts=10**6),
           truth=chw(g4[:, :, 0]), pil="L", what="IDAT split into one-byte chunks")


def jpeg_cases(c, pil):
    blocks = np.array([[16, 200], [128, 255]])
    blocks[0, 0] = 0
    gray = jpeg_dc_only([blocks])
    truth = np.kron(blocks, np.ones((8, 8)))
    c.good("jpeg-gray-dc.jpg", gray, truth=truth[None], pil="L",
           what="16x16 grayscale baseline JPEG, flat blocks (decodes exactly)")
    ycc = [np.array([[60, 200], [128, 30]]), np.array([[128, 90], [170, 128]]),
           np.array([[128, 160], [60, 128]])]
    color = jpeg_dc_only(ycc, components=3)
    yv, cb, cr = [np.kron(b, np.ones((8, 8))) - np.array([0, 128, 128])[k]
                  for k, b in enumerate(ycc)]
    rgbt = np.clip(np.round(np.stack([yv + 1.402 * cr, yv - 0.344136 * cb - 0.714136 * cr,
                                      yv + 1.772 * cb])), 0, 255)
    c.good("jpeg-ycc-dc.jpg", color, truth=rgbt, tol=1.0, pil="RGB",
           what="16x16 YCbCr 4:4:4 baseline JPEG, flat blocks")
    segs = jpeg_segments(color)
    offs = [1, 2, 3, 5]
    for o, m in segs[1:]:
        offs += [o + 1, o + 3, o + 6]
    sos = segs[-1][0]
    n = len(color)
    offs += [sos + 12, (sos + n) // 2, n - 3, n - 2, n - 1]
    truncations(c, "jpeg", color, [o for o in offs if 0 < o < n], "jpg", "16x16 colour JPEG")
    gsos = jpeg_segments(gray)[-1][0]
    truncations(c, "jpeg-gray", gray, [gsos + 14, len(gray) - 2], "jpg", "16x16 gray JPEG")

    def patch_sof(data, h, w, ncomp=None):
        o = [o for o, m in jpeg_segments(data) if m == 0xC0][0]
        b = bytearray(data)
        b[o + 5:o + 9] = struct.pack(">HH", h, w)
        if ncomp is not None:
            b[o + 9] = ncomp
        return bytes(b)
    c.bad("jpeg-65535x65535.jpg", patch_sof(color, 65535, 65535),
          what="SOF says 65535x65535 (over --max-pixels)")
    c.bad("jpeg-20000x20000.jpg", patch_sof(color, 20000, 20000), what="SOF says 20000x20000")
    c.bad("jpeg-width0.jpg", patch_sof(color, 16, 0), what="SOF width 0")
    c.bad("jpeg-height0.jpg", patch_sof(color, 0, 16),
          what="SOF height 0 (DNL not supported)")
    c.bad("jpeg-maxpix.jpg", color, args=["--max-pixels", "255"],
          what="valid 16x16 JPEG, --max-pixels 255")
    c.bad("jpeg-bigger-than-data.jpg", patch_sof(color, 1500, 1500),
          what="SOF 1500x1500 over 4 blocks of data (premature end)")
    b = bytearray(color)
    for i in range(sos + 14, len(b) - 2):
        b[i] = 0xA5
    c.bad("jpeg-garbage-entropy.jpg", bytes(b), what="entropy-coded data overwritten")
    c.bad("jpeg-soi-eoi.jpg", b"\xff\xd8\xff\xd9", what="SOI then EOI")
    c.bad("jpeg-soi-only.jpg", b"\xff\xd8\xff", what="SOI and one 0xFF")
    nodht = b"".join(color[o:segs[i + 1][0]] for i, (o, m) in enumerate(segs[:-1])
                     if m != 0xC4) + color[sos:]
    c.bad("jpeg-no-dht.jpg", nodht, what="no Huffman tables")
    c.bad("jpeg-text.jpg", "not a jpeg\n", what="text named .jpg")
    two = jpeg_dc_only([blocks, blocks], components=2)
    c.bad("jpeg-2-components.jpg", two, what="2 colour components (no colour space)")
    p12 = bytearray(color)
    p12[[o for o, m in jpeg_segments(color) if m == 0xC0][0] + 4] = 12
    c.bad("jpeg-precision12.jpg", bytes(p12), what="12-bit precision in a baseline SOF")
    stdin_case(c, "stdin-jpeg-trunc.jpg", color[:len(color) // 2],
               what="truncated JPEG on standard input")
    kb = [np.array([[0, 255], [40, 200]]), np.array([[255, 0], [90, 30]]),
          np.array([[128, 128], [10, 250]]), np.array([[255, 200], [0, 100]])]
    c.good("jpeg-cmyk-no-adobe.jpg", jpeg_dc_only(kb, components=4), pil="RGB", pil_tol=1.0,
           what="4-component JPEG without an Adobe marker (plain, not inverted, CMYK)")
    if pil is None:
        return
    from PIL import Image
    import io
    rgb = pattern(24, 40, 3, 30).astype(np.uint8)
    rgb = np.kron(rgb[::8, ::8], np.ones((8, 8, 1), dtype=np.uint8))
    for name, kw, mode, what in (
            ("jpeg-progressive.jpg", {"progressive": True, "quality": 90}, "RGB",
             "progressive JPEG (Pillow)"),
            ("jpeg-gray-pil.jpg", {"quality": 85}, "L", "grayscale JPEG (Pillow)"),
            ("jpeg-420.jpg", {"quality": 75, "subsampling": 2}, "RGB",
             "4:2:0 JPEG, odd size (Pillow)"),
            ("jpeg-cmyk.jpg", {"quality": 95}, "CMYK", "CMYK JPEG (Pillow, Adobe inverted)")):
        src = rgb if mode != "CMYK" else np.concatenate(
            [rgb, pattern(24, 40, 1, 31).astype(np.uint8)], axis=2)
        if mode == "L":
            src = rgb[:, :, 0]
        if name == "jpeg-420.jpg":
            src = src[:21, :37]
        bio = io.BytesIO()
        Image.fromarray(src, mode).save(bio, "JPEG", **kw)
        c.good(name, bio.getvalue(), pil="RGB" if mode == "CMYK" else mode,
               pil_tol=1.0 if mode == "CMYK" else 0.0, what=what)


def bmp_cases(c):
    rgb = pattern(4, 5, 3, 40)
    base = bmp(rgb)
    c.good("bmp-24.bmp", base, truth=chw(rgb), pil="RGB", what="24-bit 5x4 (padded rows)")
    c.good("bmp-24-top-down.bmp", bmp(rgb, top_down=True), truth=chw(rgb), pil="RGB",
           what="24-bit top-down (negative height), a legal and common BMP")
    a = pattern(4, 5, 1, 41)[:, :, 0]
    a[0, 0] = 0
    a[0, 1] = 255
    c.good("bmp-32-alpha.bmp", bmp(rgb, alpha=a, bpp=32),
           truth=np.concatenate([chw(rgb), a[None]]), pil="RGBA",
           what="32-bit BI_BITFIELDS with an alpha mask (V4 header)")
    pal = [((i * 7) & 255, (i * 13) & 255, (i * 29) & 255) for i in range(256)]
    idx = pattern(3, 7, 1, 42)[:, :, 0]
    c.good("bmp-8-palette.bmp", bmp(None, bpp=8, palette=pal, indices=idx),
           truth=chw(np.array(pal)[idx]), pil="RGB", what="8-bit palette 7x3")
    truncations(c, "bmp", base, [1, 2, 10, 14, 20, 30, 54, 60, len(base) - 10, len(base) - 1],
                "bmp", "5x4 BMP")

    def patch(data, off, fmt, *v):
        b = bytearray(data)
        struct.pack_into(fmt, b, off, *v)
        return bytes(b)
    c.bad("bmp-2p31m1.bmp", patch(base, 18, "<ii", 2**31 - 1, 2**31 - 1),
          what="width = height = 2^31-1")
    c.bad("bmp-100000x100000.bmp", patch(base, 18, "<ii", 100000, 100000),
          what="100000x100000")
    c.bad("bmp-height-intmin.bmp", patch(base, 18, "<ii", 5, -2**31), what="height = INT_MIN")
    c.bad("bmp-width-neg.bmp", patch(base, 18, "<ii", -5, 4), what="width -5")
    c.bad("bmp-width0.bmp", patch(base, 18, "<ii", 0, 4), what="width 0")
    c.bad("bmp-bpp0.bmp", patch(base, 28, "<H", 0), what="0 bits per pixel")
    c.bad("bmp-bpp7.bmp", patch(base, 28, "<H", 7), what="7 bits per pixel")
    c.bad("bmp-compression99.bmp", patch(base, 30, "<I", 99), what="compression 99")
    c.bad("bmp-offset-past-end.bmp", patch(base, 10, "<I", 10**6),
          what="pixel offset past the end of the file")
    c.bad("bmp-header-size-1.bmp", patch(base, 14, "<I", 1), what="info header size 1")
    c.bad("bmp-maxpix.bmp", base, args=["--max-pixels", "19"], what="5x4 with --max-pixels 19")
    c.bad("bmp-palette-huge.bmp", patch(bmp(None, bpp=8, palette=pal, indices=idx), 46, "<I",
                                        2**31), expect=[0, 1],
          what="8-bit with 2^31 palette colours (may decode: must not crash)")


def tga_cases(c):
    rgb = pattern(5, 9, 3, 50)
    rgb[1, :] = rgb[1, 0]  # a run
    rgb[3, 2:7] = rgb[3, 2]
    base = tga_rle(rgb)
    c.good("tga-rle24.tga", base, truth=chw(rgb), pil="RGB", what="RLE truecolour 9x5, top-left")
    g = pattern(4, 6, 1, 51)[:, :, 0]
    g[2, :] = 9
    c.good("tga-rle-gray-bottom.tga", tga_rle(g, gray=True, top_left=False), truth=g[None],
           pil="L", what="RLE gray 6x4, bottom-left origin")
    raw = tga_raw(rgb)
    c.good("tga-raw24.tga", raw, truth=chw(rgb), pil="RGB", what="uncompressed 24-bit")
    truncations(c, "tga", base, [1, 3, 12, 17, 18, 20, len(base) // 2, len(base) - 1], "tga",
                "9x5 RLE TGA")
    truncations(c, "tga-raw", raw, [25, len(raw) - 1], "tga", "9x5 raw TGA")

    def patch(data, off, fmt, *v):
        b = bytearray(data)
        struct.pack_into(fmt, b, off, *v)
        return bytes(b)
    c.bad("tga-65535x65535.tga", patch(base, 12, "<HH", 65535, 65535), what="65535x65535 RLE")
    c.bad("tga-raw-65535x65535.tga", patch(raw, 12, "<HH", 65535, 65535), what="65535x65535 raw")
    c.bad("tga-width0.tga", patch(base, 12, "<HH", 0, 5), what="width 0")
    c.bad("tga-bpp13.tga", patch(base, 16, "<B", 13), what="13 bits per pixel")
    c.bad("tga-maxpix.tga", base, args=["--max-pixels", "44"], what="9x5 with --max-pixels 44")
    c.bad("tga-rle-overrun.tga", base[:18] + b"\xff\x01\x02\x03" * 40, expect=[0, 1],
          what="RLE runs of 128 pixels over a 45-pixel image (may decode: must not crash)")


def gif_cases(c):
    pal = [((i * 37) & 255, (i * 11) & 255, (i * 73) & 255) for i in range(256)]
    idx = pattern(7, 10, 1, 60)[:, :, 0]
    base = gif(idx, pal)
    rgbt = np.array(pal)[idx]
    c.good("gif-10x7.gif", base, truth=np.concatenate([chw(rgbt), np.full((1, 7, 10), 255)]),
           pil="RGBA", what="GIF 10x7, 256-colour table (stb gives RGBA)")
    n = len(base)
    truncations(c, "gif", base, [3, 6, 8, 11, 13, 400, 781, 785, 795, n // 2 + 300, n - 2],
                "gif", "10x7 GIF")
    # Only the trailer byte is missing: the first frame, all cnnfilter reads, is complete.
    c.bad("gif-trunc-%05d.gif" % (n - 1), base[:n - 1], expect=[0, 1],
          what="10x7 GIF without its trailer byte (the frame is whole: may decode)")
    c.bad("gif-65535x65535.gif", gif(idx, pal, lsd=(65535, 65535), desc=(65535, 65535)),
          what="screen and image 65535x65535")
    c.bad("gif-screen-65535.gif", gif(idx, pal, lsd=(65535, 65535)),
          what="screen 65535x65535, image 10x7")
    c.bad("gif-screen0.gif", gif(idx, pal, lsd=(0, 0)), what="screen 0x0")
    c.bad("gif-image-larger-than-screen.gif", gif(idx, pal, desc=(2000, 2000)),
          what="image descriptor 2000x2000 on a 10x7 screen")
    c.bad("gif-maxpix.gif", base, args=["--max-pixels", "69"], what="10x7 with --max-pixels 69")
    c.bad("gif-header-only.gif", b"GIF89a", what="the 6-byte signature alone")
    c.bad("gif-no-image.gif", base[:13 + 768] + b";", what="screen and table, then the trailer")
    lzw_at = 13 + 768 + 10
    b = bytearray(base)
    for i in range(lzw_at + 2, len(b) - 2):
        if (i - lzw_at) % 256:
            b[i] = 0xFF
    c.bad("gif-lzw-garbage.gif", bytes(b), what="LZW codes 511 (not yet defined)")


def pnm_cases(c):
    g = pattern(6, 8, 1, 70)[:, :, 0]
    p5 = b"P5\n8 6\n255\n" + g.astype(np.uint8).tobytes()
    c.good("pnm-p5.pgm", p5, truth=g[None], pil="L", what="P5 8-bit 8x6")
    rgb = pattern(4, 5, 3, 71)
    p6 = b"P6\n# a comment\n5 # width\n4\n255\n" + rgb.astype(np.uint8).tobytes()
    c.good("pnm-p6-comments.ppm", p6, truth=chw(rgb), pil="RGB", what="P6 with # comments")
    g16 = pattern(3, 5, 1, 72, hi=65536)[:, :, 0]
    g16[0, :3] = [0, 65535, 32896]
    c.good("pnm-p5-16bit.pgm", b"P5\n5 3\n65535\n" + g16.astype(">u2").tobytes(),
           truth=(g16 / 257.0)[None], tol=1e-4, pil="I/257|>>8", pil_tol=1e-4,
           what="16-bit PGM (value/257 as for PNG, or value>>8)")
    g15 = pattern(3, 4, 1, 73, hi=16)[:, :, 0]
    c.good("pnm-p5-maxval15.pgm", b"P5\n4 3\n15\n" + g15.astype(np.uint8).tobytes(),
           truth=(g15 * 17)[None], pil="L",
           what="PGM maxval 15: samples scale to 0..255 (Netpbm)")
    truncations(c, "pnm-p5", p5, [1, 2, 3, 5, 7, 9, 10, 11, 30, len(p5) - 1], "pgm",
                "8x6 P5")
    truncations(c, "pnm-p6", p6, [10, 30, len(p6) - 1], "ppm", "5x4 P6")
    c.bad("pnm-100000x100000.pgm", b"P5\n100000 100000\n255\n" + bytes(64),
          what="P5 header 100000x100000")
    c.bad("pnm-p6-99999999.ppm", b"P6 99999999 99999999 255\n" + bytes(64),
          what="P6 header 99999999 (8 digits) square")
    c.bad("pnm-20-digit-width.pgm", b"P5\n12345678901234567890 4\n255\n" + bytes(64),
          what="20-digit width")
    c.bad("pnm-20-digit-maxval.pgm", b"P5\n4 4\n99999999999999999999\n" + bytes(64),
          what="20-digit maxval")
    c.bad("pnm-width0.pgm", b"P5\n0 4\n255\n" + bytes(64), what="width 0")
    c.bad("pnm-negative.pgm", b"P5\n-4 4\n255\n" + bytes(64), what="width -4")
    c.bad("pnm-maxval0.pgm", b"P5\n4 4\n0\n" + bytes(16), what="maxval 0")
    c.bad("pnm-maxval70000.pgm", b"P5\n4 4\n70000\n" + bytes(64), what="maxval 70000")
    c.bad("pnm-no-numbers.pgm", b"P5\n\n\n", what="P5 and nothing else")
    c.bad("pnm-maxpix.pgm", p5, args=["--max-pixels", "47"], what="8x6 with --max-pixels 47")
    c.bad("pnm-comment-forever.pgm", b"P5\n#" + b"x" * 100000, what="unterminated comment")


def tiff(entries, data=b"", big_endian=False, ifd_at=8):
    """A classic TIFF by hand: header, one directory (entries: (tag, type, values) with type
    3 SHORT, 4 LONG, 2 ASCII), out-of-line values after it, then `data`; the tag 273
    (StripOffsets) values given as offsets into `data` are moved past the directory."""
    e = ">" if big_endian else "<"
    size = {2: 1, 3: 2, 4: 4, 11: 4}
    code = {3: "H", 4: "I", 11: "f"}
    n = len(entries)
    extra_at = ifd_at + 2 + 12 * n + 4
    blobs = b""
    body = []
    vals_list = []
    for tag, typ, vals in sorted(entries):
        vals_list.append((tag, typ, vals))
    total_extra = 0
    for tag, typ, vals in vals_list:
        count = len(vals) if typ != 2 else len(vals) + 1
        if count * size[typ] > 4:
            total_extra += count * size[typ] + (count * size[typ]) % 2
    data_at = extra_at + total_extra
    for tag, typ, vals in vals_list:
        if tag in (273, 324):
            vals = [v + data_at for v in vals]
        if typ == 2:
            raw = vals + b"\0"
            count = len(raw)
        else:
            raw = struct.pack(e + code[typ] * len(vals), *vals)
            count = len(vals)
        if len(raw) <= 4:
            field = raw.ljust(4, b"\0")
        else:
            field = struct.pack(e + "I", extra_at + len(blobs))
            blobs += raw + (b"\0" if len(raw) % 2 else b"")
        body.append(struct.pack(e + "HHI", tag, typ, count) + field)
    head = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", ifd_at)
    out = head + b"\0" * (ifd_at - 8) + struct.pack(e + "H", n) + b"".join(body) + \
        struct.pack(e + "I", 0) + blobs
    assert len(out) == data_at, (len(out), data_at)
    return out + data


def tiff_basic(w, h, spp, bits, photometric, data, fmt=1, planar=1, extra=None, rows=None,
               big_endian=False):
    ent = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * spp), (259, 3, [1]),
           (262, 3, [photometric]), (273, 4, [0]), (277, 3, [spp]),
           (278, 4, [rows or h]), (279, 4, [len(data)]), (284, 3, [planar]),
           (339, 3, [fmt] * spp)]
    if extra is not None:
        ent.append((338, 3, extra))
    return tiff(ent, data, big_endian=big_endian)


def tiff_cases(c):
    g = pattern(3, 5, 1, 80)[:, :, 0]
    t8 = tiff_basic(5, 3, 1, 8, 1, g.astype(np.uint8).tobytes())
    c.good("tiff-gray8.tif", t8, truth=g[None], what="uncompressed 8-bit gray TIFF by hand")
    c.good("tiff-gray8-white.tif", tiff_basic(5, 3, 1, 8, 0, g.astype(np.uint8).tobytes()),
           truth=(255 - g)[None], what="min-is-white: 255 - v")
    rgb16 = pattern(2, 3, 3, 81, hi=65536)
    c.good("tiff-rgb16-be.tif",
           tiff_basic(3, 2, 3, 16, 2, rgb16.astype(">u2").tobytes(), big_endian=True),
           truth=chw(rgb16) / 257.0, tol=1e-4, what="big-endian 16-bit RGB: v / 257")
    f = np.array([[-1.5, 0.25, 1e6], [3.0, -0.0, 255.5]], np.float32)
    c.good("tiff-float.tif", tiff_basic(3, 2, 1, 32, 1, f.astype("<f4").tobytes(), fmt=3),
           truth=f[None].astype(np.float64), what="float32 gray: the values as stored")
    ga = pattern(2, 2, 2, 82)
    c.good("tiff-gray-alpha.tif", tiff_basic(2, 2, 2, 8, 1, ga.astype(np.uint8).tobytes(),
                                             extra=[2]),
           truth=chw(ga), what="gray + unassociated alpha")
    planes = pattern(2, 2, 3, 83)
    c.good("tiff-separate.tif",
           tiff([(256, 4, [2]), (257, 4, [2]), (258, 3, [8, 8, 8]), (259, 3, [1]),
                 (262, 3, [2]), (273, 4, [0, 4, 8]), (277, 3, [3]), (278, 4, [2]),
                 (279, 4, [4, 4, 4]), (284, 3, [2])],
                np.transpose(planes, (2, 0, 1)).astype(np.uint8).tobytes()),
           truth=chw(planes), what="separate planes, one strip each")
    truncations(c, "tiff-gray8", t8, [1, 3, 4, 7, 9, 30, 100, len(t8) - 1], "tif",
                "5x3 TIFF")
    c.bad("tiff-100000x100000.tif", tiff_basic(100000, 100000, 1, 8, 1, bytes(64)),
          what="TIFF header 100000x100000, 64 bytes of data")
    c.bad("tiff-maxpix.tif", t8, args=["--max-pixels", "14"], what="5x3 with --max-pixels 14")
    c.bad("tiff-huge-tiles.tif",
          tiff([(256, 4, [16]), (257, 4, [16]), (258, 3, [8]), (259, 3, [1]), (262, 3, [1]),
                (277, 3, [1]), (322, 4, [1 << 20]), (323, 4, [1 << 20]), (324, 4, [0]),
                (325, 4, [64])], bytes(64)),
          what="16x16 TIFF with 2^20 x 2^20 tiles (must not allocate them)")
    c.bad("tiff-strip-past-end.tif",
          tiff([(256, 4, [64]), (257, 4, [64]), (258, 3, [8]), (259, 3, [1]), (262, 3, [1]),
                (273, 4, [0]), (277, 3, [1]), (278, 4, [64]), (279, 4, [1 << 30])], bytes(64)),
          what="strip byte count 1 GiB in a small file")
    c.bad("tiff-palette.tif",
          tiff([(256, 4, [5]), (257, 4, [3]), (258, 3, [8]), (259, 3, [1]), (262, 3, [3]),
                (273, 4, [0]), (277, 3, [1]), (278, 4, [3]), (279, 4, [15]),
                (320, 3, list(range(0, 65536, 256)) * 3)], bytes(15)),
          what="palette TIFF (with its colour map)")
    c.bad("tiff-4bit.tif", tiff_basic(4, 2, 1, 4, 1, bytes(4)), what="4-bit gray TIFF")
    c.bad("tiff-signed.tif", tiff_basic(5, 3, 1, 16, 1, bytes(30), fmt=2),
          what="signed 16-bit TIFF")
    c.bad("tiff-ifd-past-end.tif", b"II*\0" + struct.pack("<I", 1 << 30) + bytes(32),
          what="directory offset past the end")
    c.bad("tiff-ifd-loop.tif", b"II*\0\x08\0\0\0\x00\x00\x08\0\0\0",
          what="empty directory pointing to itself")


# A 4x4 lossless WebP with alpha (ImageMagick, once): its truncations.
WEBP_4X4 = bytes.fromhex(
    "5249464648000000574542505650384c3c0000002f0fc00210993244f43f3611d1ff8082b66d18f3c7"
    "bd3f0204d936f527fd282e104861164f906d8b7b826f0230170a71148305baca3b5b4b79a77500")


def webp_cases(c):
    truncations(c, "webp", WEBP_4X4, [4, 11, 12, 20, 25, 40, len(WEBP_4X4) - 1], "webp",
                "16x12 lossless WebP")
    big = bytearray(WEBP_4X4)
    # VP8L header: 14-bit width-1 and height-1 after the signature byte 0x2f.
    bits = (16383 - 1) | ((16383 - 1) << 14) | (1 << 28)
    big[21:25] = struct.pack("<I", bits)
    c.bad("webp-16383x16383.webp", bytes(big), what="WebP header 16383x16383 (over the limit)")
    c.bad("webp-maxpix.webp", WEBP_4X4, args=["--max-pixels", "100"],
          what="16x12 WebP with --max-pixels 100")
    c.bad("webp-riff-only.webp", b"RIFF\x04\0\0\0WEBP", what="RIFF WEBP and nothing else")
    c.bad("webp-vp8-junk.webp", b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0" + bytes(range(24)),
          what="a VP8 chunk of junk")


def psd_cases(c):
    rgb = pattern(3, 4, 3, 80)
    raw = psd(rgb)
    truth = np.concatenate([chw(rgb), np.full((1, 3, 4), 255)])
    c.good("psd-raw.psd", raw, truth=truth, pil="RGB+A255",
           what="Photoshop RGB 8-bit 4x3, raw data, no layers (stb adds an opaque alpha)")
    rgb2 = pattern(4, 10, 3, 81)
    rgb2[1, :] = 7
    rle = psd(rgb2, rle=True)
    c.good("psd-rle.psd", rle, truth=np.concatenate([chw(rgb2), np.full((1, 4, 10), 255)]),
           pil="RGB+A255", what="Photoshop RGB 10x4, PackBits data")
    truncations(c, "psd", raw, [4, 20, 26, 30, 38, len(raw) - 20, len(raw) - 1], "psd",
                "4x3 raw PSD")
    truncations(c, "psd-rle", rle, [40, 60, len(rle) - 1], "psd", "10x4 RLE PSD")
    c.bad("psd-2p31m1.psd", psd(rgb, h=2**31 - 1, w=2**31 - 1), what="(2^31-1)^2")
    c.bad("psd-2p31.psd", psd(rgb, h=2**31, w=2**31), what="2^31 x 2^31")
    c.bad("psd-100000x100000.psd", psd(rgb, h=100000, w=100000), what="100000x100000")
    c.bad("psd-height0.psd", psd(rgb, h=0), what="height 0")
    b = bytearray(raw)
    struct.pack_into(">H", b, 12, 0)
    c.bad("psd-0-channels.psd", bytes(b), what="0 channels")
    b = bytearray(raw)
    struct.pack_into(">H", b, 22, 7)
    c.bad("psd-depth7.psd", bytes(b), what="7 bits per channel")
    b = bytearray(raw)
    struct.pack_into(">H", b, 26 + 12, 9)
    c.bad("psd-compression9.psd", bytes(b), what="compression 9")
    c.bad("psd-maxpix.psd", raw, args=["--max-pixels", "11"], what="4x3 with --max-pixels 11")


def hdr_cases(c):
    rgbe = np.array([[[128, 128, 128, 129], [64, 32, 16, 130], [0, 0, 0, 0], [200, 100, 50, 127]],
                     [[255, 0, 128, 128], [1, 2, 3, 140], [128, 64, 32, 120], [90, 90, 90, 128]],
                     [[10, 20, 30, 129], [30, 20, 10, 129], [250, 250, 250, 128],
                      [128, 0, 0, 135]]])
    base = hdr(rgbe)
    c.good("hdr-4x3.hdr", base, truth=chw(hdr_truth(rgbe)), tol=0.0,
           what="Radiance RGBE 4x3, flat (linear floats x 255, kept above 255)")
    n = len(base)
    truncations(c, "hdr", base, [4, 10, 20, 36, 40, 44, n - 20, n - 1], "hdr", "4x3 HDR")
    c.bad("hdr-2e9.hdr", hdr(rgbe, "-Y 2000000000 +X 2000000000"), what="2e9 x 2e9")
    c.bad("hdr-100000x100000.hdr", hdr(rgbe, "-Y 100000 +X 100000"), what="100000x100000")
    c.bad("hdr-20-digits.hdr", hdr(rgbe, "-Y 12345678901234567890 +X 4"), what="20-digit height")
    c.bad("hdr-height0.hdr", hdr(rgbe, "-Y 0 +X 4"), what="height 0")
    c.bad("hdr-no-format.hdr", b"#?RADIANCE\n\n-Y 3 +X 4\n" + bytes(48), what="no FORMAT line")
    c.bad("hdr-bad-dims.hdr", hdr(rgbe, "+Z 3 +X 4"), what="unsupported orientation")
    c.bad("hdr-maxpix.hdr", base, args=["--max-pixels", "11"], what="4x3 with --max-pixels 11")
    wide = np.concatenate([rgbe, rgbe, rgbe[:, :2]], axis=1)
    wide[1, 3:9] = wide[1, 3]
    c.good("hdr-rle-10x3.hdr", hdr_rle(wide), truth=chw(hdr_truth(wide)), tol=0.0,
           what="Radiance RGBE 10x3, run-length scanlines")
    wide = np.tile(rgbe[:1, :1], (2, 40, 1))
    rle = bytearray(hdr(wide)[:-(2 * 40 * 4)])
    rle += b"\x02\x02\x00\x28" + b"\xff\x80" * 3  # an RLE scanline with runs far too long
    c.bad("hdr-rle-overrun.hdr", bytes(rle), what="RLE scanline whose runs overrun the row")


def pic_cases(c):
    rgb = pattern(3, 4, 3, 100)
    base = pic(rgb)
    # PIC is not in the reference's list of formats: refusing it cleanly (exit 1) is allowed.
    c.good("pic-raw.pic", base, truth=chw(rgb), optional=True,
           what="Softimage PIC 4x3, uncompressed")
    rgb2 = pattern(4, 9, 3, 101)
    rgb2[1, 2:7] = rgb2[1, 2]
    rle = pic(rgb2, rle=True)
    c.good("pic-rle.pic", rle, truth=chw(rgb2), optional=True,
           what="Softimage PIC 9x4, mixed run-length")
    truncations(c, "pic", base, [4, 50, 92, 96, 100, 104, 106, 110, len(base) - 1], "pic",
                "4x3 PIC")
    truncations(c, "pic-rle", rle, [109, len(rle) // 2, len(rle) - 1], "pic", "9x4 RLE PIC")
    c.bad("pic-65535x65535.pic", pic(rgb, w=65535, h=65535), what="65535x65535")
    c.bad("pic-width0.pic", pic(rgb, w=0), what="width 0")
    c.bad("pic-packet-size7.pic", pic(rgb, packets=bytes([0, 7, 0, 0xE0])),
          what="a 7-bit packet")
    c.bad("pic-packet-type9.pic", pic(rgb, packets=bytes([0, 8, 9, 0xE0])),
          what="packet type 9")
    c.bad("pic-11-packets.pic", pic(rgb, packets=bytes([1, 8, 0, 0x80]) * 11 +
                                    bytes([0, 8, 0, 0x40])), what="12 chained packets")
    c.bad("pic-rle-overrun.pic", pic(rgb, rle=True)[:104 + 4] + b"\xff\x01\x02\x03" * 12,
          what="a run of 128 pixels in a 4-pixel row")
    c.bad("pic-maxpix.pic", base, args=["--max-pixels", "11"], what="4x3 with --max-pixels 11")


# ------------------------------------------------------------------------- JSON documents

def deep(n, inner="1"):
    return "[" * n + inner + "]" * n


def json_inputs(c):
    """JSON matrices used as INPUT: a corrupt input is a runtime failure (reference §1: exit 1)."""
    cases = [
        ("syntax-unclosed", "[[1,2],\n [3,4]", 2, "unclosed array"),
        ("syntax-trailing-comma", "[[1,2],[3,4],]", 1, "trailing comma"),
        ("syntax-missing-comma", "[[1 2],[3,4]]", 1, "missing comma"),
        ("syntax-brace", "{", 1, "lone brace"),
        ("syntax-leading-zero", "[[01,2]]", 1, "leading zero"),
        ("syntax-dot", "[[.5,2]]", 1, ".5"),
        ("syntax-plus", "[[+1,2]]", 1, "+1"),
        ("syntax-hex", "[[0x10]]", 1, "hex number"),
        ("syntax-single-quotes", "[['1']]", 1, "single quotes"),
        ("type-string", '[["1", 2]]', 1, "string value"),
        ("type-true", "[[true, 2]]", 1, "boolean value"),
        ("type-null", "[[null]]", 1, "null value"),
        ("type-number", "3", 1, "a number, not an array"),
        ("type-string-doc", '"[[1]]"', 1, "a string document"),
        ("type-object", '{"weights": [[1]]}', 1, "an object, not a matrix"),
        ("ragged", "[[1,2,3],\n[4,5]]", 2, "ragged rows"),
        ("ragged-3d", "[[[1,2],[3,4]],[[5,6]]]", 1, "ragged channels"),
        ("mixed-nesting", "[[1,2],3]", 1, "a number among rows"),
        ("empty", "[]", 1, "[]"),
        ("empty-2d", "[[]]", 1, "[[]] (0x0)"),
        ("empty-3d", "[[[]]]", 1, "[[[]]]"),
        ("empty-row", "[[1,2],[]]", 1, "an empty row"),
        ("4d", "[[[[1]]]]", 1, "4-D array"),
        ("nan", "[[NaN, 1]]", 1, "NaN"),
        ("nan-lower", "[[nan]]", 1, "nan"),
        ("infinity", "[[Infinity]]", 1, "Infinity"),
        ("minus-infinity", "[[-Infinity]]", 1, "-Infinity"),
        ("1e309", "[[1e309, 0]]", 1, "1e309 (overflows a double)"),
        ("minus-1e309", "[[0],\n\n[-1e309]]", 3, "-1e309 on line 3"),
        ("exp-huge", "[[1e99999999999999999999]]", 1, "exponent with 20 digits"),
        ("trailing-garbage", "[[1,2],[3,4]] x", 1, "garbage after the document"),
        ("trailing-second-doc", "[[1]]\n[[2]]", 2, "a second document"),
        ("bom", "\ufeff[[1,2],[3,4]]", 1, "UTF-8 byte-order mark"),
        ("control-char", "[[1,\x01 2]]", 1, "a control character between numbers"),
        ("whitespace-only", "  \n\t ", 2, "only white space"),
        ("deep-100000", deep(100000), 1, "100000-deep nesting"),
        ("deep-33", deep(33), 1, "33-deep nesting"),
        ("unclosed-deep", "[" * 1000, 1, "1000 unclosed brackets"),
        ("comment", "[[1,2]] // c", 1, "a // comment"),
    ]
    for stem, text, line, what in cases:
        c.bad("json-in-%s.json" % stem, text, expect=1, json_pos=True, line=line,
              what="INPUT matrix: " + what)
    c.bad("json-in-nul.json", b"[[1,2],\x00[3,4]]", expect=1, json_pos=True, line=1,
          what="INPUT matrix: NUL byte")
    c.bad("json-in-latin1.json", b"[[1,2]]\xe9", expect=1, json_pos=True, line=1,
          what="INPUT matrix: a stray Latin-1 byte after the array")
    c.bad("json-in-empty-file.json", b"", expect=1, what="INPUT matrix: empty file")
    c.bad("json-in-dir.json", None, expect=1, what="INPUT matrix: a directory")
    stdin_case(c, "stdin-json-ragged", "[[1,2],\n[3]]", json_pos=True, line=2,
               what="ragged JSON matrix")
    c.bad("json-in-maxpix.json", "[[1,2],[3,4]]", expect=1, args=["--max-pixels", "3"],
          what="INPUT matrix: 2x2 with --max-pixels 3")
    c.bad("json-in-65-channels.json", json.dumps([[[1]]] * 65), expect=1,
          what="INPUT matrix: 65 channels (over 64)")
    c.bad("json in\nnewline\t.json", "[[1,2],[3", expect=1, json_pos=True, line=1,
          what="INPUT matrix: syntax error, newline and tab in the file name")


def kernel_cases(c):
    """Kernel files (-k FILE.json): a bad kernel is a usage error (exit 2), with FILE:LINE:COL."""
    k = "kernel"
    cases = [
        ("syntax-unclosed", '{"weights": [[1,2],\n[3', 2, "unclosed array"),
        ("syntax-trailing-comma-obj", '{"weights": [[1]],}', 1, "trailing comma in the object"),
        ("syntax-bare-key", '{weights: [[1]]}', 1, "unquoted key"),
        ("syntax-single-quotes", "{'weights': [[1]]}", 1, "single quotes"),
        ("syntax-missing-colon", '{"weights" [[1]]}', 1, "missing colon"),
        ("syntax-bad-escape", '{"name": "a\\x", "weights": [[1]]}', 1, "bad string escape"),
        ("syntax-unterminated-string", '{"name": "abc, "weights": [[1]]}', 1,
         "unterminated string"),
        ("trailing-garbage", '{"weights": [[1]]} x', 1, "garbage after the object"),
        ("trailing-object", '{"weights": [[1]]}\n{}', 2, "a second object"),
        ("trailing-garbage-matrix", "[[0,1,0],[1,-4,1],[0,1,0]]]", 1,
         "a bare matrix with an extra ]"),
        ("type-string-weights", '{"weights": [["1", 2]]}', 1, "string weights"),
        ("type-weights-3", '{"weights": 3}', 1, "weights: 3"),
        ("type-weights-string", '{"weights": "[[1]]"}', 1, "weights: a string"),
        ("type-weights-object", '{"weights": {"a": 1}}', 1, "weights: an object"),
        ("type-weights-null", '{"weights": null}', 1, "weights: null"),
        ("type-bool-weight", '{"weights": [[true]]}', 1, "a boolean weight"),
        ("type-divisor-string", '{"weights": [[1]], "divisor": "2"}', 1, "divisor: a string"),
        ("divisor-zero", '{"weights": [[1]], "divisor": 0}', 1, "divisor 0"),
        ("divisor-minus-zero", '{"weights": [[1]], "divisor": -0.0}', 1, "divisor -0.0"),
        ("type-flip-1", '{"weights": [[1]], "flip": 1}', 1, "flip: 1"),
        ("type-name-number", '{"weights": [[1]], "name": 5}', 1, "name: 5"),
        ("type-bias-null", '{"weights": [[1]], "bias": null}', 1, "bias: null"),
        ("type-bias-array", '{"weights": [[1]], "bias": [1]}', 1, "bias: [1]"),
        ("missing-weights", '{"name": "x"}', 1, "no weights"),
        ("empty-object", "{}", 1, "{}"),
        ("type-string-doc", '"box"', 1, "a string document"),
        ("type-null-doc", "null", 1, "null"),
        ("type-number-doc", "3", 1, "a number"),
        ("ragged", '{"weights": [[1,2],\n  [3]]}', 2, "ragged rows"),
        ("ragged-matrix", "[[1,2],[3]]", 1, "ragged bare matrix"),
        ("ragged-3d", '{"weights": [[[1]],[[1,2]]]}', 1, "ragged 3-D planes"),
        ("mixed-nesting", '{"weights": [[1],2]}', 1, "a number among rows"),
        ("empty-weights", '{"weights": []}', 1, "weights []"),
        ("empty-weights-2d", '{"weights": [[]]}', 1, "weights [[]] (0x0)"),
        ("empty-matrix", "[]", 1, "[]"),
        ("empty-matrix-2d", "[[]]", 1, "[[]]"),
        ("4d", '{"weights": [[[[1]]]]}', 1, "4-D weights"),
        ("nan", '{"weights": [[NaN]]}', 1, "NaN"),
        ("infinity", '{"weights": [[Infinity]]}', 1, "Infinity"),
        ("minus-infinity", "[[-Infinity]]", 1, "-Infinity"),
        ("1e309", '{"weights": [[1e309]]}', 1, "1e309"),
        ("minus-1e309", '{"weights": [[0],\n[-1e309]]}', 2, "-1e309"),
        ("divisor-1e309", '{"weights": [[1]], "divisor": 1e309}', 1, "divisor 1e309"),
        ("bias-minus-1e309", '{"weights": [[1]], "bias": -1e309}', 1, "bias -1e309"),
        ("divisor-nan", '{"weights": [[1]], "divisor": NaN}', 1, "divisor NaN"),
        ("duplicate-weights", '{"weights": [[1]],\n "weights": [[2]]}', 2, "weights twice"),
        ("duplicate-bias", '{"weights": [[1]], "bias": 1, "bias": 2}', 1, "bias twice"),
        ("unknown-key", '{"weights": [[1]], "stride": 2}', 1, "unknown key stride"),
        ("unknown-key-case", '{"Weights": [[1]]}', 1, "Weights (case)"),
        ("unknown-key-control", '{"weights": [[1]], "a\\u0001b\\nc": 1}', 1,
         "unknown key with escaped control characters"),
        ("bom", '\ufeff{"weights": [[1]]}', 1, "UTF-8 byte-order mark"),
        ("control-char", '{"weights": [[1]],\x01 "bias": 0}', 1, "control character"),
        ("raw-newline-in-string", '{"name": "a\nb", "weights": [[1]]}', 1,
         "raw newline inside a string"),
        ("raw-tab-in-string", '{"name": "a\tb", "weights": [[1]]}', 1,
         "raw tab inside a string"),
        ("deep-100000", deep(100000), 1, "100000-deep nesting"),
        ("deep-100000-object", '{"weights": ' + deep(100000) + "}", 1,
         "100000-deep nesting inside the object"),
        ("deep-33", '{"weights": [[1]], "name": ' + deep(32, "0") + "}", 1,
         "33-deep nesting (the object and 32 arrays)"),
        ("name-257", '{"weights": [[1]], "name": "%s"}' % ("n" * 257), 1, "a 257-character name"),
    ]
    for stem, text, line, what in cases:
        c.bad("kernel-%s.json" % stem, text, expect=2, role=k, json_pos=True, line=line,
              what="kernel file: " + what)
    c.bad("kernel-nul.json", b'{"weights": [[1]]\x00}', expect=2, role=k, json_pos=True, line=1,
          what="kernel file: NUL byte")
    row = ",".join(["0"] * 256)
    c.bad("kernel-256x256.json", '{"weights": [%s]}' % ",".join(["[%s]" % row] * 256), expect=2,
          role=k, json_pos=True, line=1, what="kernel file: 256x256 (sides up to 255)")
    c.bad("kernel-1x256.json", "[%s]" % row, expect=2, role=k, json_pos=True, line=1,
          what="kernel file: 1x256")
    c.bad("kernel-depth65.json", json.dumps({"weights": [[[1]]] * 65}), expect=2, role=k,
          json_pos=True, line=1, what="kernel file: depth 65 (over 64)")
    c.bad("kernel-5MB.json", '{"weights": [[1]], "name": "x"}' + " " * (5 << 20), expect=2,
          role=k, what="kernel file: 5 MiB (over 4 MiB)")
    c.bad("kernel-4MiB-plus-1.json", '{"weights": [[1]]}'.ljust((4 << 20) + 1), expect=2,
          role=k, what="kernel file: 4 MiB + 1 byte")
    c.bad("kernel-empty.json", b"", expect=2, role=k, json_pos=True,
          what="kernel file: empty")
    c.bad("kernel-ws-only.json", "\n\n   ", expect=2, role=k, json_pos=True, line=3,
          what="kernel file: white space only")
    c.bad("kernel-dir.json", None, expect=2, role=k, what="kernel file: a directory")
    c.bad("kernel\nnew\tline\x01.json", '{"weights": [[1]],,}', expect=2, role=k,
          json_pos=True, line=1, what="kernel file: syntax error, control characters in the name")


def pipeline_cases(c):
    p = "pipeline"
    conv = '{"type": "conv", "kernels": ["box"]}'
    cases = [
        ("syntax-unclosed", '{"layers": [\n' + conv, 2, "unclosed"),
        ("syntax-trailing-comma", '{"layers": [%s,]}' % conv, 1, "trailing comma"),
        ("trailing-garbage", '{"layers": [%s]} x' % conv, 1, "garbage after the document"),
        ("trailing-object", '{"layers": [%s]}\n\n{}' % conv, 3, "a second object"),
        ("bom", '\ufeff{"layers": [%s]}' % conv, 1, "byte-order mark"),
        ("control-char", '{"layers":\x02 [%s]}' % conv, 1, "control character"),
        ("raw-newline-in-string", '{"name": "a\nb", "layers": [%s]}' % conv, 1,
         "raw newline inside a string"),
        ("deep-100000", '{"layers": ' + deep(100000, "{}") + "}", 1, "100000-deep nesting"),
        ("deep-33", '{"layers": [%s], "name": %s}' % (conv, deep(32, "0")), 1,
         "33-deep nesting (the object and 32 arrays)"),
        ("duplicate-layers", '{"layers": [%s],\n "layers": [%s]}' % (conv, conv), 2,
         "layers twice"),
        ("duplicate-layer-key", '{"layers": [{"type": "relu", "type": "abs"}]}', 1,
         "type twice in a layer"),
        ("unknown-top-key", '{"layers": [%s], "version": 2}' % conv, 1, "unknown top key"),
        ("unknown-layer-key", '{"layers": [{"type": "conv", "kernels": ["box"], "groups": 2}]}',
         1, "unknown layer key"),
        ("unknown-type", '{"layers": [{"type": "dropout"}]}', 1, "unknown layer type"),
        ("type-missing", '{"layers": [{"kernels": ["box"]}]}', 1, "layer without type"),
        ("layers-3", '{"layers": 3}', 1, "layers: 3"),
        ("layers-string", '{"layers": "conv"}', 1, "layers: a string"),
        ("layers-missing", '{"name": "x"}', 1, "no layers"),
        ("layers-empty", '{"layers": []}', 1, "layers: []"),
        ("layer-array", '{"layers": [[]]}', 1, "a layer that is []"),
        ("doc-array", "[[1,2],[3,4]]", 1, "a matrix, not a pipeline"),
        ("kernels-empty", '{"layers": [{"type": "conv", "kernels": []}]}', 1, "kernels: []"),
        ("kernels-3", '{"layers": [{"type": "conv", "kernels": 3}]}', 1, "kernels: 3"),
        ("kernel-string-weights",
         '{"layers": [{"type": "conv", "kernels": [{"weights": [["a"]]}]}]}', 1,
         "string weights"),
        ("kernel-weights-3", '{"layers": [{"type": "conv", "kernels": [{"weights": 3}]}]}', 1,
         "weights: 3"),
        ("kernel-ragged",
         '{"layers": [{"type": "conv",\n "kernels": [{"weights": [[1,2],[3]]}]}]}', 2,
         "ragged kernel"),
        ("kernel-empty-2d", '{"layers": [{"type": "conv", "kernels": [{"weights": [[]]}]}]}',
         1, "weights [[]]"),
        ("kernel-inline-empty", '{"layers": [{"type": "conv", "kernels": ["[]"]}]}', 1,
         "inline kernel []"),
        ("kernel-nan", '{"layers": [{"type": "conv", "kernels": [{"weights": [[NaN]]}]}]}', 1,
         "NaN weight"),
        ("kernel-1e309", '{"layers": [{"type": "conv", "kernels": [{"weights": [[1e309]]}]}]}',
         1, "1e309 weight"),
        ("kernel-inline-minus-1e309",
         '{"layers": [{"type": "conv", "kernels": ["[[-1e309]]"]}]}', 1,
         "inline kernel -1e309"),
        ("kernel-unknown-key",
         '{"layers": [{"type": "conv", "kernels": [{"weights": [[1]], "w": 1}]}]}', 1,
         "unknown key in a kernel object"),
        ("kernel-duplicate-key",
         '{"layers": [{"type": "conv", "kernels": [{"weights": [[1]], "weights": [[1]]}]}]}',
         1, "duplicate key in a kernel object"),
        ("kernel-nosuch", '{"layers": [{"type": "conv", "kernels": ["no-such-kernel"]}]}', 1,
         "unknown kernel name"),
        ("stride-0", '{"layers": [{"type": "conv", "kernels": ["box"], "stride": 0}]}', 1,
         "stride 0"),
        ("stride-neg", '{"layers": [{"type": "conv", "kernels": ["box"], "stride": -1}]}', 1,
         "stride -1"),
        ("stride-frac", '{"layers": [{"type": "conv", "kernels": ["box"], "stride": 1.5}]}', 1,
         "stride 1.5"),
        ("stride-1e309", '{"layers": [{"type": "conv", "kernels": ["box"], "stride": 1e309}]}',
         1, "stride 1e309"),
        ("stride-huge", '{"layers": [{"type": "conv", "kernels": ["box"], "stride": 1e18}]}',
         1, "stride 1e18"),
        ("stride-triple",
         '{"layers": [{"type": "conv", "kernels": ["box"], "stride": [1,1,1]}]}', 1,
         "stride [1,1,1]"),
        ("padding-word",
         '{"layers": [{"type": "conv", "kernels": ["box"], "padding": "some"}]}', 1,
         "padding: some"),
        ("padding-neg", '{"layers": [{"type": "conv", "kernels": ["box"], "padding": -1}]}', 1,
         "padding -1"),
        ("dilation-0", '{"layers": [{"type": "conv", "kernels": ["box"], "dilation": 0}]}', 1,
         "dilation 0"),
        ("border-bad", '{"layers": [{"type": "conv", "kernels": ["box"], "border": "nope"}]}',
         1, "border: nope"),
        ("channels-bad",
         '{"layers": [{"type": "conv", "kernels": ["box"], "channels": "cmyk"}]}', 1,
         "channels: cmyk"),
        ("bias-string", '{"layers": [{"type": "conv", "kernels": ["box"], "bias": "1"}]}', 1,
         "bias: a string"),
        ("bias-nan", '{"layers": [{"type": "conv", "kernels": ["box"], "bias": NaN}]}', 1,
         "bias NaN"),
        ("combine-no-mode", '{"layers": [%s, {"type": "combine"}]}' % conv, 1,
         "combine without mode"),
        ("combine-bad-mode", '{"layers": [%s, {"type": "combine", "mode": "avg"}]}' % conv, 1,
         "combine mode avg"),
        ("leaky-slope-string", '{"layers": [{"type": "leaky_relu", "slope": "x"}]}', 1,
         "slope: a string"),
        ("pool-size-0", '{"layers": [{"type": "maxpool", "size": 0}]}', 1, "pool size 0"),
        ("pool-size-256", '{"layers": [{"type": "maxpool", "size": 256}]}', 1,
         "pool size 256"),
        ("pool-padding-over-half",
         '{"layers": [{"type": "maxpool", "size": 2, "padding": 2}]}', 1,
         "pool padding over half the window"),
        ("pool-ceil-1", '{"layers": [{"type": "maxpool", "ceil": 1}]}', 1, "ceil: 1"),
        ("relu-extra-key", '{"layers": [{"type": "relu", "slope": 1}]}', 1,
         "relu with a slope"),
    ]
    for stem, text, line, what in cases:
        c.bad("pipeline-%s.json" % stem, text, expect=2, role=p, json_pos=True, line=line,
              what="pipeline: " + what)
    # A bad kernel file named by a pipeline: the error names the kernel file.
    c.bad("pipeline-kernel-file-deep.json",
          '{"layers": [{"type": "conv", "kernels": ["kernel-deep-100000.json"]}]}', expect=2,
          role=p, json_pos=True, line=1, prefix="kernel-deep-100000.json",
          what="pipeline: a kernel file beside it that nests 100000 deep")
    c.bad("pipeline-kernel-file-5MB.json",
          '{"layers": [{"type": "conv", "kernels": ["kernel-5MB.json"]}]}', expect=2, role=p,
          prefix="kernel-5MB.json", what="pipeline: a 5 MiB kernel file beside it")
    row = ",".join(["1"] * 256)
    c.bad("pipeline-kernel-256x256.json",
          '{"layers": [{"type": "conv", "kernels": [{"weights": [%s]}]}]}'
          % ",".join(["[%s]" % row] * 256), expect=2, role=p, json_pos=True, line=1,
          what="pipeline: a 256x256 kernel")
    # A pipeline's conv layer takes up to 1024 kernels (a -k bank 64).
    c.bad("pipeline-1025-kernels.json",
          '{"layers": [{"type": "conv", "kernels": [%s]}]}' % ",".join(['"box"'] * 1025),
          expect=2, role=p, json_pos=True, line=1, what="pipeline: 1025 kernels in one layer")
    c.bad("pipeline-65-layers.json", '{"layers": [%s]}' % ",".join(['{"type": "relu"}'] * 65),
          expect=2, role=p, json_pos=True, line=1, what="pipeline: 65 layers")
    c.bad("pipeline-nul.json", b'{"layers": [{"type": "relu"}]\x00}', expect=2, role=p,
          json_pos=True, line=1, what="pipeline: NUL byte")
    c.bad("pipeline-5MB.json", '{"layers": [{"type": "relu"}]}' + " " * (5 << 20), expect=2,
          role=p, what="pipeline: 5 MiB (over 4 MiB)")
    c.bad("pipeline-empty.json", b"", expect=2, role=p, json_pos=True,
          what="pipeline: empty file")
    c.bad("pipeline-dir.json", None, expect=2, role=p, what="pipeline: a directory")
    c.bad("pipeline\x1b[2J\r.json", '{"layers": [{"type": "relu"}]', expect=2, role=p,
          json_pos=True, line=1, what="pipeline: unclosed, escape sequence and CR in the name")


def text_matrix_cases(c):
    for ext, sep in (("csv", ","), ("txt", " ")):
        def row(*v):
            return sep.join(v) + "\n"
        cases = [
            ("non-number", row("1", "2") + row("3", "x"), "a non-number"),
            ("ragged", row("1", "2", "3") + row("4", "5"), "a ragged row"),
            ("nan", row("1", "nan"), "nan"),
            ("NaN", row("NaN", "1"), "NaN"),
            ("inf", row("inf", "1"), "inf"),
            ("minus-infinity", row("1", "-Infinity"), "-Infinity"),
            ("1e309", row("1e309", "1"), "1e309"),
            ("1e39", row("1e39", "1"), "1e39 (finite double, not a finite float32)"),
            ("empty-file", "", "empty file"),
            ("blank-lines", "\n\n  \n", "blank lines only"),
            ("comment-only", "# nothing\n", "a comment only"),
            ("channels-mismatch", row("1", "2") + row("3", "4") + "\n" + row("5", "6"),
             "second channel with fewer rows"),
            ("nul", row("1", "2") + row("3", "4\x005"), "a NUL byte inside a number"),
            ("nul-end", row("1", "2") + row("3", "4") + "\x00", "a NUL byte at the end"),
            ("bom", "\ufeff" + row("1", "2"), "UTF-8 byte-order mark"),
            ("control", row("1", "2\x01"), "a control character after a number"),
        ]
        if ext == "csv":
            cases += [("empty-field", "1,,2\n", "an empty field"),
                      ("trailing-comma", "1,2,\n", "a trailing comma"),
                      ("semicolon", "1;2\n", "semicolons")]
        for stem, text, what in cases:
            c.bad("matrix-%s.%s" % (stem, ext), text, expect=1, what=".%s: %s" % (ext, what))
        c.bad("matrix-maxpix.%s" % ext, row("1", "2") + row("3", "4"), expect=1,
              args=["--max-pixels", "3"], what=".%s: 2x2 with --max-pixels 3" % ext)
        c.bad("matrix-65-channels.%s" % ext, (row("1") + "\n") * 65, expect=1,
              what=".%s: 65 channels" % ext)
    c.good("matrix-ok.csv", "1,2,3\n4,5,6\n", truth=np.array([[[1, 2, 3], [4, 5, 6]]]),
           what="a plain .csv matrix")


def npy_cases(c):
    a = np.arange(12, dtype="<f4").reshape(3, 4)
    good = npy_good(a)
    c.good("npy-f4.npy", good, truth=a[None], what=".npy float32 3x4")
    c.good("npy-u2-3d.npy", npy_good(np.arange(24, dtype="<u2").reshape(2, 3, 4)),
           truth=np.arange(24).reshape(2, 3, 4), what=".npy uint16 (2,3,4)")
    data = a.tobytes()

    def hd(descr="'<f4'", fortran="False", shape="(3, 4)"):
        return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    cases = [
        ("bad-magic", npy(hd(), data, magic=b"\x93NUMPX"), "bad magic"),
        ("version-9", npy(hd(), data)[:6] + b"\x09" + npy(hd(), data)[7:], "version 9"),
        ("header-len-past-end", good[:8] + b"\xff\xff" + good[10:], "header length past the end"),
        ("header-garbage", npy("this is not a dict", data), "header not a dict"),
        ("header-empty", npy("", data), "empty header"),
        ("fortran-true", npy(hd(fortran="True"), data), "fortran_order True"),
        ("dtype-complex", npy(hd(descr="'<c8'"), data), "complex64"),
        ("dtype-f2", npy(hd(descr="'<f2'"), data[:24]), "float16"),
        ("dtype-bool", npy(hd(descr="'|b1'"), data[:12]), "bool"),
        ("dtype-i8", npy(hd(descr="'<i8'"), data * 2), "int64"),
        ("dtype-big-f4", npy(hd(descr="'>f4'"), data), "big-endian float32"),
        ("dtype-object", npy(hd(descr="'|O'"), data), "object"),
        ("dtype-struct", npy(hd(descr="[('a', '<f4')]"), data), "structured dtype"),
        ("dtype-unicode", npy(hd(descr="'<U1'"), data), "unicode"),
        ("no-descr", npy("{'fortran_order': False, 'shape': (3, 4), }", data), "no descr"),
        ("no-shape", npy("{'descr': '<f4', 'fortran_order': False, }", data), "no shape"),
        ("shape-scalar", npy(hd(shape="()"), data[:4]), "shape ()"),
        ("shape-1d", npy(hd(shape="(12,)"), data), "shape (12,)"),
        ("shape-zero", npy(hd(shape="(0, 4)"), b""), "shape (0, 4)"),
        ("shape-4d", npy(hd(shape="(1, 1, 3, 4)"), data), "shape 4-D"),
        ("shape-negative", npy(hd(shape="(-3, 4)"), data), "shape (-3, 4)"),
        ("shape-huge", npy(hd(shape="(100000, 100000)"), data), "shape 100000x100000"),
        ("shape-2p31", npy(hd(shape="(2147483648, 1)"), data), "shape 2^31 x 1"),
        ("shape-20-digits", npy(hd(shape="(12345678901234567890, 4)"), data), "20-digit shape"),
        ("shape-65-channels", npy(hd(shape="(65, 1, 1)"), data * 6), "65 channels"),
        ("truncated-data", npy(hd(), data[:-5]), "data 5 bytes short"),
        ("no-data", npy(hd(), b""), "no data at all"),
        ("truncated-header", good[:30], "file cut inside the header"),
        ("nan-value", npy(hd(), np.array([np.nan] * 12, dtype="<f4").tobytes()), "NaN values"),
        ("inf-value", npy(hd(), np.array([1] * 11 + [np.inf], dtype="<f4").tobytes()),
         "an infinite value"),
        ("f8-over-f4", npy(hd(descr="'<f8'"), np.full(12, 1e300, dtype="<f8").tobytes()),
         "float64 1e300 (not a finite float32)"),
    ]
    for stem, data_, what in cases:
        c.bad("npy-%s.npy" % stem, data_, expect=1, what=".npy: " + what)
    c.bad("npy-maxpix.npy", good, expect=1, args=["--max-pixels", "11"],
          what=".npy: 3x4 with --max-pixels 11")
    c.bad("npy-magic-only.npy", b"\x93NUMPY", expect=1, what=".npy: magic only")


def legal_json(c):
    """Matrices and kernels at the limits that must still be accepted."""
    rng = np.random.RandomState(90)
    m = rng.randint(0, 256, size=(1000, 1000))
    text = "[" + ",\n".join("[" + ",".join("%d.5" % v for v in r) + "]" for r in m) + "]"
    assert len(text) > 5 << 20
    c.good("json-in-5MB.json", text, truth=(m + 0.5)[None],
           what="a 5+ MB JSON INPUT matrix (the 4 MiB limit is for kernels and pipelines)")
    c.good("json-in-3d.json", json.dumps([[[1, 2]], [[3, 4]], [[5, 6]]]),
           truth=np.array([[[1, 2]], [[3, 4]], [[5, 6]]]), what="3-D JSON input, 3x1x2")
    c.good("json-in-1d.json", "[1, -2.5, 3e2]", truth=np.array([[[1, -2.5, 300]]]),
           what="1-D JSON input is one row")


def legal_kernels(c, base_truth):
    """Kernel files at the limits: run as -k FILE on legal/png-base.png (identity kernels, so
    the output is the input)."""
    k255 = [[0] * 255 for _ in range(255)]
    k255[127][127] = 1
    c.good("kernel-255x255.json", json.dumps({"weights": k255}), truth=base_truth,
           role="kernel", what="a 255x255 identity kernel (the largest side allowed)")
    doc = '{"weights": [[0,0,0],[0,1,0],[0,0,0]], "name": "id"}'
    c.good("kernel-4MiB.json", doc.ljust(4 << 20), truth=base_truth, role="kernel",
           what="a kernel file of exactly 4 MiB (the limit)")
    c.good("kernel-depth-3d.json", json.dumps({"weights": [[[0, 0, 0], [0, 1, 0], [0, 0, 0]]] * 3,
                                               "divisor": 3}),
           truth=base_truth.mean(axis=0, keepdims=True), tol=1e-4, role="kernel",
           what="a 3-D kernel [3][3][3] (channels summed), divisor 3")


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: make_corpus.py OUTDIR\n")
        return 2
    try:
        import PIL  # noqa: F401  (legal JPEG variants only)
        pil = True
    except ImportError:
        pil = None
    c = Corpus(sys.argv[1])
    png_cases(c)
    png_legal(c)
    jpeg_cases(c, pil)
    bmp_cases(c)
    tga_cases(c)
    gif_cases(c)
    pnm_cases(c)
    tiff_cases(c)
    webp_cases(c)
    psd_cases(c)
    hdr_cases(c)
    pic_cases(c)
    json_inputs(c)
    kernel_cases(c)
    pipeline_cases(c)
    text_matrix_cases(c)
    npy_cases(c)
    legal_json(c)
    legal_kernels(c, c.base_truth)
    c.save()
    print("make_corpus: %d hostile, %d legal in %s" % (len(c.hostile), len(c.legal), c.root))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""tall.py - cnnfilter on tall, thin images: threads must not make them slower.

    /usr/bin/python3 bench/tall.py [--runs N] [--threads 1,2] [--data DIR] [--bin PATH]
                                   [--height H] [--out FILE.md]

Gray PNGs 1 x H (default 20,000,000) and 8 x 2,000,000, made here with zlib and NumPy
into --data (kept for the next run); box:3 on the first, sobel on the second, PNG out,
replicate border.  The runs of each image alternate between the thread counts (-j 1,
-j 2, -j 1, ...) so a busy machine hurts both alike; the table gives the median
seconds of N runs (default 3), ns per pixel and peak RSS (GNU time %M, the largest of
the runs).  Each band of rows holds at least 64 Ki values, so a 1-pixel-wide image
makes a few hundred bands, not one per 32 rows (which took 281 s at -j 2 against
17 s at -j 1 on 1 x 178,956,970).
"""
import os
import shutil
import statistics
import struct
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def make_png(path, w, h):
    """A gray w x h PNG of a smooth ramp with noise in its low bits (a few MB)."""
    np = common.np
    rng = np.random.default_rng(1)
    y = np.arange(h, dtype=np.int64)[:, None]
    x = np.arange(w, dtype=np.int64)[None, :]
    v = ((y * 7 + x * 13) % 256).astype(np.uint8) ^ rng.integers(0, 4, size=(h, w),
                                                                 dtype=np.uint8)
    raw = np.zeros((h, w + 1), np.uint8)
    raw[:, 1:] = v

    def chunk(typ, body):
        return (struct.pack(">I", len(body)) + typ + body +
                struct.pack(">I", zlib.crc32(typ + body) & 0xffffffff))
    with open(path + ".part", "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b""))
    os.replace(path + ".part", path)


def main():
    common.need_numpy()
    ap = common.arg_parser(__doc__, 3)
    ap.add_argument("--height", type=int, default=20000000)
    args = ap.parse_args()
    rep = common.Report(args.out)
    say = rep.say
    os.makedirs(args.data, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="cnnfilter-tall-")
    dst = os.path.join(tmp, "o.png")
    threads = [int(t) for t in args.threads.split(",")]
    cases = [(1, args.height, "box:3"), (8, 2000000, "sobel")]
    say("## Tall, thin images: PNG in, PNG out, alternating -j (median of %d runs)" % args.runs)
    say()
    say(common.machine() + ".")
    say()
    say("| image | kernel | threads | median s | ns per pixel | peak RSS MiB |")
    say("|---|---|---|---|---|---|")
    for w, h, k in cases:
        src = os.path.join(args.data, "tall_%dx%d.png" % (w, h))
        if not os.path.exists(src):
            make_png(src, w, h)
        times = {n: [] for n in threads}
        rss = {n: 0 for n in threads}
        for _ in range(args.runs):
            for n in threads:
                dt, kb = common.run("%s -q -j %d -k %s --border replicate %s %s"
                                    % (args.bin, n, k, src, dst), tmp=tmp)
                times[n].append(dt)
                rss[n] = max(rss[n], kb)
        for n in threads:
            med = statistics.median(times[n])
            say("| %dx%d | %s | %d | %.2f | %.1f | %.0f |" % (
                w, h, k, n, med, med / (w * h) * 1e9, rss[n] / 1024))
    shutil.rmtree(tmp, ignore_errors=True)
    rep.write()


if __name__ == "__main__":
    main()

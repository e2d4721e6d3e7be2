#!/usr/bin/python3
"""scaling.py - cnnfilter's cost per pixel and peak memory from 2 MP to 144 MP.

    /usr/bin/python3 bench/scaling.py [--runs N] [--data DIR] [--bin PATH]

sobel_v, PNG -> PNG, -j 1 and -j 2, median of N runs (default 3): seconds, ns per pixel,
and peak RSS (GNU time).  The 144 MP image is 12000x12000 RGB: it must run in < 1 GiB.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "cnnfilter"))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cnnfilter-scaling-")
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    say("| image | pixels | threads | median s | ns per pixel | peak RSS MiB |")
    say("|---|---|---|---|---|---|")
    for name in ("scale_2mp.png", "scale_16mp.png", "scale_64mp.png", "scale_144mp.png"):
        src = os.path.join(args.data, name)
        with open(src, "rb") as f:
            head = f.read(24)
        w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        for n in (1, 2):
            times, rss = [], 0
            for _ in range(args.runs):
                rf = os.path.join(tmp, "rss")
                t0 = time.perf_counter()
                subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rf, args.bin, "-q", "-j",
                                str(n), "-k", "sobel_v", src, os.path.join(tmp, "o.png")],
                               check=True)
                times.append(time.perf_counter() - t0)
                with open(rf) as f:
                    rss = max(rss, int(f.read().split()[-1]))
            med = statistics.median(times)
            say("| %s | %dx%d | %d | %.3f | %.1f | %.0f |" % (name, w, h, n, med,
                                                             med / (w * h) * 1e9, rss / 1024))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

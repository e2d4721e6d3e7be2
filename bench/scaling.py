#!/usr/bin/python3
"""scaling.py - cnnfilter's cost per pixel and peak memory from 2 MP to 144 MP.

    /usr/bin/python3 bench/scaling.py [--runs N] [--threads 1,2] [--data DIR] [--bin PATH]
                                      [--out FILE.md]

sobel_v, PNG -> PNG, -j 1 and -j 2, median of N runs (default 3): seconds, ns per pixel
(median seconds / pixels) and peak RSS (GNU time %M, the largest of the runs).  The
144 MP image is 12000x12000 RGB: the last line says whether it stayed under 1 GiB.
"""
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

IMAGES = ("scale_2mp.png", "scale_16mp.png", "scale_64mp.png", "scale_144mp.png")


def main():
    args = common.arg_parser(__doc__, 3).parse_args()
    rep = common.Report(args.out)
    say = rep.say
    tmp = tempfile.mkdtemp(prefix="cnnfilter-scaling-")
    dst = os.path.join(tmp, "o.png")
    say("## Scaling: cnnfilter -k sobel_v, PNG in, PNG out, 2 to 144 MP (median of %d runs)"
        % args.runs)
    say()
    say(common.machine() + ".")
    say()
    say("| image | pixels | MP | threads | median s | ns per pixel | peak RSS MiB |")
    say("|---|---|---|---|---|---|---|")
    big = []
    for name in IMAGES:
        src = os.path.join(args.data, name)
        if not os.path.exists(src):
            say("| %s | missing: run bench/prepare.sh | | | | | |" % name)
            continue
        w, h = common.png_size(src)
        for n in [int(t) for t in args.threads.split(",")]:
            times, rss = [], 0
            for _ in range(args.runs):
                dt, kb = common.run("%s -q -j %d -k sobel_v %s %s" % (args.bin, n, src, dst),
                                    tmp=tmp)
                times.append(dt)
                rss = max(rss, kb)
            med = statistics.median(times)
            say("| %s | %dx%d | %.1f | %d | %.3f | %.1f | %.0f |" % (
                name, w, h, w * h / 1e6, n, med, med / (w * h) * 1e9, rss / 1024))
            if w * h >= 144e6:
                big.append((n, rss))
        if os.path.exists(dst):
            os.remove(dst)
    shutil.rmtree(tmp, ignore_errors=True)
    say()
    for n, rss in big:
        say("12000x12000 RGB with -j %d: peak RSS %.0f MiB, %s 1 GiB." % (
            n, rss / 1024, "under" if rss < 1024 * 1024 else "NOT under"))
    rep.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""scaling.py - cnnfilter's cost per pixel and peak memory from 2 MP to 144 MP, beside libvips.

    /usr/bin/python3 bench/scaling.py [--runs N] [--threads 1,2] [--data DIR] [--bin PATH]
                                      [--out FILE.md]

sobel_v, PNG -> PNG, -j 1 and -j 2, median of N runs (default 3), cnnfilter and libvips
(`vips conv` with the same integer mask, VIPS_CONCURRENCY=N) run alternately: seconds, ns
per pixel (median seconds / pixels) and peak RSS (GNU time %M, the largest of the runs),
and the ratios cnnfilter / libvips.  The 144 MP images are 12000x12000 RGB: one enlarged
from the photo, one the photo tiled at full detail (it compresses like a real photo).  The
last lines say whether cnnfilter's peak RSS stayed within 1.25x libvips' at 16 and 144 MP.
"""
import os
import shutil
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

IMAGES = ("scale_2mp.png", "scale_16mp.png", "scale_64mp.png", "scale_144mp.png",
          "mosaic_144mp.png")
GOAL = 1.25  # cnnfilter's peak RSS at most this times libvips' at 16 and 144 MP


def measure(cmd, runs, tmp, env=None):
    """(median seconds, largest peak RSS in KiB) of `runs` runs of cmd."""
    times, rss = [], 0
    for _ in range(runs):
        dt, kb = common.run(cmd, env=env, tmp=tmp)
        times.append(dt)
        rss = max(rss, kb)
    return statistics.median(times), rss


def main():
    args = common.arg_parser(__doc__, 3).parse_args()
    rep = common.Report(args.out)
    say = rep.say
    tmp = tempfile.mkdtemp(prefix="cnnfilter-scaling-")
    dst = os.path.join(tmp, "o.png")
    vdst = os.path.join(tmp, "v.png")  # not dst: cnnfilter keeps other tools' images
    rows, div = common.kernel("sobel_v", args.bin)
    mat = common.vips_mat(os.path.join(tmp, "sobel_v.mat"), rows, div)
    vips = shutil.which("vips")
    say("## Scaling: -k sobel_v, PNG in, PNG out, 2 to 144 MP, cnnfilter and libvips "
        "(median of %d runs)" % args.runs)
    say()
    say(common.machine() + (". libvips: `vips conv IN OUT sobel_v.mat --precision integer`, "
                            "VIPS_CONCURRENCY = threads." if vips else
                            ". libvips not installed: cnnfilter only."))
    say()
    say("| image | pixels | MP | threads | cnnfilter s | ns per pixel | cnnfilter RSS MiB "
        "| libvips s | libvips RSS MiB | time ratio | RSS ratio |")
    say("|---|---|---|---|---|---|---|---|---|---|---|")
    goal = []
    for name in IMAGES:
        src = os.path.join(args.data, name)
        if not os.path.exists(src):
            say("| %s | missing: run bench/prepare.sh | | | | | | | | | |" % name)
            continue
        w, h = common.png_size(src)
        for n in [int(t) for t in args.threads.split(",")]:
            ours = "%s -q -j %d -k sobel_v %s %s" % (args.bin, n, src, dst)
            t, kb = measure(ours, args.runs, tmp)
            line = "| %s | %dx%d | %.1f | %d | %.3f | %.1f | %.0f |" % (
                name, w, h, w * h / 1e6, n, t, t / (w * h) * 1e9, kb / 1024)
            if vips:
                env = dict(os.environ, VIPS_CONCURRENCY=str(n))
                vt, vkb = measure("vips conv %s %s %s --precision integer" % (src, vdst, mat),
                                  args.runs, tmp, env)
                line += " %.3f | %.0f | %.2f | %.2f |" % (vt, vkb / 1024, t / vt, kb / vkb)
                if w * h >= 15e6 and abs(w * h - 64e6) > 1e6:
                    goal.append((name, n, kb, vkb))
            else:
                line += " | | | |"
            say(line)
        for f in (dst, vdst):
            if os.path.exists(f):
                os.remove(f)
    shutil.rmtree(tmp, ignore_errors=True)
    say()
    for name, n, kb, vkb in goal:
        say("%s with -j %d: peak RSS %.0f MiB against libvips' %.0f MiB: %.2fx, %s %.2fx." % (
            name, n, kb / 1024, vkb / 1024, kb / vkb,
            "within" if kb <= GOAL * vkb else "NOT within", GOAL))
    rep.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

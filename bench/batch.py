#!/usr/bin/python3
"""batch.py - 200 photos (256x256 to 640x480), Sobel, each tool's batch form, one table.

    /usr/bin/python3 bench/batch.py [--runs N] [--data DIR] [--bin PATH]

cnnfilter -o DIR FILES (-j 1 and 2); ImageMagick `mogrify -path`; one Python process
with OpenCV over all files; a shell loop of `vips conv`.  Median wall time of N runs
(default 3), peak RSS through GNU time.
"""
import argparse
import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

OPENCV = r'''
import sys, glob, os, cv2, numpy as np
cv2.setNumThreads(int(sys.argv[1]))
k = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.png"))):
    im = cv2.imread(f, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(os.path.join(sys.argv[3], os.path.basename(f)),
                cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT))
'''


def timed(cmd, env, tmp):
    rss = os.path.join(tmp, "rss")
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss, "sh", "-c", cmd], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("failed: %s\n%s" % (cmd, r.stderr.decode(errors="replace")))
    with open(rss) as f:
        return dt, int(f.read().split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "cnnfilter"))
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    src = os.path.join(args.data, "batch")
    files = sorted(glob.glob(os.path.join(src, "*.png")))
    tmp = tempfile.mkdtemp(prefix="cnnfilter-batch-")
    script = os.path.join(tmp, "opencv_batch.py")
    with open(script, "w") as f:
        f.write(OPENCV)
    with open(os.path.join(tmp, "sobel.mat"), "w") as f:
        f.write("3 3 1 0\n-1 0 1\n-2 0 2\n-1 0 1\n")
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    mp = 0
    for fpath in files:
        with open(fpath, "rb") as fh:
            head = fh.read(24)
        mp += int.from_bytes(head[16:20], "big") * int.from_bytes(head[20:24], "big")
    say("batch: %d PNG files, %.1f MP in all, sobel_v; median of %d runs"
        % (len(files), mp / 1e6, args.runs))
    say()
    say("| tool | threads | median s | vs fastest peer | peak RSS MiB |")
    say("|---|---|---|---|---|")
    for n in (1, 2):
        env = dict(os.environ, VIPS_CONCURRENCY=str(n), MAGICK_THREAD_LIMIT=str(n))
        outs = {}

        def out(name):
            d = os.path.join(tmp, "%s_%d" % (name, n))
            outs[name] = d
            return d
        cmds = {
            "cnnfilter": "%s -q -j %d -k sobel_v -o %s %s" % (args.bin, n, out("cnnfilter"), src),
            "opencv": "mkdir -p {o} && /usr/bin/python3 {s} {n} {i} {o}".format(
                o=out("opencv"), s=script, n=n, i=src),
        }
        if shutil.which("vips"):
            cmds["libvips"] = ("mkdir -p {o} && for f in {i}/*.png; do vips conv \"$f\" "
                               "{o}/$(basename \"$f\") {m} --precision integer || exit 1; done"
                               .format(o=out("libvips"), i=src, m=os.path.join(tmp, "sobel.mat")))
        if os.path.exists("/usr/bin/mogrify"):
            cmds["imagemagick"] = ("mkdir -p {o} && /usr/bin/mogrify -path {o} -morphology "
                                   "Correlate '3x3:-1,0,1,-2,0,2,-1,0,1' {i}/*.png"
                                   .format(o=out("imagemagick"), i=src))
        times = {t: [] for t in cmds}
        rss = {t: 0 for t in cmds}
        for _ in range(args.runs):
            for t, c in cmds.items():
                shutil.rmtree(outs[t], ignore_errors=True)
                dt, kb = timed(c, env, tmp)
                times[t].append(dt)
                rss[t] = max(rss[t], kb)
        med = {t: statistics.median(v) for t, v in times.items()}
        fastest = min(v for t, v in med.items() if t != "cnnfilter")
        for t in med:
            say("| %s | %d | %.3f | %.2fx | %.0f |" % (t, n, med[t], med[t] / fastest,
                                                       rss[t] / 1024.0))
    shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

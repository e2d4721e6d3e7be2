#!/usr/bin/python3
"""peers.py - cnnfilter against OpenCV, libvips and ImageMagick on the same jobs, one table.

    /usr/bin/python3 bench/peers.py [--runs N] [--data DIR] [--bin PATH] [--only W1,W3]
                                    [--out bench/results-peers.md]

Every job is a whole process, PNG file in -> PNG file out, timed by wall clock: the
median of N runs (default 5) per tool and thread count, run side by side in one go
(tools interleaved run by run, so a noisy neighbour hurts them alike).  Peak RSS
comes from wait4()'s rusage.  The pixel difference is against cnnfilter's output
made with the border the peer uses (OpenCV: zero, like cnnfilter's default;
libvips and ImageMagick: their edge copy, cnnfilter --border replicate).  The
"libpng L6" column is the size libpng (through ImageMagick) writes at level 6 with
adaptive filters for cnnfilter's own pixels: the size target is 1.1x that.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# name, cnnfilter args, kernel (weights, divisor), max pool 2?, input
WORKLOADS = [
    ("W1", "sobel_v", ["-k", "sobel_v"], "photo.png"),
    ("W2", "gaussian", ["-k", "gaussian"], "photo.png"),
    ("W3", "box:15", ["-k", "box:15"], "photo.png"),
    ("W4", "line_diag:25", ["-k", "line_diag:25"], "photo.png"),
    ("W5", "line_v:25", ["-k", "line_v:25"], "photo.png"),
    ("W6", "laplacian + max pool 2", ["-k", "laplacian", "--pool", "max"], "photo.png"),
    ("W7", "sobel_v, gray", ["-k", "sobel_v"], "photo_gray.png"),
]


def kernel_of(w):
    """(integer weights, divisor) of a workload's kernel."""
    name = w[2][1]
    if name == "sobel_v":
        return np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]), 1
    if name == "gaussian":
        return np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]), 16
    if name == "box:15":
        return np.ones((15, 15), int), 225
    if name == "line_diag:25":
        return np.eye(25, dtype=int), 25
    if name == "line_v:25":
        k = np.zeros((25, 25), int)
        k[:, 12] = 1
        return k, 25
    if name == "laplacian":
        return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]), 1
    raise ValueError(name)


def pooled(w):
    return "--pool" in w[2]


OPENCV = r'''
import sys, cv2, numpy as np
n, src, dst, div, pool = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5] == "1"
k = np.array(eval(sys.argv[6]), np.float32) / div
cv2.setNumThreads(n)
im = cv2.imread(src, cv2.IMREAD_UNCHANGED)
out = cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT)
if pool:
    h, w = out.shape[0] // 2 * 2, out.shape[1] // 2 * 2
    o = out[:h, :w]
    out = o.reshape(h // 2, 2, w // 2, 2, *o.shape[2:]).max(axis=(1, 3))
cv2.imwrite(dst, out)
'''


def vips_cmd(w, src, dst, tmp):
    """A shell command for libvips: conv (integer precision), then for W6 a 2x2 max and subsample."""
    k, div = kernel_of(w)
    mat = os.path.join(tmp, "%s.mat" % w[0])
    with open(mat, "w") as f:
        f.write("%d %d %d 0\n" % (k.shape[1], k.shape[0], div))
        for row in k:
            f.write(" ".join(str(int(v)) for v in row) + "\n")
    if not pooled(w):
        return "vips conv %s %s %s --precision integer" % (src, dst, mat)
    # rank 2x2 index 3 = the max of each window; its window for output (x, y) is
    # [x - 1, x] x [y - 1, y], so the max of [2i, 2i + 1] sits at 2i + 1: shift by one
    # (crop, then extend back to full size) and keep every second pixel.
    t1, t2, t3, t4 = (os.path.join(tmp, n) for n in ("c.v", "r.v", "s.v", "e.v"))
    return ("vips conv {src} {t1} {mat} --precision integer && vips rank {t1} {t2} 2 2 3 && "
            "W=$(vipsheader -f width {t2}) && H=$(vipsheader -f height {t2}) && "
            "vips crop {t2} {t3} 1 1 $((W - 1)) $((H - 1)) && "
            "vips embed {t3} {t4} 0 0 $W $H --extend copy && vips subsample {t4} {dst} 2 2"
            .format(src=src, t1=t1, t2=t2, t3=t3, t4=t4, mat=mat, dst=dst))


def magick_cmd(w, src, dst):
    k, div = kernel_of(w)
    spec = "%dx%d:%s" % (k.shape[1], k.shape[0], ",".join("%.10g" % (v / div) for v in k.flat))
    cmd = "/usr/bin/convert %s -morphology Correlate '%s'" % (src, spec)
    if pooled(w):
        # 2x2 max (a dilation whose origin is the square's bottom-right), every 2nd pixel
        cmd += " -morphology Dilate '2x2+1+1:1,1,1,1' -sample 50%"
    return cmd + " " + dst


def run_once(cmd, env, tmp):
    """Wall seconds and peak RSS (KiB) of one shell command.  The RSS comes from
    GNU time around the shell: a child forked straight from this Python process
    would count Python's own pages (Linux keeps the pre-exec high-water mark)."""
    rss_file = os.path.join(tmp, "rss")
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", rss_file, "sh", "-c", cmd]
    t0 = time.perf_counter()
    r = subprocess.run(wrapped, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError("failed: %s\n%s" % (cmd, r.stderr.decode(errors="replace")))
    with open(rss_file) as f:
        return dt, int(f.read().split()[-1])


def read(path):
    a = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    return a.astype(np.int32)


def max_diff(a, b):
    if a.shape != b.shape:
        return "shape %s vs %s" % ("x".join(map(str, a.shape)), "x".join(map(str, b.shape)))
    return int(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(HERE, "data"))
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "cnnfilter"))
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cnnfilter-peers-")
    have_vips = shutil.which("vips") is not None
    have_magick = os.path.exists("/usr/bin/convert")
    lines = []
    cv_script = os.path.join(tmp, "opencv_job.py")
    with open(cv_script, "w") as f:
        f.write(OPENCV)

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    threads = [int(t) for t in args.threads.split(",")]
    say("| workload | tool | threads | median s | vs fastest peer | peak RSS MiB | output bytes "
        "| max diff vs cnnfilter |")
    say("|---|---|---|---|---|---|---|---|")
    sizes = []
    for w in WORKLOADS:
        if args.only and w[0] not in args.only.split(","):
            continue
        src = os.path.join(args.data, w[3])
        k, div = kernel_of(w)
        kl = repr(k.tolist())
        for n in threads:
            env = dict(os.environ, VIPS_CONCURRENCY=str(n), MAGICK_THREAD_LIMIT=str(n),
                       OMP_NUM_THREADS=str(n))
            out = {t: os.path.join(tmp, "%s_%s_%d.png" % (w[0], t, n))
                   for t in ("cnnfilter", "opencv", "libvips", "imagemagick")}
            cmds = {"cnnfilter": "%s -q -j %d %s %s %s" % (args.bin, n, " ".join(w[2]), src,
                                                         out["cnnfilter"])}
            cmds["opencv"] = "/usr/bin/python3 %s %d %s %s %d %d '%s'" % (
                cv_script, n, src, out["opencv"], div, 1 if pooled(w) else 0, kl)
            if have_vips:
                cmds["libvips"] = vips_cmd(w, src, out["libvips"], tmp)
            if have_magick:
                cmds["imagemagick"] = magick_cmd(w, src, out["imagemagick"])
            times = {t: [] for t in cmds}
            rss = {t: 0 for t in cmds}
            for _ in range(args.runs):
                for t, c in cmds.items():
                    dt, kb = run_once(c, env, tmp)
                    times[t].append(dt)
                    rss[t] = max(rss[t], kb)
            med = {t: statistics.median(v) for t, v in times.items()}
            peers = [t for t in med if t != "cnnfilter"]
            fastest = min(med[t] for t in peers) if peers else None
            # references for the pixel difference
            ref_zero = read(out["cnnfilter"])
            rep = os.path.join(tmp, "rep.png")
            subprocess.run([args.bin, "-q", "-j", str(n)] + w[2] + ["--border", "replicate",
                                                                   src, rep], check=True)
            ref_rep = read(rep)
            for t in ["cnnfilter"] + peers:
                if t == "cnnfilter":
                    diff = "-"
                else:
                    diff = max_diff(read(out[t]), ref_zero if t == "opencv" else ref_rep)
                ratio = med[t] / fastest if fastest else float("nan")
                say("| %s %s | %s | %d | %.3f | %.2fx | %.0f | %d | %s |" % (
                    w[0], w[1], t, n, med[t], ratio, rss[t] / 1024.0,
                    os.path.getsize(out[t]), diff))
            if n == threads[0]:
                l6 = os.path.join(tmp, "l6.png")
                subprocess.run(["/usr/bin/convert", out["cnnfilter"], "-define",
                                "png:compression-level=6", "-define", "png:compression-filter=5",
                                l6], check=True)
                sizes.append((w[0], os.path.getsize(out["cnnfilter"]), os.path.getsize(l6)))
    say()
    say("| workload | cnnfilter PNG bytes | libpng level 6 (adaptive filters) bytes | ratio |")
    say("|---|---|---|---|")
    for name, ours, l6 in sizes:
        say("| %s | %d | %d | %.3f |" % (name, ours, l6, ours / l6))
    shutil.rmtree(tmp, ignore_errors=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

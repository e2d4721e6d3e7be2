#!/usr/bin/python3
"""peers.py - cnnfilter against OpenCV, libvips and ImageMagick on the same jobs, one table.

    /usr/bin/python3 bench/peers.py [--runs N] [--threads 1,2] [--only W1,W3]
                                    [--data DIR] [--bin PATH] [--out FILE.md]

Every job is a whole process, PNG file in -> PNG file out, timed by wall clock: the
median of N runs (default 5) per tool and thread count, the tools interleaved run by
run (a noisy neighbour hurts them alike).  Peak RSS is GNU time's %M (see common.run).
Before timing anything, a probe on a 7x9 image with a one-tap asymmetric kernel finds
out, for each peer, whether it flips the kernel and which border it uses; the pixel
difference column then compares each peer with cnnfilter run with that border.  The
size table gives what libpng writes at level 6 (adaptive filters) for cnnfilter's pixels,
and the wall time of cnnfilter's default PNG level beside `--compression 1` (ISA-L, the
earlier default's matcher), run interleaved with the rest.
The exact commands are printed under the tables.
"""
import json
import re
import shlex
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# name, title, cnnfilter options, input file
WORKLOADS = [
    ("W1", "sobel_v", ["-k", "sobel_v"], "photo.png"),
    ("W2", "gaussian", ["-k", "gaussian"], "photo.png"),
    ("W3", "box:15", ["-k", "box:15"], "photo.png"),
    ("W4", "line_diag:25", ["-k", "line_diag:25"], "photo.png"),
    ("W5", "line_v:25", ["-k", "line_v:25"], "photo.png"),
    ("W6", "laplacian + max pool 2x2/2", ["-k", "laplacian", "--pool", "max", "--pool-size", "2",
                                          "--pool-stride", "2"], "photo.png"),
    ("W7", "sobel_v, gray", ["-k", "sobel_v"], "photo_gray.png"),
]

# One process per job, like the CLI: import, read, filter, (pool), write.
OPENCV_JOB = r'''import sys, json, cv2, numpy as np
n, src, dst, pool = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
rows, div = json.loads(sys.argv[5])
cv2.setNumThreads(n)
im = cv2.imread(src, cv2.IMREAD_UNCHANGED)
out = cv2.filter2D(im, -1, np.array(rows, np.float32) / div, borderType=cv2.BORDER_CONSTANT)
if pool:  # 2x2 max, stride 2, floor mode (an odd last row/column is dropped)
    h, w = out.shape[0] // 2 * 2, out.shape[1] // 2 * 2
    o = out[:h, :w]
    out = o.reshape(h // 2, 2, w // 2, 2, *o.shape[2:]).max(axis=(1, 3))
cv2.imwrite(dst, out)
'''


def sh_quote(s):
    return shlex.quote(s)


class Tools:
    """Builds each tool's shell command for a kernel (rows, divisor), with or without the
    2x2 max pool."""

    def __init__(self, binary, tmp, found):
        self.bin, self.tmp, self.found = binary, tmp, found
        self.cv_script = os.path.join(tmp, "opencv_job.py")
        with open(self.cv_script, "w") as f:
            f.write(OPENCV_JOB)

    def names(self):
        return ["cnnfilter"] + [t for t in ("opencv", "libvips", "imagemagick") if t in self.found]

    def cmd(self, tool, n, opts, rows, div, pool, src, dst, tag):
        if tool == "cnnfilter":
            return "%s -q -j %d %s %s %s" % (self.bin, n, " ".join(sh_quote(o) for o in opts),
                                             src, dst)
        if tool == "opencv":
            return "/usr/bin/python3 %s %d %s %s %d %s" % (
                self.cv_script, n, src, dst, 1 if pool else 0, sh_quote(json.dumps([rows, div])))
        if tool == "libvips":
            return self.vips(rows, div, pool, src, dst, tag)
        if tool == "imagemagick":
            return self.magick(rows, div, pool, src, dst)
        raise ValueError(tool)

    def vips(self, rows, div, pool, src, dst, tag):
        """vips conv with an integer mask (scale = the divisor: vips rounds the quotient),
        then for the pool: rank 2x2 index 3 (the max), shifted by one pixel, subsample 2."""
        mat = common.vips_mat(os.path.join(self.tmp, "%s.mat" % tag), rows, div)
        if not pool:
            return "vips conv %s %s %s --precision integer" % (src, dst, mat)
        # vips rank's 2x2 window for output (x, y) covers [x-1, x] x [y-1, y], so the max of
        # the pool cell [2i, 2i+1] lands at 2i+1: crop one pixel off the top left, extend back
        # to full size (edge copy; the copied pixels are never sampled for even sizes) and
        # keep every second pixel.
        t = [os.path.join(self.tmp, "%s_%s.v" % (tag, s)) for s in ("conv", "rank", "crop", "emb")]
        return ("vips conv {src} {t0} {mat} --precision integer && vips rank {t0} {t1} 2 2 3 && "
                "W=$(vipsheader -f width {t1}) && H=$(vipsheader -f height {t1}) && "
                "vips crop {t1} {t2} 1 1 $((W - 1)) $((H - 1)) && "
                "vips embed {t2} {t3} 0 0 $W $H --extend copy && vips subsample {t3} {dst} 2 2 && "
                "rm -f {t0} {t1} {t2} {t3}"
                .format(src=src, dst=dst, mat=mat, t0=t[0], t1=t[1], t2=t[2], t3=t[3]))

    @staticmethod
    def magick(rows, div, pool, src, dst):
        """-morphology Correlate (Convolve would rotate the kernel 180 degrees) with the
        normalized weights; the pool is a 2x2 Dilate whose origin is the bottom-right cell,
        then -sample 50%, which keeps the odd pixels of each axis."""
        spec = "%dx%d:%s" % (len(rows[0]), len(rows),
                             ",".join("%.10g" % (v / div) for r in rows for v in r))
        c = "%s %s -morphology Correlate %s" % (common.CONVERT, src, sh_quote(spec))
        if pool:
            c += " -morphology Dilate '2x2+1+1:1,1,1,1' -sample 50%"
        return c + " " + dst


def shorten(cmd, limit=90):
    """A command for reading: a (quoted) kernel argument longer than limit is cut."""
    def cut(w):
        if len(w) <= limit:
            return w
        return "%s...(%d chars)%s" % (w[:40], len(w), "'" if w.endswith("'") else "")
    cmd = re.sub(r"'[^']*'", lambda m: cut(m.group(0)), cmd)
    return " ".join(cut(w) for w in cmd.split(" "))


def probe(tools, tmp):
    """Find, per peer, the cnnfilter options that reproduce it on a small asymmetric job:
    {tool: (border, flip) or None}."""
    img = os.path.join(tmp, "probe.png")
    txt = os.path.join(tmp, "probe.txt")
    with open(txt, "w") as f:   # 7x9, spots in two corners and inside; multiples of 4
                                # (no exact halves: the peers' rounding rules differ)
        for y in range(7):
            f.write(" ".join(str(200 if (y, x) == (0, 0) else 52 if (y, x) == (6, 8) else
                                 100 if (y, x) == (3, 4) else 20 * ((x + y) % 3))
                             for x in range(9)) + "\n")
    subprocess.run([tools.bin, "-q", "-k", "[[1]]", txt, img], check=True)
    rows, div = [[2, 0, 0], [0, 0, 0], [0, 0, 1]], 4   # asymmetric, with a divisor
    variants = []
    for border in ("zero", "replicate", "reflect", "mirror", "wrap"):
        for flip in (False, True):
            out = os.path.join(tmp, "probe_ref_%s_%d.png" % (border, flip))
            subprocess.run([tools.bin, "-q", "-k", json.dumps(rows), "--scale", "0.25",
                            "--border", border] + (["--flip"] if flip else []) + [img, out],
                           check=True)
            variants.append(((border, flip), out))
    found = {}
    for t in tools.names()[1:]:
        out = os.path.join(tmp, "probe_%s.png" % t)
        common.run(tools.cmd(t, 1, [], rows, div, False, img, out, "probe"), tmp=tmp)
        found[t] = None
        for key, ref in variants:
            d = common.max_diff(out, ref, tools.bin)
            if d == 0:
                found[t] = key
                break
    return found


def main():
    ap = common.arg_parser(__doc__, 5)
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W6")
    args = ap.parse_args()
    rep = common.Report(args.out)
    say = rep.say
    found, missing = common.peers()
    tmp = tempfile.mkdtemp(prefix="cnnfilter-peers-")
    tools = Tools(args.bin, tmp, found)
    threads = [int(t) for t in args.threads.split(",")]

    sem = probe(tools, tmp)
    for t, v in sem.items():
        if v is None or v[1]:
            sys.exit("peers.py: %s does not reproduce cnnfilter's correlation on the probe "
                     "(%s): fix the setup before timing" % (t, v))
    border = {"cnnfilter": "replicate"}   # cnnfilter's default border
    border.update({t: v[0] for t, v in sem.items()})

    say("## Peers: one image, PNG in, PNG out (median of %d runs)" % args.runs)
    say()
    version = subprocess.run([args.bin, "--version"], stdout=subprocess.PIPE,
                             universal_newlines=True).stdout.strip()
    say("%s. %s." % (common.machine(), "; ".join([version] + list(found.values()))))
    say()
    say("| workload | tool | threads | median s | vs fastest peer | peak RSS MiB | output bytes "
        "| max diff vs cnnfilter |")
    say("|---|---|---|---|---|---|---|---|")
    sizes, commands, png_times = [], [], {}
    for wid, title, opts, infile in WORKLOADS:
        if args.only and wid not in args.only.split(","):
            continue
        src = os.path.join(args.data, infile)
        rows, div = common.kernel(opts[1], args.bin)
        pool = "--pool" in opts
        commands.append((wid, title, {t: tools.cmd(t, 1, opts, rows,
                                                   div, pool, "$IN", "$OUT", wid)
                                      for t in tools.names()}, infile))
        for n in threads:
            env = dict(os.environ, VIPS_CONCURRENCY=str(n), MAGICK_THREAD_LIMIT=str(n))
            out = {t: os.path.join(tmp, "%s_%s_%d.png" % (wid, t, n)) for t in tools.names()}
            cmds = {t: tools.cmd(t, n, opts, rows, div, pool, src, out[t], wid)
                    for t in tools.names()}
            times = {t: [] for t in cmds}
            rss = {t: 0 for t in cmds}
            # cnnfilter at --compression 1 (ISA-L's matcher, the deflate of earlier
            # releases' default) interleaved with the rest: the PNG table's time ratio.
            l1_out = os.path.join(tmp, "%s_l1_%d.png" % (wid, n))
            l1_cmd = tools.cmd("cnnfilter", n, opts + ["--compression", "1"], rows, div, pool,
                               src, l1_out, wid)
            l1_times = []
            for _ in range(args.runs):
                for t, c in cmds.items():
                    dt, kb = common.run(c, env, tmp)
                    times[t].append(dt)
                    rss[t] = max(rss[t], kb)
                l1_times.append(common.run(l1_cmd, env, tmp)[0])
            med = {t: statistics.median(v) for t, v in times.items()}
            png_times.setdefault(wid, {})[n] = (med["cnnfilter"], statistics.median(l1_times))
            peer_names = [t for t in med if t != "cnnfilter"]
            fastest = min(med[t] for t in peer_names) if peer_names else None
            refs = {"replicate": out["cnnfilter"]}
            for t in peer_names:
                b = border[t]
                if b not in refs:   # cnnfilter with the peer's border, untimed
                    refs[b] = os.path.join(tmp, "%s_ref_%s.png" % (wid, b))
                    subprocess.run([args.bin, "-q", "-j", str(n)] + opts + ["--border", b, src,
                                                                           refs[b]], check=True)
            for t in med:
                diff = "-" if t == "cnnfilter" else common.max_diff(out[t], refs[border[t]],
                                                                    args.bin)
                if t != "cnnfilter" and border[t] != "replicate":
                    diff = "%s (%s)" % (diff, border[t])
                say("| %s %s | %s | %d | %.3f | %s | %.0f | %d | %s |" % (
                    wid, title, t, n, med[t], "%.2fx" % (med[t] / fastest) if fastest else "-",
                    rss[t] / 1024.0, os.path.getsize(out[t]), diff))
            if n == threads[0] and os.path.exists(common.CONVERT):
                l6 = os.path.join(tmp, "l6.png")
                subprocess.run([common.CONVERT, out["cnnfilter"], "-define",
                                "png:compression-level=6", "-define", "png:compression-filter=5",
                                l6], check=True)
                sizes.append((wid, os.path.getsize(out["cnnfilter"]), os.path.getsize(l6),
                              os.path.getsize(l1_out)))
            for f in out.values():
                if os.path.exists(f):
                    os.remove(f)
    if sizes:
        say()
        say("PNG size: cnnfilter's output (its default --compression 2, deflate_rle.c) against "
            "libpng level 6 with adaptive filters on the same pixels (`%s OUT.png -define "
            "png:compression-level=6 -define png:compression-filter=5 X.png`), and against "
            "cnnfilter --compression 1 (ISA-L, the matcher of the earlier default), whose "
            "runs were interleaved with the table's: wall time of the whole job, medians:"
            % common.CONVERT)
        say()
        head = "| workload | level 2 bytes | libpng L6 bytes | level 2 / libpng L6 | level 1 bytes"
        line = "|---|---|---|---|---"
        for n in threads:
            head += " | -j %d: level 2 s | level 1 s | 2 / 1" % n
            line += "|---|---|---"
        say(head + " |")
        say(line + "|")
        for wid, ours, l6, l1 in sizes:
            row = "| %s | %d | %d | %.3f | %d" % (wid, ours, l6, ours / l6, l1)
            for n in threads:
                t2, t1 = png_times[wid][n]
                row += " | %.3f | %.3f | %.2f" % (t2, t1, t2 / t1)
            say(row + " |")
    say()
    say("Notes:")
    say()
    for m in missing:
        say("- " + m)
    say("- Kernels: the weights and divisor of `cnnfilter show-kernel NAME`, given to every peer "
        "(OpenCV and ImageMagick as weights / divisor, libvips as an integer mask with "
        "scale = divisor).")
    for t, v in sem.items():
        say("- %s: the probe (7x9 image, kernel [[2,0,0],[0,0,0],[0,0,1]] / 4) matches cnnfilter "
            "%s, i.e. correlation (no flip) with a %s border%s." % (
                t, "--border " + v[0], v[0],
                "" if v[0] == "zero" else "; its diff column is against `cnnfilter --border %s` "
                "(marked), its timing is for its own border" % v[0]))
    say("- Rounding: cnnfilter rounds half to even and clamps (--map clamp); OpenCV rounds the "
        "float sum (cvRound, half to even) and saturates; libvips integer conv rounds the "
        "quotient half up; ImageMagick (Q16) convolves in floating point and rounds to 16 bits "
        "before the 8-bit PNG. A difference of 1 is these rounding rules on exact halves.")
    say("- PNG compression is each tool's default: cnnfilter 2 (ISA-L), OpenCV 1, libvips 6, "
        "ImageMagick 7 (zlib); the output bytes column shows what that buys.")
    say("- Threads: cnnfilter `-j N`; OpenCV cv2.setNumThreads(N); libvips VIPS_CONCURRENCY=N; "
        "ImageMagick MAGICK_THREAD_LIMIT=N. RSS: GNU time %M around `sh -c CMD` (the largest "
        "process of the job).")
    say()
    say("Commands (1 thread; $IN, $OUT; *.mat is the integer mask file `W H DIVISOR 0` + rows; "
        "long kernel arguments cut here: the weights of show-kernel, / divisor):")
    say()
    say("```")
    for wid, title, cm, infile in commands:
        say("# %s %s (IN = %s)" % (wid, title, infile))
        for t, c in cm.items():
            say("%-12s %s" % (t + ":", shorten(c.replace(tmp + "/", "")
                                               .replace(common.ROOT + "/", ""))))
    say("```")
    say()
    say("opencv_job.py:")
    say()
    say("```python")
    for line in OPENCV_JOB.rstrip().splitlines():
        say(line)
    say("```")
    shutil.rmtree(tmp, ignore_errors=True)
    rep.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""batch.py - 200 photos (256x256 to 640x480), sobel_v, each tool's batch form, one table.

    /usr/bin/python3 bench/batch.py [--runs N] [--threads 1,2] [--data DIR] [--bin PATH]
                                    [--out FILE.md]

cnnfilter -o DIR FILES (-j N); ImageMagick `mogrify -path DIR -morphology Correlate`; one
Python process with OpenCV over all files; a shell loop of `vips conv`, one process per
file.  Median wall time of N runs (default 3), the tools interleaved run by run; peak RSS
through GNU time (the largest process of the job); the bytes of all outputs; the largest
pixel difference over all files against cnnfilter with the peer's border (zero for OpenCV,
replicate for libvips and ImageMagick: see peers.py's probe).
"""
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OPENCV_BATCH = r'''import sys, json, glob, os, cv2, numpy as np
cv2.setNumThreads(int(sys.argv[1]))
rows, div = json.loads(sys.argv[4])
k = np.array(rows, np.float32) / div
for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.png"))):
    im = cv2.imread(f, cv2.IMREAD_UNCHANGED)
    cv2.imwrite(os.path.join(sys.argv[3], os.path.basename(f)),
                cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT))
'''

BORDER = {"opencv": "zero", "libvips": "replicate", "imagemagick": "replicate"}


def main():
    args = common.arg_parser(__doc__, 3).parse_args()
    rep = common.Report(args.out)
    say = rep.say
    src = os.path.join(args.data, "batch")
    files = sorted(glob.glob(os.path.join(src, "*.png")))
    if not files:
        sys.exit("batch.py: no photos in %s: run bench/prepare.sh" % src)
    found, missing = common.peers()
    tmp = tempfile.mkdtemp(prefix="cnnfilter-batch-")
    script = os.path.join(tmp, "opencv_batch.py")
    with open(script, "w") as f:
        f.write(OPENCV_BATCH)
    rows, div = common.kernel("sobel_v", args.bin)
    mat = common.vips_mat(os.path.join(tmp, "sobel_v.mat"), rows, div)
    spec = "%dx%d:%s" % (len(rows[0]), len(rows),
                         ",".join("%.10g" % (v / div) for r in rows for v in r))
    mp = sum(w * h for w, h in map(common.png_size, files))
    sizes = sorted(set(map(common.png_size, files)), key=lambda s: s[0] * s[1])

    def cmd(tool, n, o):
        if tool == "cnnfilter":
            return "%s -q -j %s -k sobel_v -o %s %s" % (args.bin, n, o, src)
        if tool == "opencv":
            return "mkdir -p %s && /usr/bin/python3 %s %s %s %s '%s'" % (
                o, script, n, src, o, json.dumps([rows, div]))
        if tool == "libvips":
            return ('mkdir -p {o} && for f in {i}/*.png; do vips conv "$f" {o}/"${{f##*/}}" {m} '
                    '--precision integer || exit 1; done'.format(o=o, i=src, m=mat))
        if tool == "imagemagick":
            return "mkdir -p %s && %s -path %s -morphology Correlate '%s' %s/*.png" % (
                o, common.MOGRIFY, o, spec, src)
        raise ValueError(tool)

    tools = ["cnnfilter"] + [t for t in ("opencv", "libvips", "imagemagick") if t in found]
    say("## Batch: %d PNG photos, sobel_v, each tool's batch form (median of %d runs)"
        % (len(files), args.runs))
    say()
    say("%s. %d files from %dx%d to %dx%d, %.1f MP in all." % (
        common.machine(), len(files), sizes[0][0], sizes[0][1], sizes[-1][0], sizes[-1][1],
        mp / 1e6))
    say()
    say("| tool | threads | median s | vs fastest peer | peak RSS MiB | output bytes "
        "| max diff vs cnnfilter |")
    say("|---|---|---|---|---|---|---|")
    for n in [int(t) for t in args.threads.split(",")]:
        env = dict(os.environ, VIPS_CONCURRENCY=str(n), MAGICK_THREAD_LIMIT=str(n))
        outs = {t: os.path.join(tmp, "%s_%d" % (t, n)) for t in tools}
        times = {t: [] for t in tools}
        rss = {t: 0 for t in tools}
        for _ in range(args.runs):
            for t in tools:
                shutil.rmtree(outs[t], ignore_errors=True)
                dt, kb = common.run(cmd(t, n, outs[t]), env, tmp)
                times[t].append(dt)
                rss[t] = max(rss[t], kb)
        # cnnfilter's timed run has its default border, replicate; the peers that pad
        # with zeros are compared with an untimed run with --border zero.
        refs = {"replicate": outs["cnnfilter"]}
        zero_dir = os.path.join(tmp, "ref_zero")
        if any(BORDER[t] == "zero" for t in tools[1:]) and not os.path.isdir(zero_dir):
            subprocess.run([args.bin, "-q", "-j", "2", "-k", "sobel_v", "--border", "zero",
                            "-o", zero_dir, src], check=True)
        refs["zero"] = zero_dir
        med = {t: statistics.median(v) for t, v in times.items()}
        peer_times = [med[t] for t in tools[1:]]
        fastest = min(peer_times) if peer_times else None
        for t in tools:
            names = sorted(os.listdir(outs[t]))
            nbytes = sum(os.path.getsize(os.path.join(outs[t], f)) for f in names)
            if t == "cnnfilter":
                diff = "-"
            elif len(names) != len(files):
                diff = "%d outputs" % len(names)
            else:
                ds = [common.max_diff(os.path.join(outs[t], f),
                                      os.path.join(refs[BORDER[t]], f), args.bin) for f in names]
                bad = [d for d in ds if not isinstance(d, int)]
                diff = bad[0] if bad else max(ds)
                if BORDER[t] != "replicate":
                    diff = "%s (%s)" % (diff, BORDER[t])
            say("| %s | %d | %.3f | %s | %.0f | %d | %s |" % (
                t, n, med[t], "%.2fx" % (med[t] / fastest) if fastest else "-", rss[t] / 1024.0,
                nbytes, diff))
    say()
    say("Notes:")
    say()
    for m in missing:
        say("- " + m)
    say("- libvips has no batch form: one `vips conv` process per file (its start-up cost is "
        "most of its time here). OpenCV: one Python process over all files. RSS is that of the "
        "largest single process of the job.")
    say()
    say("Commands (N threads; IN = the batch folder, OUT = a fresh folder):")
    say()
    say("```")
    for t in tools:
        say("%-12s %s" % (t + ":", cmd(t, "N", "$OUT").replace(src, "$IN").replace(tmp + "/", "")
                          .replace(common.ROOT + "/", "")))
    say("# env: VIPS_CONCURRENCY=N MAGICK_THREAD_LIMIT=N")
    say("```")
    say()
    say("opencv_batch.py:")
    say()
    say("```python")
    for line in OPENCV_BATCH.rstrip().splitlines():
        say(line)
    say("```")
    shutil.rmtree(tmp, ignore_errors=True)
    rep.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

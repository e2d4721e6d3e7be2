#!/usr/bin/python3
"""blur.py - a Gaussian blur by sigma: cnnfilter against libvips gaussblur and OpenCV.

    /usr/bin/python3 bench/blur.py [--runs N] [--threads 0] [--data DIR] [--bin PATH]
                                   [--out FILE.md] [--before-runs N]

Job B1: the 16 MP photo (bench/data/photo.png), sigma 5, PNG in -> PNG out, whole
processes timed by wall clock, the tools interleaved run by run, medians of N (default 5):
  cnnfilter -k gaussian::5 --border replicate   (31x31: 2*ceil(3*5)+1, two 1-D passes)
  vips gaussblur photo.png out.png 5            (its default: integer precision for 8-bit
                                                 images, a mask cut where it falls under
                                                 0.2 of its peak, so 19 taps)
  vips gaussblur ... 5 --precision float
  OpenCV GaussianBlur((31, 31), 5, BORDER_REPLICATE) in one Python process
--threads 0 (the default) leaves every tool at its default thread count (all cores);
N > 0 gives -j N, VIPS_CONCURRENCY=N and cv2.setNumThreads(N).

Job B2: the case of the report that started this work, gaussian:31:5 on a 9.8 MP photo
(photo_10mp.png, made from photo.png when missing): the two-pass path against --portable,
which runs the direct double-precision path every release before this one took for it
(--before-runs, default 1: it takes about a minute).

Accuracy: on a 1024x1024 crop, each tool's 8-bit output against a float64 reference (the
same 31x31 sampled Gaussian, summing to 1, replicate border, computed here with NumPy):
the largest difference and the share of pixels off the correctly rounded value.
"""
import os
import resource
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OPENCV_JOB = r'''import sys, cv2
n, src, dst = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if n > 0:
    cv2.setNumThreads(n)
im = cv2.imread(src, cv2.IMREAD_UNCHANGED)
cv2.imwrite(dst, cv2.GaussianBlur(im, (31, 31), 5, borderType=cv2.BORDER_REPLICATE))
'''


def commands(binary, script, n, src, dst):
    j = "-j %d " % n if n > 0 else ""
    env = "VIPS_CONCURRENCY=%d " % n if n > 0 else ""
    return [
        ("cnnfilter gaussian::5", "%s -q %s-k gaussian::5 --border replicate %s %s"
         % (binary, j, src, dst)),
        ("vips gaussblur 5 (default: integer)", "%svips gaussblur %s %s 5" % (env, src, dst)),
        ("vips gaussblur 5 --precision float", "%svips gaussblur %s %s 5 --precision float"
         % (env, src, dst)),
        ("OpenCV GaussianBlur 31x31", "/usr/bin/python3 %s %d %s %s" % (script, n, src, dst)),
    ]


def timed(cmd, tmp):
    """(wall seconds, CPU seconds: user + system of every process the command ran)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = common.run(cmd, tmp=tmp)[0]
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def reference(src):
    """float64 replicate-border blur by the 31x31 sampled Gaussian of sigma 5 (separable)."""
    np = common.np
    im = common.read_pixels(src).astype(np.float64)
    x = np.arange(31) - 15.0
    g = np.exp(-x * x / 50.0)
    g /= g.sum()
    p = np.pad(im, ((15, 15), (15, 15), (0, 0)), mode="edge")
    v = sum(g[i] * p[i:i + im.shape[0]] for i in range(31))
    return sum(g[j] * v[:, j:j + im.shape[1]] for j in range(31))


def main():
    ap = common.arg_parser(__doc__, 5)
    ap.add_argument("--before-runs", type=int, default=1)
    ap.set_defaults(threads="0")
    a = ap.parse_args()
    common.need_numpy()
    rep = common.Report(a.out)
    photo = os.path.join(a.data, "photo.png")
    p10 = os.path.join(a.data, "photo_10mp.png")
    if not os.path.exists(photo):
        sys.exit("blur: %s is missing: run bench/prepare.sh" % photo)
    tmp = tempfile.mkdtemp(prefix="cnf-blur-")
    if not os.path.exists(p10):   # 4170x2346 (9.8 MP), like the report's photo
        subprocess.run(["vips", "resize", photo, p10 + "[compression=6,filter=all]", "0.785"],
                       check=True)
    script = os.path.join(tmp, "opencv_job.py")
    with open(script, "w") as f:
        f.write(OPENCV_JOB)
    n = int(a.threads.split(",")[0])
    w, h = common.png_size(photo)
    rep.say("# Gaussian blur, sigma 5 (bench/blur.py)")
    rep.say("")
    rep.say(common.machine())
    rep.say("")
    rep.say("B1: %dx%d RGB PNG (%.1f MP) in, PNG out; threads: %s; median of %d runs, tools "
            "alternating." % (w, h, w * h / 1e6, "each tool's default (all cores)" if n <= 0
                              else n, a.runs))
    rep.say("")
    cmds = commands(a.bin, script, n, photo, os.path.join(tmp, "out.png"))
    times = {name: [] for name, _ in cmds}
    cpu = {name: [] for name, _ in cmds}
    for _ in range(a.runs):
        for name, c in cmds:
            wall, used = timed(c, tmp)
            times[name].append(wall)
            cpu[name].append(used)
    vips = statistics.median(times[cmds[1][0]])
    vcpu = statistics.median(cpu[cmds[1][0]])
    rep.say("| tool | wall s (median) | runs | vs vips default | CPU s (median) | vs vips |")
    rep.say("|---|---:|---|---:|---:|---:|")
    for name, _ in cmds:
        m, u = statistics.median(times[name]), statistics.median(cpu[name])
        rep.say("| %s | %.2f | %s | %.2fx | %.2f | %.2fx |"
                % (name, m, " ".join("%.2f" % t for t in times[name]), m / vips, u, u / vcpu))
    rep.say("")
    rep.say("CPU s: user + system time of the whole process tree (GNU time, the shell, the "
            "tool), steadier than the wall time on a shared machine.")
    rep.say("")

    # accuracy on a crop
    crop = os.path.join(tmp, "crop.png")
    subprocess.run(["vips", "crop", photo, crop, str(w // 2 - 512), str(h // 2 - 512), "1024",
                    "1024"], check=True)
    ref = reference(crop)
    rr = common.np.floor(ref + 0.5)
    rep.say("Accuracy on a 1024x1024 crop, 8-bit outputs against a float64 blur by the same "
            "31x31 Gaussian (replicate border):")
    rep.say("")
    rep.say("| tool | max abs diff | pixels off the rounded reference |")
    rep.say("|---|---:|---:|")
    acc = os.path.join(tmp, "acc.png")
    extra = [("vips gaussblur 5 --min-ampl 0.01 (a 3-sigma mask, as cnnfilter's)",
              "vips gaussblur %s %s 5 --min-ampl 0.01" % (crop, acc))]
    for name, c in commands(a.bin, script, n, crop, acc) + extra:
        common.run(c, tmp=tmp)
        got = common.read_pixels(os.path.join(tmp, "acc.png")).astype(common.np.float64)
        rep.say("| %s | %.2f | %.3f %% |" % (name, common.np.abs(got - ref).max(),
                                             100.0 * common.np.mean(got != rr)))
    rep.say("")
    rep.say("vips gaussblur cuts its mask where the Gaussian falls under --min-ampl (0.2 of the "
            "peak by default: 19 taps for sigma 5, a narrower blur than the 3-sigma mask of "
            "cnnfilter and OpenCV), so its default differs from the reference by the kernel "
            "as well as by its integer precision; its float precision truncates to 8 bits.")
    rep.say("")

    # B2: the reported case, before and after
    w2, h2 = common.png_size(p10)
    rep.say("B2: gaussian:31:5 on %dx%d RGB (%.1f MP), PNG in and out, --border replicate:"
            % (w2, h2, w2 * h2 / 1e6))
    rep.say("")
    out = os.path.join(tmp, "b2.png")
    j = "-j %d " % n if n > 0 else ""
    new = "%s -q %s-k gaussian:31:5 --border replicate %s %s" % (a.bin, j, p10, out)
    old = "%s -q %s--portable -k gaussian:31:5 --border replicate %s %s" % (a.bin, j, p10, out)
    tn = [common.run(new, tmp=tmp)[0] for _ in range(a.runs)]
    to = [common.run(old, tmp=tmp)[0] for _ in range(a.before_runs)]
    rep.say("| path | wall s (median) | runs |")
    rep.say("|---|---:|---|")
    rep.say("| two passes in float32 (this release) | %.2f | %s |"
            % (statistics.median(tn), " ".join("%.2f" % t for t in tn)))
    rep.say("| direct, 961 taps in double (before; now --portable) | %.2f | %s |"
            % (statistics.median(to), " ".join("%.2f" % t for t in to)))
    rep.say("")
    rep.say("Commands (B1): " + "; ".join("`%s`" % c for _, c in cmds))
    rep.write()
    subprocess.run(["rm", "-rf", tmp])
    return 0


if __name__ == "__main__":
    sys.exit(main())

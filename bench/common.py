"""common.py - what the benchmark scripts share: kernels, timing, peer detection, reports.

Imported by peers.py, batch.py, scaling.py and core_opencv.py (all run with /usr/bin/python3).
"""
import datetime
import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(HERE, "data")
BIN = os.path.join(ROOT, "build", "cnnfilter")
GNU_TIME = "/usr/bin/time"
CONVERT = "/usr/bin/convert"      # /usr/local/bin/convert may be a stand-in: always /usr/bin
MOGRIFY = "/usr/bin/mogrify"

try:
    import numpy as np
except ImportError:               # the scripts that need it say so
    np = None
try:
    import cv2
except ImportError:
    cv2 = None

# What the workloads were checked against (show-kernel output, 2025): the weights are
# read from the binary at run time and must still match these.
EXPECTED = {
    "sobel_v": ([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], 1),
    "gaussian": ([[1, 2, 1], [2, 4, 2], [1, 2, 1]], 16),
    "laplacian": ([[0, 1, 0], [1, -4, 1], [0, 1, 0]], 1),
}


def kernel(spec, binary=BIN):
    """(integer weights as a list of rows, divisor) of a built-in kernel, parsed from
    `cnnfilter show-kernel SPEC`."""
    out = subprocess.run([binary, "show-kernel", spec], check=True, stdout=subprocess.PIPE,
                         universal_newlines=True).stdout
    rows, divisor, in_weights = [], None, False
    for line in out.splitlines():
        if line.startswith("weights:"):
            in_weights = True
            continue
        if in_weights and line.startswith("  ") and re.match(r"^\s+-?\d", line):
            rows.append([int(v) for v in line.split()])
            continue
        in_weights = False
        m = re.match(r"divisor:\s*(\d+)", line)
        if m:
            divisor = int(m.group(1))
    if not rows or divisor is None or any(len(r) != len(rows[0]) for r in rows):
        raise RuntimeError("cannot parse `cnnfilter show-kernel %s`:\n%s" % (spec, out))
    if spec in EXPECTED and EXPECTED[spec] != (rows, divisor):
        raise RuntimeError("show-kernel %s changed: %s / %d" % (spec, rows, divisor))
    return rows, divisor


def vips_mat(path, rows, div):
    """Write integer weights (a list of rows) and their divisor as a libvips matrix file
    (`vips conv` divides by the scale, the divisor, and rounds)."""
    with open(path, "w") as f:
        f.write("%d %d %d 0\n" % (len(rows[0]), len(rows), div))
        for r in rows:
            f.write(" ".join(str(v) for v in r) + "\n")
    return path


def run(cmd, env=None, tmp=None):
    """Run a shell command; return (wall seconds, peak RSS in KiB).

    The RSS is GNU time's %M around `sh -c`: the largest resident set of the shell and
    every process it waited for (rusage of the children, as wait4 reports it).  GNU time
    is a small process of its own: a child forked straight from this Python process would
    inherit Python's high-water mark in ru_maxrss (Linux keeps it across exec).  Without
    /usr/bin/time, os.wait4's rusage is used (and then includes that inherited mark)."""
    tmp = tmp or tempfile.gettempdir()
    if os.path.exists(GNU_TIME):
        rss_file = os.path.join(tmp, "rss.%d" % os.getpid())
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, "sh", "-c", cmd]
    else:
        argv = ["sh", "-c", cmd]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError("failed (%d): %s\n%s" % (p.returncode, cmd, err.decode(errors="replace")))
    if argv[0] == GNU_TIME:
        with open(rss_file) as f:
            return dt, int(f.read().split()[-1])
    return dt, ru.ru_maxrss


def png_size(path):
    """(width, height) from a PNG's IHDR."""
    with open(path, "rb") as f:
        head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def read_pixels(path):
    """Pixels as int32 (H, W[, C]); OpenCV's order (BGR) is fine since both sides use it."""
    a = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if a is None:
        raise RuntimeError("cannot read " + path)
    return a.astype(np.int32)


def max_diff(a_path, b_path, binary=BIN):
    """Max absolute pixel difference of two images (OpenCV when present, else
    `cnnfilter compare`); a string when the shapes differ."""
    if cv2 is not None and np is not None:
        a, b = read_pixels(a_path), read_pixels(b_path)
        if a.shape != b.shape:
            return "shape %s vs %s" % ("x".join(map(str, a.shape)), "x".join(map(str, b.shape)))
        return int(np.abs(a - b).max()) if a.size else 0
    out = subprocess.run([binary, "compare", a_path, b_path], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True).stdout
    m = re.search(r"max difference (\d+)", out)
    return int(m.group(1)) if m else out.strip()


def peers():
    """Which peers are installed: {name: version or None}, and notes for the missing."""
    found, notes = {}, []
    r = subprocess.run(["/usr/bin/python3", "-c", "import cv2; print(cv2.__version__)"],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    if r.returncode == 0:
        found["opencv"] = "OpenCV " + r.stdout.strip()
    else:
        notes.append("OpenCV (python3-opencv) is not installed: its rows are skipped.")
    if shutil.which("vips"):
        found["libvips"] = subprocess.run(["vips", "--version"], stdout=subprocess.PIPE,
                                          universal_newlines=True).stdout.strip()
    else:
        notes.append("libvips (libvips-tools, `vips`) is not installed: its rows are skipped.")
    if os.path.exists(CONVERT) and os.path.exists(MOGRIFY):
        v = subprocess.run([CONVERT, "-version"], stdout=subprocess.PIPE,
                           universal_newlines=True).stdout.splitlines()[0]
        found["imagemagick"] = v.replace("Version: ", "").split(" https")[0]
    else:
        notes.append("ImageMagick (/usr/bin/convert, /usr/bin/mogrify) is not installed: "
                      "its rows are skipped.")
    return found, notes


def machine():
    """One line about where and what was measured."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.strip()
    except OSError:
        rev = "?"
    return "%s, %s, %d cores, %s; working tree at %s" % (
        datetime.date.today().isoformat(), cpu, os.cpu_count() or 0, platform.platform(), rev)


class Report:
    """Lines printed as they come and, at the end, written to a file."""

    def __init__(self, out=""):
        self.out, self.lines = out, []

    def say(self, s=""):
        print(s, flush=True)
        self.lines.append(s)

    def write(self):
        if self.out:
            with open(self.out, "w") as f:
                f.write("\n".join(self.lines) + "\n")


def need_numpy():
    if np is None:
        sys.exit("numpy is needed (apt-get install python3-numpy)")


def arg_parser(doc, runs):
    """The options every benchmark script takes; callers may add their own."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--runs", type=int, default=runs)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--bin", default=BIN)
    ap.add_argument("--out", default="", help="also write the report to this file")
    return ap

#!/usr/bin/python3
"""test_bad.py - run cnnfilter over the must-fail corpus and the legal-but-rare images.

The corpus is generated into a temporary folder by make_corpus.py (beside this file).  Every
hostile case runs through the real binary ($CNNFILTER_BIN, default <repo>/build/cnnfilter) as
INPUT, as -k FILE or as --pipeline FILE, with OUTPUT in a fresh empty folder, under a 5 s
timeout and (unless the binary is an AddressSanitizer build) a 1 GiB address-space limit, and
must:
  - exit with the status the reference gives (1 corrupt or unreadable input or over --max-pixels,
    2 bad kernel or pipeline, kernel/JSON limits),
  - write exactly one line on stderr: "cnnfilter: NAME: reason", NAME being the file name with
    control characters escaped (\\n \\t \\r \\xNN), followed by ":LINE:COL" for JSON documents,
  - leave nothing in the output folder (no OUTPUT, no .cnnfilter-* temporary),
  - print no sanitizer report.
Every legal image must then be accepted, and its -k identity output as .npy must equal the
pixels expected (computed by make_corpus.py) and, when Pillow is importable, Pillow's pixels.

Prints one line per failing case and ends with "bad: N passed, M failed"; exits 1 if any
failed.  Options: -k SUBSTRING (only cases whose id contains it), -v (a line per case),
--keep DIR (generate the corpus into DIR and keep it).
"""
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TIMEOUT = 5.0
AS_LIMIT = 1 << 30
SANITIZER_WORDS = (b"runtime error", b"AddressSanitizer", b"LeakSanitizer",
                   b"UndefinedBehaviorSanitizer", b"ThreadSanitizer", b"MemorySanitizer")


def is_asan_build(path):
    """CNNFILTER_ASAN=1, or the binary references __asan_init (what nm/strings would show)."""
    if os.environ.get("CNNFILTER_ASAN") == "1":
        return True
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def no_core():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def escape(name):
    """The CLI's escaping of a name (src/cli/msg.c), as bytes; \\r may also be \\x0d."""
    out = bytearray()
    for ch in name.encode("utf-8", "surrogateescape"):
        if ch == 0x0A:
            out += b"\\n"
        elif ch == 0x09:
            out += b"\\t"
        elif ch == 0x0D:
            out += b"\\r"
        elif ch < 0x20 or ch == 0x7F:
            out += b"\\x%02x" % ch
        else:
            out.append(ch)
    return bytes(out)


# ------------------------------------------------------------------------- running

class Job:
    def __init__(self, case, kind, argv, cwd, outdir, stdin=None):
        self.case, self.kind, self.argv, self.cwd, self.outdir = case, kind, argv, cwd, outdir
        self.stdin = stdin  # a file to read standard input from
        self.proc = None
        self.err_file = None
        self.start = 0.0
        self.timed_out = False
        self.rc = None
        self.stderr = b""
        self.elapsed = 0.0


def run_jobs(jobs, parallel, limit_as):
    """Run the jobs, `parallel` at a time, from this one thread (preexec_fn is only safe
    without other threads); stderr goes to a file so no pipe can fill up."""
    pending = list(jobs)
    running = []
    while pending or running:
        while pending and len(running) < parallel:
            j = pending.pop(0)
            j.err_file = tempfile.TemporaryFile()
            j.start = time.monotonic()
            stdin = open(j.stdin, "rb") if j.stdin else subprocess.DEVNULL
            j.proc = subprocess.Popen(j.argv, cwd=j.cwd, stdin=stdin,
                                      stdout=subprocess.DEVNULL, stderr=j.err_file,
                                      preexec_fn=limit_memory if limit_as else no_core)
            if j.stdin:
                stdin.close()
            running.append(j)
        time.sleep(0.005)
        for j in list(running):
            rc = j.proc.poll()
            now = time.monotonic()
            if rc is None and now - j.start > TIMEOUT:
                j.proc.kill()
                j.timed_out = True
                rc = j.proc.wait()
            if rc is None:
                continue
            j.rc = rc
            j.elapsed = now - j.start
            j.err_file.seek(0)
            j.stderr = j.err_file.read()
            j.err_file.close()
            running.remove(j)


def hostile_job(case, hdir, legal_input, work, n):
    outdir = os.path.join(work, "h%04d" % n)
    os.mkdir(outdir)
    out = os.path.join(outdir, "out.png")
    argv = [BIN, "-j", "2"] + case["args"]
    if case["role"] == "input":
        argv += ["-k", "identity", case["file"], out]
    elif case["role"] == "stdin":
        argv += ["-k", "identity", "-", out]
        return Job(case, "hostile", argv, hdir, outdir, stdin=os.path.join(hdir, case["file"]))
    elif case["role"] == "kernel":
        argv += ["-k", case["file"], legal_input, out]
    else:
        argv += ["--pipeline", case["file"], legal_input, out]
    return Job(case, "hostile", argv, hdir, outdir)


def legal_job(case, ldir, legal_input, work, n):
    outdir = os.path.join(work, "l%04d" % n)
    os.mkdir(outdir)
    out = os.path.join(outdir, "out.npy")
    if case["role"] == "kernel":
        argv = [BIN, "-j", "2", "-k", case["file"]] + case["args"] + [legal_input, out]
    else:
        argv = [BIN, "-j", "2", "-k", "identity"] + case["args"] + [case["file"], out]
    return Job(case, "legal", argv, ldir, outdir)


def batch_job(cases, hdir, work):
    """Every hostile image refused in one batch run: exit 1, one stderr line per file."""
    outdir = os.path.join(work, "batch")
    os.mkdir(outdir)
    files = [c["file"] for c in cases]
    case = {"id": "batch of %d hostile images" % len(files), "files": files,
            "what": "-o DIR with every hostile image file at once"}
    return Job(case, "batch", [BIN, "-j", "2", "-q", "-k", "identity", "-o", outdir] + files,
               hdir, outdir)


def batch_candidates(manifest, hdir):
    out = []
    for c in manifest["hostile"]:
        if (c["role"] == "input" and c["expect"] == [1] and not c["args"] and
                os.path.isfile(os.path.join(hdir, c["file"])) and
                os.path.splitext(c["file"])[1].lower() not in (".json", ".csv", ".txt", ".npy")):
            out.append(c)
    return out


def check_batch(j):
    if j.timed_out:
        return "timed out after %.0f s" % TIMEOUT
    problem = sanitizer_problem(j)
    if problem:
        return problem
    files = j.case["files"]
    why = []
    if j.rc != 1:
        why.append("exit %d, expected 1" % j.rc)
    lines = j.stderr.split(b"\n")[:-1] if j.stderr.endswith(b"\n") else j.stderr.split(b"\n")
    if len(lines) != len(files):
        why.append("%d stderr lines for %d files" % (len(lines), len(files)))
    named = set()
    for ln in lines:
        for f in files:
            if ln.startswith(b"cnnfilter: " + escape(f) + b": "):
                named.add(f)
    missing = [f for f in files if f not in named]
    if missing:
        why.append("no error line for %d files, e.g. %r" % (len(missing), missing[:4]))
    left = []
    for dirpath, _, names in os.walk(j.outdir):
        left += names
    if left:
        why.append("%d files written, e.g. %r" % (len(left), sorted(left)[:4]))
    return "; ".join(why) or None


def sanitizer_problem(j):
    for w in SANITIZER_WORDS:
        if w in j.stderr:
            line = [ln for ln in j.stderr.splitlines() if w in ln][0]
            return "sanitizer report: %r" % line.decode("utf-8", "replace")[:240]
    return None


def first_line(b):
    s = b.decode("utf-8", "replace").strip().splitlines()
    return repr(s[0][:200]) if s else "(empty)"


def check_hostile(j):
    """None if the case passed, else the reason."""
    c = j.case
    if j.timed_out:
        return "timed out after %.0f s" % TIMEOUT
    problem = sanitizer_problem(j)
    if problem:
        return problem
    if j.rc < 0:
        return "killed by signal %d; stderr %s" % (-j.rc, first_line(j.stderr))
    left = sorted(os.listdir(j.outdir))
    if j.rc == 0 and 0 in c["expect"]:
        return None if left == ["out.png"] else "exit 0 but output folder holds %r" % left
    if j.rc not in c["expect"]:
        return "exit %d, expected %s; stderr %s" % (
            j.rc, "/".join(str(e) for e in c["expect"]), first_line(j.stderr))
    if left:
        return "exit %d but the output folder holds %r" % (j.rc, left)
    err = j.stderr
    if err.count(b"\n") != 1 or not err.endswith(b"\n"):
        return "stderr has %d lines, expected exactly 1: %r" % (err.count(b"\n"), err[:300])
    names = [escape(c["prefix"] if c["prefix"] else c["file"])]
    if b"\\r" in names[0]:
        names.append(names[0].replace(b"\\r", b"\\x0d"))
    for name in names:
        head = b"cnnfilter: " + name
        if not err.startswith(head):
            continue
        rest = err[len(head):]
        if c["json_pos"]:
            m = re.match(rb":(\d+):(\d+): \S", rest)
            if not m:
                return "expected '%s:LINE:COL: reason', got %r" % (
                    name.decode("utf-8", "replace"), err[:300])
            if c["line"] is not None and int(m.group(1)) != c["line"]:
                return "error on line %s, expected line %d: %r" % (
                    m.group(1).decode(), c["line"], err[:300])
        elif not re.match(rb"(:\d+:\d+)?: \S", rest):
            # Not JSON: "NAME: reason" (text matrices may add ":LINE:COL").
            return "expected '%s: reason', got %r" % (name.decode("utf-8", "replace"), err[:300])
        return None
    return "stderr does not start with %r: %r" % (b"cnnfilter: " + names[0], err[:300])


def pil_pixels(path, rule, channels):
    """Pillow's pixels of path as (C, H, W) float64 per `rule`, or raise."""
    from PIL import Image
    with Image.open(path) as im:  # the first frame
        if rule == "L":
            return np.asarray(im.convert("L"), dtype=np.float64)[None]
        if rule == "RGB":
            a = np.asarray(im.convert("RGB"), dtype=np.float64)
        elif rule == "RGBA":
            a = np.asarray(im.convert("RGBA"), dtype=np.float64)
        elif rule == "LA":
            a = np.asarray(im.convert("RGBA"), dtype=np.float64)[:, :, [0, 3]]
        elif rule.startswith("I/257"):
            return np.asarray(im, dtype=np.float64)[None] / 257.0
        elif rule == "RGB+A255":
            a = np.asarray(im.convert("RGB"), dtype=np.float64)
            a = np.concatenate([a, np.full(a.shape[:2] + (1,), 255.0)], axis=2)
        else:
            raise ValueError("unknown Pillow rule " + rule)
        return np.transpose(a, (2, 0, 1))


def compare(got, want, tol, what):
    if got.shape != want.shape:
        return "%s: shape %s, expected %s" % (what, got.shape, want.shape)
    d = np.abs(got.astype(np.float64) - want)
    if d.size and d.max() > tol:
        i = np.unravel_index(int(np.argmax(d)), d.shape)
        return "%s: max difference %.6g > %g at (c,y,x)=%s: got %.6g, expected %.6g" % (
            what, d.max(), tol, tuple(int(v) for v in i), got[i], want[i])
    return None


def check_legal(j, ldir, have_pil):
    c = j.case
    if j.timed_out:
        return "timed out after %.0f s" % TIMEOUT
    problem = sanitizer_problem(j)
    if problem:
        return problem
    if j.rc != 0 and c.get("optional") and j.rc == 1:
        # A format outside the reference's list may be refused, cleanly.
        if os.listdir(j.outdir):
            return "refused, but the output folder holds %r" % sorted(os.listdir(j.outdir))
        if j.stderr.count(b"\n") != 1 or not j.stderr.startswith(
                b"cnnfilter: " + escape(c["file"]) + b": "):
            return "refused with a malformed error: %r" % j.stderr[:300]
        return None
    if j.rc != 0:
        return "refused a legal file: exit %d; stderr %s" % (j.rc, first_line(j.stderr))
    if j.stderr:
        return "exit 0 but stderr: %r" % j.stderr[:300]
    left = sorted(os.listdir(j.outdir))
    if left != ["out.npy"]:
        return "output folder holds %r" % left
    got = np.load(os.path.join(j.outdir, "out.npy"))
    if got.dtype != np.float32 or got.ndim != 3:
        return "output .npy is %s %s, expected float32 (C,H,W)" % (got.dtype, got.shape)
    if c["truth"]:
        want = np.load(os.path.join(ldir, c["truth"]))
        rule = c["pil"] or ""
        if "|>>8" in rule:
            # 16-bit PGM: value/257 (as PNG) or value>>8 (stb's conversion); both accepted.
            alt = np.floor(want * 257.0 / 256.0 + 1e-9)
            if compare(got, want, c["tol"], "") and not compare(got, alt, 0, ""):
                want, c = alt, dict(c, tol=0)
        r = compare(got, want, c["tol"], "pixels vs expected")
        if r:
            return r
    if c["pil"] and have_pil:
        rule = c["pil"].split("|")[0]
        try:
            ref = pil_pixels(os.path.join(ldir, c["file"]), rule, got.shape[0])
        except Exception as e:  # Pillow cannot read it: nothing to compare with
            return None if "cannot identify" in str(e) else "Pillow failed: %s" % e
        tol = c["pil_tol"]
        if "|>>8" in c["pil"] and compare(got, ref, tol, ""):
            ref, tol = np.floor(ref * 257.0 / 256.0 + 1e-9), 0
        return compare(got, ref, tol, "pixels vs Pillow (%s)" % rule)
    return None


def main(argv):
    verbose = "-v" in argv
    only = argv[argv.index("-k") + 1] if "-k" in argv else None
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    if not os.access(BIN, os.X_OK):
        print("bad: %s is not an executable (set CNNFILTER_BIN)" % BIN)
        print("bad: 0 passed, 1 failed")
        return 1
    try:
        import PIL  # noqa: F401
        have_pil = True
    except ImportError:
        have_pil = False
    asan = is_asan_build(BIN)
    t0 = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="cnnfilter-bad-")
    try:
        corpus = keep or os.path.join(tmp, "corpus")
        if keep and os.path.exists(keep):
            shutil.rmtree(keep)
        r = subprocess.run([sys.executable, os.path.join(HERE, "make_corpus.py"), corpus],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            print(r.stdout.decode("utf-8", "replace"))
            print("bad: 0 passed, 1 failed")
            return 1
        with open(os.path.join(corpus, "manifest.json")) as f:
            manifest = json.load(f)
        hdir = os.path.join(corpus, "hostile")
        ldir = os.path.join(corpus, "legal")
        legal_input = os.path.join(ldir, "png-base.png")
        work = os.path.join(tmp, "out")
        os.mkdir(work)
        jobs = []
        for n, c in enumerate(manifest["hostile"]):
            if only is None or only in c["id"]:
                jobs.append(hostile_job(c, hdir, legal_input, work, n))
        for n, c in enumerate(manifest["legal"]):
            if only is None or only in c["id"]:
                jobs.append(legal_job(c, ldir, legal_input, work, n))
        if only is None or only == "batch":
            jobs.append(batch_job(batch_candidates(manifest, hdir), hdir, work))
        parallel = max(2, min(8, os.cpu_count() or 2))
        run_jobs(jobs, parallel, limit_as=not asan)
        passed = failed = 0
        for j in jobs:
            if j.kind == "hostile":
                why = check_hostile(j)
            elif j.kind == "batch":
                why = check_batch(j)
            else:
                why = check_legal(j, ldir, have_pil)
            if why:
                failed += 1
                print("FAIL %s %r: %s  [%s]" % (j.kind, j.case["id"], why, j.case["what"]))
            else:
                passed += 1
                if verbose:
                    print("ok   %s %r (%.2f s): %s" % (j.kind, j.case["id"], j.elapsed,
                                                      j.stderr.decode("utf-8", "replace")
                                                      .strip()[:160]))
        slow = max(jobs, key=lambda j: j.elapsed) if jobs else None
        print("bad: binary %s (%s), Pillow %s, %.1f s; slowest %r %.2f s" % (
            BIN, "ASan: no address-space limit" if asan else "1 GiB address-space limit",
            "used" if have_pil else "not available", time.monotonic() - t0,
            slow.case["id"] if slow else "", slow.elapsed if slow else 0))
        print("bad: %d passed, %d failed" % (passed, failed))
        return 1 if failed else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

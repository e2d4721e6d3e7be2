#!/usr/bin/env python3
"""test_safety.py - never lose a file: the fault-injection cases, each a reproduction.

Batch runs that would overwrite their own inputs or write two outputs with one name are
refused before anything is written; messages never land in outputs when standard
descriptors are closed; replacing an output keeps its mode, refuses read-only files and
never turns a FIFO, device or symlink into a regular file; the outputs of one input are
committed together or not at all; --skip-existing keeps only complete outputs; signals at
random moments leave no temporary file and only complete, correct outputs; a file-size
limit and a full disk are write errors that say why; stale temporary files of dead runs are
swept; a FIFO given to a batch is refused up front; input-independent usage errors are
reported once.  Images are compared by decoded pixels (tests/ref/cnnref.py).
"""
import os
import random
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-safety-")
SAMPLES = os.path.join(ROOT, "samples")
# Sanitizer builds are several times slower: fewer files in the long tests.
SLOW = os.environ.get("CNNFILTER_ASAN") == "1"


def path(*p):
    return os.path.join(TMP, *p)


def run(*args, cwd=None, timeout=120, **kw):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=cwd or TMP,
                       timeout=timeout, **kw)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def fresh(name):
    d = path(name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def tiny_png(p, seed, h=5, w=6, comp=3):
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, size=(h, w, comp), dtype=np.uint8)
    with open(p, "wb") as f:
        f.write(cnnref.png_write(px))
    return px


def png_px(p):
    with open(p, "rb") as f:
        return cnnref.png_read(f.read())


def snapshot(d):
    """{relative path: bytes} of every file under d."""
    out = {}
    for base, _, names in os.walk(d):
        for n in names:
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, d)] = f.read()
    return out


def temps_under(d):
    return [os.path.join(b, n) for b, _, ns in os.walk(d) for n in ns if n.startswith(".cnnfilter-")]


def jpeg_bytes():
    r = subprocess.run([BIN, "-k", "identity", os.path.join(SAMPLES, "shapes.png"), "-",
                        "--output-format", "jpg"], capture_output=True, timeout=60)
    assert r.returncode == 0, r
    return r.stdout


# ----------------------------------------------------------- a batch's whole plan first


def a_batch_never_overwrites_its_own_inputs():
    d = fresh("own")
    tiny_png(os.path.join(d, "a.png"), 1)
    with open(os.path.join(d, "a.jpg"), "wb") as f:
        f.write(jpeg_bytes())
    before = snapshot(d)
    rc, out, err = run("-k", "identity", "-o", d, d)
    assert rc == 2, (rc, out, err)
    assert "the output folder is the input folder" in err, err
    assert snapshot(d) == before, "an input was changed"
    rc, out, err = run("-k", "identity", "-o", d, os.path.join(d, "a.jpg"), os.path.join(d, "a.png"))
    assert rc == 2, (rc, out, err)
    assert "a.png: is an input of this run" in err, err
    assert snapshot(d) == before, "an input was changed"
    # Bank names: a.jpg -> a-sobel_v.png, itself an input.
    d = fresh("own_bank")
    with open(os.path.join(d, "a.jpg"), "wb") as f:
        f.write(jpeg_bytes())
    tiny_png(os.path.join(d, "a-sobel_v.png"), 2)
    before = snapshot(d)
    rc, out, err = run("-k", "sobel_v", "-k", "sobel_h", "-o", d, os.path.join(d, "a.jpg"),
                       os.path.join(d, "a-sobel_v.png"))
    assert rc == 2, (rc, out, err)
    assert "a-sobel_v.png: is an input of this run" in err, err
    assert snapshot(d) == before
    assert not temps_under(d)


def colliding_outputs_are_refused_before_anything_is_written():
    d = fresh("coll")
    tiny_png(os.path.join(d, "a.png"), 1)
    tiny_png(os.path.join(d, "a.c.png"), 2)
    subprocess.run([BIN, "-k", "identity", os.path.join(d, "a.png"), os.path.join(d, "a.bmp")],
                   check=True, capture_output=True)
    out = path("coll_out")
    rc, _, err = run("-k", "identity", "-o", out, d)
    assert rc == 2, (rc, err)
    assert "coll_out/a.png: would be the output of both" in err, err
    assert "a.bmp" in err and "/a.png" in err, err
    assert not os.path.exists(out) or snapshot(out) == {}, snapshot(out)
    # The same collision split over two shards is still found by each shard.
    for k in (0, 1):
        rc, _, err = run("-k", "identity", "--shard", "%d/2" % k, "-o", out, d)
        assert rc == 2, (k, rc, err)
    assert not os.path.exists(out) or snapshot(out) == {}
    # Two folder arguments with the same relative names.
    x, y = fresh("cx"), fresh("cy")
    tiny_png(os.path.join(x, "a.png"), 3)
    tiny_png(os.path.join(y, "a.png"), 4)
    rc, _, err = run("-k", "identity", "-o", out, x, y)
    assert rc == 2 and "would be the output of both" in err, (rc, err)
    assert not os.path.exists(out) or snapshot(out) == {}


def bank_kernels_with_one_name_are_refused():
    k1, k2 = fresh("k1"), fresh("k2")
    for k in (k1, k2):
        with open(os.path.join(k, "k.json"), "w") as f:
            f.write('{"weights": [[0,0,0],[0,1,0],[0,0,0]]}')
    src = os.path.join(SAMPLES, "digit8.png")
    rc, _, err = run("-k", os.path.join(k1, "k.json"), "-k", os.path.join(k2, "k.json"), src,
                     path("bank-{kernel}.png"))
    assert rc == 2, (rc, err)
    harness.one_error_line(err, "cnnfilter: %s: " % path("bank-k.png"))
    assert not os.path.exists(path("bank-k.png"))
    # {index} tells them apart.
    rc, _, err = run("-k", os.path.join(k1, "k.json"), "-k", os.path.join(k2, "k.json"), src,
                     path("bank-{index}.png"))
    assert rc == 0, err
    assert os.path.exists(path("bank-0.png")) and os.path.exists(path("bank-1.png"))
    # Batch: the same two kernels, and an inline kernel k1 beside k1.json.
    d = fresh("bank_in")
    tiny_png(os.path.join(d, "x.png"), 5)
    rc, _, err = run("-k", os.path.join(k1, "k.json"), "-k", os.path.join(k2, "k.json"),
                     "-o", path("bank_out"), d)
    assert rc == 2 and "both named 'k'" in err, (rc, err)
    with open(path("k1.json"), "w") as f:
        f.write('{"weights": [[1]]}')
    rc, _, err = run("-k", path("k1.json"), "-k", "[[2]]", "-o", path("bank_out"), d)
    assert rc == 2 and "both named 'k1'" in err, (rc, err)
    assert not os.path.exists(path("bank_out"))


def input_names_are_never_read_as_templates():
    d = fresh("tpl")
    a = tiny_png(os.path.join(d, "x.png"), 6, comp=1)
    b = tiny_png(os.path.join(d, "x-{kernel}.png"), 7, comp=1)
    out = path("tpl_out")
    rc, _, err = run("-k", "identity", "-k", "[[0,0,0],[0,2,0],[0,0,0]]", "-o", out, d)
    assert rc == 0, err
    assert sorted(os.listdir(out)) == ["x-identity.png", "x-k1.png", "x-{kernel}-identity.png",
                                       "x-{kernel}-k1.png"], os.listdir(out)
    assert np.array_equal(png_px(os.path.join(out, "x-identity.png")).reshape(a.shape), a)
    assert np.array_equal(png_px(os.path.join(out, "x-{kernel}-identity.png")).reshape(b.shape), b)


# ----------------------------------------------------------- standard descriptors


def closed_standard_descriptors_never_end_up_in_outputs():
    d = fresh("closed")
    pxs = [tiny_png(os.path.join(d, "i%02d.png" % i), 100 + i) for i in range(40)]
    with open(os.path.join(d, "bad.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"a corrupt png, so an error message is written\n")
    out = path("closed_out")
    for redirect in ("2>&-", "1>&- 2>&-", "0<&- 1>&- 2>&-"):
        shutil.rmtree(out, ignore_errors=True)
        cmd = "%s %s -j 4 -k identity -o %s %s" % (BIN, redirect, out, d)
        r = subprocess.run(["bash", "-c", cmd], capture_output=True, timeout=120)
        assert r.returncode == 1, (redirect, r)
        for i, px in enumerate(pxs):
            got = png_px(os.path.join(out, "i%02d.png" % i))
            assert np.array_equal(got, px), (redirect, i)
        assert not temps_under(out)


# ----------------------------------------------------------- what is replaced, and how


def replacing_keeps_the_mode_and_refuses_read_only_outputs():
    src = os.path.join(SAMPLES, "digit8.png")
    o = path("mode600.png")
    with open(o, "w") as f:
        f.write("old")
    os.chmod(o, 0o600)
    rc, _, err = run("-k", "identity", src, o)
    assert rc == 0, err
    assert stat.S_IMODE(os.stat(o).st_mode) == 0o600, oct(os.stat(o).st_mode)
    assert np.array_equal(png_px(o), png_px(src))
    ro = path("readonly.png")
    with open(ro, "w") as f:
        f.write("keep me")
    os.chmod(ro, 0o444)
    rc, _, err = run("-k", "identity", src, ro)
    assert rc == 1, (rc, err)
    harness.one_error_line(err, "cnnfilter: %s: is read-only" % ro)
    assert open(ro).read() == "keep me"
    assert stat.S_IMODE(os.stat(ro).st_mode) == 0o444
    harness.assert_no_temp_files(TMP)


def fifos_devices_and_links_are_written_through_not_replaced():
    src = os.path.join(SAMPLES, "shapes.png")
    fifo = path("pipe.png")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["data"] = f.read()
    t = threading.Thread(target=reader)
    t.start()
    rc, _, err = run("-k", "sobel_v", src, fifo)
    t.join(30)
    assert rc == 0, err
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced"
    assert cnnref.png_read(got["data"]).shape[:2] == png_px(src).shape[:2]
    rc, _, err = run("-k", "sobel_v", src, "/dev/null")
    assert rc == 0, err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # /dev/stdout and /proc/self/fd/1 are links to the pipe: written through them.
    for name in ("/dev/stdout", "/proc/self/fd/1"):
        r = subprocess.run([BIN, "-k", "sobel_v", src, name], capture_output=True, timeout=60)
        assert r.returncode == 0, (name, r.stderr)
        assert cnnref.png_read(r.stdout).shape[:2] == png_px(src).shape[:2], name
    real, link = path("real.png"), path("link.png")
    with open(real, "w") as f:
        f.write("old")
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(real, link)
    rc, _, err = run("-k", "identity", src, link)
    assert rc == 0, err
    assert os.path.islink(link), "the link was replaced by a file"
    assert np.array_equal(png_px(real), png_px(src))
    harness.assert_no_temp_files(TMP)


# ----------------------------------------------------------- all or nothing per input


def a_bank_that_fails_halfway_leaves_none_of_its_outputs():
    src = os.path.join(SAMPLES, "shapes.png")
    d = fresh("half")
    third = os.path.join(d, "o-2.npy")
    with open(third, "w") as f:
        f.write("read-only")
    os.chmod(third, 0o444)
    rc, _, err = run("-k", "box", "-k", "sobel_v", "-k", "sobel_h", src, os.path.join(d, "o-{index}.npy"))
    assert rc == 1, (rc, err)
    assert sorted(os.listdir(d)) == ["o-2.npy"], os.listdir(d)
    # A disk that fills up after the first output of the bank (needs mount rights).
    mnt = fresh("half_mnt")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        print("     (no tmpfs mount here: the full-disk half of this case is skipped)")
        return
    try:
        # shapes.png is 128x96x3: each .npy is ~144 KiB; normalize PNGs are kept whole.
        ks = ["-k", "box", "-k", "sobel_v", "-k", "sobel_h", "-k", "laplacian", "-k", "emboss"]
        rc, _, err = run(*ks, src, os.path.join(mnt, "o-{kernel}.npy"))
        assert rc == 1, (rc, err)
        assert "No space left on device" in err, err
        assert os.listdir(mnt) == [], os.listdir(mnt)
        big = fresh("half_big")
        for i in range(3):
            tiny_png(os.path.join(big, "b%d.png" % i), i, h=200, w=300)
        rc, _, err = run(*ks, "--map", "normalize", "--compression", "0", "-o", mnt, big)
        assert rc == 1, (rc, err)
        names = os.listdir(mnt)
        stems = {n.split("-")[0] for n in names}
        for s in stems:  # an input has all five outputs or none
            assert sum(n.startswith(s + "-") for n in names) == 5, names
        assert not temps_under(mnt), temps_under(mnt)
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def skip_existing_keeps_only_complete_outputs():
    d = fresh("skip")
    for i in range(3):
        tiny_png(os.path.join(d, "s%d.png" % i), 10 + i)
    out = path("skip_out")
    rc, _, err = run("-k", "sobel_v", "-k", "sobel_h", "-o", out, d)
    assert rc == 0, err
    # s0 complete; s1 one output 0 bytes; s2 one output truncated.
    open(os.path.join(out, "s1-sobel_h.png"), "wb").close()
    data = open(os.path.join(out, "s2-sobel_v.png"), "rb").read()
    with open(os.path.join(out, "s2-sobel_v.png"), "wb") as f:
        f.write(data[:len(data) // 2])
    stamp = os.stat(os.path.join(out, "s0-sobel_v.png")).st_mtime_ns
    time.sleep(0.02)
    rc, stdout, err = run("-k", "sobel_v", "-k", "sobel_h", "--skip-existing", "-o", out, d)
    assert rc == 0, err
    assert "processed 2, failed 0, skipped 1" in stdout, stdout
    assert os.stat(os.path.join(out, "s0-sobel_v.png")).st_mtime_ns == stamp
    for n in ("s1-sobel_h.png", "s2-sobel_v.png"):
        assert png_px(os.path.join(out, n)).shape[:2] == (5, 6)


# ----------------------------------------------------------- signals, limits, full disks


def interrupted(jobs, sig, n_files, d, out, delay):
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.Popen([BIN, "-j", str(jobs), "-k", "identity", "-o", out, d],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(delay)
    p.send_signal(sig)
    _, err = p.communicate(timeout=120)
    return p.returncode, err


def signals_at_random_moments_leave_no_temp_file_and_only_complete_outputs():
    n = 400 if SLOW else 2000
    d = fresh("kill_in")
    pxs = {}
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    for i in range(n):
        px = np.roll(base, i, axis=1)
        with open(os.path.join(d, "f%04d.png" % i), "wb") as f:
            f.write(cnnref.png_write(px))
        pxs["f%04d.png" % i] = px
    out = path("kill_out")
    rnd = random.Random(11)
    interrupted_runs = 0
    for jobs in (1, 2, 8):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
            rc, err = interrupted(jobs, sig, n, d, out, rnd.uniform(0.01, 0.4 if SLOW else 0.25))
            left = snapshot(out) if os.path.exists(out) else {}
            assert not temps_under(out) if os.path.exists(out) else True, temps_under(out)
            if rc == -sig:
                interrupted_runs += 1
            else:
                assert rc == 0, (jobs, sig, rc, err)
            assert b"cannot rename" not in err, err
            for name, data in left.items():
                assert np.array_equal(cnnref.png_read(data), pxs[name]), (jobs, name)
    assert interrupted_runs >= 3, "the signals came too late: nothing was tested"


def a_file_size_limit_is_a_write_error_with_a_message():
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
    o = path("fsize.npy")
    rc, _, err = run("-k", "identity", os.path.join(SAMPLES, "shapes.png"), o, preexec_fn=limit)
    assert rc == 1, (rc, err)
    harness.one_error_line(err, "cnnfilter: %s: " % o)
    assert "File too large" in err, err
    assert not os.path.exists(o)
    harness.assert_no_temp_files(TMP)


def a_full_disk_says_why_on_every_path():
    rc, _, err = run("-k", "identity", os.path.join(SAMPLES, "shapes.png"), "/dev/full")
    assert rc == 1, (rc, err)
    harness.one_error_line(err, "cnnfilter: /dev/full: write error: No space left on device")
    mnt = fresh("full_mnt")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", mnt], capture_output=True)
    if r.returncode != 0:
        print("     (no tmpfs mount here: only /dev/full is checked)")
        return
    noise = path("noise.png")
    tiny_png(noise, 3, h=200, w=300)  # random pixels: no format fits them in 16 KiB
    try:
        for name in ("o.png", "o.jpg", "o.txt", "o.bmp", "o.npy"):
            rc, _, err = run("-k", "identity", noise, os.path.join(mnt, name))
            assert rc == 1, (name, rc, err)
            harness.one_error_line(err, "cnnfilter: %s: " % os.path.join(mnt, name))
            assert "No space left on device" in err, (name, err)
            assert os.listdir(mnt) == [], os.listdir(mnt)
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def stale_temp_files_of_dead_runs_are_swept():
    d = fresh("stale")
    dead = 4194000
    while os.path.exists("/proc/%d" % dead):
        dead -= 1
    old = time.time() - 300
    names = {"dead_old": ".cnnfilter-%d-abcdef" % dead, "dead_new": ".cnnfilter-%d-ghijkl" % dead,
             "alive_old": ".cnnfilter-%d-mnopqr" % os.getpid(), "other": ".cnnfilter-xyz"}
    for k, n in names.items():
        with open(os.path.join(d, n), "w") as f:
            f.write("x")
        if k != "dead_new":
            os.utime(os.path.join(d, n), (old, old))
    rc, _, err = run("-k", "identity", os.path.join(SAMPLES, "digit8.png"), os.path.join(d, "o.png"))
    assert rc == 0, err
    left = set(os.listdir(d))
    assert names["dead_old"] not in left, left
    for k in ("dead_new", "alive_old", "other"):
        assert names[k] in left, (k, left)


def a_fifo_named_in_a_batch_is_refused_up_front():
    d = fresh("fifo_in")
    tiny_png(os.path.join(d, "good.png"), 1)
    fifo = os.path.join(d, "wait.png")
    os.mkfifo(fifo)
    rc, out, err = run("-k", "identity", "-o", path("fifo_out"), os.path.join(d, "good.png"), fifo,
                       timeout=30)
    assert rc == 1, (rc, err)
    harness.one_error_line(err, "cnnfilter: %s: is not a regular file" % fifo)
    assert "processed 1, failed 1" in out, out
    # In a folder, a FIFO is not an input file at all.
    rc, out, err = run("-k", "identity", "-o", path("fifo_out2"), d, timeout=30)
    assert rc == 0 and "processed 1, failed 0" in out, (rc, out, err)


def usage_errors_that_need_no_input_are_reported_once():
    d = fresh("once")
    for i in range(6):
        tiny_png(os.path.join(d, "u%d.png" % i), i)
    rc, out, err = run("-k", "identity", "--depth", "16", "--output-format", "jpg", "-o",
                       path("once_out"), d)
    assert rc == 2, (rc, err)
    harness.one_error_line(err, "cnnfilter: --depth: 16-bit output is for .png, .tif and .pnm only")
    assert not os.path.exists(path("once_out"))


def a_corrupt_end_of_file_fails_whatever_jobs_is():
    """Rows no stage needs are still decoded and checked: with a stride that skips the bottom
    of the image, a bad zlib checksum at the end of a PNG fails at -j 1 as at -j 2."""
    import struct
    import zlib
    good = path("tall.png")
    tiny_png(good, 9, h=200, w=16)
    data = bytearray(open(good, "rb").read())
    pos = 8
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos:pos + 8])
        if t == b"IDAT":
            body = pos + 8
            data[body + n - 1] ^= 0xff  # the last byte of the zlib checksum
            crc = zlib.crc32(bytes(data[pos + 4:body + n])) & 0xffffffff
            data[body + n:body + n + 4] = struct.pack(">I", crc)
        pos += 12 + n
    bad = path("tall-bad.png")
    with open(bad, "wb") as f:
        f.write(bytes(data))
    for jobs in ("1", "2"):
        rc, _, err = run("-j", jobs, "-k", "[[1]]", "--padding", "valid", "--stride", "100", good,
                         path("tall-out.png"))
        assert rc == 0, (jobs, err)
        rc, _, err = run("-j", jobs, "-k", "[[1]]", "--padding", "valid", "--stride", "100", bad,
                         path("tall-bad-out.png"))
        assert rc == 1, (jobs, rc, err)
        harness.one_error_line(err, "cnnfilter: %s: " % bad)
        assert not os.path.exists(path("tall-bad-out.png"))


# ----------------------------------------------------------- contract points


def a_bank_with_combine_none_writes_each_size_as_it_is():
    src = os.path.join(SAMPLES, "shapes.png")
    h, w = png_px(src).shape[:2]
    rc, _, err = run("-k", "[[1,1]]", "-k", "box", "--padding", "valid", src, path("sz{index}.png"))
    assert rc == 0, err
    assert png_px(path("sz0.png")).shape[:2] == (h, w - 1)
    assert png_px(path("sz1.png")).shape[:2] == (h - 2, w - 2)
    ref = cnnref.run_argv(["-k", "[[1,1]]", "--padding", "valid", src, path("ref0.png")])
    assert np.array_equal(png_px(path("sz0.png")), png_px(path("ref0.png"))) if ref == 0 else True


def sobel_prewitt_and_scharr_are_one_map_of_a_bank():
    src = os.path.join(SAMPLES, "shapes.png")
    rc, _, err = run("-k", "sobel", "-k", "box", "-k", "scharr", src, path("cb-{kernel}.png"))
    assert rc == 0, err
    for k in ("sobel", "box", "scharr"):
        rc, _, err = run("-k", k, src, path("cb-ref-%s.png" % k))
        assert rc == 0, err
        assert np.array_equal(png_px(path("cb-%s.png" % k)), png_px(path("cb-ref-%s.png" % k))), k
    rc, _, err = run("-k", "sobel", "-k", "prewitt", "--combine", "max", src, path("cb-max.png"))
    assert rc == 0, err
    a = png_px(path("cb-ref-sobel.png")).astype(int)
    rc, _, err = run("-k", "prewitt", src, path("cb-ref-prewitt.png"))
    b = png_px(path("cb-ref-prewitt.png")).astype(int)
    # max of the two magnitudes (each rounded alike: the max picks one of the two values)
    assert np.array_equal(png_px(path("cb-max.png")).astype(int), np.maximum(a, b))
    d = fresh("cb_batch")
    tiny_png(os.path.join(d, "x.png"), 3)
    rc, _, err = run("-k", "sobel", "-k", "box", "-o", path("cb_out"), d)
    assert rc == 0, err
    assert sorted(os.listdir(path("cb_out"))) == ["x-box.png", "x-sobel.png"]


TESTS = [a_batch_never_overwrites_its_own_inputs,
         colliding_outputs_are_refused_before_anything_is_written,
         bank_kernels_with_one_name_are_refused, input_names_are_never_read_as_templates,
         closed_standard_descriptors_never_end_up_in_outputs,
         replacing_keeps_the_mode_and_refuses_read_only_outputs,
         fifos_devices_and_links_are_written_through_not_replaced,
         a_bank_that_fails_halfway_leaves_none_of_its_outputs,
         skip_existing_keeps_only_complete_outputs,
         signals_at_random_moments_leave_no_temp_file_and_only_complete_outputs,
         a_file_size_limit_is_a_write_error_with_a_message, a_full_disk_says_why_on_every_path,
         stale_temp_files_of_dead_runs_are_swept, a_fifo_named_in_a_batch_is_refused_up_front,
         usage_errors_that_need_no_input_are_reported_once,
         a_corrupt_end_of_file_fails_whatever_jobs_is,
         a_bank_with_combine_none_writes_each_size_as_it_is,
         sobel_prewitt_and_scharr_are_one_map_of_a_bank]


def main():
    return harness.run_tests("safety", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""test_batch.py - batch mode through the real binary: folders, bad files, summary, shards,
--skip-existing, -j determinism, signals, byte-stable PNGs with their tEXt record, and the
README's golden-test recipe.
"""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
SAMPLES = os.path.join(ROOT, "samples")
TMP = tempfile.mkdtemp(prefix="cnnfilter-batch-")


def path(*p):
    return os.path.join(TMP, *p)


def run(*args, cwd=None):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=cwd or TMP,
                       timeout=120)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


files_under = harness.files_under


def mixed_folder(name):
    """Good images, two corrupt PNGs, a text file named .png, a subfolder, a non-image file."""
    d = path(name)
    os.makedirs(os.path.join(d, "sub", "deeper"))
    for s in ("shapes.png", "lines.png", "digit8.png"):
        shutil.copy(os.path.join(SAMPLES, s), d)
    shutil.copy(os.path.join(SAMPLES, "texture.png"), os.path.join(d, "sub"))
    shutil.copy(os.path.join(SAMPLES, "rgba.png"), os.path.join(d, "sub", "deeper"))
    data = open(os.path.join(SAMPLES, "gradient.png"), "rb").read()
    open(os.path.join(d, "corrupt.png"), "wb").write(data[:len(data) // 2])
    open(os.path.join(d, "garbage.png"), "wb").write(b"\x89PNG\r\n\x1a\n" + b"garbage" * 5)
    open(os.path.join(d, "text.png"), "w").write("not an image\n")
    open(os.path.join(d, "notes.md"), "w").write("# notes\n")
    return d


def png_chunks(p):
    data = open(p, "rb").read()
    pos, chunks = 8, []
    while pos < len(data):
        n, t = struct.unpack(">I4s", data[pos:pos + 8])
        chunks.append((t, data[pos + 8:pos + 8 + n]))
        pos += 12 + n
    return chunks


def a_mixed_folder_reports_bad_files_and_processes_the_rest():
    src = mixed_folder("mixed")
    rc, out, err = run("-k", "sobel_v", "-o", "mixed_out", "-r", src)
    assert rc == 1, (rc, out, err)
    assert files_under(path("mixed_out")) == [
        "digit8.png", "lines.png", "shapes.png", "sub/deeper/rgba.png", "sub/texture.png"], \
        files_under(path("mixed_out"))
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert any(l.startswith("cnnfilter: %s/corrupt.png: " % src) for l in lines), err
    assert any(l.startswith("cnnfilter: %s/garbage.png: " % src) for l in lines), err
    # text.png is not an image (by its content) and notes.md not by its name: skipped
    assert re.match(r"processed 5, failed 2, skipped 2, in \d+\.\d\d s\n$", out), out
    # Each output equals the one-file run.
    rc, _, _ = run("-k", "sobel_v", os.path.join(src, "sub", "texture.png"), "single.png")
    assert rc == 0
    a = cnnref.png_read(open(path("single.png"), "rb").read())
    b = cnnref.png_read(open(path("mixed_out", "sub", "texture.png"), "rb").read())
    assert (a == b).all()
    # Without -r the subfolders are left alone.
    rc, out, _ = run("-k", "sobel_v", "-o", "flat_out", src)
    assert rc == 1 and files_under(path("flat_out")) == ["digit8.png", "lines.png", "shapes.png"]
    assert not [f for f in files_under(TMP) if ".cnnfilter-" in f]


def jobs_1_and_4_write_identical_files():
    src = mixed_folder("jobs")
    for j in ("1", "4"):
        run("-j", j, "-k", "gaussian:5:1.2", "--border", "reflect", "-o", "j" + j, "-r", src)
    files = files_under(path("j1"))
    assert files == files_under(path("j4")) and len(files) == 5
    for f in files:
        assert open(path("j1", f), "rb").read() == open(path("j4", f), "rb").read(), f


def shards_cover_the_input_exactly_once():
    src = mixed_folder("shards")
    run("-k", "box", "-o", "sh_all", "-r", src)
    parts = []
    for k in range(3):
        run("-k", "box", "-o", "sh%d" % k, "-r", "--shard", "%d/3" % k, src)
        parts.append(files_under(path("sh%d" % k)) if os.path.exists(path("sh%d" % k)) else [])
    every = sorted(f for p in parts for f in p)
    assert every == files_under(path("sh_all")) and len(every) == 5, parts
    rc, _, err = run("-k", "box", "-o", "x", "--shard", "3/3", src)
    assert rc == 2 and err.startswith("cnnfilter: --shard: ")


def skip_existing_skips_and_resumes():
    src = mixed_folder("resume")
    os.makedirs(path("resume_out"))
    # A photo cnnfilter did not write where an output goes: refused before anything is written.
    shutil.copy(os.path.join(SAMPLES, "gradient.png"), path("resume_out", "lines.png"))
    rc, out, err = run("-k", "identity", "-o", "resume_out", "--skip-existing", src)
    assert rc == 2, (rc, out, err)
    assert "resume_out/lines.png: exists and is an image cnnfilter did not write" in err, err
    assert files_under(path("resume_out")) == ["lines.png"]
    assert open(path("resume_out", "lines.png"), "rb").read() == \
        open(os.path.join(SAMPLES, "gradient.png"), "rb").read()
    # -f replaces it; then a rerun with the same options keeps every output.
    rc, out, err = run("-k", "identity", "-f", "-o", "resume_out", "--skip-existing", src)
    assert rc == 1 and re.match(r"processed 3, failed 2, skipped 2, ", out), (out, err)
    assert (cnnref.png_read(open(path("resume_out", "lines.png"), "rb").read()) ==
            cnnref.png_read(open(os.path.join(SAMPLES, "lines.png"), "rb").read())).all()
    before = {f: open(path("resume_out", f), "rb").read() for f in files_under(path("resume_out"))}
    rc, out, err = run("-k", "identity", "-o", "resume_out", "--skip-existing", src)
    assert rc == 1 and re.match(r"processed 0, failed 2, skipped 5, ", out), (out, err)
    # Other options: the outputs record theirs, so they are made again (-v says why).
    rc, out, err = run("-v", "-k", "box", "-o", "resume_out", "--skip-existing", src)
    assert rc == 1 and re.match(r"processed 3, failed 2, skipped 2, ", out), (out, err)
    assert err.count("made with other options or another version") == 3, err
    after = {f: open(path("resume_out", f), "rb").read() for f in files_under(path("resume_out"))}
    assert all(after[f] != before[f] for f in before)
    # A cut output of these options is made again; the complete ones are kept.
    with open(path("resume_out", "shapes.png"), "r+b") as f:
        f.truncate(300)
    rc, out, err = run("-k", "box", "-o", "resume_out", "--skip-existing", src)
    assert rc == 1 and re.match(r"processed 1, failed 2, skipped 4, ", out), (out, err)
    assert open(path("resume_out", "shapes.png"), "rb").read() == after["shapes.png"]


def output_format_and_banks_in_batch():
    src = path("fmt")
    os.makedirs(src)
    shutil.copy(os.path.join(SAMPLES, "digit8.png"), src)
    rc, out, err = run("-k", "sobel_v", "-k", "sobel_h", "--output-format", "npy", "-o", "fo", src)
    assert rc == 0, err
    assert files_under(path("fo")) == ["digit8-sobel_h.npy", "digit8-sobel_v.npy"]
    rc, out, err = run("--pipeline", os.path.join(ROOT, "kernels", "edges.json"), "-o", "fe", src)
    assert rc == 0, err
    assert files_under(path("fe")) == ["digit8-map%d.png" % i for i in range(4)]


def png_output_is_byte_stable_and_records_its_options():
    rc, _, err = run("-k", "sobel_v", "--map", "abs", "--border", "reflect",
                     os.path.join(SAMPLES, "shapes.png"), "stable1.png")
    assert rc == 0, err
    time.sleep(1.1)
    run("-k", "sobel_v", "--map", "abs", "--border", "reflect", "-j", "1",
        os.path.join(SAMPLES, "shapes.png"), "stable2.png")
    assert open(path("stable1.png"), "rb").read() == open(path("stable2.png"), "rb").read()
    text = {t: b for t, b in ((b.split(b"\0")[0], b.split(b"\0", 1)[1])
                              for t, b in png_chunks(path("stable1.png")) if t == b"tEXt")}
    assert text[b"Software"].startswith(b"cnnfilter ")
    assert re.fullmatch(rb"cnnfilter \d+\.\d+\.\d+ --kernel sobel_v --map abs --border reflect",
                        text[b"Comment"]), text
    if shutil.which("identify") and os.path.exists("/usr/bin/identify"):
        r = subprocess.run(["/usr/bin/identify", "-verbose", path("stable1.png")],
                           capture_output=True, timeout=60)
        assert re.search(rb"cnnfilter \d+\.\d+\.\d+ --kernel sobel_v", r.stdout), r.stdout


def sigint_mid_batch_leaves_no_partial_files():
    src = path("many")
    os.makedirs(src)
    for i in range(300):
        shutil.copy(os.path.join(SAMPLES, "shapes.png"), os.path.join(src, "s%03d.png" % i))
    # --portable and a large box keep the batch slow enough to be interrupted.
    p = subprocess.Popen([BIN, "-j", "2", "--portable", "-k", "box:25", "-o", "many_out", src], cwd=TMP,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    assert p.returncode != 0
    left = files_under(path("many_out")) if os.path.exists(path("many_out")) else []
    assert not [f for f in left if f.startswith(".cnnfilter-")], left
    assert len(left) < 300, "the batch finished before the signal; nothing was tested"
    for f in left:  # every file that exists is complete
        cnnref.png_read(open(path("many_out", f), "rb").read())


def the_readme_golden_recipe_works():
    text = open(os.path.join(ROOT, "README.md")).read()
    block = re.search(r"<!-- golden-recipe -->\n```sh\n(.*?)```", text, re.S)
    assert block, "README has no golden-recipe block"
    work = path("recipe")
    os.makedirs(os.path.join(work, "images"))
    for s in ("shapes.png", "lines.png"):
        shutil.copy(os.path.join(SAMPLES, s), os.path.join(work, "images"))
    os.makedirs(os.path.join(work, "bin"))
    os.symlink(BIN, os.path.join(work, "bin", "cnnfilter"))
    env = dict(os.environ, PATH=os.path.join(work, "bin") + os.pathsep + os.environ["PATH"])
    script = block.group(1)
    r = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    assert os.path.exists(os.path.join(work, "golden", "shapes.png"))
    with open(os.path.join(work, "compare.json")) as f:
        report = json.load(f)
    assert report["status"] == "same" and report["same"] == 2, report
    assert not os.path.exists(os.path.join(work, "diffs"))   # nothing differed
    # A changed golden pixel makes the CI step fail, names that pair only and leaves its
    # difference image, red at that pixel.
    g = os.path.join(work, "golden", "lines.png")
    with open(g, "rb") as f:
        px = cnnref.png_read(f.read())
    px[3, 4, 0] = 255 - px[3, 4, 0]
    with open(g, "wb") as f:
        f.write(cnnref.png_write(px))
    lines = script.splitlines()
    step2 = lines[lines.index("rm -rf actual diffs"):][:3]
    assert step2[2].startswith("cnnfilter compare golden actual --diff diffs"), step2
    r = subprocess.run(["bash", "-c", " && ".join(step2)], cwd=work, env=env,
                       capture_output=True, timeout=120)
    assert r.returncode == 1, r
    out = r.stdout.decode().splitlines()
    assert len(out) == 1 and out[0].startswith("golden/lines.png actual/lines.png: max difference"), out
    diffs = os.listdir(os.path.join(work, "diffs"))
    assert diffs == ["lines.png"], diffs
    with open(os.path.join(work, "diffs", "lines.png"), "rb") as f:
        d = cnnref.png_read(f.read())
    red = (d[:, :, 0] == 255) & (d[:, :, 1] == 0) & (d[:, :, 2] == 0)
    assert red.sum() == 1 and red[3, 4], red.sum()


def the_progress_bar_shows_no_rate_before_a_file_is_done_and_errors_start_their_lines():
    d = mixed_folder("progress")
    for j in ("1", "2"):
        rc, _, err = run("-k", "sobel", "-r", "-j", j, "--progress", "always", "-o",
                         path("progress-out-" + j), d)
        assert rc == 1, err
        # every error begins its line: after the bar's last redraw on that line, a message
        # starts (the bar is blanked with spaces first), never glued after "ETA n s"
        errors = [line for line in err.split("\n") if "corrupt.png" in line or "garbage.png" in line]
        assert len(errors) == 2, err
        for line in errors:
            tail = line.split("\r")[-1]
            assert tail.startswith("cnnfilter: "), repr(line)
            assert "files" not in tail, repr(line)
        # a bar drawn before any file is done has no rate (when a file is done before the
        # first draw, there is none such)
        for bar in err.split("\r"):
            if bar.startswith("cnnfilter: 0/"):
                assert "files/s" not in bar and "ETA" not in bar, repr(err)
        assert err.rstrip("\n").split("\r")[-1].startswith("cnnfilter: 7/7 files, "), repr(err)


def photo_folder(name):
    """Photos beside what real folders hold: a README, YOLO labels, a JSON sidecar, a text file
    named .png, and a subfolder with a photo of the same name."""
    d = path(name)
    os.makedirs(os.path.join(d, "labels"))
    os.makedirs(os.path.join(d, "sub"))
    shutil.copy(os.path.join(SAMPLES, "shapes.png"), os.path.join(d, "img.png"))
    subprocess.run(["convert", os.path.join(SAMPLES, "lines.png"), os.path.join(d, "beach.jpg")],
                   check=True)
    shutil.copy(os.path.join(SAMPLES, "texture.png"), os.path.join(d, "sub", "img.png"))
    open(os.path.join(d, "README.txt"), "w").write("holiday photos\n")
    open(os.path.join(d, "labels", "img.txt"), "w").write("0 0.5 0.5 0.2 0.1\n1 0.3 0.3 0.1 0.1\n")
    open(os.path.join(d, "beach.json"), "w").write('{"camera": "x", "iso": 100}\n')
    open(os.path.join(d, "fake.png"), "w").write("0 1\n1 0\n")
    return d


def a_photo_folder_gives_photos_only_and_names_what_it_skips():
    d = photo_folder("photos")
    rc, out, err = run("-k", "sobel", "-r", "-o", "photos_out", d)
    assert rc == 0, err
    assert err == "", err
    assert files_under(path("photos_out")) == ["beach.png", "img.png", "sub/img.png"]
    assert re.match(r"processed 3, failed 0, skipped 4, ", out), out
    rc, out, err = run("-v", "-k", "sobel", "-r", "-o", "photos_out_v", d)
    assert rc == 0, err
    skipped = sorted(l.split(": ")[1] for l in err.splitlines() if ": skipped: " in l)
    assert skipped == sorted(os.path.join(d, f) for f in (
        "README.txt", "beach.json", "fake.png", "labels/img.txt")), err
    assert "fake.png: skipped: not an image (its content" in err, err
    # The labels as inputs: selected by a glob (a path glob matches under the folder), and
    # a named file is taken whatever it is.
    rc, out, err = run("-k", "identity", "-r", "--include", "labels/*.txt", "--output-format",
                       "npy", "-o", "labels_out", d)
    assert rc == 0, err
    assert files_under(path("labels_out")) == ["beach.npy", "img.npy", "labels/img.npy",
                                                "sub/img.npy"], files_under(path("labels_out"))
    a = np.load(path("labels_out", "labels", "img.npy"))
    assert a.shape == (1, 2, 5) and abs(a[0, 0, 3] - 0.2) < 1e-7
    rc, out, err = run("-k", "identity", "-o", "named_out", os.path.join(d, "README.txt"))
    assert rc == 1 and "README.txt:" in err, (rc, err)
    # --exclude: by name, and a folder it matches is not descended into.
    rc, out, err = run("-k", "sobel", "-r", "--exclude", "*.jpg", "--exclude", "sub", "-o",
                       "excl_out", d)
    assert rc == 0, err
    assert files_under(path("excl_out")) == ["img.png"], files_under(path("excl_out"))
    rc, _, err = run("-k", "sobel", "--include", "*.txt", path("photos", "img.png"), "x.png")
    assert rc == 2 and err.startswith("cnnfilter: --include: is for batch mode"), err


def the_output_folder_is_never_read_as_input():
    d = photo_folder("rerun")
    for _ in range(2):
        rc, out, err = run("-k", "sobel", "-r", "-o", "out", ".", cwd=d)
        assert rc == 0 and re.match(r"processed 3, ", out), (out, err)
    assert files_under(os.path.join(d, "out")) == ["beach.png", "img.png", "sub/img.png"]
    rc, out, err = run("-k", "sobel", "-o", d, d)
    assert rc == 2 and "the output folder is the input folder" in err, err


def files_from_a_list_keep_their_folders_with_base():
    d = photo_folder("listed")
    os.makedirs(os.path.join(d, "two words"))
    shutil.copy(os.path.join(SAMPLES, "digit8.png"), os.path.join(d, "two words", "a\nb.png"))
    names = ["img.png", "sub/img.png", "two words/a\nb.png"]
    # newline-separated (as find prints): two img.png would collide without --base
    listing = "".join(os.path.join(d, n) + "\n" for n in names[:2])
    r = subprocess.run([BIN, "-k", "box", "--files-from", "-", "-o", path("list_flat")],
                       input=listing.encode(), capture_output=True, cwd=TMP, timeout=60)
    assert r.returncode == 2 and b"--base" in r.stderr, r.stderr
    assert not os.path.exists(path("list_flat"))
    r = subprocess.run([BIN, "-k", "box", "--files-from", "-", "--base", d, "-o",
                        path("list_base")], input=listing.encode(), capture_output=True, cwd=TMP,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert files_under(path("list_base")) == ["img.png", "sub/img.png"]
    # NUL-separated (find -print0): any name, a newline included; relative paths from cwd
    with open(path("list0"), "wb") as f:
        f.write(b"".join(n.encode() + b"\0" for n in names))
    rc, out, err = run("-k", "box", "--files-from", path("list0"), "-0", "--base", ".", "-o",
                       path("list_nul"), cwd=d)
    assert rc == 0, err
    assert files_under(path("list_nul")) == sorted(["img.png", "sub/img.png", "two words/a\nb.png"])
    want = cnnref.png_read(open(os.path.join(d, "two words", "a\nb.png"), "rb").read())
    got = cnnref.png_read(open(path("list_nul", "two words", "a\nb.png"), "rb").read())
    assert got.shape == want.shape
    # a listed file outside --base is an error of that file; the others are done
    rc, out, err = run("-k", "box", "--files-from", path("list0"), "-0", "--base", "sub", "-o",
                       path("list_out_of_base"), cwd=d)
    assert rc == 1 and "is not under the --base folder" in err, err
    assert files_under(path("list_out_of_base")) == ["img.png"]
    rc, _, err = run("-k", "box", "-0", "-o", "x", d)
    assert rc == 2 and err.startswith("cnnfilter: --null: "), err
    # an empty list is an empty batch
    rc, out, err = run("-k", "box", "--files-from", "/dev/null", "-o", path("list_empty"))
    assert rc == 0 and re.match(r"processed 0, failed 0, skipped 0, ", out), (rc, out, err)


def zero_rgb_png(p, w, h):
    raw = b"".join(b"\0" + bytes(w * 3) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def max_memory_is_shared_by_the_files_of_a_batch():
    d = path("mem_batch")
    os.makedirs(d)
    for i in range(4):
        zero_rgb_png(os.path.join(d, "m%d.png" % i), 2000, 2000)
    # --map normalize holds each result whole (about 92 MiB with its encoding): four at once
    # would pass 256M; sharing the limit, they run fewer at a time and all succeed.
    rc, out, err, peak = harness.run_peak([BIN, "-j", "4", "-k", "box", "--map", "normalize",
                                           "--max-memory", "256M", "-o", path("mem_out"), d], TMP)
    out = out.decode()
    assert rc == 0, err
    assert re.match(r"processed 4, failed 0, ", out), out
    if not os.environ.get("CNNFILTER_ASAN"):   # ASan keeps freed memory in quarantine
        assert peak < (256 + 64) * 1024, peak
    # One file over the limit on its own is refused, the estimate named.
    rc, out, err = run("-k", "box", "--map", "normalize", "--max-memory", "64M",
                       os.path.join(d, "m0.png"), path("m0_out.png"))
    assert rc == 1, err
    assert "the result held whole (--map normalize needs its range first)" in err, err
    assert "--max-memory" in err and not os.path.exists(path("m0_out.png")), err


TESTS = [max_memory_is_shared_by_the_files_of_a_batch,
         a_photo_folder_gives_photos_only_and_names_what_it_skips,
         the_output_folder_is_never_read_as_input, files_from_a_list_keep_their_folders_with_base,
         a_mixed_folder_reports_bad_files_and_processes_the_rest,
         jobs_1_and_4_write_identical_files, shards_cover_the_input_exactly_once,
         skip_existing_skips_and_resumes, output_format_and_banks_in_batch,
         png_output_is_byte_stable_and_records_its_options,
         sigint_mid_batch_leaves_no_partial_files, the_readme_golden_recipe_works,
         the_progress_bar_shows_no_rate_before_a_file_is_done_and_errors_start_their_lines]


def main():
    return harness.run_tests("batch", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

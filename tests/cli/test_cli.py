#!/usr/bin/env python3
"""test_cli.py - runs the real cnnfilter binary: exit codes, stdout, stderr, output pixels.

Each test is a function named like a sentence.  Output images are compared by
decoded pixels (tests/ref/cnnref.py has an independent PNG reader), never by
bytes.  The binary comes from $CNNFILTER_BIN (default: build/cnnfilter).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-cli-")
SAMPLES = os.path.join(ROOT, "samples")
# Under ASan (freed memory kept in quarantine) or valgrind (make valgrind) a peak RSS is the
# checker's as much as the program's.
CHECKER = bool(os.environ.get("CNNFILTER_ASAN") or os.environ.get("CNNFILTER_REAL_BIN"))


def path(name):
    return os.path.join(TMP, name)


def write(name, data):
    p = path(name)
    with open(p, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return p


def run(*args, stdin=None, cwd=None):
    r = subprocess.run([BIN] + [str(a) for a in args], input=stdin, capture_output=True,
                       cwd=cwd or TMP, timeout=60)
    return r.returncode, r.stdout, r.stderr.decode("utf-8", "replace")


def png(p):
    with open(p, "rb") as f:
        return cnnref.png_read(f.read())


def txt(p):
    with open(p) as f:
        return f.read()


one_error_line = harness.one_error_line


def no_temp_files(d=None):
    harness.assert_no_temp_files(d or TMP)


def rgba_png(name, h=6, w=7, seed=1):
    rng = np.random.default_rng(seed)
    px = rng.integers(0, 256, size=(h, w, 4), dtype=np.uint8)
    p = write(name, cnnref.png_write(px))
    return p, px


def idle_peak():
    """The peak RSS (KiB) of a run that allocates nothing, as run_peak measures it here (a
    child may count pages of this process from before it started)."""
    return harness.run_peak([BIN, "--version"], TMP)[3]


# --------------------------------------------------------------------------- tests

def help_and_version_go_to_stdout_and_exit_0():
    rc, out, err = run("--help")
    assert rc == 0 and b"Usage: cnnfilter" in out and err == ""
    for flag in (b"--kernel", b"--padding", b"--border", b"--stride", b"--dilation", b"--flip",
                 b"--channels", b"--alpha", b"--scale", b"--bias", b"--map", b"--max-pixels"):
        assert flag in out, flag
    rc, out, err = run("--version")
    assert rc == 0 and re.match(rb"cnnfilter \d+\.\d+\.\d+\n$", out)


def kernels_lists_every_builtin_of_the_spec_one_per_line():
    rc, out, err = run("kernels")
    assert rc == 0
    names = [l.split()[0] for l in out.decode().splitlines()]
    for n in ("identity", "sobel_v", "sobel_h", "prewitt_v", "prewitt_h", "scharr_v", "scharr_h",
              "edge_v", "edge_h", "laplacian", "laplacian8", "sharpen", "emboss", "box",
              "gaussian", "line_v", "line_h", "line_diag", "line_anti", "frame", "sobel",
              "prewitt", "scharr"):
        assert n in names, n
    assert all(len(l.split()) > 1 for l in out.decode().splitlines()), "every line has a description"


def complete_gives_the_words_of_every_command_from_its_option_table():
    def words(*what):
        rc, out, err = run("complete", *what)
        return rc, out.decode().split()
    assert words("commands") == (0, ["kernels", "show-kernel", "compare", "train", "predict",
                                     "learn", "help"])
    assert words("--border") == (0, ["zero", "replicate", "reflect", "mirror", "wrap"])
    rc, opts = words("train-options")
    assert rc == 0 and {"--pipeline", "-o", "--optimizer", "--val-labels", "-q"} <= set(opts)
    rc, valued = words("train-options-with-values")
    assert rc == 0 and "--optimizer" in valued and "-q" not in valued and "--no-shuffle" not in valued
    assert words("train", "--optimizer") == (0, ["sgd", "adam"])
    assert words("train", "--loss") == (0, ["cross_entropy", "mse"])
    assert words("learn", "--padding") == (0, ["valid", "same"])
    assert words("predict", "--top") == (0, [])
    assert words("compare", "--tolerance") == (0, [])
    assert words("train", "--no-shuffle")[0] == 1 and words("train", "--border")[0] == 1
    assert words("compare-options") == (0, ["--tolerance", "--max-share", "--min-psnr", "--diff",
                                            "--diff-format", "--json", "--tsv", "-q", "--quiet",
                                            "-s", "--silent", "--max-pixels", "--max-memory",
                                            "-h", "--help"])
    assert words("compare", "--diff-format") == (0, ["png", "jpg", "tif", "webp", "bmp", "tga",
                                                     "pnm", "npy", "txt", "json"])
    assert words("compare", "--json")[0] == 1
    for bad in (["nonsense"], ["kernels", "--x"], []):
        rc, out, err = run("complete", *bad)
        assert rc == 2 and not out, bad
        one_error_line(err, "cnnfilter: ")


def near_misses_get_a_did_you_mean_and_help_takes_a_command():
    shapes = os.path.join(ROOT, "samples", "shapes.png")
    cases = [
        (["-k", "sobell", shapes, "o.png"], "unknown kernel 'sobell' (did you mean 'sobel'?)"),
        (["-k", "Sobel", shapes, "o.png"], "(did you mean 'sobel'?)"),
        (["-k", "sobel_x", shapes, "o.png"], "(did you mean 'sobel_v' or 'sobel_h'?)"),
        (["-k", "gausian:7", shapes, "o.png"], "(did you mean 'gaussian:7'?)"),
        (["--kernal", "sobel", shapes, "o.png"], "--kernal: unknown option (did you mean "
                                                 "'--kernel'?)"),
        (["train", "--jbos", "2"], "--jbos: not an option of train (did you mean '--jobs'?)"),
        (["show-kernels", "sobel"], "show-kernels: unknown command (did you mean "
                                    "'show-kernel'?)"),
        (["prdict", "x"], "prdict: unknown command (did you mean 'predict'?)"),
        (["help", "trian"], "trian: unknown command (did you mean 'train'?)"),
    ]
    for args, msg in cases:
        rc, out, err = run(*args)
        assert rc == 2 and not out, (args, rc, err)
        one_error_line(err, "cnnfilter: ")
        assert msg in err, (args, err)
        assert not os.path.exists(path("o.png"))
    # far from every name: no suggestion
    rc, _, err = run("-k", "xyzzy", shapes, "o.png")
    assert rc == 2 and "did you mean" not in err, err
    # help and help COMMAND print the same as --help
    for args, same in ((["help"], ["--help"]), (["help", "train"], ["train", "--help"])):
        rc, out, err = run(*args)
        rc2, out2, _ = run(*same)
        assert rc == rc2 == 0 and out == out2 and out.startswith(b"Usage: cnnfilter"), (args, err)
    # a file named like a command is still an input
    write("prdict", "1 2\n3 4\n")
    rc, _, err = run("prdict", "p.txt", "-k", "identity")
    assert rc == 0 and txt(path("p.txt")) == "1 2\n3 4\n", err


def first_hour_mistakes_get_a_message_that_says_what_to_do():
    shapes = os.path.join(ROOT, "samples", "shapes.png")
    os.makedirs(path("somephotos"), exist_ok=True)
    cases = [
        # a folder as INPUT without -o: exit 1 as any unreadable input, saying to use -o DIR
        (["-k", "sobel", "somephotos", "o.png"], 1,
         "cnnfilter: somephotos: is a folder: give -o DIR to filter the images in it"),
        # -o with an image name that does not exist: OUTPUT was meant, no folder is made
        (["-k", "sobel", "-o", "out.png", shapes], 2,
         "cnnfilter: -o: 'out.png' looks like an output file, but -o names the folder"),
        # batch-only options in the one-file form
        (["-k", "sobel", "--shard", "0/2", shapes, "o.png"], 2,
         "cnnfilter: --shard: is for batch mode: give -o DIR"),
        (["-k", "sobel", "-r", shapes, "o.png"], 2,
         "cnnfilter: --recursive: is for batch mode: give -o DIR"),
        (["-k", "sobel", "--skip-existing", shapes, "o.png"], 2,
         "cnnfilter: --skip-existing: is for batch mode: give -o DIR"),
        # an output folder that does not exist
        (["-k", "sobel", shapes, "nodir/o.png"], 1,
         "cnnfilter: nodir/o.png: the folder 'nodir' does not exist"),
        # an image given as a kernel
        (["-k", shapes, shapes, "o.png"], 2, "cnnfilter: %s: is an image, not a kernel: a "
                                             "kernel is a built-in name, an inline matrix" % shapes),
    ]
    for args, code, msg in cases:
        rc, out, err = run(*args)
        assert rc == code and not out, (args, rc, err)
        one_error_line(err, msg)
        assert not os.path.exists(path("o.png")) and not os.path.exists(path("out.png")), args
    no_temp_files()
    # --map where it does nothing: one warning line (none with -q), and the exact values
    rc, _, err = run("-k", "identity", "--map", "abs", shapes, "m.npy")
    assert rc == 0, err
    one_error_line(err, "cnnfilter: --map: has no effect on .npy output, which holds the exact")
    rc, _, err = run("-q", "-k", "identity", "--map", "abs", shapes, "m2.npy")
    assert rc == 0 and err == "", err
    assert open(path("m.npy"), "rb").read() == open(path("m2.npy"), "rb").read()


def show_kernel_prints_weights_sum_size_and_separability():
    rc, out, err = run("show-kernel", "sobel_v")
    o = out.decode()
    assert rc == 0, err
    assert "-1  0  1\n" in o and "-2  0  2\n" in o
    assert "size: 3 x 3" in o and "sum: 0" in o and "separable: yes, column [1 2 1] x row [-1 0 1]" in o
    rc, out, err = run("show-kernel", "box:5")
    assert rc == 0 and "divisor: 25" in out.decode() and "sum: 1 " in out.decode()
    rc, out, err = run("show-kernel", "laplacian")
    assert "separable: no" in out.decode()
    rc, out, err = run("show-kernel", "sobel")
    assert rc == 0 and "sobel_v" in out.decode() and "sobel_h" in out.decode()
    rc, out, err = run("show-kernel", "box:0")
    assert rc == 2
    one_error_line(err, "cnnfilter: --kernel: ")


def seed_worked_examples_come_out_exactly():
    write("s1.json", "[[0,3,6,9],[1,4,7,10],[2,5,8,11],[3,6,9,12]]")
    rc, _, err = run("-k", "[[0,1,0],[0,1,0],[0,1,0]]", "--padding", "valid", "s1.json", "o1.txt")
    assert rc == 0, err
    assert txt(path("o1.txt")) == "12 21\n15 24\n"
    write("s2.txt", "0 3 6 9\n1 4 7 10\n2 5 8 11\n")
    rc, _, err = run("--pool", "max", "--pool-size", "2", "--pool-stride", "1", "s2.txt", "o2.npy")
    assert rc == 0, err
    assert np.load(path("o2.npy")).tolist() == [[[4, 7, 10], [5, 8, 11]]]
    write("s3.csv", "1,2,3\n4,5,6\n7,8,9\n")
    rc, _, err = run("-k", "[[1,0],[0,-1]]", "--padding", "valid", "s3.csv", "o3.json")
    assert rc == 0, err
    assert json.load(open(path("o3.json"))) == [[-4, -4], [-4, -4]]
    write("s4.json", "[1,2,3,4,5]")
    rc, _, err = run("-k", "[1,0,-1]", "--padding", "valid", "s4.json", "o4.txt")
    assert rc == 0 and txt(path("o4.txt")) == "-2 -2 -2\n", err
    write("s5.txt", "0 1 1 1 0\n0 1 0 1 0\n0 1 1 1 0\n0 1 0 1 0\n0 1 1 1 0\n")
    k = "[[0,0,0],[0,0,0],[1,0,1]]"
    rc, _, err = run("-k", k, "--padding", "valid", "s5.txt", "o5.txt")
    assert rc == 0 and txt(path("o5.txt")) == "1 2 1\n0 2 0\n1 2 1\n", err
    rc, _, err = run("-k", k, "--padding", "valid", "--activation", "relu", "--pool", "max",
                     "--ceil", "s5.txt", "o6.npy")
    assert rc == 0, err
    assert np.load(path("o6.npy")).tolist() == [[[2, 1], [2, 1]]]


def default_border_leaves_no_frame_on_a_constant_image():
    # An edge filter on a flat photo: replicate padding (the default) sees no edge anywhere;
    # zero padding (the seeds', CNN frameworks') sees a step at every side: a white frame.
    p = write("flat.png", cnnref.png_write(np.full((9, 11, 1), 120, np.uint8)))
    zeros = {}
    for spec, frame in (("sobel", 360.0 * 2 ** 0.5), ("laplacian", 240.0), ("box", 120.0 * 5 / 9)):
        rc, _, err = run("-k", spec, p, "flat_def.npy")
        assert rc == 0, err
        a = np.load(path("flat_def.npy"))
        want = 120.0 if spec == "box" else 0.0
        assert (a == want).all(), (spec, a)
        rc, _, err = run("-k", spec, "--border", "zero", p, "flat_zero.npy")
        assert rc == 0, err
        z = np.load(path("flat_zero.npy"))[0]
        inner = z[1:-1, 1:-1]
        assert (inner == want).all(), (spec, z)
        # the frame: every border cell differs from the inside, a corner by the stated amount
        ring = np.concatenate([z[0], z[-1], z[:, 0], z[:, -1]])
        assert (ring != want).all(), (spec, z)
        assert abs(abs(z[0, 0] - want) - frame) < 1e-3, (spec, z[0, 0])
        zeros[spec] = z
    # A pipeline file keeps zero padding: the frame is there without --border.
    write("flat_pipe.json", '{"layers": [{"type": "conv", "kernels": ["laplacian"]}]}')
    rc, _, err = run("--pipeline", "flat_pipe.json", p, "flat_pipe.npy")
    assert rc == 0, err
    assert (np.load(path("flat_pipe.npy"))[0] == zeros["laplacian"]).all()


def a_photo_cnnfilter_did_not_write_is_not_replaced_without_force():
    # The glob mistake: `cnnfilter -k sobel *.jpg` with two photos names the second as OUTPUT.
    for name, src in (("g1.jpg", "shapes.png"), ("g2.jpg", "lines.png")):
        subprocess.run(["convert", os.path.join(SAMPLES, src), path(name)], check=True)
    photo = open(path("g2.jpg"), "rb").read()
    rc, _, err = run("-k", "sobel", "g1.jpg", "g2.jpg")
    assert rc == 2, err
    one_error_line(err, "cnnfilter: g2.jpg: exists and is an image cnnfilter did not write")
    assert "-f" in err
    assert open(path("g2.jpg"), "rb").read() == photo
    no_temp_files()
    # A foreign PNG, TIFF or WebP (as made by ImageMagick) is refused the same way.
    for ext in ("png", "tif", "webp"):
        subprocess.run(["convert", os.path.join(SAMPLES, "lines.png"), path("f." + ext)], check=True)
        before = open(path("f." + ext), "rb").read()
        rc, _, err = run("-k", "box", "g1.jpg", "f." + ext)
        assert rc == 2 and "f.%s: exists and is an image cnnfilter did not write" % ext in err, err
        assert open(path("f." + ext), "rb").read() == before
    # cnnfilter's own outputs are replaced: re-running a command works.
    for out in ("own.jpg", "own.png", "own.tif", "own.webp", "own.bmp"):
        for k in ("box", "sobel"):
            rc, _, err = run("-k", k, "g1.jpg", out)
            assert rc == 0, (out, err)
    # -f replaces the foreign photo; what is not an image (a text file named .png) is replaced.
    rc, _, err = run("-k", "sobel", "-f", "g1.jpg", "g2.jpg")
    assert rc == 0 and open(path("g2.jpg"), "rb").read() != photo, err
    write("text.png", "not an image\n")
    rc, _, err = run("-k", "sobel", "g1.jpg", "text.png")
    assert rc == 0, err
    assert png(path("text.png")).shape == (256, 256, 3)


def non_finite_results_follow_one_rule_for_writers_and_readers():
    # A float32 overflow of the result: the exact formats (whose readers, like JSON, take finite
    # values only) refuse it, naming the place; no file is left.
    write("row.txt", "0 1 2\n")
    for out in ("inf.npy", "inf.txt", "inf.json", "inf.tif"):
        extra = ["--depth", "float"] if out.endswith(".tif") else []
        rc, _, err = run("-k", "[[2e38]]", "--padding", "valid", *extra, "row.txt", out)
        assert rc == 2, (out, rc, err)
        one_error_line(err, "cnnfilter: %s: the result holds +inf at (channel 0, row 0, column 2)"
                       % out)
        assert not os.path.exists(path(out))
    no_temp_files()
    # The same values written back are read back: finite ones pass both ways.
    rc, _, err = run("-k", "[[1e38]]", "--padding", "valid", "row.txt", "big.npy")
    assert rc == 0, err
    rc, _, err = run("-k", "identity", "big.npy", "big2.txt")
    assert rc == 0 and txt(path("big2.txt")) == "0 9.99999968e+37 1.99999994e+38\n", err
    # --map normalize stretches the finite range; infinities go to the ends (+inf 255, -inf 0).
    for k, want in (("[[2e38]]", [0, 255, 255]), ("[[-2e38]]", [255, 0, 0])):
        rc, _, err = run("-k", k, "--padding", "valid", "--map", "normalize", "row.txt", "n.png")
        assert rc == 0, err
        assert png(path("n.png")).reshape(-1).tolist() == want, (k, png(path("n.png")))
    # clamp maps +inf to 255 (an 8-bit image holds the overflow as white)
    rc, _, err = run("-k", "[[2e38]]", "--padding", "valid", "row.txt", "c.png")
    assert rc == 0 and png(path("c.png")).reshape(-1).tolist() == [0, 255, 255], err
    # An underflowing number is a finite number (0 here), not an error.
    rc, _, err = run("-k", "identity", "--bias", "1e-400", "row.txt", "u.npy")
    assert rc == 0, err
    assert np.load(path("u.npy")).tolist() == [[[0, 1, 2]]]
    rc, _, err = run("-k", "identity", "--bias", "1e400", "row.txt", "u.npy")
    assert rc == 2 and "'1e400' is not a finite number" in err, err


def npy_output_loads_in_numpy_as_float32_chw():
    p, px = rgba_png("n.png")
    rc, _, err = run("-k", "identity", p, "n.npy")
    assert rc == 0, err
    a = np.load(path("n.npy"))
    assert a.dtype == np.float32 and a.shape == (4, 6, 7)
    assert (a == np.moveaxis(px, 2, 0)).all()


def each_image_format_is_written_and_decodes():
    p, px = rgba_png("f.png", seed=2)
    for ext in ("png", "bmp", "tga", "jpg"):
        rc, _, err = run("-k", "identity", p, "f_out." + ext)
        assert rc == 0, (ext, err)
        # Decode with cnnfilter itself into .npy (stb reads all four).
        rc, _, err = run("-k", "identity", "f_out." + ext, "f_back_%s.npy" % ext)
        assert rc == 0, err
        back = np.load(path("f_back_%s.npy" % ext))
        if ext == "jpg":
            assert back.shape[1:] == (6, 7)
        else:
            assert (back == np.moveaxis(px, 2, 0)).all(), ext


def rgba_channel_and_alpha_modes():
    p, px = rgba_png("c.png", h=5, w=5, seed=3)
    rc, _, err = run("-k", "identity", p, "c_auto.png")
    assert rc == 0 and (png(path("c_auto.png")) == px).all(), err
    rc, _, err = run("-k", "identity", "--alpha", "drop", p, "c_drop.png")
    assert rc == 0 and (png(path("c_drop.png")) == px[:, :, :3]).all(), err
    rc, _, err = run("-k", "[[1]]", "--channels", "sum", "--map", "normalize", p, "c_sum.npy")
    assert rc == 0, err
    a = np.load(path("c_sum.npy"))
    assert a.shape == (2, 5, 5)
    assert (a[0] == px[:, :, :3].astype(np.float64).sum(axis=2)).all()
    assert (a[1] == px[:, :, 3]).all()
    rc, _, err = run("-k", "[[1]]", "--channels", "gray", p, "c_gray.npy")
    assert rc == 0, err
    g = np.load(path("c_gray.npy"))
    expect = 0.299 * px[:, :, 0] + 0.587 * px[:, :, 1] + 0.114 * px[:, :, 2]
    assert g.shape == (2, 5, 5) and np.abs(g[0] - expect).max() < 1e-4
    rc, _, err = run("-k", "[[1]]", "--channels", "rgb", p, "c_rgb.png")
    assert rc == 0 and (png(path("c_rgb.png")) == px).all(), err
    # Alpha in a strided, valid convolution: the anchor's alpha.
    rc, _, err = run("-k", "box", "--padding", "valid", "--stride", "2", p, "c_s2.png")
    assert rc == 0, err
    out = png(path("c_s2.png"))
    assert out.shape == (2, 2, 4)
    assert (out[:, :, 3] == px[1:5:2, 1:5:2, 3]).all()


def stdin_and_stdout_carry_png():
    p, px = rgba_png("io.png", seed=4)
    data = open(p, "rb").read()
    rc, out, err = run("-k", "identity", "-", "-", stdin=data)
    assert rc == 0, err
    assert (cnnref.png_read(out) == px).all()
    rc, out, err = run("-k", "[[2]]", "--output-format", "txt", "-", "-", stdin=b"1 2\n3 4\n")
    assert rc == 0 and out == b"2 4\n6 8\n", err


def usage_errors_exit_2_with_one_line_naming_the_flag():
    src = write("u.txt", "1 2\n3 4\n")
    cases = [
        (["--bogus", src, "o.png"], "cnnfilter: --bogus: "),
        (["-k", "identity", "--stride", "0", src, "o.png"], "cnnfilter: --stride: "),
        (["-k", "identity", "--padding", "x", src, "o.png"], "cnnfilter: --padding: "),
        (["-k", "identity", "--border", "nope", src, "o.png"], "cnnfilter: --border: "),
        (["-k", "identity", "--scale", "inf", src, "o.png"], "cnnfilter: --scale: "),
        (["-k", "nosuch", src, "o.png"], "cnnfilter: --kernel: "),
        (["-k", "[[1,2],[3]]", src, "o.png"], "cnnfilter: --kernel:1:8: "),
        (["-k", "[[1,2],[3,x]]", src, "o.png"], "cnnfilter: --kernel:1:11: "),
        (["-k", "identity", src, "o.gif"], "cnnfilter: o.gif: "),
        (["-k", "identity", src], "cnnfilter: "),
        (["-k", "sobel_v", "-k", "sobel_h", src, "o.png"], "cnnfilter: o.png: "),
        (["-k", "[[[1]],[[2]]]", src, "o.npy"], "cnnfilter: --kernel: "),
        (["-k", "identity", "--channels", "gray", write("u3.txt", "1\n\n2\n"), "o.npy"],
         "cnnfilter: --channels: "),
        ([src, "o.png"], "cnnfilter: --kernel: "),
    ]
    for args, prefix in cases:
        rc, out, err = run(*args)
        assert rc == 2, (args, rc, err)
        one_error_line(err, prefix)
        assert not os.path.exists(path("o.png")) and not os.path.exists(path("o.npy"))
    no_temp_files()


def kernel_file_errors_give_file_line_and_column():
    kf = write("bad.json", '{"weights": [[1, 2],\n  [3]],\n "divisor": 2}')
    rc, _, err = run("-k", kf, write("m.txt", "1\n"), "o.txt")
    assert rc == 2
    one_error_line(err, "cnnfilter: %s:2:3: " % kf)
    kf = write("dup.json", '{"weights": [[1]], "weights": [[2]]}')
    rc, _, err = run("-k", kf, path("m.txt"), "o.txt")
    assert rc == 2 and "duplicate" in one_error_line(err, "cnnfilter: %s:1:20: " % kf)


def kernel_file_with_divisor_bias_and_flip_is_applied():
    kf = write("k.json", '{"name": "k", "weights": [[1, 2], [3, 4]], "divisor": 2, "bias": 1, "flip": true}')
    write("km.txt", "1 2\n3 4\n")
    rc, _, err = run("-k", kf, "--padding", "valid", path("km.txt"), "ko.txt")
    # flipped [[4,3],[2,1]] . [[1,2],[3,4]] = 4+6+6+4 = 20; / 2 + 1 = 11
    assert rc == 0 and txt(path("ko.txt")) == "11\n", err
    rc, _, err = run("-k", kf, "--flip", "--scale", "2", "--padding", "valid", path("km.txt"), "ko.txt")
    # flipped twice = [[1,2],[3,4]]: 1+4+9+16 = 30; * 2 / 2 + 1 = 31
    assert rc == 0 and txt(path("ko.txt")) == "31\n", err


def runtime_failures_exit_1_and_leave_no_output():
    good = write("g.txt", "1 2\n3 4\n")
    write("notpng.png", "this is text\n")
    write("trunc.png", open(os.path.join(SAMPLES, "shapes.png"), "rb").read()[:200])
    os.makedirs(path("adir"), exist_ok=True)
    cases = [
        (["-k", "identity", "missing.png", "o.png"], "cnnfilter: missing.png: "),
        (["-k", "identity", "notpng.png", "o.png"], "cnnfilter: notpng.png: "),
        (["-k", "identity", "trunc.png", "o.png"], "cnnfilter: trunc.png: "),
        (["-k", "identity", "adir", "o.png"], "cnnfilter: adir: "),
        (["-k", "box:5", "--padding", "valid", good, "o.png"], "cnnfilter: %s: " % good),
        (["-k", "identity", "--max-pixels", "3", good, "o.png"], "cnnfilter: %s: " % good),
        (["-k", "identity", "--max-memory", "1K", good, "o.png"], "cnnfilter: %s: " % good),
        (["-k", "identity", good, "nodir/o.png"], "cnnfilter: nodir/o.png: "),
        (["-k", "identity", "--max-memory", "16M", "/dev/zero", "o.png"], "cnnfilter: /dev/zero: "),
    ]
    for args, prefix in cases:
        rc, _, err = run(*args)
        assert rc == 1, (args, rc, err)
        one_error_line(err, prefix)
        assert not os.path.exists(path("o.png"))
    # A kernel or pipeline "file" that never ends stops at the 4 MiB JSON limit (exit 2).
    for flag in ("-k", "--pipeline"):
        rc, _, err = run(flag, "/dev/zero", good, "o.png")
        assert rc == 2, (flag, rc, err)
        one_error_line(err, "cnnfilter: /dev/zero: ")
        assert "4194304 bytes" in err, err
    no_temp_files()


def a_bad_png_header_fails_before_the_file_is_read_whole():
    # A PNG signature and then 300 MB of zeros (a sparse file): the first bytes decide.
    p = path("huge_zeros.png")
    with open(p, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(300 * 1024 * 1024)
    try:
        rc, _, err, peak = harness.run_peak([BIN, "-k", "identity", p, path("hz.png")], TMP)
        assert rc == 1, err
        one_error_line(err, "cnnfilter: %s: corrupt PNG (invalid IHDR chunk size)" % p)
        assert peak < 150 * 1024, peak  # KiB: never the 300 MB
    finally:
        os.unlink(p)


def a_pipeline_whose_kernel_tables_exceed_the_limit_is_refused_before_building():
    # Two layers of 64 x box:255: 63.5 MiB of weights, within 64M; the second layer reads 64
    # maps, 4 GiB of tap tables.  The plan is checked dry first, so a run is refused having
    # built no table (not even the first layer's 63.5 MiB, which it built before: 133 MiB).
    # --explain describes the plan, says a run is refused and warns, and exits 0.
    k = ["box:255"] * 64
    write("wide_pipe.json", json.dumps({"layers": [{"type": "conv", "kernels": k},
                                                   {"type": "conv", "kernels": k}]}))
    src = os.path.join(SAMPLES, "digit8.png")
    args = [BIN, "--max-memory", "64M", "--pipeline", "wide_pipe.json", src]
    idle = idle_peak()
    rc, _, err, peak = harness.run_peak(args + ["wp.png"], TMP)
    assert rc == 1, err
    one_error_line(err, "cnnfilter: wide_pipe.json:1:")
    assert "layer 2 (conv): the plan's kernel tables need about 4127 MiB" in err, err
    assert "--max-memory" in err, err
    assert peak < idle + 80 * 1024, (peak, idle)  # KiB: the weights, no table
    assert not os.path.exists(path("wp.png"))
    rc, out, err, peak = harness.run_peak(args + ["--explain"], TMP)
    assert rc == 0, err
    one_error_line(err, "cnnfilter: %s: the plan is over the memory limit: a run is refused "
                        "(raise it with --max-memory)" % src)
    lines = out.decode().splitlines()
    assert lines[-4] == "parameters: 8323328 (8323200 weights + 128 biases)", lines[-4:]
    assert re.match(r"memory estimate: 4\d{3}\.\d MiB \(\d+ threads?\), over the memory limit of "
                    r"64\.0 MiB: a run is refused$", lines[-3]), lines[-3]
    assert peak < idle + 80 * 1024, (peak, idle)


def a_pipelines_weights_count_with_its_plan():
    # 40 x box:255 are 19.9 MiB of weights (8 bytes a weight, and a record each), held while
    # every file runs: with the plan's 41.9 MiB they pass 50M, though each alone does not.
    write("w40.json", json.dumps({"layers": [{"type": "conv", "kernels": ["box:255"] * 40}]}))
    src = os.path.join(SAMPLES, "digit8.png")
    rc, out, err = run("--explain", "--pipeline", "w40.json", src)
    assert rc == 0 and re.search(rb"\nmemory estimate: 41\.9 MiB", out), (out, err)
    rc, _, err = run("--max-memory", "50M", "--pipeline", "w40.json", src, "w40.npy")
    assert rc == 1, err
    one_error_line(err, "cnnfilter: %s: the kernels' weights, the input and the plan on " % src)
    assert re.search(r"need about 61 MiB, over the memory limit of 50 MiB \(raise it with "
                     r"--max-memory\)$", err.strip()), err
    assert not os.path.exists(path("w40.npy"))
    rc, _, err = run("--max-memory", "70M", "--pipeline", "w40.json", src, "w40.npy")
    assert rc == 0 and os.path.exists(path("w40.npy")), err


def built_in_specs_over_the_memory_limit_are_refused_before_any_is_made():
    # 128 x gaussian:255:50 are 63.5 MiB of weights from a few KB of text: under --max-memory
    # 32M the parser refuses the file at the spec where the count passes the limit, before it
    # makes any kernel; 256 of them (127 MiB) under 64M alike.
    idle = idle_peak()
    for n, limit, mib in ((128, "32M", 32), (256, "64M", 64)):
        text = json.dumps({"layers": [{"type": "conv", "kernels": ["gaussian:255:50"] * (n // 2)},
                                      {"type": "conv", "kernels": ["gaussian:255:50"] * (n // 2)}]},
                          indent=1)
        write("amp.json", text)
        rc, _, err, peak = harness.run_peak(
            [BIN, "--pipeline", "amp.json", "--max-memory", limit,
             os.path.join(SAMPLES, "digit8.png"), "amp.png"], TMP)
        assert rc == 1, err
        line = one_error_line(err, "cnnfilter: amp.json:")
        m = re.match(r"cnnfilter: amp\.json:(\d+):5: the pipeline's weights pass the memory limit "
                     r"of %d\.0 MiB here: its built-in kernels alone take %.1f MiB \(raise it "
                     r"with --max-memory\)$" % (mib, n * 520520 / 1048576.0), line)
        assert m, line
        # the spec where the count passes the limit: half a MiB each
        before = text.splitlines()[:int(m.group(1))]
        assert before[-1].strip().startswith('"gaussian:255:50"'), before[-1]
        k = sum(1 for ln in before if "gaussian" in ln)
        assert k == mib * 1048576 // (255 * 255 * 8 + 320) + 1, k
        assert peak < idle + 16 * 1024, (peak, idle)  # KiB: no kernel made
        assert not os.path.exists(path("amp.png"))
    # A pipeline well within the limit runs, the same pixels as the layer on the command line.
    write("small_pipe.json", json.dumps({"layers": [{"type": "conv", "kernels": ["box:3"],
                                                     "border": "replicate"}]}))
    src = os.path.join(SAMPLES, "digit8.png")
    rc, _, err = run("--pipeline", "small_pipe.json", "--max-memory", "32M", src, "sp.png")
    assert rc == 0, err
    rc, _, err = run("-k", "box:3", "--border", "replicate", src, "k.png")
    assert rc == 0, err
    a, b = png(path("sp.png")), png(path("k.png"))
    assert a.shape == b.shape and (a == b).all()


def a_kernel_file_counts_each_time_it_is_named():
    # A 255x255 kernel file of 130 KB is half a MiB of weights each time it is named: a pipeline
    # naming it 1024 times (12 KB) would hold 508 MiB; -k names it up to 64 times.
    write("k255.json", json.dumps({"weights": [[1] * 255] * 255}))
    src = os.path.join(SAMPLES, "digit8.png")
    write("names.json", json.dumps({"layers": [{"type": "conv", "kernels": ["k255.json"] * 1024}]},
                                   indent=1))
    idle = idle_peak()
    rc, _, err, peak = harness.run_peak(
        [BIN, "--pipeline", "names.json", "--max-memory", "4M", src, "kf_n.png"], TMP)
    assert rc == 1, err
    line = one_error_line(err, "cnnfilter: names.json:")
    assert re.match(r"cnnfilter: names\.json:\d+:5: the pipeline's weights pass the memory limit "
                    r"of 4\.0 MiB here: with this one they take 4\.\d MiB \(raise it with "
                    r"--max-memory\)$", line), line
    if not CHECKER:  # each name reads the file again: the checkers keep what was freed
        assert peak < idle + 24 * 1024, (peak, idle)  # KiB: up to the limit, never the 508 MiB
    args = []
    for _ in range(64):
        args += ["-k", "k255.json"]
    # 5 kernels of 255 x 255 doubles are 2.5 MiB
    rc, _, err = run(*args, "--max-memory", "2M", src, "kf_{index}.png")
    assert rc == 1, err
    one_error_line(err, "cnnfilter: --kernel: the kernels' weights take 2.5 MiB, over the memory "
                        "limit of 2.0 MiB (raise it with --max-memory)")
    assert not os.path.exists(path("kf_n.png")) and not os.path.exists(path("kf_0.png"))


def npy_conv_weights_are_counted_before_their_data_is_read():
    # (256, 64, 31, 31) float32: a 63 MB file (sparse here), 126 MB of kernels as doubles.
    p = path("w.npy")
    with open(p, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (256, 64, 31, 31)})
        f.truncate(f.tell() + 256 * 64 * 31 * 31 * 4)
    text = '{"layers": [\n  {"type": "conv", "weights": "w.npy"}]}'
    write("npy_pipe.json", text)
    idle = idle_peak()
    rc, _, err, peak = harness.run_peak(
        [BIN, "--pipeline", "npy_pipe.json", "--max-memory", "64M",
         os.path.join(SAMPLES, "digit8.png"), "w.png"], TMP)
    assert rc == 1, err
    # 256 x 64 x 31 x 31 values as doubles to keep and as float32 while they are read: 180.3 MiB
    one_error_line(err, "cnnfilter: npy_pipe.json:2:31: the pipeline's weights pass the memory "
                        "limit of 64.0 MiB here: with this one they take 180.3 MiB (raise it with "
                        "--max-memory)")
    assert peak < idle + 16 * 1024, (peak, idle)  # KiB: the header only, never the data
    os.unlink(p)


FLOAT_PATH = "float32 sums of integers (exact) on bands of integer values, double otherwise"


def explain_builds_none_of_the_plans_tables():
    # 1024 maps, then box:255 and box:180 over all of them: 1.5 GiB of tap tables.  --explain
    # describes the plan with a few MiB (it built the tables before: 1529 MiB).
    write("tables.json", json.dumps({"layers": [
        {"type": "conv", "kernels": ["identity"] * 1024},
        {"type": "conv", "kernels": ["box:255", "box:180"]},
        {"type": "combine", "mode": "sum"}]}))
    src = os.path.join(SAMPLES, "digit8.png")
    args = [BIN, "--pipeline", "tables.json", "--explain", src]
    idle = idle_peak()
    rc, out, err, peak = harness.run_peak(args + ["--max-memory", "4G"], TMP)
    assert rc == 0 and err == "", err
    lines = out.decode().splitlines()
    assert "    path: box-255: direct, 66585600 non-zero taps; box-180: direct, 33177600 "\
           "non-zero taps; " + FLOAT_PATH in lines, lines
    assert lines[-4] == "parameters: 107667 (106641 weights + 1026 biases)", lines[-4]
    assert re.match(r"memory estimate: \d+\.\d MiB \(\d+ threads?\)$", lines[-3]), lines[-3]
    assert peak < idle + 16 * 1024, (peak, idle)  # KiB
    # Under 1G: described, with the limit it is over; a run is refused before any table.
    rc, out, err, peak = harness.run_peak(args + ["--max-memory", "1G"], TMP)
    assert rc == 0, err
    one_error_line(err, "cnnfilter: %s: the plan is over the memory limit: a run is refused "
                        "(raise it with --max-memory)" % src)
    assert re.search(rb"\nmemory estimate: \d+\.\d MiB \(\d+ threads?\), over the memory limit of "
                     rb"1024\.0 MiB: a run is refused\n", out), out
    assert peak < idle + 16 * 1024, (peak, idle)
    rc, _, err, peak = harness.run_peak(
        [BIN, "--pipeline", "tables.json", "--max-memory", "1G", src, "t.png"], TMP)
    assert rc == 1, err
    one_error_line(err, "cnnfilter: tables.json:1:")
    assert "layer 2 (conv): the plan's kernel tables need about 1522 MiB" in err, err
    assert peak < idle + 16 * 1024, (peak, idle)


def max_work_bounds_the_multiply_adds_of_a_plan():
    write("w10.txt", "\n".join(" ".join(str((x * y) % 7) for x in range(10)) for y in range(10)))
    # a non-separable 3x3 kernel with 9 nonzero taps, valid: 8x8 outputs x 9 = 576
    k = "[[1,2,3],[4,5,6],[7,8,10]]"
    rc, out, err = run("--explain", "-k", k, "--padding", "valid", "w10.txt")
    assert rc == 0 and b"work estimate: 576 multiply-adds" in out, (out, err)
    # separable (sobel_v: 3 + 3 per output) and a zero tap not counted (laplacian: 5 taps)
    rc, out, err = run("--explain", "-k", "sobel_v", "--padding", "valid", "w10.txt")
    assert rc == 0 and b"work estimate: 384 multiply-adds" in out, (out, err)
    rc, out, err = run("--explain", "-k", "laplacian", "--padding", "valid", "--portable", "w10.txt")
    assert rc == 0 and b"work estimate: 320 multiply-adds" in out, (out, err)
    rc, _, err = run("-k", k, "--padding", "valid", "--max-work", "575", "w10.txt", "w.npy")
    assert rc == 1, err
    one_error_line(err, "cnnfilter: w10.txt: the plan is about 576 multiply-adds, over the work "
                        "limit of 575 (raise it with --max-work)")
    assert not os.path.exists(path("w.npy"))
    rc, _, err = run("-k", k, "--padding", "valid", "--max-work", "576", "w10.txt", "w.npy")
    assert rc == 0, err
    rc, _, err = run("-k", k, "--max-work", "0", "w10.txt", "w.npy")
    assert rc == 2 and err.startswith("cnnfilter: --max-work: "), err


def a_failed_run_keeps_the_existing_output_untouched():
    good = write("keep.txt", "1 2\n3 4\n")
    write("keep_out.txt", "precious\n")
    rc, _, err = run("-k", "box:5", "--padding", "valid", good, "keep_out.txt")
    assert rc == 1
    assert txt(path("keep_out.txt")) == "precious\n"
    rc, _, err = run("-k", "identity", good, "keep_out.txt")
    assert rc == 0 and txt(path("keep_out.txt")) == "1 2\n3 4\n"
    no_temp_files()


def output_that_is_the_input_is_refused():
    p = write("self.txt", "1 2\n")
    os.makedirs(path("sub"), exist_ok=True)
    for out in ("self.txt", "./self.txt", "sub/../self.txt"):
        rc, _, err = run("-k", "identity", "self.txt", out)
        assert rc == 2, (out, err)
        one_error_line(err, "cnnfilter: ")
    os.link(p, path("hardlink.txt"))
    rc, _, err = run("-k", "identity", "self.txt", "hardlink.txt")
    assert rc == 2
    assert txt(p) == "1 2\n"


def control_characters_in_names_stay_on_one_line():
    rc, _, err = run("-k", "identity", "bad\nname.png", "o.png")
    assert rc == 1
    line = one_error_line(err, "cnnfilter: bad\\nname.png: ")
    assert "\n" not in line


def filter_bank_writes_one_file_per_kernel_through_templates():
    write("b.txt", "0 0 0 0\n0 9 9 0\n0 9 9 0\n0 0 0 0\n")
    rc, _, err = run("-k", "sobel_v", "-k", "box:3", "-k", "[[1]]", "b.txt", "b_{kernel}_{index}.txt")
    assert rc == 0, err
    for name in ("b_sobel_v_0.txt", "b_box-3_1.txt", "b_k2_2.txt"):
        assert os.path.exists(path(name)), name
    assert txt(path("b_k2_2.txt")) == txt(path("b.txt"))


def sobel_is_the_magnitude_of_its_pair():
    write("mag.txt", "0 0 0 0\n0 0 9 9\n0 0 9 9\n0 0 9 9\n")
    rc, _, err = run("-k", "sobel", "mag.txt", "mag.npy")
    assert rc == 0, err
    run("-k", "sobel_v", "mag.txt", "mv.npy")
    run("-k", "sobel_h", "mag.txt", "mh.npy")
    v, h, m = (np.load(path(n)).astype(np.float64) for n in ("mv.npy", "mh.npy", "mag.npy"))
    assert np.abs(m - np.sqrt(v * v + h * h)).max() < 1e-4


def verbose_reports_range_and_clipping():
    write("v.txt", "0 0 0\n0 100 0\n0 0 0\n")
    rc, _, err = run("-v", "-k", "laplacian", "v.txt", "v.png")
    assert rc == 0
    assert "values -400 .. 100 before mapping; 1 of 9 clipped (1 below 0, 0 above 255)" in err, err


def jobs_do_not_change_the_bytes():
    src = os.path.join(SAMPLES, "shapes.png")
    for k in ("sobel_v", "gaussian:5:1.3", "box:7"):
        outs = []
        for j in ("1", "2", "3"):
            rc, _, err = run("-j", j, "-k", k, "--border", "reflect", src, "j%s.npy" % j)
            assert rc == 0, err
            outs.append(open(path("j%s.npy" % j), "rb").read())
        assert outs[0] == outs[1] == outs[2], k


def write_errors_on_stdout_are_reported():
    src = write("w.txt", "1 2\n3 4\n")
    with open("/dev/full", "wb") as full:
        r = subprocess.run([BIN, "-k", "identity", src, "-"], stdout=full, stderr=subprocess.PIPE,
                           timeout=30)
    assert r.returncode == 1, r
    one_error_line(r.stderr.decode(), "cnnfilter: -: ")


def a_closed_stdout_pipe_ends_quietly_with_a_failure():
    big = os.path.join(SAMPLES, "shapes.png")
    p = subprocess.Popen([BIN, "-k", "box:5", "--output-format", "txt", big, "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(10)
    p.stdout.close()  # the reader goes away mid-write
    err = p.stderr.read()
    p.wait(timeout=60)
    assert p.returncode == 1, p.returncode
    assert err == b"", err


def a_full_disk_is_reported_and_leaves_nothing():
    """A 64 KiB tmpfs: the output cannot fit.  Needs mount rights; skipped without them."""
    mnt = path("tiny")
    os.makedirs(mnt, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
                       capture_output=True)
    if r.returncode != 0:
        print("     (no tmpfs mount here: full-disk case covered by /dev/full only)")
        return
    try:
        rc, _, err = run("-k", "identity", os.path.join(SAMPLES, "shapes.png"),
                         os.path.join(mnt, "o.npy"))
        assert rc == 1, (rc, err)
        one_error_line(err, "cnnfilter: %s: " % os.path.join(mnt, "o.npy"))
        assert "No space left" in err, err
        assert os.listdir(mnt) == [], os.listdir(mnt)
    finally:
        subprocess.run(["umount", mnt], capture_output=True)


def explain_prints_the_size_arithmetic_and_writes_nothing():
    write("e.txt", "\n".join(" ".join("1" for _ in range(28)) for _ in range(28)) + "\n")
    rc, out, err = run("--explain", "-k", "box:5", "--padding", "valid", "e.txt", "e_out.png")
    assert rc == 0, err
    o = out.decode()
    assert "floor((28 + 0 + 0 - 5) / 1) + 1 = 24" in o, o
    assert "parameters: 26" in o
    assert not os.path.exists(path("e_out.png"))


def samples_decode_and_every_kernel_runs_on_them():
    rc, out, _ = run("kernels")
    names = [l.split()[0] for l in out.decode().splitlines()]
    for s in sorted(os.listdir(SAMPLES)):
        if not s.endswith(".png"):
            continue
        for n in names:
            rc, _, err = run("-k", n, os.path.join(SAMPLES, s), "all.png")
            assert rc == 0, (s, n, err)


LENET_EXPLAIN = """\
input: 1 x 50 x 50 (channels x height x width)
1. conv: 4 kernels (vertical 5x5, horizontal 5x5, diagonal 5x5, blob 5x5), each channel separately, stride 1,1, dilation 1, border zero
    height: floor((50 + 0 + 0 - 5) / 1) + 1 = 46
    width:  floor((50 + 0 + 0 - 5) / 1) + 1 = 46
    path: vertical: separable 5x1 as running sums then 1x5; horizontal: separable 5x1 then 1x5 as window sums; diagonal: direct, 8 non-zero taps; blob: direct, 25 non-zero taps; float32 sums of integers (exact) on bands of integer values, double otherwise
    shape: 1 x 50 x 50 -> 4 x 46 x 46, parameters: 104 (100 weights + 4 biases)
2. activation: relu
    shape: 4 x 46 x 46 -> 4 x 46 x 46
3. maxpool: window 2, stride 2, padding 0, floor mode
    height: floor((46 + 0 + 0 - 2) / 2) + 1 = 23
    width:  floor((46 + 0 + 0 - 2) / 2) + 1 = 23
    shape: 4 x 46 x 46 -> 4 x 23 x 23
4. conv: 3 kernels (corner 4x3x3, diagonal texture 4x3x3, blobs 4x3x3), channels summed, stride 1,1, dilation 1, border zero
    height: floor((23 + 1 + 1 - 3) / 1) + 1 = 23   (same: padding 2 = 1 before + 1 after)
    width:  floor((23 + 1 + 1 - 3) / 1) + 1 = 23   (same: padding 2 = 1 before + 1 after)
    path: corner: direct, 18 non-zero taps; diagonal texture: direct, 9 non-zero taps; blobs: direct, 9 non-zero taps; float32 sums of integers (exact) on bands of integer values, double otherwise
    shape: 4 x 23 x 23 -> 3 x 23 x 23, parameters: 111 (108 weights + 3 biases)
5. activation: relu
    shape: 3 x 23 x 23 -> 3 x 23 x 23
6. maxpool: window 2, stride 2, padding 0, floor mode
    height: floor((23 + 0 + 0 - 2) / 2) + 1 = 11
    width:  floor((23 + 0 + 0 - 2) / 2) + 1 = 11
    shape: 3 x 23 x 23 -> 3 x 11 x 11
parameters: 215 (208 weights + 7 biases)
"""


def explain_of_the_lenet_pipeline_matches_line_by_line():
    rc, out, err = run("--pipeline", os.path.join(ROOT, "kernels", "lenet.json"), "--explain",
                       os.path.join(SAMPLES, "digit8.png"))
    assert rc == 0, err
    got = out.decode().splitlines()
    want = LENET_EXPLAIN.splitlines()
    for i, line in enumerate(want):
        assert i < len(got) and got[i] == line, "line %d: %r, expected %r" % (i + 1, got[i] if i < len(got) else None, line)
    assert re.match(r"memory estimate: \d+\.\d MiB \(\d+ threads?\)$", got[len(want)]) and len(got) == len(want) + 3
    assert re.match(r"work estimate: \d\.\d\de\+05 multiply-adds$", got[len(want) + 1]), got


def every_example_pipeline_runs():
    shapes = {"edges.json": (4, 128, 128), "lenet.json": (3, 63, 63)}
    found = 0
    for f in sorted(os.listdir(os.path.join(ROOT, "kernels"))):
        p = os.path.join(ROOT, "kernels", f)
        if not f.endswith(".json") or '"layers"' not in open(p).read():
            continue
        found += 1
        rc, _, err = run("--pipeline", p, os.path.join(SAMPLES, "shapes.png"), "pl.npy")
        assert rc == 0, (f, err)
        a = np.load(path("pl.npy"))
        assert a.shape == shapes[f], (f, a.shape)
        assert a.min() >= 0 and a.max() > 0, f  # each ends in ReLU + max pool
    assert found == len(shapes)
    # Four maps into an image format need {index}; three make RGB.
    rc, _, err = run("--pipeline", os.path.join(ROOT, "kernels", "edges.json"),
                     os.path.join(SAMPLES, "lines.png"), "four.png")
    assert rc == 2
    one_error_line(err, "cnnfilter: four.png: ")
    rc, _, err = run("--pipeline", os.path.join(ROOT, "kernels", "edges.json"),
                     os.path.join(SAMPLES, "lines.png"), "map_{index}.png")
    assert rc == 0 and all(png(path("map_%d.png" % i)).shape == (128, 128, 1) for i in range(4))
    rc, _, err = run("--pipeline", os.path.join(ROOT, "kernels", "lenet.json"),
                     os.path.join(SAMPLES, "shapes.png"), "lenet.png")
    assert rc == 0 and png(path("lenet.png")).shape == (63, 63, 3)


def pipeline_layers_compute_the_seed_example():
    write("p8.txt", "0 1 1 1 0\n0 1 0 1 0\n0 1 1 1 0\n0 1 0 1 0\n0 1 1 1 0\n")
    write("p8.json", '{"layers": [{"type": "conv", "kernels": ["[[0,0,0],[0,0,0],[1,0,1]]"], '
                     '"padding": "valid"}, {"type": "relu"}, '
                     '{"type": "maxpool", "size": 2, "ceil": true}]}')
    rc, _, err = run("--pipeline", "p8.json", "p8.txt", "p8_out.txt")
    assert rc == 0 and txt(path("p8_out.txt")) == "2 1\n2 1\n", err
    # Kernel objects, per-kernel biases, a 3-D kernel, combine and the alpha drop.
    p, px = rgba_png("pa.png", h=4, w=4, seed=9)
    write("pa.json", '{"layers": [{"type": "conv", "kernels": [{"weights": [[1]], "bias": 1}, '
                     '"[[2]]"], "bias": [0, 10]}, '
                     '{"type": "conv", "kernels": [{"weights": [[[1]], [[-1]]]}]}, '
                     '{"type": "abs"}]}')
    rc, _, err = run("--pipeline", "pa.json", "pa.png", "pa.npy")
    assert rc == 0, err
    col = px[:, :, :3].astype(np.float64).sum(axis=2)
    expect = np.abs((col + 1) - (2 * col + 10))
    a = np.load(path("pa.npy"))
    assert a.shape == (1, 4, 4) and (a[0] == expect).all(), (a, expect)


def pipeline_errors_name_the_file_and_the_layer():
    src = write("pe.txt", "1 2 3\n4 5 6\n7 8 9\n")
    cases = [
        ('{"layers": [{"type": "combine"}]}', 2, "pe1.json:1:13: "),
        ('{"layers": [\n  {"type": "relu", "x": 1}]}', 2, "pe2.json:2:20: "),
        ('{"layers": [{"type": "conv", "kernels": ["[[[1]],[[2]]]"]}]}', 2, "pe3.json:1:13: "),
        ('{"layers": [{"type": "conv", "kernels": ["nosuch"]}]}', 2, "pe4.json:1:42: "),
        ('{"layers": [{"type": "maxpool", "size": 9}]}', 1, "pe5.json:1:13: "),
        ('{"layers": [{"type": "maxpool", "size": 2, "padding": 2}]}', 2, "pe6.json:1:"),
        ('{"layers": []}', 2, "pe7.json:1:"),
        ('{"layers": [{"type": "conv", "kernels": ["box"]}], "layers": []}', 2, "pe8.json:1:"),
    ]
    for i, (text, code, prefix) in enumerate(cases):
        name = "pe%d.json" % (i + 1)
        write(name, text)
        rc, _, err = run("--pipeline", name, src, "pe_out.npy")
        assert rc == code, (name, rc, err)
        line = one_error_line(err, "cnnfilter: " + prefix)
        if name in ("pe3.json", "pe5.json"):
            assert "layer 1" in line, line
        assert not os.path.exists(path("pe_out.npy"))
    rc, _, err = run("--pipeline", "pe1.json", "--stride", "2", src, "pe_out.npy")
    assert rc == 2
    one_error_line(err, "cnnfilter: --stride: ")


def explain_and_verbose_name_the_path_each_stage_takes():
    src = os.path.join(SAMPLES, "shapes.png")
    cases = [
        (["-k", "box:15"], "path: running sums (box 15x15); float32 sums of integers (exact)"),
        (["-k", "line_v:25"], "path: separable 25x1 as running sums then 1x25; float32 sums"),
        (["-k", "gaussian:5"], "path: separable 5x1 then 1x5; float32 sums"),
        (["-k", "line_diag:25"], "path: direct, 25 non-zero taps; float32 sums of integers"),
        (["-k", "gaussian:5:1.5"], "path: separable 5x1 then 1x5 in float32 (fractional "
                                   "weights, two passes, mirrored taps paired)\n"),
        (["-k", "[[0.25,0.5,0.25]]"], "path: direct, 3 non-zero taps, double accumulation\n"),
        (["--portable", "-k", "sobel_v"],
         "path: direct, 6 non-zero taps, double accumulation (--portable)"),
    ]
    for args, want in cases:
        rc, out, err = run("--explain", *args, src)
        assert rc == 0, err
        assert want in out.decode(), (args, out.decode())
    rc, _, err = run("-v", "-k", "box:15", src, "v.png")
    assert rc == 0
    assert "stage 1 (conv) path: running sums (box 15x15)" in err, err


TESTS = [v for k, v in list(globals().items()) if callable(v) and v.__module__ == "__main__"
         and k not in ("path", "write", "run", "png", "txt", "one_error_line", "no_temp_files",
                       "rgba_png", "idle_peak", "main")]


def main():
    return harness.run_tests("cli", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

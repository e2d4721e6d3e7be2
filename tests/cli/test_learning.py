#!/usr/bin/env python3
"""test_learning.py - `cnnfilter train` and `predict` through the real binary.

The kernel feature learning loop (examples/seed002) per epoch against a float64 reference; trained files that read back
everywhere a pipeline is read (predict and the single-image form give the same
probabilities); the same bytes for -j 1/2/3 and run after run; every data source (class
folders, IDX with gzip, CSV); --val, --val-data, --log, --top, accuracy, --confusion; bad
data and bad nets (one line naming the file, the right exit code, no output); --max-memory
refused up front; an interrupted run leaves nothing.  Data is made here, small.
"""
import gzip
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

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "ref"))
sys.path.insert(0, HERE)
import cnnref  # noqa: E402
import harness  # noqa: E402

BIN = os.path.abspath(os.environ.get("CNNFILTER_BIN", os.path.join(ROOT, "build", "cnnfilter")))
TMP = tempfile.mkdtemp(prefix="cnnfilter-learning-")
EXAMPLES = os.path.join(ROOT, "examples")


def path(*p):
    return os.path.join(TMP, *p)


def run(*args, timeout=300, **kw):
    r = subprocess.run([BIN] + [str(a) for a in args], capture_output=True, cwd=TMP,
                       timeout=timeout, **kw)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def write(name, text):
    p = path(name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(text)
    return p


def png(p, px):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    px = np.asarray(px)
    with open(p, "wb") as f:
        f.write(cnnref.png_write((px[:, :, None] if px.ndim == 2 else px).astype(np.uint8)))


def idx_files(name, images, labels, gz=True):
    """IDX image and label files (the MNIST format) for uint8 images (n, h, w)."""
    n, h, w = images.shape
    im = struct.pack(">IIII", 0x803, n, h, w) + images.astype(np.uint8).tobytes()
    lb = struct.pack(">II", 0x801, n) + np.asarray(labels, np.uint8).tobytes()
    op = gzip.open if gz else open
    ip, lp = path(name + "-images-idx3-ubyte" + (".gz" if gz else "")), \
        path(name + "-labels-idx1-ubyte" + (".gz" if gz else ""))
    with op(ip, "wb") as f:
        f.write(im)
    with op(lp, "wb") as f:
        f.write(lb)
    return ip, lp


def stripes(n, seed, size=8):
    """n gray images: class 0 vertical stripes, class 1 horizontal, with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    ims = np.zeros((n, size, size))
    for i, c in enumerate(labels):
        phase = rng.integers(0, 2)
        line = (np.arange(size) + phase) % 2 * 200
        ims[i] = line[None, :] if c == 0 else line[:, None]
        ims[i] += rng.integers(0, 40, (size, size))
    return np.clip(ims, 0, 255).astype(np.uint8), labels


SMALL_NET = {"layers": [
    {"type": "affine", "scale": 0.01, "shift": -1},
    {"type": "conv", "kernels": {"count": 2, "size": 3}},
    {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "flatten"},
    {"type": "dense", "units": 2},
    {"type": "softmax"}]}


def small_net(name="net.json", classes=None):
    net = dict(SMALL_NET)
    if classes:
        net["classes"] = classes
    return write(name, json.dumps(net))


def class_tree(name, n, seed):
    ims, labels = stripes(n, seed)
    root = path(name)
    shutil.rmtree(root, ignore_errors=True)
    for i, (im, c) in enumerate(zip(ims, labels)):
        png(os.path.join(root, "a-vertical" if c == 0 else "b-horizontal", "%03d.png" % i), im)
    return root, ims, labels


# ----------------------------------------------------------------------------- tests


def the_seed_loop_matches_a_float64_reference_epoch_by_epoch():
    import seed002_ref  # tests/ref/seed002_ref.py: the loop in float64, NumPy
    net = json.load(open(os.path.join(EXAMPLES, "seed002", "net.json")))
    rc, _, err = run("train", "--pipeline", os.path.join(EXAMPLES, "seed002", "net.json"),
                     "-o", "seed-trained.json", "--lr", "0.01", "--batch", "1", "--epochs", "50",
                     "--log", "seed-log.csv", os.path.join(EXAMPLES, "seed002", "data.csv"))
    assert rc == 0, err
    lines = [l for l in err.splitlines() if l.startswith("epoch ")]
    assert len(lines) == 50, err
    assert re.match(r"epoch 1/50: loss \d+\.\d{4}, accuracy \d+\.\d\d %, \d+\.\d s$", lines[0]), lines[0]
    rows = open(path("seed-log.csv")).read().splitlines()
    assert rows[0] == "epoch,loss,train_accuracy,val_loss,val_accuracy,seconds", rows[0]
    got = [float(r.split(",")[1]) for r in rows[1:]]
    conv, dense = net["layers"][0], net["layers"][3]
    want, _, _, _ = seed002_ref.reference(50, 0.01, conv["kernels"][0]["weights"],
                                          dense["weights"], dense["bias"])
    assert len(got) == 50
    worst = max(abs(a - b) for a, b in zip(got, want))
    assert worst < 1e-4, (worst, got[:3], want[:3])
    assert got[-1] < got[0] - 0.5, (got[0], got[-1])  # it learns


def a_trained_file_reads_back_everywhere_and_predicts_what_it_learned():
    root, ims, labels = class_tree("stripes", 120, 1)
    small_net()
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "trained.json", "--epochs", "8",
                     "--lr", "0.05", "--optimizer", "adam", "--lr", "0.02", "--seed", "3", root)
    assert rc == 0, err
    t = json.load(open(path("trained.json")))
    assert t["classes"] == ["a-vertical", "b-horizontal"], t.get("classes")
    assert t["training"]["epochs"] == 8 and t["training"]["data"]["samples"] == 120, t["training"]
    dense = [l for l in t["layers"] if l["type"] == "dense"][0]
    assert len(dense["weights"]) == 2 and len(dense["weights"][0]) == 2 * 4 * 4, dense
    # predict: accuracy on fresh data of the same kind
    test_root, _, _ = class_tree("stripes-test", 60, 2)
    rc, out, err = run("predict", "--pipeline", "trained.json", test_root)
    assert rc == 0, err
    rows = out.splitlines()
    assert len(rows) == 60, out
    m = re.search(r"accuracy (\d+\.\d\d) % \((\d+)/60\)", err)
    assert m and float(m.group(1)) >= 90, err
    first = rows[0].split(",")
    assert first[1] in ("a-vertical", "b-horizontal") and 0.5 <= float(first[2]) <= 1, rows[0]
    # the single-image form gives the same probabilities (to float32 rounding)
    one = sorted(os.path.join(dp, f) for dp, _, fs in os.walk(test_root) for f in fs)[0]
    rc, _, err = run("--pipeline", "trained.json", one, "p.npy")
    assert rc == 0, err
    p = np.load(path("p.npy")).ravel()
    line = [r for r in rows if r.startswith(one + ",")][0].split(",")
    k = t["classes"].index(line[1])
    assert abs(p[k] - float(line[2])) < 1e-5 and abs(p.sum() - 1) < 1e-5, (p, line)
    # training again continues from these weights
    rc, _, err = run("train", "--pipeline", "trained.json", "-o", "trained2.json", "--epochs", "1",
                     root)
    assert rc == 0, err


def the_trained_file_is_the_same_bytes_for_any_jobs_and_every_run():
    root, _, _ = class_tree("det", 64, 5)
    small_net()
    outs = []
    for j in ("1", "2", "3", "2"):
        rc, _, err = run("train", "--pipeline", "net.json", "-o", "det-%s.json" % len(outs),
                         "-j", j, "--epochs", "2", "--batch", "5", "--seed", "7", root)
        assert rc == 0, err
        outs.append(open(path("det-%d.json" % (len(outs))), "rb").read())
    assert all(o == outs[0] for o in outs), "different bytes for different -j"
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "det-other.json", "--epochs", "2",
                     "--batch", "5", "--seed", "8", root)
    assert rc == 0, err
    assert open(path("det-other.json"), "rb").read() != outs[0], "another seed, the same weights"


def idx_csv_val_and_log_all_work():
    ims, labels = stripes(80, 9)
    ip, lp = idx_files("tr", ims, labels)
    small_net()
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "idx.json", "--labels", lp,
                     "--epochs", "2", "--val", "0.25", "--log", "idx-log.csv", ip)
    assert rc == 0, err
    assert "val loss" in err and "val accuracy" in err, err
    rows = open(path("idx-log.csv")).read().splitlines()
    assert len(rows) == 3 and all(len(r.split(",")) == 6 and r.split(",")[3] for r in rows[1:]), rows
    # the same images uncompressed, and as two gzip members: the same predictions
    raw = gzip.decompress(open(ip, "rb").read())
    with open(path("plain-images-idx3-ubyte"), "wb") as f:
        f.write(raw)
    with open(path("two-images-idx3-ubyte.gz"), "wb") as f:
        f.write(gzip.compress(raw[:3000]) + gzip.compress(raw[3000:]))
    outs = []
    for images in (ip, path("plain-images-idx3-ubyte"), path("two-images-idx3-ubyte.gz")):
        rc, out, err = run("predict", "--pipeline", "idx.json", images)
        assert rc == 0, err
        outs.append([line.split(",", 1)[1] for line in out.splitlines()])
    assert len(outs[0]) == 80 and outs[0] == outs[1] == outs[2], outs
    # a CSV of path,label over .png and matrix files
    os.makedirs(path("csvdata"), exist_ok=True)
    lines = ["path,label"]
    for i in range(20):
        if i % 2:
            png(path("csvdata", "%d.png" % i), ims[i])
            lines.append("%d.png,%d" % (i, labels[i]))
        else:
            write("csvdata/%d.json" % i, json.dumps(ims[i].astype(int).tolist()))
            lines.append("%d.json,%d" % (i, labels[i]))
    write("csvdata/list.csv", "\n".join(lines) + "\n")
    vi, vl = idx_files("va", *stripes(10, 10), gz=False)
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "csv.json", "--epochs", "1",
                     "--val-data", path("csvdata", "list.csv"), ip, "--labels", lp)
    assert rc == 0, err
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "csv2.json", "--epochs", "1",
                     path("csvdata", "list.csv"))
    assert rc == 0, err
    # predict on IDX: FILE#INDEX names, accuracy, --top 2, --confusion
    rc, out, err = run("predict", "--pipeline", "idx.json", "--labels", vl, "--top", "2",
                       "--confusion", "conf.csv", vi)
    assert rc == 0, err
    rows = out.splitlines()
    assert len(rows) == 10 and rows[3].startswith(vi + "#3,"), rows[:4]
    assert len(rows[0].split(",")) == 5, rows[0]
    assert re.search(r"accuracy \d+\.\d\d % \(\d+/10\)", err), err
    conf = open(path("conf.csv")).read().splitlines()
    assert len(conf) == 3 and sum(int(x) for r in conf[1:] for x in r.split(",")[1:]) == 10, conf
    # the label file beside the images is found by its name, for DATA, --val-data and predict
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "side.json", "--epochs", "1",
                     "--val-data", vi, ip)
    assert rc == 0, err
    assert "val accuracy" in err, err
    rc, out2, err = run("predict", "--pipeline", "idx.json", "--top", "2", vi)
    assert rc == 0 and out2 == out, err
    assert re.search(r"accuracy \d+\.\d\d % \(\d+/10\)", err), err
    # a label file by another name: --labels, and --val-labels for --val-data
    other = path("other-names.lbl")
    shutil.copy(vl, other)
    alone = path("alone.idx3")
    shutil.copy(vi, alone)
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "side2.json", "--epochs", "1",
                     "--val-data", alone, "--val-labels", other, ip)
    assert rc == 0 and "val accuracy" in err, err
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "side3.json", "--val-data", alone, ip)
    assert rc == 2, err
    harness.one_error_line(err, "cnnfilter: " + alone + ": IDX images need their labels")
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "side3.json", "--val-labels", other,
                     ip)
    assert rc == 2, err
    harness.one_error_line(err, "cnnfilter: --val-labels: is the label file of --val-data")
    assert not os.path.exists(path("side3.json"))
    # unlabelled IDX images still predict, with no accuracy line
    rc, out3, err = run("predict", "--pipeline", "idx.json", "--top", "2", alone)
    assert rc == 0 and "accuracy" not in err, err
    assert [r.split(",", 1)[1] for r in out3.splitlines()] == \
        [r.split(",", 1)[1] for r in out.splitlines()], out3


def bad_data_and_bad_nets_fail_with_one_line_and_no_output():
    small_net()
    root, ims, _ = class_tree("bad1", 10, 4)
    cases = []
    # an image of another size
    png(os.path.join(root, "a-vertical", "odd.png"), np.zeros((9, 8)))
    cases.append(([root], 1, os.path.join(root, "a-vertical", "odd.png")))
    # an unreadable image
    one = write("bad2/a/x.png", "not a png")
    png(path("bad2", "b", "y.png"), ims[0])
    cases.append(([path("bad2")], 1, one))
    # one class only
    png(path("bad3", "a", "y.png"), ims[0])
    cases.append(([path("bad3")], 1, path("bad3")))
    # labels and images that do not count alike
    ip, _ = idx_files("bad4", ims, [0] * 10)
    _, lp = idx_files("bad4l", ims[:7], [0] * 7)
    cases.append(([ip, "--labels", lp], 1, lp))
    # a label the net does not have (3 >= 2 outputs)
    _, lp3 = idx_files("bad5", ims, [0, 1, 3, 0, 1, 0, 1, 0, 1, 0])
    cases.append(([ip, "--labels", lp3], 1, ip))
    # gzip images cut short, with a wrong CRC, without their trailer
    raw = gzip.decompress(open(ip, "rb").read())
    whole = gzip.compress(raw)
    for name, data, why in (("cut", whole[:len(whole) // 2], "truncated IDX file"),
                            ("crc", whole[:-8] + bytes([whole[-8] ^ 0x55]) + whole[-7:],
                             "corrupt"),
                            ("notrail", whole[:-4], "corrupt")):
        bad = path("bad6-%s-images-idx3-ubyte.gz" % name)
        with open(bad, "wb") as f:
            f.write(data)
        rc, _, err = run("train", "--pipeline", "net.json", "-o", "bad.json", "--labels",
                         ip.replace("images-idx3", "labels-idx1"), bad)
        assert rc == 1 and why in err, (name, rc, err)
        cases.append(([bad, "--labels", ip.replace("images-idx3", "labels-idx1")], 1, bad))
    for args, code, where in cases:
        if os.path.exists(path("bad.json")):
            os.unlink(path("bad.json"))
        rc, _, err = run("train", "--pipeline", "net.json", "-o", "bad.json", *args)
        assert rc == code, (args, rc, err)
        harness.one_error_line(err, "cnnfilter: " + where)
        assert not os.path.exists(path("bad.json")), args
    # a net whose trained file could not be written (over 4 MiB of JSON): refused at once
    write("huge.json", json.dumps({"layers": [
        {"type": "flatten"}, {"type": "dense", "units": 300}, {"type": "dense", "units": 2},
        {"type": "softmax"}]}))
    for c in range(2):
        for i in range(2):
            png(path("hugedata", "c%d" % c, "%d.png" % i), np.full((64, 64), 100 * c + i))
    rc, _, err = run("train", "--pipeline", "huge.json", "-o", "huge-trained.json", "--epochs",
                     "1000", path("hugedata"), timeout=20)
    assert rc == 1 and "huge-trained.json: the pipeline would take more than" in err, err
    assert "refused before training" in err and len(err.splitlines()) == 1, err
    assert not os.path.exists(path("huge-trained.json"))
    # a net without weights used to filter: a usage error naming the layer
    rc, _, err = run("--pipeline", "net.json", os.path.join(ROOT, "samples", "digit8.png"), "o.npy")
    assert rc == 2, err
    harness.one_error_line(err, "cnnfilter: net.json: layer 2 (conv) has no weights: train it "
                                "first or give \"weights\"")
    # cross entropy needs a final softmax
    write("nosoft.json", json.dumps({"layers": SMALL_NET["layers"][:-1]}))
    root, _, _ = class_tree("ok", 10, 3)
    rc, _, err = run("train", "--pipeline", "nosoft.json", "-o", "bad.json", root)
    assert rc == 2, err
    assert "softmax" in err, err
    # usage: no DATA, no -o, an output that is an input
    for args in (["--pipeline", "net.json", "-o", "bad.json"], ["--pipeline", "net.json", root],
                 ["--pipeline", "net.json", "-o", "net.json", root]):
        rc, _, err = run("train", *args)
        assert rc == 2, (args, err)
        assert len(err.splitlines()) == 1, err
    harness.assert_no_temp_files(TMP)


def memory_is_checked_before_loading_and_an_interrupt_leaves_nothing():
    ims, labels = stripes(4000, 11, size=16)
    ip, lp = idx_files("big", ims, labels)
    small_net()
    rc, _, err = run("train", "--pipeline", "net.json", "-o", "m.json", "--max-memory", "512K",
                     "--labels", lp, ip)
    assert rc == 1, err
    harness.one_error_line(err, "cnnfilter: %s: the data needs" % ip)
    assert "--max-memory" in err and not os.path.exists(path("m.json"))
    p = subprocess.Popen([BIN, "train", "--pipeline", "net.json", "-o", "int.json", "--epochs",
                          "1000", "--labels", lp, ip], cwd=TMP, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    assert p.returncode != 0
    assert not os.path.exists(path("int.json"))
    harness.assert_no_temp_files(TMP)


def the_walkthrough_class_folders_train_predict_and_the_learned_filters():
    # the README's "train your own": a folder per class of PNG files, train, predict, then
    # the trained net's first layers run as filters with --pipeline --layers
    root, ims, labels = class_tree("mine", 80, 31)
    net = small_net("mine-net.json")
    rc, _, err = run("train", "--pipeline", net, "-o", "mine.json", "--epochs", "8", "--lr",
                     "0.05", "-q", root)
    assert rc == 0, err
    rc, out, err = run("predict", "--pipeline", "mine.json", root)
    assert rc == 0, err
    acc = float(re.search(r"accuracy ([\d.]+) %", err).group(1))
    assert acc >= 90, err
    assert out.count("\n") == 80 and ",a-vertical," in out and ",b-horizontal," in out, out
    # the first three layers (affine, conv, relu): the conv maps of one image, in float32
    img = os.path.join(root, "a-vertical" if labels[0] == 0 else "b-horizontal", "000.png")
    rc, _, err = run("--pipeline", "mine.json", "--layers", "3", img, "maps.npy")
    assert rc == 0, err
    got = np.load(path("maps.npy"))
    trained = json.load(open(path("mine.json")))
    conv = trained["layers"][1]
    x = np.pad(ims[0].astype(np.float64) * 0.01 - 1, 1)  # affine, then the zero border
    for k, kern in enumerate(conv["kernels"]):
        w = np.asarray(kern["weights"], np.float64).reshape(3, 3)
        want = np.array([[(w * x[r:r + 3, c:c + 3]).sum() for c in range(8)] for r in range(8)])
        want = np.maximum(want + conv["bias"][k], 0)
        assert np.allclose(got[k], want, atol=1e-5), (k, got[k], want)
    # the same bytes as a pipeline file cut by hand; PNG maps by {index}
    cut = dict(trained, layers=trained["layers"][:3])
    cut.pop("classes", None)
    write("cut.json", json.dumps(cut))
    rc, _, err = run("--pipeline", "cut.json", img, "cut.npy")
    assert rc == 0, err
    assert open(path("cut.npy"), "rb").read() == open(path("maps.npy"), "rb").read()
    rc, _, err = run("--pipeline", "mine.json", "--layers", "3", "--map", "normalize", img,
                     "map{index}.png")
    assert rc == 0 and os.path.exists(path("map0.png")) and os.path.exists(path("map1.png")), err
    # --layers past the end, or without --pipeline: usage errors, nothing written
    rc, _, err = run("--pipeline", "mine.json", "--layers", "8", img, "none.png")
    assert rc == 2 and "--layers: 8 is not between 1 and the 7 layers" in err, err
    rc, _, err = run("-k", "sobel", "--layers", "2", img, "none.png")
    assert rc == 2 and "--layers" in err and "--pipeline" in err, err
    assert not os.path.exists(path("none.png"))


TESTS = [the_seed_loop_matches_a_float64_reference_epoch_by_epoch,
         a_trained_file_reads_back_everywhere_and_predicts_what_it_learned,
         the_trained_file_is_the_same_bytes_for_any_jobs_and_every_run,
         idx_csv_val_and_log_all_work, bad_data_and_bad_nets_fail_with_one_line_and_no_output,
         memory_is_checked_before_loading_and_an_interrupt_leaves_nothing,
         the_walkthrough_class_folders_train_predict_and_the_learned_filters]


def main():
    return harness.run_tests("learning", TESTS, TMP)


if __name__ == "__main__":
    sys.exit(main())

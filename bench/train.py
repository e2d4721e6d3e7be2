#!/usr/bin/env python3
"""train.py - cnnfilter train + predict against the same job in PyTorch, on Fashion-MNIST.

    /usr/bin/python3 bench/train.py [--runs 3] [--threads 1,2] [--epochs 5] [--out FILE.md]

The job: LeNet-5 (examples/lenet5.json: an affine layer standardising the pixels, conv
6x5x5 padding 2, relu, max pool 2, conv 16x5x5, relu, max pool 2, dense 120, relu, dense 84,
relu, dense 10, softmax) trained for one epoch on the 60,000 training images with Adam lr
1e-3, batch 64, then the 10,000 test images classified.  cnnfilter does it as two processes
(`cnnfilter train`, then `cnnfilter predict`); PyTorch as one Python process
(bench/torch_lenet.py: interpreter start-up, `import torch`, reading the IDX files, training,
evaluating).  Whole processes, data loading included, one thread each (-j 1,
torch.set_num_threads(1)) and two; runs alternate between the tools (which one goes first
alternates too) and medians are reported.

- wall: train + test, the whole processes;
- train images/s: 60,000 / the train process's wall for cnnfilter, / the training loop's own
  seconds for PyTorch (its start-up and loading left out: in PyTorch's favour);
- test images/s: 10,000 / the predict process's wall for cnnfilter, / the evaluation loop's
  seconds for PyTorch (in its favour again);
- peak RSS: GNU time's maximum resident set (the larger of train and predict for cnnfilter);
- accuracy on the test set, after 1 epoch here and after each of --epochs in the second table
  (both tools at the largest thread count; cnnfilter evaluates with --val-data).

The trained files of cnnfilter at each thread count are compared byte for byte.  Needs
Debian's dataset-fashion-mnist and python3-torch (make bench installs them).
"""
import csv
import filecmp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import common

FM = "/usr/share/datasets/fashion-mnist"
NET = os.path.join(common.ROOT, "examples", "lenet5.json")
TORCH = os.path.join(common.HERE, "torch_lenet.py")
PY = "/usr/bin/python3"


def timed(argv, tmp, stdout=subprocess.PIPE):
    """(wall seconds, peak RSS in KiB, stdout, stderr) of one process under GNU time."""
    rss_file = os.path.join(tmp, "rss")
    t0 = time.perf_counter()
    p = subprocess.run([common.GNU_TIME, "-f", "%M", "-o", rss_file] + argv, stdout=stdout,
                       stderr=subprocess.PIPE, universal_newlines=True)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("failed (%d): %s\n%s" % (p.returncode, " ".join(argv), p.stderr))
    with open(rss_file) as f:
        rss = int(f.read().split()[-1])
    return dt, rss, p.stdout or "", p.stderr


def cnf_job(binary, data, threads, tmp, trained):
    """cnnfilter train 1 epoch + predict: a dict of figures."""
    tr = timed([binary, "train", "--pipeline", NET, "-o", trained, "--optimizer", "adam",
                "--lr", "0.001", "--batch", "64", "--epochs", "1", "-j", str(threads),
                os.path.join(data, "train-images-idx3-ubyte.gz")], tmp)
    ep = re.search(r"epoch 1/1: .*, ([\d.]+) s", tr[3])
    pr = timed([binary, "predict", "--pipeline", trained, "-j", str(threads),
                os.path.join(data, "t10k-images-idx3-ubyte.gz")], tmp, stdout=subprocess.DEVNULL)
    m = re.search(r"accuracy ([\d.]+) %", pr[3])
    if not m or not ep:
        raise RuntimeError("no accuracy line from predict or epoch line from train:\n" +
                           pr[3] + tr[3])
    return {"wall": tr[0] + pr[0], "train_ips": 60000 / tr[0], "test_ips": 10000 / pr[0],
            "rss": max(tr[1], pr[1]), "acc": float(m.group(1)), "train_wall": tr[0],
            "epoch": float(ep.group(1))}


def torch_job(data, threads, tmp):
    dt, rss, out, _ = timed([PY, TORCH, data, "1", str(threads)], tmp)
    m = re.search(r"test_accuracy ([\d.]+) train_seconds ([\d.]+) eval_seconds ([\d.]+)", out)
    if not m:
        raise RuntimeError("no result line from torch_lenet.py:\n" + out)
    return {"wall": dt, "train_ips": 60000 / float(m.group(2)),
            "test_ips": 10000 / float(m.group(3)), "rss": rss, "acc": 100 * float(m.group(1))}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def accuracy_runs(binary, data, threads, epochs, tmp):
    """Test accuracy after each epoch: ([cnnfilter %], [PyTorch %])."""
    log = os.path.join(tmp, "log.csv")
    subprocess.run([binary, "train", "--pipeline", NET, "-o", os.path.join(tmp, "acc.json"),
                    "--optimizer", "adam", "--lr", "0.001", "--batch", "64", "--epochs",
                    str(epochs), "-j", str(threads), "-q", "--log", log, "--val-data",
                    os.path.join(data, "t10k-images-idx3-ubyte.gz"),
                    os.path.join(data, "train-images-idx3-ubyte.gz")], check=True)
    with open(log) as f:
        cnf = [100 * float(r["val_accuracy"]) for r in csv.DictReader(f)]
    out = subprocess.run([PY, TORCH, data, str(epochs), str(threads), "--eval-each"], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    torch = [100 * float(v) for v in re.findall(r"test_accuracy ([\d.]+)", out)]
    return cnf, torch


def main():
    ap = common.arg_parser(__doc__, 3)
    ap.add_argument("--epochs", type=int, default=5, help="epochs of the accuracy table (0: none)")
    ap.set_defaults(data=FM)
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",")]
    for f in ("train-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte.gz"):
        if not os.path.exists(os.path.join(a.data, f)):
            sys.exit("train.py: %s not found: install dataset-fashion-mnist" % os.path.join(a.data, f))
    if subprocess.run([PY, "-c", "import torch"], stderr=subprocess.DEVNULL).returncode:
        sys.exit("train.py: PyTorch is not installed: apt-get install python3-torch")
    torch_version = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"],
                                   stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    rep = common.Report(a.out)
    rep.say("## Training: LeNet-5 on Fashion-MNIST against PyTorch %s" % torch_version)
    rep.say()
    rep.say("%s. One epoch (60,000 images, Adam lr 1e-3, batch 64) then the 10,000 test "
            "images; whole processes, medians of %d alternating runs (bench/train.py)."
            % (common.machine(), a.runs))
    rep.say()
    rep.say("| threads | tool | wall, train + test | train images/s | test images/s | "
            "peak RSS | test accuracy |")
    rep.say("|---:|---|---:|---:|---:|---:|---:|")
    ratios, trains, files = [], {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for t in threads:
            cnf, tor = [], []
            files[t] = os.path.join(tmp, "trained-j%d.json" % t)
            for r in range(a.runs):
                order = (0, 1) if r % 2 == 0 else (1, 0)
                for which in order:
                    if which == 0:
                        cnf.append(cnf_job(a.bin, a.data, t, tmp, files[t]))
                    else:
                        tor.append(torch_job(a.data, t, tmp))
            trains[t] = (med(cnf, "train_wall"), med(cnf, "epoch"))
            for name, rows in (("cnnfilter", cnf), ("PyTorch", tor)):
                rep.say("| %d | %s | %.2f s | %.0f | %.0f | %.0f MiB | %.2f %% |" % (
                    t, name, med(rows, "wall"), med(rows, "train_ips"), med(rows, "test_ips"),
                    med(rows, "rss") / 1024, med(rows, "acc")))
            ratios.append((t, med(cnf, "wall") / med(tor, "wall"), med(cnf, "rss") / med(tor, "rss"),
                           med(cnf, "test_ips") / med(tor, "test_ips"),
                           med(cnf, "acc") - med(tor, "acc")))
        rep.say()
        rep.say("| threads | wall, cnnfilter / PyTorch | peak RSS, cnnfilter / PyTorch | "
                "test images/s, cnnfilter / PyTorch | accuracy, cnnfilter - PyTorch |")
        rep.say("|---:|---:|---:|---:|---:|")
        for t, w, m, p, d in ratios:
            rep.say("| %d | %.2fx | %.2fx | %.1fx | %+.2f points |" % (t, w, m, p, d))
        rep.say()
        if len(threads) > 1:
            t0, t1 = threads[0], threads[-1]
            same = all(filecmp.cmp(files[t0], files[t], shallow=False) for t in threads)
            rep.say("cnnfilter train, -j %d against -j %d: the epoch (as train reports it) "
                    "%.2f s against %.2f s, %.2fx; the whole process (decoding the data "
                    "included) %.2f s against %.2f s, %.2fx.  Trained files at %s threads: %s." % (
                        t1, t0, trains[t1][1], trains[t0][1], trains[t0][1] / trains[t1][1],
                        trains[t1][0], trains[t0][0], trains[t0][0] / trains[t1][0],
                        ", ".join(map(str, threads)),
                        "byte-identical" if same else "DIFFERENT"))
            rep.say()
        if a.epochs > 0:
            t = max(threads)
            cnf_acc, torch_acc = accuracy_runs(a.bin, a.data, t, a.epochs, tmp)
            rep.say("Test accuracy after each epoch (%d threads each, one run):" % t)
            rep.say()
            rep.say("| epoch | cnnfilter | PyTorch | difference |")
            rep.say("|---:|---:|---:|---:|")
            for e in range(min(len(cnf_acc), len(torch_acc))):
                rep.say("| %d | %.2f %% | %.2f %% | %+.2f points |" % (
                    e + 1, cnf_acc[e], torch_acc[e], cnf_acc[e] - torch_acc[e]))
            rep.say()
    rep.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())

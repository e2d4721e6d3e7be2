#!/usr/bin/env python3
"""torch_lenet.py - the PyTorch side of bench/train.py: LeNet-5 on Fashion-MNIST, one process.

    /usr/bin/python3 bench/torch_lenet.py DATA_DIR EPOCHS THREADS [--eval-each]

The same job as `cnnfilter train` + `cnnfilter predict` with examples/lenet5.json: the
images read from the IDX gz files into one uint8 array, standardised by the same affine map
(x * 0.0111092596 - 0.810198300, Fashion-MNIST's mean and deviation), conv 6 x 5x5 padding
2, relu, max pool 2, conv 16 x 5x5, relu, max pool 2, dense 120, relu, dense 84, relu,
dense 10, cross entropy (softmax inside); Adam lr 1e-3, batch 64, shuffled every epoch;
PyTorch's default initialisation (uniform in +-1/sqrt(fan_in) for weights and biases, the
scheme cnnfilter uses); float32.  Then the 10,000 test images are evaluated in batches of
1000 under torch.no_grad().  With --eval-each the test set is evaluated after every epoch.

Prints one line per evaluation: `epoch E test_accuracy A train_seconds T eval_seconds V`.
The caller measures the whole process (interpreter start-up and `import torch` included,
like any script that would do this job).
"""
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    if len(sys.argv) < 4:
        sys.stderr.write(__doc__)
        return 2
    data, epochs, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    eval_each = "--eval-each" in sys.argv[4:]
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    xtr = torch.from_numpy(idx(os.path.join(data, "train-images-idx3-ubyte.gz")).copy())
    ytr = torch.from_numpy(idx(os.path.join(data, "train-labels-idx1-ubyte.gz")).astype(np.int64))
    xte = torch.from_numpy(idx(os.path.join(data, "t10k-images-idx3-ubyte.gz")).copy())
    yte = torch.from_numpy(idx(os.path.join(data, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))

    def prep(x):
        return (x.float() * 0.0111092596 - 0.810198300).unsqueeze(1)

    net = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def evaluate():
        t0 = time.perf_counter()
        net.eval()
        hits = 0
        with torch.no_grad():
            for i in range(0, len(xte), 1000):
                hits += (net(prep(xte[i:i + 1000])).argmax(1) == yte[i:i + 1000]).sum().item()
        net.train()
        return hits / len(xte), time.perf_counter() - t0

    train_s = 0.0
    for e in range(1, epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = order[i:i + 64]
            opt.zero_grad()
            loss_fn(net(prep(xtr[b])), ytr[b]).backward()
            opt.step()
        train_s += time.perf_counter() - t0
        if eval_each or e == epochs:
            acc, ev = evaluate()
            print("epoch %d test_accuracy %.4f train_seconds %.2f eval_seconds %.2f"
                  % (e, acc, train_s, ev), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

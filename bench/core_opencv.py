#!/usr/bin/python3
"""core_opencv.py - OpenCV filter2D alone (no codec), in-process, on the benchmark photo.

    /usr/bin/python3 bench/core_opencv.py [PHOTO] [RUNS]

The peer side of build/bench_core: the same kernels on a 16 MP 8-bit RGB image, zero
border, 1 and 2 threads, median of RUNS (5).  OpenCV's output is 8-bit (saturated);
cnnfilter's core produces float32 exact values, so it does at least as much work.
"""
import os
import statistics
import sys
import time

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def kernels():
    k = {}
    k["sobel_v"] = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    k["gaussian"] = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], np.float32) / 16
    k["box:15"] = np.ones((15, 15), np.float32) / 225
    k["line_diag:25"] = np.eye(25, dtype=np.float32) / 25
    lv = np.zeros((25, 25), np.float32)
    lv[:, 12] = 1 / 25
    k["line_v:25"] = lv
    k["laplacian"] = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    return k


def main():
    photo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "data", "photo.png")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    im = cv2.imread(photo, cv2.IMREAD_COLOR)
    h, w = im.shape[:2]
    print("OpenCV %s filter2D, %dx%d RGB uint8 (%.1f MP), zero border, median of %d runs"
          % (cv2.__version__, w, h, w * h / 1e6, runs))
    print("%-14s %9s %9s %9s %9s" % ("kernel", "1 thr s", "Mpix/s", "2 thr s", "Mpix/s"))
    for name, k in kernels().items():
        med = []
        for n in (1, 2):
            cv2.setNumThreads(n)
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT)
                times.append(time.perf_counter() - t0)
            med.append(statistics.median(times))
        print("%-14s %9.3f %9.1f %9.3f %9.1f" % (name, med[0], w * h / 1e6 / med[0], med[1],
                                                 w * h / 1e6 / med[1]), flush=True)


if __name__ == "__main__":
    main()

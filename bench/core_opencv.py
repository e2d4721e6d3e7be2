#!/usr/bin/python3
"""core_opencv.py - OpenCV filter2D alone (no codec), in-process, on the benchmark photo.

    /usr/bin/python3 bench/core_opencv.py [PHOTO [RUNS [BIN [KERNEL...]]]]

The peer side of build/bench_core: each workload's kernel (weights / divisor from
`cnnfilter show-kernel`) on the 16 MP 8-bit RGB photo, zero border (BORDER_CONSTANT),
cv2.setNumThreads(1) and (2), median of RUNS (default 5) calls timed with perf_counter
around cv2.filter2D only (decoded image in memory, output allocated by each call).
OpenCV's output is 8-bit (rounded, saturated); bench_core's is float32 exact values, and
8-bit in its "u8" rows (the 8-bit lane, cnf_u8_conv).
"""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

KERNELS = ("sobel_v", "gaussian", "box:15", "line_diag:25", "line_v:25", "laplacian",
           "sharpen", "box:5", "gaussian:5")


def main():
    photo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(common.DATA, "photo.png")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    binary = sys.argv[3] if len(sys.argv) > 3 else common.BIN
    cv2, np = common.cv2, common.np
    if cv2 is None:
        print("core_opencv: OpenCV (python3-opencv) is not installed: skipped")
        return 0
    im = cv2.imread(photo, cv2.IMREAD_COLOR)
    if im is None:
        sys.exit("core_opencv: cannot read %s (run bench/prepare.sh)" % photo)
    h, w = im.shape[:2]
    print("OpenCV %s filter2D alone, %dx%d RGB uint8 (%.1f MP), zero border, median of %d runs"
          % (cv2.__version__, w, h, w * h / 1e6, runs))
    print("%-14s %9s %9s %9s %9s" % ("kernel", "1 thr s", "Mpix/s", "2 thr s", "Mpix/s"))
    for name in sys.argv[4:] or KERNELS:
        rows, div = common.kernel(name, binary)
        k = np.array(rows, np.float32) / div
        med = []
        for n in (1, 2):
            cv2.setNumThreads(n)
            cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT)   # warm-up
            times = []
            for _ in range(runs):
                t0 = time.perf_counter()
                cv2.filter2D(im, -1, k, borderType=cv2.BORDER_CONSTANT)
                times.append(time.perf_counter() - t0)
            med.append(statistics.median(times))
        print("%-14s %9.3f %9.1f %9.3f %9.1f" % (name, med[0], w * h / 1e6 / med[0], med[1],
                                                 w * h / 1e6 / med[1]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

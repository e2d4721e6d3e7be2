#!/usr/bin/env python3
"""nn_rng_ref.py - the training engine's generator, written from its definition (src/lib/nn.h).

SplitMix64 streams keyed by (seed, purpose, index): purpose 1 initialisation (index: the
pipeline layer from 0), 2 shuffling (index: the epoch from 1), 3 the validation split
(index 0).  Used by test_torch_train.py to reproduce cnf_train's epoch order and initial
weights, and (--print) to give the values test_nn_rng.c checks.
"""
import math
import struct
import sys

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _finalize(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _mix(x):
    return _finalize((x + GOLDEN) & M64)


class Stream:
    def __init__(self, seed, purpose, index):
        self.s = _mix(_mix(_mix(seed & M64) ^ purpose) ^ (index & M64))

    def next(self):
        self.s = (self.s + GOLDEN) & M64
        return _finalize(self.s)

    def uniform(self):
        """In (0, 1): 52 bits centred in their cell (exact in a double)."""
        return ((self.next() >> 12) + 0.5) / 4503599627370496.0

    def below(self, n):
        t = ((1 << 64) - n) % n
        while True:
            x = self.next()
            if x >= t:
                return x % n

    def shuffle(self, a):
        for i in range(len(a), 1, -1):
            j = self.below(i)
            a[i - 1], a[j] = a[j], a[i - 1]
        return a


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def draw(stream, fan_in):
    """One initial weight: float32 of (2u - 1) / sqrt(fan_in)."""
    return f32((2.0 * stream.uniform() - 1.0) * (1.0 / math.sqrt(fan_in)))


def epoch_order(seed, epoch, indices, shuffle=True):
    order = list(indices)
    if shuffle:
        Stream(seed, 2, epoch).shuffle(order)
    return order


def split(seed, n, fraction):
    """(training indices, validation indices), each ascending: the last floor(n * fraction)
    (at least 1) of one seeded permutation are held out."""
    if fraction <= 0:
        return list(range(n)), []
    nv = max(1, int(math.floor(n * fraction)))
    perm = Stream(seed, 3, 0).shuffle(list(range(n)))
    held = set(perm[n - nv:])
    return [i for i in range(n) if i not in held], sorted(held)


def main():
    if "--print" in sys.argv:
        s = Stream(0, 1, 0)
        print("stream(0, 1, 0):", [s.next() for _ in range(3)])
        s = Stream(42, 2, 7)
        print("stream(42, 2, 7):", [s.next() for _ in range(2)])
        print("uniform stream(5, 1, 3):", repr(Stream(5, 1, 3).uniform()))
        print("shuffle(10) stream(1, 2, 1):", Stream(1, 2, 1).shuffle(list(range(10))))
        print("split(0, 10, 0.3):", split(0, 10, 0.3))
        s = Stream(0, 1, 2)
        print("draws(0, layer 2, fan 25):", [repr(draw(s, 25)) for _ in range(3)])
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

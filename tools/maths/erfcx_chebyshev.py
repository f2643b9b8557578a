"""Generates the Chebyshev table of erfcx(x) = e^(x^2) erfc(x) in
cpp/src/kernels/math_more.h (kErfcxCheb): for each interval [1/2, 1], [1, 2], ...,
[16, 32], the interpolant at the Chebyshev nodes of the lowest degree whose relative
error on a 401-point grid is below 2^-58, with 200-bit mpmath arithmetic.

    python tools/maths/erfcx_chebyshev.py > table.txt   (a few seconds; needs mpmath)

Prints the padded row length, then one C++ initialiser row per interval; the
degrees and errors go to stderr.
"""

import sys

import mpmath as mp

INTERVALS = [(0.5, 1), (1, 2), (2, 4), (4, 8), (8, 16), (16, 32)]


def erfcx(x):
    return mp.erfc(x) * mp.exp(x * x)


def chebyshev(f, a, b, n):
    """Coefficients c_0..c_n of the degree-n interpolant of f on [a, b] at the n + 1
    Chebyshev nodes (f(x) ~ sum c_j T_j(u), u = (2x - a - b) / (b - a))."""
    m = n + 1
    nodes = [mp.cos(mp.pi * (k + mp.mpf(1) / 2) / m) for k in range(m)]
    values = [f((b - a) / 2 * u + (a + b) / 2) for u in nodes]
    c = [2 * sum(values[k] * mp.cos(mp.pi * j * (k + mp.mpf(1) / 2) / m) for k in range(m)) / m for j in range(m)]
    c[0] /= 2
    return c


def clenshaw(c, u):
    b1 = b2 = mp.mpf(0)
    for cj in reversed(c[1:]):
        b1, b2 = 2 * u * b1 - b2 + cj, b1
    return u * b1 - b2 + c[0]


def main():
    mp.mp.prec = 200
    rows = []
    for a, b in INTERVALS:
        for n in range(8, 40):
            c = chebyshev(erfcx, a, b, n)
            grid = [mp.mpf(2 * k) / 400 - 1 for k in range(401)]
            err = max(abs(clenshaw(c, u) / erfcx((b - a) / 2 * u + (a + b) / 2) - 1) for u in grid)
            if err < mp.mpf(2) ** -58:
                break
        print(f"[{a}, {b}]: degree {n}, relative error {float(err):.2e}", file=sys.stderr)
        rows.append([float(v) for v in c])
    width = max(len(r) for r in rows)
    print(width)
    for r in rows:
        print("{" + ", ".join(v.hex() for v in r + [0.0] * (width - len(r))) + "},")


if __name__ == "__main__":
    main()

"""Sparse Jacobians by colouring against a dense torch.func.jacrev.

    python bench/python/sparse_jacobian.py [--repeats 5]

Two residuals: a banded one (a discretised u'' + u^3, tridiagonal) and a
bundle-adjustment-shaped one (each pair of residuals touches one camera block of 6
and one point block of 3). Times are medians of --repeats runs after one warm-up,
float64, one thread for eigengrad and torch. "detect" finds the pattern by NaN
probes (once); "sparse" is eg.jacobian(f, sparsity=pattern) with that pattern;
the colouring of a pattern is kept (eg.jacobian
colours a pattern it has seen before only once), so "sparse" is the passes and the
gathering into CSR; torch computes the dense Jacobian (only where it fits in --dense-limit bytes), and
the results are checked to agree.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import eigengrad as eg
from eigengrad import sparse_jacobian

try:
    import torch
except ImportError:  # the dense baseline is skipped
    torch = None


def band(xp, cat):
    def f(x):
        inner = x[:-2] - 2 * x[1:-1] + x[2:] + x[1:-1] ** 3
        return cat([x[:1] * 1.0, inner, x[-1:] * 1.0])
    return f


def bundle(xp, cameras, points, cam, pt):
    def f(p):
        c = p[: 6 * cameras].reshape(cameras, 6)[cam]
        q = p[6 * cameras:].reshape(points, 3)[pt]
        rotated = q * xp.cos(c[:, :3]) + xp.sin(c[:, :3]) * q[:, [1, 2, 0]] + c[:, 3:]
        return (rotated[:, :2] / (rotated[:, 2:] + 5.0)).reshape(-1)
    return f


def median_seconds(run, repeats):
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def case(name, f_eg, f_torch, x, repeats, dense_limit):
    P = eg.jacobian_sparsity(f_eg, x)
    detect = median_seconds(lambda: eg.jacobian_sparsity(f_eg, x), max(1, repeats // 2))
    plan = sparse_jacobian.plan_colouring(P)
    J = eg.jacobian(f_eg, sparsity=P)(x)
    sparse_s = median_seconds(lambda: eg.jacobian(f_eg, sparsity=P)(x), repeats)
    m, n = J.shape
    row = f"{name:<34} {m:>7} x {n:<7} {J.nnz:>9,} {plan.mode:>4} {plan.count:>7} {detect * 1e3:>10.1f} {sparse_s * 1e3:>10.2f}"
    if torch is not None and m * n * 8 <= dense_limit:
        xt = torch.tensor(x)
        dense = torch.func.jacrev(f_torch)(xt).numpy()
        torch_s = median_seconds(lambda: torch.func.jacrev(f_torch)(xt), repeats)
        agree = np.abs(J.toarray() - dense).max()
        row += f" {torch_s * 1e3:>10.1f} {torch_s / sparse_s:>8.1f}x  {agree:.1e}"
    else:
        row += f" {'(dense ' + format(m * n * 8 / 1e9, '.0f') + ' GB: skipped)':>30}"
    print(row)
    return J


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--dense-limit", type=float, default=2e9, help="largest dense Jacobian for torch, bytes")
    args = parser.parse_args()
    eg.set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"float64, 1 thread; medians of {args.repeats} runs after a warm-up; torch "
          f"{torch.__version__ if torch is not None else 'not installed'}")
    print(f"{'residual':<34} {'Jacobian':>17} {'nonzeros':>9} {'mode':>4} {'colours':>7} {'detect ms':>10} "
          f"{'sparse ms':>10} {'torch ms':>10} {'speed-up':>9}  max |diff|")
    for n in (2_000, 10_000, 100_000):
        x = rng.standard_normal(n)
        J = case(f"band n={n:,}", band(eg, eg.concatenate), band(torch, torch.cat) if torch else None, x,
                 args.repeats, args.dense_limit)
        if n == 100_000:  # exact diagonals: -2 + 3x^2 inside, 1 off it (and the two identity rows)
            main_diag = np.r_[1.0, -2 + 3 * x[1:-1] ** 2, 1.0]
            assert np.allclose(J.diagonal(), main_diag) and np.allclose(J.diagonal(1)[1:], 1)
    for cameras, points, observations in ((20, 500, 2_000), (50, 5_000, 20_000)):
        cam = rng.integers(0, cameras, observations)
        pt = rng.integers(0, points, observations)
        x = rng.standard_normal(6 * cameras + 3 * points)
        f_torch = None
        if torch is not None:
            f_torch = bundle(torch, cameras, points, torch.tensor(cam), torch.tensor(pt))
        case(f"bundle {cameras} cams {points:,} pts {observations:,} obs", bundle(eg, cameras, points, cam, pt),
             f_torch, x, args.repeats, args.dense_limit)


if __name__ == "__main__":
    main()

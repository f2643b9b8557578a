"""Matrix products: eigengrad's Eigen and BLAS backends against NumPy's ``@``, and the crossover.

For square n x n products (and the MLP's shapes), float32 and float64, one thread
by default, it prints the median time of eigengrad's ``matmul`` with the backend
forced to Eigen, forced to BLAS, and in "auto" (what users get), each as a ratio to
NumPy's ``@`` in the same process (NumPy's own bundled OpenBLAS), and the smallest
size from which BLAS beats Eigen: the value to compare with ``eg.get_blas_threshold``.

Run (the BLAS backend needs ``pip install ".[blas]"``):
    python3 bench/python/gemm_backends.py
    python3 bench/python/gemm_backends.py --threads 2
"""

import os
import sys


def _threads_from_argv() -> int:
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
    return 1


if __name__ == "__main__":  # before NumPy loads its BLAS
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(_threads_from_argv())

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import eigengrad as eg  # noqa: E402

SHAPES = [(n, n, n) for n in (32, 64, 128, 256, 512, 1024, 2048)] + [(256, 784, 1024), (256, 1024, 1024),
                                                                      (128, 784, 256), (32, 64, 32)]


def median_seconds(fn, repeats, budget=0.2):
    fn()
    start = time.perf_counter()
    fn()
    once = max(time.perf_counter() - start, 1e-7)
    inner = max(1, int(budget / once))
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="three sizes, three repeats")
    args = parser.parse_args()
    eg.set_num_threads(args.threads)
    config = eg.show_config(mode="dicts")
    have_blas = config["blas"]["loaded"]
    blas = config["blas"]["config"] if have_blas else 'none (pip install ".[blas]")'
    print(f"eigengrad: SIMD {config['build']['simd']}, {args.threads} thread(s); BLAS: {blas}")
    shapes = SHAPES if not args.quick else [(64, 64, 64), (256, 256, 256), (1024, 1024, 1024)]
    repeats = 3 if args.quick else args.repeats
    saved = eg.get_gemm_backend()
    for dtype in ("float32", "float64"):
        print(f"\n{dtype}: time / NumPy @ (median of {repeats})")
        print(f"  {'m x k x n':>16} {'NumPy':>10} {'Eigen':>7} {'BLAS':>7} {'auto':>7}")
        crossover = None
        for m, k, n in shapes:
            rng = np.random.default_rng(0)
            a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
            va, vb = eg.Variable(a), eg.Variable(b)
            ref = median_seconds(lambda: a @ b, repeats)
            row = {}
            for backend in ("eigen", "blas", "auto") if have_blas else ("eigen",):
                eg.set_gemm_backend(backend)
                row[backend] = median_seconds(lambda: eg.matmul(va, vb), repeats) / ref
            eg.set_gemm_backend(saved)
            cells = " ".join(f"{row[b]:>6.2f}x" if b in row else f"{'-':>7}" for b in ("eigen", "blas", "auto"))
            print(f"  {f'{m}x{k}x{n}':>16} {ref * 1e3:>7.3f} ms {cells}")
            if have_blas and m == k == n and crossover is None and row["blas"] < row["eigen"]:
                crossover = m * k * n
        if have_blas:
            print(f"  BLAS first beats Eigen at {crossover or 'no size'} multiply-adds (square); "
                  f"the threshold in use is {eg.get_blas_threshold(dtype):.3g}")


if __name__ == "__main__":
    main()

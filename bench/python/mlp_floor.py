"""How fast an MLP train step can be: the time of its matrix products alone.

For each benchmark network of bench/python/mlp.py (float32, one thread), every
matrix product a train step makes is timed in NumPy (its OpenBLAS), PyTorch and
eigengrad: per layer the forward product h @ W^T, the weight gradient g^T @ h and
(past the first layer, whose input needs no gradient) the input gradient g @ W.
The fastest library per product, summed, is a floor for the whole step (no
element-wise work, no optimizer, no bookkeeping); it is printed beside the eager
PyTorch step and eigengrad's step, all timed in this process.

A ratio target (eigengrad step / PyTorch step) below floor / PyTorch cannot be
met by any change outside the matrix products: that needs a faster GEMM than all
three libraries have on this CPU.

Run:
    python3 bench/python/mlp_floor.py            # about half a minute
"""

import os
import statistics
import sys
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"  # before NumPy and PyTorch load their BLAS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import eigengrad as eg  # noqa: E402
import mlp  # noqa: E402

try:
    import torch
except ImportError:
    sys.exit("mlp_floor.py compares with PyTorch: pip install torch")


def median_seconds(fn, repeats=15):
    """Median time of one call of fn, after two warm-up calls."""
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def products(sizes, batch):
    """(m, k, n) of every product C (m x n) = A (m x k) @ B (k x n) of a train step."""
    shapes = []
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes.append((batch, n_in, n_out))  # forward
        shapes.append((n_out, batch, n_in))  # weight gradient
        if layer > 0:
            shapes.append((batch, n_out, n_in))  # input gradient
    return shapes


def main():
    eg.set_num_threads(1)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print("float32, 1 thread; times in ms")
    for sizes, batch in mlp.CONFIGS[1:]:
        per_library = {"numpy": 0.0, "torch": 0.0, "eigengrad": 0.0}
        floor = flops = 0.0
        for m, k, n in products(sizes, batch):
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            ea, eb = eg.Variable(a), eg.Variable(b)
            times = {"numpy": median_seconds(lambda: a @ b), "torch": median_seconds(lambda: ta @ tb),
                     "eigengrad": median_seconds(lambda: ea @ eb)}
            for name, t in times.items():
                per_library[name] += t
            floor += min(times.values())
            flops += 2.0 * m * k * n
        X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
        y = rng.integers(0, sizes[-1], batch)
        layers = mlp.initial_weights(sizes, np.float32)
        torch_step = median_seconds(mlp.torch_step(sizes, layers, X, y)[0])
        eg_step = median_seconds(mlp.eigengrad_step(sizes, layers, X, y)[0])
        name = "-".join(map(str, sizes))
        print(f"{name} batch {batch}: {flops / 1e6:.0f} MFLOP of products")
        print("  products alone: " + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in per_library.items()) +
              f"; fastest per product {floor * 1e3:.2f} ({flops / floor / 1e9:.0f} GFLOP/s)")
        print(f"  step: torch {torch_step * 1e3:.2f}, eigengrad {eg_step * 1e3:.2f}")
        print(f"  floor / torch step = {floor / torch_step:.2f}; eigengrad / torch step = {eg_step / torch_step:.2f}")


if __name__ == "__main__":
    main()

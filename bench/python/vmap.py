"""eg.vmap against a Python loop and against torch.func.vmap: per-sample gradients.

The workload is what vmap is for: the gradient of each example's loss in a batch
(differential privacy, influence functions, per-example clipping), for an MLP
in -> hidden -> classes with tanh and cross-entropy:

- ``eg.vmap(eg.grad(loss), in_axes=(None,) * 4 + (0, 0))``: one batched pass;
- the same gradient by a Python loop of ``eg.grad`` over the examples;
- ``torch.func.vmap(torch.func.grad(loss))`` and a loop of ``torch.func.grad``
  (when PyTorch is installed).

Every result is checked against the eigengrad loop (max abs difference shown)
before it is timed. Each cell is the median over --repeats repeats, after a
warm-up call, of N calls, N chosen so that a repeat takes at least about 50 ms.
float64 (float32 with --float32), one thread: eg.set_num_threads(1),
torch.set_num_threads(1), and the BLAS thread variables set to 1 before NumPy loads.

Run:
    python3 bench/python/vmap.py            # about 1 min
    python3 bench/python/vmap.py --quick    # smoke run, seconds
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
from benchutil import cpu_model, run  # noqa: E402

import eigengrad as eg  # noqa: E402

try:
    import torch
    from torch.func import grad as torch_grad, vmap as torch_vmap
except ImportError:  # the torch rows are left out
    torch = None


def eg_loss(W1, b1, W2, b2, x, t):
    return eg.nn.functional.cross_entropy((W2 @ eg.tanh(W1 @ x + b1) + b2)[None], t[None])


def torch_loss(W1, b1, W2, b2, x, t):
    return torch.nn.functional.cross_entropy((W2 @ torch.tanh(W1 @ x + b1) + b2)[None], t[None])


def median_seconds(fn, repeats):
    fn()  # warm-up
    n = 1
    while run(fn, n) < 0.05:
        n *= 2
    return statistics.median(run(fn, n) / n for _ in range(repeats))


def workload(sizes, batch, dtype, repeats):
    n_in, hidden, classes = sizes
    rng = np.random.default_rng(0)
    params = [(rng.normal(size=(hidden, n_in)) / np.sqrt(n_in)).astype(dtype), np.zeros(hidden, dtype),
              (rng.normal(size=(classes, hidden)) / np.sqrt(hidden)).astype(dtype), np.zeros(classes, dtype)]
    X = rng.normal(size=(batch, n_in)).astype(dtype)
    y = rng.integers(0, classes, size=batch)
    eg_params = [eg.Variable(p) for p in params]
    per_sample = eg.grad(eg_loss, argnums=(0, 1, 2, 3))
    batched = eg.vmap(per_sample, in_axes=(None,) * 4 + (0, 0))

    def eg_vmap():
        return batched(*eg_params, eg.Variable(X), y)

    def eg_loop():
        grads = [per_sample(*eg_params, eg.Variable(X[i]), y[i:i + 1][0]) for i in range(batch)]
        return [np.stack([np.asarray(g[k]) for g in grads]) for k in range(4)]

    reference = eg_loop()
    rows = []

    def check(result):
        return max(float(np.max(np.abs(np.asarray(r) - ref))) for r, ref in zip(result, reference))

    rows.append(("eigengrad vmap(grad)", median_seconds(eg_vmap, repeats), check(eg_vmap())))
    rows.append(("eigengrad loop of grad", median_seconds(eg_loop, repeats), 0.0))
    if torch is not None:
        tp = [torch.tensor(p) for p in params]
        tX, ty = torch.tensor(X), torch.tensor(y)
        tgrad = torch_grad(torch_loss, argnums=(0, 1, 2, 3))
        tbatched = torch_vmap(tgrad, in_dims=(None,) * 4 + (0, 0))

        def torch_vmapped():
            return tbatched(*tp, tX, ty)

        def torch_loop():
            grads = [tgrad(*tp, tX[i], ty[i]) for i in range(batch)]
            return [torch.stack([g[k] for g in grads]) for k in range(4)]

        rows.append(("torch.func vmap(grad)", median_seconds(torch_vmapped, repeats),
                     check([t.numpy() for t in torch_vmapped()])))
        rows.append(("torch.func loop of grad", median_seconds(torch_loop, repeats),
                     check([t.numpy() for t in torch_loop()])))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    parser.add_argument("--float32", action="store_true")
    args = parser.parse_args()
    dtype = np.float32 if args.float32 else np.float64
    eg.set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)
        torch.set_default_dtype(torch.float64 if dtype == np.float64 else torch.float32)
    cases = [((64, 32, 10), 32), ((784, 128, 10), 128)] if not args.quick else [((16, 8, 4), 8)]
    repeats = 3 if args.quick else args.repeats
    print(f"# per-sample gradients, {np.dtype(dtype).name}, 1 thread, median of {repeats}; {cpu_model()}")
    for sizes, batch in cases:
        rows = workload(sizes, batch, dtype, repeats)
        base = rows[0][1]
        print(f"\nMLP {'-'.join(map(str, sizes))}, batch {batch}")
        print(f"  {'':26}{'ms':>10}{'vs vmap':>10}{'max |diff|':>12}")
        for name, seconds, diff in rows:
            print(f"  {name:26}{seconds * 1e3:10.3f}{seconds / base:10.2f}{diff:12.1e}")


if __name__ == "__main__":
    main()

"""Per-op overhead of eigengrad beside PyTorch, with NumPy as the floor.

For each op and input size, prints microseconds per call for:

- numpy fwd: the plain NumPy expression on ndarrays (no autodiff at all);
- fwd: the op on inputs with requires_grad=False (no graph is recorded);
- fwd+bwd: the op on leaf inputs with requires_grad=True, reduced with .sum()
  unless already a scalar, then .backward(); the leaves' .grad is reset to None
  before each iteration (the same for both libraries).

Sizes are 1x1 and 4x4 (1 and 16 elements: the per-call overhead dominates) and
256x256 (the kernels dominate). Each cell is the median over --repeats repeats of
N iterations, N chosen so that one repeat takes about 75 ms (about 2 ms with
--quick). Nothing is subtracted: times include the Python loop and a closure call.
ratio = eigengrad / torch, so above 1 means eigengrad is slower.

Everything runs on one thread: eg.set_num_threads(1), torch.set_num_threads(1), and
the BLAS thread variables are set to 1 before NumPy loads (when run as a program;
bench/run.py, in bench/runner/one_pass.py, imports measure_row and sets the
threads itself).

Run:
    python3 bench/python/overhead.py                   # float32, about 1.5 min
    python3 bench/python/overhead.py --dtype float64
    python3 bench/python/overhead.py --quick           # smoke run, a few seconds
"""

import os

if __name__ == "__main__":
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
from benchutil import cpu_model, run  # noqa: E402

import eigengrad as eg  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None

SIZES = [(1, 1), (4, 4), (256, 256)]

# name, f(m, x, y) with m the library module (eg or torch), NumPy equivalent.
OPS = [
    ("add", lambda m, x, y: m.add(x, y), lambda x, y: np.add(x, y)),
    ("mul", lambda m, x, y: m.mul(x, y), lambda x, y: np.multiply(x, y)),
    ("exp", lambda m, x, y: m.exp(x), lambda x, y: np.exp(x)),
    ("tanh", lambda m, x, y: m.tanh(x), lambda x, y: np.tanh(x)),
    ("sigmoid", lambda m, x, y: m.sigmoid(x), lambda x, y: 1 / (1 + np.exp(-x))),
    ("relu", lambda m, x, y: m.relu(x), lambda x, y: np.maximum(x, 0)),
    ("matmul", lambda m, x, y: m.matmul(x, y), lambda x, y: np.matmul(x, y)),
    ("sum", lambda m, x, y: m.sum(x), lambda x, y: np.sum(x)),
    ("(x*y+x).tanh().sum()", lambda m, x, y: (x * y + x).tanh().sum(),
     lambda x, y: np.tanh(x * y + x).sum()),
]


def per_call_us(fn, target_s, repeats):
    """Median microseconds per fn() over `repeats` runs of N calls each, N chosen
    so that one run takes about target_s. Calibration doubles as warm-up."""
    n = 1
    while (dt := run(fn, n)) < target_s / 10:
        n *= 10
    n = max(1, round(n * target_s / dt))
    return statistics.median(run(fn, n) / n for _ in range(repeats)) * 1e6


def forward(m, f, x, y):
    return lambda: f(m, x, y)


def forward_backward(m, f, x, y):
    def step():
        x.grad = None
        y.grad = None
        out = f(m, x, y)
        if out.ndim:
            out = out.sum()
        out.backward()
    return step


def measure_row(f, np_f, a, b, target_s, repeats):
    """{"np", "eg", "th", "eg_b", "th_b": microseconds per call} for one op on the
    arrays a, b (see the module docstring; "th" and "th_b" are None without torch)."""
    t = {"np": per_call_us(lambda: np_f(a, b), target_s, repeats)}
    x, y = eg.Variable(a), eg.Variable(b)
    t["eg"] = per_call_us(forward(eg, f, x, y), target_s, repeats)
    x, y = eg.Variable(a, requires_grad=True), eg.Variable(b, requires_grad=True)
    t["eg_b"] = per_call_us(forward_backward(eg, f, x, y), target_s, repeats)
    t["th"] = t["th_b"] = None
    if torch is not None:
        x, y = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
        t["th"] = per_call_us(forward(torch, f, x, y), target_s, repeats)
        x.requires_grad_(), y.requires_grad_()
        t["th_b"] = per_call_us(forward_backward(torch, f, x, y), target_s, repeats)
    return t


def fmt(v):
    return "-" if v is None else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--repeats", type=int, default=7, help="repeats per cell (median)")
    p.add_argument("--quick", action="store_true", help="short smoke run")
    args = p.parse_args()
    repeats = min(args.repeats, 3) if args.quick else args.repeats
    target_s = 0.002 if args.quick else 0.075
    eg.set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)

    print(f"machine:   {cpu_model()} ({platform.machine()}, {platform.system()})")
    print(f"python:    {platform.python_version()}")
    print(f"numpy:     {np.__version__}")
    print(f"eigengrad: {eg.__version__}")
    print(f"torch:     {torch.__version__ if torch is not None else 'not installed'}")
    print(f"threads:   1 (eg {eg.get_num_threads()}, "
          f"torch {torch.get_num_threads() if torch is not None else '-'}"
          f", OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")
    print(f"dtype:     {args.dtype}")
    print(f"repeats:   median of {repeats} x ~{target_s * 1e3:.0f} ms")
    print("times in us per call; ratio = eg / torch (> 1: eigengrad slower)\n")

    print("| op | size | numpy fwd us | eg fwd us | torch fwd us | ratio "
          "| eg fwd+bwd us | torch fwd+bwd us | ratio |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    rng = np.random.default_rng(0)
    for name, f, np_f in OPS:
        for shape in SIZES:
            a = rng.standard_normal(shape).astype(args.dtype)
            b = rng.standard_normal(shape).astype(args.dtype)
            t = measure_row(f, np_f, a, b, target_s, repeats)
            size = "x".join(map(str, shape))
            print(f"| {name} | {size} | {fmt(t['np'])} | {fmt(t['eg'])} | {fmt(t['th'])} "
                  f"| {ratio(t['eg'], t['th'])} | {fmt(t['eg_b'])} | {fmt(t['th_b'])} "
                  f"| {ratio(t['eg_b'], t['th_b'])} |", flush=True)


if __name__ == "__main__":
    main()

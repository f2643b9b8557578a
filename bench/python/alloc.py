"""What the caching allocator saves: the same work with the cache on and off.

In one process, on one thread, the cache bound is switched between its default
(256 MiB) and 0 (every buffer from malloc and back to the system, as before the
cache: see Note [Caching allocator] in cpp/src/allocator.h), alternating so that
machine noise falls on both columns alike:

- matmul 1024 x 1024 @ 1024 x 1024, float32 and float64, beside NumPy's `a @ b`
  (ratios above 1 mean eigengrad is slower);
- an MLP 784-1024-1024-10 training step on a batch of 256 (forward, cross-entropy,
  backward, SGD with momentum), float32;
- exp on 4 MiB and 64 MiB float32 arrays beside np.exp (glibc serves blocks above
  32 MiB with mmap every time: fresh pages);
- minor page faults per call (getrusage), the cost the cache removes.

Each cell is the median over --repeats runs of N calls after a warm-up.

Run:
    python3 bench/python/alloc.py              # about a minute
    python3 bench/python/alloc.py --quick      # smoke run
"""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402

import eigengrad as eg  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchutil import cpu_model, run  # noqa: E402


def matmul_case(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024)).astype(dtype)
    b = rng.standard_normal((1024, 1024)).astype(dtype)
    va, vb = eg.Variable(a), eg.Variable(b)
    return (lambda: eg.matmul(va, vb)), (lambda: a @ b)


def exp_case(n):
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    v = eg.Variable(x)
    return (lambda: eg.exp(v)), (lambda: np.exp(x))


def mlp_case():
    eg.random.seed(0)
    model = eg.nn.MLP([784, 1024, 1024, 10])
    opt = eg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(1)
    x = eg.Variable(rng.standard_normal((256, 784)).astype(np.float32))
    labels = rng.integers(0, 10, 256)

    def step():
        opt.zero_grad()
        loss = eg.nn.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()

    return step, None


def faults(fn, n):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(n):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / n


def measure(fn, n, repeats, limit):
    """Median seconds per call and page faults per call with the cache bound `limit`."""
    eg.set_memory_cache_limit(limit)
    eg.empty_cache()
    run(fn, max(1, n // 4))  # warm-up (fills the cache)
    return run(fn, n) / n, faults(fn, n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    eg.set_num_threads(1)
    default = eg.get_memory_cache_limit() or 256 << 20

    print(f"# caching allocator: cache {default >> 20} MiB vs off, 1 thread, {cpu_model()}")
    print(f"# median of {repeats} alternating runs; ratio = eigengrad / NumPy in the same process")
    print(f"{'case':<28}{'off ms':>9}{'on ms':>9}{'on/off':>8}{'off/np':>8}{'on/np':>8}"
          f"{'faults off':>12}{'faults on':>11}")
    cases = [("matmul 1024^2 float32", *matmul_case(np.float32), 20),
             ("matmul 1024^2 float64", *matmul_case(np.float64), 10),
             ("MLP 784-1024-1024-10 b256", *mlp_case(), 3),
             ("exp 1M float32 (4 MiB)", *exp_case(1 << 20), 200),
             ("exp 16M float32 (64 MiB)", *exp_case(1 << 24), 10)]
    for name, fn, ref, n in cases:
        if args.quick:
            n = 2
        times = {"off": [], "on": [], "np": []}
        flts = {"off": [], "on": []}
        for _ in range(repeats):
            for key, limit in (("off", 0), ("on", default)):
                t, f = measure(fn, n, repeats, limit)
                times[key].append(t)
                flts[key].append(f)
            if ref is not None:
                run(ref, 1)
                times["np"].append(run(ref, n) / n)
        off, on = statistics.median(times["off"]), statistics.median(times["on"])
        npt = statistics.median(times["np"]) if times["np"] else float("nan")
        print(f"{name:<28}{off * 1e3:9.2f}{on * 1e3:9.2f}{on / off:8.3f}{off / npt:8.3f}{on / npt:8.3f}"
              f"{statistics.median(flts['off']):12.0f}{statistics.median(flts['on']):11.0f}")
    eg.set_memory_cache_limit(default)


if __name__ == "__main__":
    main()

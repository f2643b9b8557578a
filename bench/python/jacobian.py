"""Jacobians and Hessian-vector products: eigengrad beside PyTorch and HIPS autograd.

Two float64 workloads, each with an analytic NumPy computation as the floor:

- the Jacobian of f(x) = tanh(W2 @ tanh(W1 @ x)), W1, W2 (n, n) scaled by
  1/sqrt(n), n = 100 and 1000; analytic J = diag(1 - h2^2) W2 diag(1 - h1^2) W1
  (broadcasting and one GEMM);
- the gradient and the Hessian-vector product of g(x) = sum(tanh(W @ x)^2)
  + 0.5 sum(x^2), n = 1000.

Every result is checked against the analytic one (max abs error <= 1e-10, shown)
before it is timed, and eg.hvp against torch double backward. Each cell is the
median over --repeats repeats, after a warm-up call, of N calls, N chosen so that
a repeat takes at least about 50 ms. "vs best peer" divides by the fastest
PyTorch or HIPS autograd row of the workload (above 1: slower); "vs numpy" by the
analytic row; "HVP / grad" divides each HVP by the gradient it is built on.

One thread: eg.set_num_threads(1), torch.set_num_threads(1), and the BLAS thread
variables set to 1 before NumPy loads. Needs PyTorch; HIPS autograd rows need
`pip install autograd`.

Run:
    python3 bench/python/jacobian.py            # about 1 min
    python3 bench/python/jacobian.py --quick    # smoke run, sizes / 10, seconds
"""

import os

if __name__ == "__main__":  # bench/runner/one_pass.py imports the contenders and sets threads itself
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402

import numpy as np  # noqa: E402
from benchutil import cpu_model, run  # noqa: E402
import eigengrad as eg  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.func  # noqa: E402
except ImportError:
    torch = None

try:
    import autograd  # noqa: E402
    import autograd.numpy as anp  # noqa: E402
except ImportError:
    autograd = None

TOL = 1e-10
PEERS = ("torch", "autograd")  # the libraries "vs best peer" divides by


def per_call_ms(fn, target_s, repeats):
    """Median milliseconds per fn() over `repeats` runs of N calls each, after one
    warm-up call; N is chosen so that one run takes at least about target_s."""
    fn()
    n = 1
    while (dt := run(fn, n)) < target_s / 10:
        n *= 10
    n = max(1, math.ceil(n * target_s / dt))
    return statistics.median(run(fn, n) / n for _ in range(repeats)) * 1e3


def jacobian_contenders(W1, W2, x):
    """(library, name, fn) triples, the analytic one last; fn() returns J at x."""
    w1, w2, xe = eg.Variable(W1), eg.Variable(W2), eg.Variable(x)

    def f(x):
        return eg.tanh(w2 @ eg.tanh(w1 @ x))

    def analytic():
        h1 = np.tanh(W1 @ x)
        h2 = np.tanh(W2 @ h1)
        return ((1 - h2**2)[:, None] * W2 * (1 - h1**2)) @ W1

    rows = [("eigengrad", f'eg.jacobian mode="{m}"', lambda m=m: eg.jacobian(f, mode=m)(xe))
            for m in ("rev", "fwd", "auto")]
    if torch is not None:
        t1, t2, xt = torch.from_numpy(W1), torch.from_numpy(W2), torch.from_numpy(x)

        def ft(x):
            return torch.tanh(t2 @ torch.tanh(t1 @ x))

        jacrev, jacfwd = torch.func.jacrev(ft), torch.func.jacfwd(ft)
        jac = torch.autograd.functional.jacobian
        rows += [("torch", "torch.func.jacrev", lambda: jacrev(xt)),
                 ("torch", "torch.func.jacfwd", lambda: jacfwd(xt)),
                 ("torch", "torch.autograd.functional.jacobian", lambda: jac(ft, xt)),
                 ("torch", "... vectorize=True", lambda: jac(ft, xt, vectorize=True))]
    if autograd is not None:
        jac_ag = autograd.jacobian(lambda x: anp.tanh(anp.dot(W2, anp.tanh(anp.dot(W1, x)))))
        rows.append(("autograd", "autograd.jacobian", lambda: jac_ag(x)))
    return rows + [("numpy", "numpy analytic", analytic)]


def hvp_contenders(W, x, v):
    """Two lists of (library, name, fn), the analytic ones last: gradients of g at
    x, and H(x) @ v in the same order (the i-th HVP is built on the i-th gradient)."""
    we, xe, ve = eg.Variable(W), eg.Variable(x), eg.Variable(v)

    def g(x):
        return eg.sum(eg.tanh(we @ x) ** 2) + 0.5 * eg.sum(x**2)

    # g' = W^T (2 t (1 - t^2)) + x and H v = W^T (2 (1 - t^2)(1 - 3 t^2) * (W v)) + v
    def grad_np():
        t = np.tanh(W @ x)
        return W.T @ (2 * t * (1 - t**2)) + x

    def hvp_np():
        t = np.tanh(W @ x)
        return W.T @ (2 * (1 - t**2) * (1 - 3 * t**2) * (W @ v)) + v

    grads = [("eigengrad", "eg.grad", lambda: eg.grad(g)(xe))]
    hvps = [("eigengrad", "eg.hvp", lambda: eg.hvp(g, (xe,), (ve,))[1][0])]
    if torch is not None:
        wt, xt, vt = torch.from_numpy(W), torch.from_numpy(x), torch.from_numpy(v)

        def gt(x):
            return torch.sum(torch.tanh(wt @ x) ** 2) + 0.5 * torch.sum(x**2)

        def grad_torch():
            x = xt.detach().requires_grad_()
            return torch.autograd.grad(gt(x), x)[0]

        def double_backward():
            x = xt.detach().requires_grad_()
            gx = torch.autograd.grad(gt(x), x, create_graph=True)[0]
            return torch.autograd.grad(gx @ vt, x)[0]

        grad_func = torch.func.grad(gt)
        grads += [("torch", "torch.autograd.grad", grad_torch),
                  ("torch", "torch.func.grad", lambda: grad_func(xt))]
        hvps += [("torch", "torch double backward", double_backward),
                 ("torch", "torch.func.jvp(grad)",
                  lambda: torch.func.jvp(grad_func, (xt,), (vt,))[1])]
    if autograd is not None:
        def ga(x):
            return anp.sum(anp.tanh(anp.dot(W, x)) ** 2) + 0.5 * anp.sum(x**2)

        grad_ag, hvp_ag = autograd.grad(ga), autograd.hessian_vector_product(ga)
        grads.append(("autograd", "autograd.grad", lambda: grad_ag(x)))
        hvps.append(("autograd", "autograd.hessian_vector_product", lambda: hvp_ag(x, v)))
    return (grads + [("numpy", "numpy analytic", grad_np)],
            hvps + [("numpy", "numpy analytic", hvp_np)])


def measure(contenders, target_s, repeats):
    """{name: (library, ms, max abs error vs the last, analytic, contender)};
    raises before any timing if an error exceeds TOL."""
    reference = np.asarray(contenders[-1][2]())
    errors = [float(np.max(np.abs(np.asarray(fn()) - reference))) for _, _, fn in contenders]
    bad = [f"{c[1]}: {e:.3g}" for c, e in zip(contenders, errors) if not e <= TOL]
    assert not bad, f"max abs error above {TOL:g}: {bad}"
    return {name: (lib, per_call_ms(fn, target_s, repeats), err)
            for (lib, name, fn), err in zip(contenders, errors)}


def fmt(v):
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def print_rows(workload, results, extra):
    """Table rows; "vs best peer" divides by the fastest PEERS row of `results`."""
    best = min(ms for lib, ms, _ in results.values() if lib in PEERS)
    for name, (lib, ms, err) in results.items():
        print(f"| {workload} | {name} | {fmt(ms)} | {ms / best:.2f} | {extra(name, ms)} "
              f"| {err:.1e} |", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=7, help="repeats per cell (median, >= 5)")
    p.add_argument("--quick", action="store_true", help="short smoke run, sizes / 10")
    args = p.parse_args()
    repeats = min(args.repeats, 3) if args.quick else max(args.repeats, 5)
    target_s = 0.002 if args.quick else 0.05
    scale = 10 if args.quick else 1
    if torch is None:
        p.exit(1, "jacobian.py: needs PyTorch (pip install torch)\n")
    eg.set_num_threads(1)
    torch.set_num_threads(1)

    print(f"machine:   {cpu_model()} ({platform.machine()}, {platform.system()})")
    print(f"python:    {platform.python_version()}")
    print(f"numpy:     {np.__version__}")
    print(f"eigengrad: {eg.__version__}")
    print(f"torch:     {torch.__version__}")
    print("autograd: ", importlib.metadata.version("autograd") if autograd else "not installed")
    print(f"threads:   1 (eg {eg.get_num_threads()}, torch {torch.get_num_threads()}, "
          f"OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']})")
    print("dtype:     float64")
    print(f"repeats:   median of {repeats} x >= ~{target_s * 1e3:.0f} ms, after a warm-up call")
    print(f"checked:   max abs error vs the analytic NumPy result <= {TOL:g}\n")

    rng = np.random.default_rng(0)
    print("| workload | contender | median ms | vs best peer | vs numpy | max abs err |")
    print("|---|---|--:|--:|--:|--:|")
    for n in (100 // scale, 1000 // scale):
        W1, W2 = (rng.standard_normal((n, n)) / math.sqrt(n) for _ in range(2))
        results = measure(jacobian_contenders(W1, W2, rng.standard_normal(n)), target_s, repeats)
        floor = results["numpy analytic"][1]
        print_rows(f"jacobian n={n}", results, lambda name, ms: f"{ms / floor:.1f}")

    n = 1000 // scale
    W = rng.standard_normal((n, n)) / math.sqrt(n)
    grads, hvps = hvp_contenders(W, rng.standard_normal(n), rng.standard_normal(n))
    diff = np.max(np.abs(np.asarray(hvps[0][2]()) - hvps[1][2]().numpy()))
    assert diff <= TOL, f"eg.hvp vs torch double backward: max abs diff {diff:.3g}"
    grad_results = measure(grads, target_s, repeats)
    hvp_results = measure(hvps, target_s, repeats)
    grad_ms = {h[1]: grad_results[g[1]][1] for h, g in zip(hvps, grads)}
    print("\n| workload | contender | median ms | vs best peer | HVP / grad | max abs err |")
    print("|---|---|--:|--:|--:|--:|")
    print_rows(f"grad n={n}", grad_results, lambda name, ms: "-")
    print_rows(f"hvp n={n}", hvp_results, lambda name, ms: f"{ms / grad_ms[name]:.2f}")


if __name__ == "__main__":
    main()

"""One measurement pass: every workload group at one thread count, written to a JSON file.

bench/run.py runs each pass in a subprocess of its own (`python bench/run.py --threads N
--json FILE`). run_pass makes the thread settings, then imports the libraries, then
measures the groups in a fixed order (overhead, MLP, GEMM, Jacobian, HVP, chain),
noting after each how busy other processes kept the machine meanwhile. The
measurement functions come from the bench/python programs (overhead.py, mlp.py,
jacobian.py) and, for JAX and the chain, from peers.py and chain.py.

NumPy, eigengrad, torch and jax are imported inside run_pass only, after
set_threads: nothing in this package imports them at module level.
"""

import json
import os
import statistics
import sys
import time

from .alignment import place
from .chain import chain_eigengrad, chain_numpy, chain_torch
from .load import OtherLoad
from .machine import meta
from .paths import BENCH
from .peers import jax_hvp, jax_jacobian, jax_mlp_step
from .targets import problem_sizes
from .threads import set_threads

# The rows of jacobian.py's Jacobian and HVP contenders that the runner keeps.
KEEP = ('eg.jacobian mode="rev"', 'eg.jacobian mode="fwd"', 'eg.jacobian mode="auto"',
        "torch.func.jacrev", "torch.func.jacfwd", "numpy analytic",
        "eg.hvp", "torch double backward", "torch.func.jvp(grad)")


class PassContext:
    """What every workload group of a pass uses: the libraries (torch, jax and jnp are
    None when missing), the settings, and `usage`, which timed() fills."""

    def __init__(self, threads, quick, libs):
        self.threads, self.quick = threads, quick
        (self.np, self.eg, self.torch, self.jax, self.jnp,
         self.overhead_bench, self.mlp_bench, self.jac_bench) = libs
        self.repeats = 3 if quick else 5
        self.size = problem_sizes(quick)
        self.usage = {}  # group -> library -> CPU time / wall time of its last timed cell

    def timed(self, group, lib, measure, fn, *args):
        """measure(fn, *args), noting the process's CPU time / wall time meanwhile."""
        c0, w0 = time.process_time(), time.perf_counter()
        value = measure(fn, *args)
        self.usage.setdefault(group, {})[lib] = (time.process_time() - c0) / (time.perf_counter() - w0)
        return value

    def say(self, *parts):
        print(f"[{self.threads} thread{'s' if self.threads > 1 else ''}]", *parts, flush=True)


def import_libraries():
    """numpy, eigengrad, torch, jax, jax.numpy and the bench/python programs, in this
    order; torch and jax are None when missing. Returns (libs, jax_error)."""
    sys.path.insert(0, str(BENCH / "python"))
    import numpy as np

    import eigengrad as eg
    import jacobian as jac_bench
    import mlp as mlp_bench
    import overhead as overhead_bench

    torch = overhead_bench.torch
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)  # float64 Jacobian and HVP; float32 stays float32
        jax_error = None
    except Exception as exc:  # ImportError, or a jaxlib that does not load
        jax = jnp = None
        jax_error = f"{type(exc).__name__}: {exc}"
    return (np, eg, torch, jax, jnp, overhead_bench, mlp_bench, jac_bench), jax_error


def run_pass(threads, json_path, quick):
    """Measure every workload group with `threads` threads and write the results to json_path."""
    pinned = set_threads(threads)  # before NumPy, torch, jax load
    libs, jax_error = import_libraries()
    p = PassContext(threads, quick, libs)
    np, eg, torch, jax = p.np, p.eg, p.torch, p.jax

    eg.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    other = {}  # group -> mean cores kept busy by other processes meanwhile
    out = {"threads": threads, "quick": quick, "sizes": p.size, "usage": p.usage, "other_load": other,
           "pinned_cpu": pinned, "loadavg_start": os.getloadavg()}

    out["meta"] = meta(np, eg, torch, jax, jax_error, threads)
    p.say("eigengrad", eg.get_num_threads(), "threads; torch",
          torch.get_num_threads() if torch else "-", "; XLA_FLAGS =", os.environ.get("XLA_FLAGS"))
    t_start = time.perf_counter()
    load_all = load = OtherLoad()

    out["overhead"] = measure_overhead(p)
    other["overhead"], load = load.cores(), OtherLoad()
    p.say(f"overhead: {len(out['overhead']['rows'])} rows")

    out["mlp"] = measure_mlp(p)
    other["mlp"], load = load.cores(), OtherLoad()

    out["gemm"] = measure_gemm(p)
    other["gemm"], load = load.cores(), OtherLoad()

    rng = np.random.default_rng(0)  # one stream: the Jacobian's inputs, then the HVP's
    out["jacobian"] = measure_jacobian(p, rng)
    other["jacobian"], load = load.cores(), OtherLoad()

    out["hvp"] = measure_hvp(p, rng)
    other["hvp"], load = load.cores(), OtherLoad()
    p.say("hvp", out["hvp"]["groups"][0]["n"], {r["name"]: round(r["ms"], 3) for r in out["hvp"]["groups"][0]["rows"]})

    out["chain"] = measure_chain(p)
    other["chain"], other["whole pass"] = load.cores(), load_all.cores()
    p.say("chain", out["chain"]["length"], {k: round(v, 1) for k, v in out["chain"]["ms"].items()})

    out["seconds"] = time.perf_counter() - t_start
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(out, indent=1, default=float))


def measure_overhead(p):
    """Per-op overhead (overhead.py), float32: each op at each size, fwd and fwd+bwd."""
    overhead_bench = p.overhead_bench
    rows = []
    rng = p.np.random.default_rng(0)
    target_s = 0.002 if p.quick else 0.025
    for name, f, np_f in overhead_bench.OPS:
        for shape in overhead_bench.SIZES:
            a = rng.standard_normal(shape).astype("float32")
            b = rng.standard_normal(shape).astype("float32")
            t = overhead_bench.measure_row(f, np_f, a, b, target_s, p.repeats)
            rows.append({"op": name, "size": "x".join(map(str, shape)), **t})
    return {"dtype": "float32", "rows": rows}


def measure_mlp(p):
    """MLP train step (mlp.py), float32: every library from the same weights and batch."""
    np, mlp_bench = p.np, p.mlp_bench
    factories = {"eigengrad": mlp_bench.eigengrad_step, "numpy": mlp_bench.numpy_step}
    if p.torch is not None:
        factories["torch"] = mlp_bench.torch_step
    if p.jax is not None:
        factories["jax"] = jax_mlp_step(p.jax, p.jnp, np, mlp_bench.LR, mlp_bench.MOMENTUM)
    rows = []
    for sizes, batch in mlp_bench.CONFIGS:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((batch, sizes[0])).astype("float32")
        y = rng.integers(0, sizes[-1], batch)
        layers = mlp_bench.initial_weights(sizes, np.float32)
        agreement = mlp_bench.agreement(list(factories.values()), sizes, layers, X, y)
        # Interleaved rounds: a slow spell of the shared machine hits every library.
        steps = {lib: make(sizes, layers, X, y)[0] for lib, make in factories.items()}
        times = mlp_bench.per_step_us_interleaved(steps, 0.02 if p.quick else 0.15, p.repeats,
                                                  p.usage.setdefault(f"mlp {sizes[-2]}", {}))
        rows.append({"net": "-".join(map(str, sizes)), "batch": batch, "us": times,
                     "agreement": agreement})
        p.say("mlp", rows[-1]["net"], {k: round(v, 1) for k, v in times.items()})
    return {"dtype": "float32", "rows": rows}


def measure_gemm(p):
    """GEMM, float32 and float64: error against a float64 product checked, then timed."""
    np, eg, torch, jax, jnp = p.np, p.eg, p.torch, p.jax, p.jnp
    per_call_ms = p.jac_bench.per_call_ms
    rows = []
    for dtype in ("float32", "float64"):
        for n in p.size["gemm"]:
            rng = np.random.default_rng(2)
            a, b = (rng.standard_normal((n, n)).astype(dtype) for _ in range(2))
            ea, eb = eg.Variable(a), eg.Variable(b)
            fns = {"eigengrad": lambda: eg.matmul(ea, eb), "numpy": lambda: a @ b}
            if torch is not None:
                ta, tb = torch.from_numpy(a), torch.from_numpy(b)
                fns["torch"] = lambda: ta @ tb
            if jax is not None:
                ja, jb, jmm = jnp.asarray(a), jnp.asarray(b), jax.jit(jnp.matmul)
                fns["jax"] = lambda: jmm(ja, jb).block_until_ready()
            ref = a.astype(np.float64) @ b.astype(np.float64)
            err = {lib: float(np.max(np.abs(np.asarray(fn()) - ref)) / np.max(np.abs(ref)))
                   for lib, fn in fns.items()}
            times = {lib: p.timed(f"gemm {dtype} {n}", lib, per_call_ms, fn, 0.002 if p.quick else 0.1, p.repeats)
                     for lib, fn in fns.items()}
            rows.append({"dtype": dtype, "n": n, "ms": times, "rel_err": err})
            p.say("gemm", dtype, n, {k: round(v, 2) for k, v in times.items()})
    return {"rows": rows}


def measure_contenders(p, group, contenders):
    """jacobian.measure, one library at a time: error vs the analytic (last) row
    checked first, then each timed."""
    np, jac_bench = p.np, p.jac_bench
    reference = np.asarray(contenders[-1][2]())
    result = []
    for lib, name, fn in contenders:
        err = float(np.max(np.abs(np.asarray(fn()) - reference)))
        tol = jac_bench.TOL if lib != "jax" else 1e-8
        assert err <= tol, f"{name}: max abs error {err:.3g} above {tol:g}"
        ms = p.timed(group, lib, jac_bench.per_call_ms, fn, 0.002 if p.quick else 0.05, p.repeats)
        result.append({"lib": lib, "name": name, "ms": ms, "err": err})
    return result


def measure_jacobian(p, rng):
    """Jacobian (jacobian.py), float64, at each size; the inputs are placed OFFSET
    bytes past a 64-byte boundary (alignment.py says why)."""
    np = p.np
    groups = []
    for n in p.size["jacobian"]:
        W1, W2 = (place(np, rng.standard_normal((n, n)) / np.sqrt(n)) for _ in range(2))
        x = place(np, rng.standard_normal(n))
        contenders = [c for c in p.jac_bench.jacobian_contenders(W1, W2, x) if c[1] in KEEP]
        if p.jax is not None:
            contenders.insert(-1, ("jax", "jax.jit(jax.jacrev(f))", jax_jacobian(p.jax, p.jnp, W1, W2, x)))
        groups.append({"n": n, "rows": measure_contenders(p, f"jacobian {n}", contenders)})
        p.say("jacobian", n, {r["name"]: round(r["ms"], 3) for r in groups[-1]["rows"]})
    return {"dtype": "float64", "groups": groups}


def measure_hvp(p, rng):
    """HVP (jacobian.py), float64, inputs placed as the Jacobian's, plus eg.hvp on
    64-byte aligned copies."""
    np, jac_bench = p.np, p.jac_bench
    n = p.size["hvp"][0]
    W0, x0, v0 = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n), rng.standard_normal(n)
    W, x, v = (place(np, a) for a in (W0, x0, v0))
    contenders = [c for c in jac_bench.hvp_contenders(W, x, v)[1] if c[1] in KEEP]
    aligned = jac_bench.hvp_contenders(*(place(np, a, 0) for a in (W0, x0, v0)))[1][0]
    contenders.insert(1, (aligned[0], "eg.hvp, inputs 64-byte aligned", aligned[2]))
    if p.jax is not None:
        contenders.insert(-1, ("jax", "jax.jit(jvp of grad)", jax_hvp(p.jax, p.jnp, W, x, v)))
    return {"dtype": "float64", "groups": [{"n": n, "rows": measure_contenders(p, f"hvp {n}", contenders)}]}


def each_call_ms(fn, count):
    """Milliseconds of each of `count` calls (one call is long; its time varies)."""
    calls = []
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        calls.append((time.perf_counter() - t0) * 1e3)
    return calls


def measure_chain(p):
    """A long chain of tiny ops (chain.py): graph recording and backward traversal."""
    np, eg, torch = p.np, p.eg, p.torch
    length = p.size["chain"]
    fns = {"eigengrad": lambda: chain_eigengrad(eg, np, length), "numpy": lambda: chain_numpy(np, length)}
    if torch is not None:
        fns["torch"] = lambda: chain_torch(torch, length)
    for lib, fn in fns.items():
        assert float(np.asarray(fn()).reshape(-1)[0]) == 1.0, lib  # doubles as the warm-up

    calls = {lib: p.timed("chain", lib, each_call_ms, fn, p.repeats if p.quick else 9) for lib, fn in fns.items()}
    times = {lib: statistics.median(c) for lib, c in calls.items()}
    return {"dtype": "float32", "length": length, "ms": times, "calls_ms": calls}

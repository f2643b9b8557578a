"""The benchmark runner: eigengrad beside NumPy, PyTorch and JAX, one thread and all threads.

    python bench/run.py                   # full run, about 3 min on 2 idle cores
    python bench/run.py --wait-idle 600   # the same on a shared machine (see below)
    python bench/run.py --quick           # smoke run, under a minute (to out/bench-quick/)

The top-level invocation runs two passes, each in a subprocess of its own
(`python bench/run.py --threads N --json FILE`), because NumPy's BLAS reads its thread
count from the environment once, at import: the first pass with one thread for every
library (and pinned to one CPU, which is what keeps XLA on one thread), the second
with all cores (skipped on a one-core machine). It then merges them into
bench/RESULTS.md (machine, versions, threads, dtype, one table per workload group
with the targets) and bench/results/results.png (eigengrad / peer ratios), and keeps
the raw passes as bench/results/threads-N.json (`--merge A.json B.json` re-renders
from them).

Each pass measures how busy other processes kept the machine meanwhile (RESULTS.md
shows it). With --wait-idle the runner waits for the cores to be idle before a pass
and runs a pass again (twice at most) when other processes were busy during it,
keeping the quietest attempt.

Workloads (the measurement functions come from bench/python/*.py, each still a
program of its own):

- per-op overhead, float32 (overhead.py): forward and forward+backward of nine ops
  on 1x1, 4x4 and 256x256 inputs, eigengrad and PyTorch, NumPy's forward as a floor;
- MLP train step, float32 (mlp.py): zero_grad + forward + cross-entropy + backward +
  SGD(momentum 0.9) for 64-32-10 (batch 32), 784-256-256-10 (128), 784-1024-1024-10
  (256): eigengrad, PyTorch eager, a hand-written NumPy forward/backward, and JAX
  (value_and_grad and the momentum update in one jax.jit, buffers donated);
- GEMM, float32 and float64, n = 512, 1024, 2048: eg.matmul beside NumPy's `@`,
  torch.matmul and a jitted jnp.matmul;
- Jacobian of tanh(W2 tanh(W1 x)), float64, n = 100 and 1000 (jacobian.py):
  eg.jacobian (modes rev, fwd and the default auto), torch.func.jacrev/jacfwd,
  jax.jit(jax.jacrev(f)), the analytic NumPy Jacobian;
- HVP of sum(tanh(W x)^2) + 0.5 |x|^2, float64, n = 1000 (jacobian.py): eg.hvp,
  PyTorch double backward and torch.func.jvp(grad), jax.jit of jvp-of-grad, NumPy
  analytic;
- a 100,000-op chain, y = y * 1.0 on a 1-element float32 tensor, built and
  backwarded: eigengrad, PyTorch and a hand-written NumPy tape.

Every cell is a median over several repeats after a warm-up (the timing helpers of
the bench/python programs). Results are checked against NumPy before they are timed.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "python"))
from benchutil import cpu_model  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# The long-standing recipe for single-threaded XLA on CPU (JAX issue 743); its second
# word has no leading dashes, as the recipe writes it, and XLA accepts it (an unknown
# --flag aborts). Not enough for jaxlib 0.10 on its own: see run_pass.
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def problem_sizes(quick):
    """The problem sizes of a full run, or the smaller ones of a smoke run."""
    return {"gemm": [128, 256] if quick else [512, 1024, 2048],
            "jacobian": [10, 100] if quick else [100, 1000],
            "hvp": [100] if quick else [1000],
            "chain": 10_000 if quick else 100_000}


def targets(size):
    """One line per target: key, label, target ratio (eigengrad / peer, one thread).
    Keys name sizes by position, so that a smoke run fills the same lines."""
    rows = [
        ("overhead_geomean", "per-op fwd+bwd, tiny (1x1, 4x4): geometric mean of 18 vs torch", 0.25),
        ("overhead_worst", "per-op fwd+bwd, tiny (1x1, 4x4): worst of 18 vs torch", 0.25),
        ("mlp_64-32-10_torch", "MLP 64-32-10, batch 32, train step vs torch", 0.2),
        ("mlp_64-32-10_jax", "MLP 64-32-10, batch 32, train step vs JAX jit", 1.0),
        ("mlp_784-256-256-10_torch", "MLP 784-256-256-10, batch 128, vs torch", 0.8),
        ("mlp_784-1024-1024-10_torch", "MLP 784-1024-1024-10, batch 256, vs torch", 1.0),
    ]
    rows += [(f"gemm_{dt}_{i}", f"GEMM {dt} n={n} vs NumPy", 1.1)
             for dt in ("float32", "float64") for i, n in enumerate(size["gemm"])]
    rows += [(f"jacobian_{i}", f"Jacobian n={n} (float64) vs torch.func.jacrev", t)
             for i, (n, t) in enumerate(zip(size["jacobian"], (0.5, 0.6)))]
    rows += [("hvp_0", f"HVP n={size['hvp'][0]} (float64) vs torch double backward", 0.7),
             ("chain", f"{size['chain']:,}-op chain (float32), build + backward, vs torch", 0.5)]
    return rows


def jacobian_target(key, index):
    return (0.5, 0.6)[index] if key == "jacobian" else 0.7


def busy_core_seconds():
    """CPU seconds spent by the whole machine (all processes) since boot, from /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:9]]
        return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


class OtherLoad:
    """How busy the other processes kept the machine over a stretch of this pass: the
    machine's CPU time less this process's, per second of wall time (in cores)."""

    def __init__(self):
        self.machine, self.own, self.wall = busy_core_seconds(), time.process_time(), time.perf_counter()

    def cores(self):
        machine = busy_core_seconds()
        if machine is None or self.machine is None:
            return None
        others = (machine - self.machine) - (time.process_time() - self.own)
        return max(0.0, others) / (time.perf_counter() - self.wall)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, short repeats")
    p.add_argument("--out-dir", type=Path, help="where RESULTS.md and results/ go "
                   "(default bench/, or out/bench-quick/ with --quick)")
    p.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                   help="before each pass, wait up to SECONDS for other processes to leave "
                        "the cores idle, and run a pass again (twice at most) when they were "
                        "busy during it (a shared machine)")
    p.add_argument("--threads", type=int, help="run one pass with this many threads (internal)")
    p.add_argument("--json", type=Path, help="with --threads: write the pass's results here")
    p.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                   help="only write the report from these pass files")
    return p.parse_args(argv)


# ---------------------------------------------------------------- one pass


def thread_env(threads):
    """The environment a pass runs in: every thread knob set before anything loads."""
    env = {var: str(threads) for var in BLAS_VARS}
    env["XLA_FLAGS"] = XLA_ONE_THREAD if threads == 1 else None
    return env


def wait_idle(timeout, below=0.15, window=3.0):
    """Wait until the other processes keep fewer than `below` cores busy over `window`
    seconds, or `timeout` seconds pass; returns the load last seen (in cores)."""
    deadline = time.monotonic() + timeout
    while True:
        load = OtherLoad()
        time.sleep(window)
        cores = load.cores()
        if cores is None or cores < below or time.monotonic() >= deadline:
            return cores
        print(f"waiting for an idle machine: other processes busy on {cores:.2f} cores", flush=True)
        time.sleep(10)


def run_pass(threads, json_path, quick):
    for var, value in thread_env(threads).items():  # before NumPy, torch, jax load
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    pinned = None
    if threads == 1 and hasattr(os, "sched_setaffinity"):
        # XLA_FLAGS alone no longer keeps jaxlib's CPU runtime on one thread (0.10 ran a
        # 2048 GEMM on both cores with them), and its pool is sized from the affinity
        # mask: so the one-thread pass runs on one CPU, set before any library starts
        # a thread.
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})
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

    eg.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    repeats = 3 if quick else 5
    size = problem_sizes(quick)
    usage = {}  # group -> library -> CPU time / wall time of its last timed cell
    other = {}  # group -> mean cores kept busy by other processes meanwhile
    out = {"threads": threads, "quick": quick, "sizes": size, "usage": usage, "other_load": other,
           "pinned_cpu": pinned, "loadavg_start": os.getloadavg()}

    def timed(group, lib, measure, fn, *args):
        """measure(fn, *args), noting the process's CPU time / wall time meanwhile."""
        c0, w0 = time.process_time(), time.perf_counter()
        value = measure(fn, *args)
        usage.setdefault(group, {})[lib] = (time.process_time() - c0) / (time.perf_counter() - w0)
        return value

    def say(*parts):
        print(f"[{threads} thread{'s' if threads > 1 else ''}]", *parts, flush=True)

    out["meta"] = meta(np, eg, torch, jax, jax_error, threads)
    say("eigengrad", eg.get_num_threads(), "threads; torch",
        torch.get_num_threads() if torch else "-", "; XLA_FLAGS =", os.environ.get("XLA_FLAGS"))
    t_start = time.perf_counter()
    load_all = load = OtherLoad()

    # -- per-op overhead (overhead.py), float32
    rows = []
    rng = np.random.default_rng(0)
    target_s = 0.002 if quick else 0.025
    for name, f, np_f in overhead_bench.OPS:
        for shape in overhead_bench.SIZES:
            a = rng.standard_normal(shape).astype("float32")
            b = rng.standard_normal(shape).astype("float32")
            t = overhead_bench.measure_row(f, np_f, a, b, target_s, repeats)
            rows.append({"op": name, "size": "x".join(map(str, shape)), **t})
    out["overhead"] = {"dtype": "float32", "rows": rows}
    other["overhead"], load = load.cores(), OtherLoad()
    say(f"overhead: {len(rows)} rows")

    # -- MLP train step (mlp.py), float32
    factories = {"eigengrad": mlp_bench.eigengrad_step, "numpy": mlp_bench.numpy_step}
    if torch is not None:
        factories["torch"] = mlp_bench.torch_step
    if jax is not None:
        factories["jax"] = jax_mlp_step(jax, jnp, np, mlp_bench.LR, mlp_bench.MOMENTUM)
    rows = []
    for sizes, batch in mlp_bench.CONFIGS:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((batch, sizes[0])).astype("float32")
        y = rng.integers(0, sizes[-1], batch)
        layers = mlp_bench.initial_weights(sizes, np.float32)
        agreement = mlp_bench.agreement(list(factories.values()), sizes, layers, X, y)
        times = {lib: timed(f"mlp {sizes[-2]}", lib, mlp_bench.per_step_us, make(sizes, layers, X, y)[0],
                            0.02 if quick else 0.15, repeats)
                 for lib, make in factories.items()}
        rows.append({"net": "-".join(map(str, sizes)), "batch": batch, "us": times,
                     "agreement": agreement})
        say("mlp", rows[-1]["net"], {k: round(v, 1) for k, v in times.items()})
    out["mlp"] = {"dtype": "float32", "rows": rows}
    other["mlp"], load = load.cores(), OtherLoad()

    # -- GEMM, float32 and float64
    per_call_ms = jac_bench.per_call_ms
    rows = []
    for dtype in ("float32", "float64"):
        for n in size["gemm"]:
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
            times = {lib: timed(f"gemm {dtype} {n}", lib, per_call_ms, fn, 0.002 if quick else 0.1, repeats)
                     for lib, fn in fns.items()}
            rows.append({"dtype": dtype, "n": n, "ms": times, "rel_err": err})
            say("gemm", dtype, n, {k: round(v, 2) for k, v in times.items()})
    out["gemm"] = {"rows": rows}
    other["gemm"], load = load.cores(), OtherLoad()

    # -- Jacobian and HVP (jacobian.py), float64
    def measure_contenders(group, contenders):
        """jacobian.measure, one library at a time: error vs the analytic (last) row
        checked first, then each timed."""
        reference = np.asarray(contenders[-1][2]())
        result = []
        for lib, name, fn in contenders:
            err = float(np.max(np.abs(np.asarray(fn()) - reference)))
            tol = jac_bench.TOL if lib != "jax" else 1e-8
            assert err <= tol, f"{name}: max abs error {err:.3g} above {tol:g}"
            ms = timed(group, lib, per_call_ms, fn, 0.002 if quick else 0.05, repeats)
            result.append({"lib": lib, "name": name, "ms": ms, "err": err})
        return result

    keep = ('eg.jacobian mode="rev"', 'eg.jacobian mode="fwd"', 'eg.jacobian mode="auto"',
            "torch.func.jacrev", "torch.func.jacfwd", "numpy analytic",
            "eg.hvp", "torch double backward", "torch.func.jvp(grad)")
    # The inputs sit OFFSET bytes past a 64-byte boundary, fixed, because eigengrad's
    # matrix-vector products run at different speeds for different alignments and a
    # NumPy array's alignment depends on the allocator's history (a fresh large array is
    # 16 bytes past one; later ones often 32, or anything 16-byte aligned).
    rng = np.random.default_rng(0)
    groups = []
    for n in size["jacobian"]:
        W1, W2 = (place(np, rng.standard_normal((n, n)) / np.sqrt(n)) for _ in range(2))
        x = place(np, rng.standard_normal(n))
        contenders = [c for c in jac_bench.jacobian_contenders(W1, W2, x) if c[1] in keep]
        if jax is not None:
            contenders.insert(-1, ("jax", "jax.jit(jax.jacrev(f))", jax_jacobian(jax, jnp, W1, W2, x)))
        groups.append({"n": n, "rows": measure_contenders(f"jacobian {n}", contenders)})
        say("jacobian", n, {r["name"]: round(r["ms"], 3) for r in groups[-1]["rows"]})
    out["jacobian"] = {"dtype": "float64", "groups": groups}
    other["jacobian"], load = load.cores(), OtherLoad()

    n = size["hvp"][0]
    W0, x0, v0 = rng.standard_normal((n, n)) / np.sqrt(n), rng.standard_normal(n), rng.standard_normal(n)
    W, x, v = (place(np, a) for a in (W0, x0, v0))
    contenders = [c for c in jac_bench.hvp_contenders(W, x, v)[1] if c[1] in keep]
    aligned = jac_bench.hvp_contenders(*(place(np, a, 0) for a in (W0, x0, v0)))[1][0]
    contenders.insert(1, (aligned[0], "eg.hvp, inputs 64-byte aligned", aligned[2]))
    if jax is not None:
        contenders.insert(-1, ("jax", "jax.jit(jvp of grad)", jax_hvp(jax, jnp, W, x, v)))
    out["hvp"] = {"dtype": "float64", "groups": [{"n": n, "rows": measure_contenders(f"hvp {n}", contenders)}]}
    other["hvp"], load = load.cores(), OtherLoad()
    say("hvp", n, {r["name"]: round(r["ms"], 3) for r in out["hvp"]["groups"][0]["rows"]})

    # -- a long chain of tiny ops: graph recording and backward traversal
    length = size["chain"]
    fns = {"eigengrad": lambda: chain_eigengrad(eg, np, length), "numpy": lambda: chain_numpy(np, length)}
    if torch is not None:
        fns["torch"] = lambda: chain_torch(torch, length)
    for lib, fn in fns.items():
        assert float(np.asarray(fn()).reshape(-1)[0]) == 1.0, lib  # doubles as the warm-up

    def each_call_ms(fn, count):
        """Milliseconds of each of `count` calls (one call is long; its time varies)."""
        calls = []
        for _ in range(count):
            t0 = time.perf_counter()
            fn()
            calls.append((time.perf_counter() - t0) * 1e3)
        return calls

    calls = {lib: timed("chain", lib, each_call_ms, fn, repeats if quick else 9) for lib, fn in fns.items()}
    times = {lib: statistics.median(c) for lib, c in calls.items()}
    out["chain"] = {"dtype": "float32", "length": length, "ms": times, "calls_ms": calls}
    other["chain"], other["whole pass"] = load.cores(), load_all.cores()
    say("chain", length, {k: round(v, 1) for k, v in times.items()})

    out["seconds"] = time.perf_counter() - t_start
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(out, indent=1, default=float))


OFFSET = 16


def place(np, a, offset=OFFSET):
    """A copy of `a` whose data start `offset` bytes past a 64-byte boundary."""
    buf = np.empty(a.nbytes + 128, np.uint8)
    start = (-buf.ctypes.data) % 64 + offset
    out = np.frombuffer(buf[start:start + a.nbytes], dtype=a.dtype).reshape(a.shape)
    out[...] = a
    return out


def jax_mlp_step(jax, jnp, np, lr, momentum):
    """A factory like mlp.py's: (sizes, layers, X, y) -> (step, first-layer weight).
    One jitted function computes the loss and its gradients (value_and_grad) and
    applies SGD with momentum as torch.optim.SGD does (buffer = momentum * buffer + g,
    the first step's buffer = g); parameters and buffers are donated, the step blocks
    until its results are ready."""
    def make(sizes, layers, X, y):
        params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in layers]
        buffers = jax.tree.map(jnp.zeros_like, params)
        Xj, yj = jnp.asarray(X), jnp.asarray(y)

        def loss_fn(params, X, y):
            h = X
            for i, (W, b) in enumerate(params):
                h = h @ W.T + b
                if i < len(params) - 1:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def update(params, buffers, X, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
            buffers = jax.tree.map(lambda buf, g: momentum * buf + g, buffers, grads)
            params = jax.tree.map(lambda p, buf: p - lr * buf, params, buffers)
            return params, buffers, loss

        update = jax.jit(update, donate_argnums=(0, 1))
        state = [params, buffers]

        def step():
            state[0], state[1], loss = update(state[0], state[1], Xj, yj)
            jax.block_until_ready((state[0], state[1], loss))
        return step, lambda: np.array(state[0][0][0])
    return make


def jax_jacobian(jax, jnp, W1, W2, x):
    def f(x, W1, W2):
        return jnp.tanh(W2 @ jnp.tanh(W1 @ x))
    jac = jax.jit(jax.jacrev(f))
    args = tuple(jnp.asarray(a) for a in (x, W1, W2))
    return lambda: jac(*args).block_until_ready()


def jax_hvp(jax, jnp, W, x, v):
    def g(x, W):
        return jnp.sum(jnp.tanh(W @ x) ** 2) + 0.5 * jnp.sum(x**2)

    @jax.jit
    def hvp(x, v, W):
        return jax.jvp(lambda x: jax.grad(g)(x, W), (x,), (v,))[1]
    args = tuple(jnp.asarray(a) for a in (x, v, W))
    return lambda: hvp(*args).block_until_ready()


def chain_eigengrad(eg, np, length):
    x = eg.Variable(np.ones(1, np.float32), requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    y.backward()
    return x.grad


def chain_torch(torch, length):
    x = torch.ones(1, dtype=torch.float32, requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    y.backward()
    return x.grad


def chain_numpy(np, length):
    """The same chain written out: a tape of the factors, then the gradient by hand."""
    y = np.ones(1, np.float32)
    tape = []
    for _ in range(length):
        tape.append(1.0)
        y = y * 1.0
    g = np.ones_like(y)
    for factor in reversed(tape):
        g = g * factor
    return g


def meta(np, eg, torch, jax, jax_error, threads):
    info = {
        "cpu": cpu_model(), "cores": os.cpu_count(), "arch": platform.machine(),
        "simd": simd_flags(), "os": f"{platform.system()} {platform.release()}",
        "libc": " ".join(platform.libc_ver()), "python": platform.python_version(),
        "numpy": np.__version__, "blas": blas_info(np), "eigengrad": eg.__version__,
        "eigengrad_file": eg.__file__, "eg_threads": eg.get_num_threads(),
        "eigengrad_built": time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(os.path.getmtime(eg._core.__file__))),
        "torch": torch.__version__ if torch is not None else None,
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "jax": jax.__version__ if jax is not None else None, "jax_error": jax_error,
        "env": {var: os.environ.get(var) for var in BLAS_VARS + ("XLA_FLAGS",)},
        "date": time.strftime("%Y-%m-%d %H:%M %Z"), "git": git_head(),
    }
    if jax is not None:
        import jaxlib
        info["jaxlib"] = jaxlib.__version__
        info["jax_devices"] = [str(d) for d in jax.devices()]
    return info


def simd_flags():
    try:
        with open("/proc/cpuinfo") as fh:
            flags = next(line for line in fh if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return ""
    names = {"avx2": "AVX2", "fma": "FMA", "avx512f": "AVX-512F", "amx_tile": "AMX"}
    return ", ".join(label for flag, label in names.items() if flag in flags)


def blas_info(np):
    try:
        from threadpoolctl import threadpool_info
        found = [f"{i['internal_api']} {i['version']} ({i.get('architecture')} kernels, "
                 f"{i['num_threads']} thread{'s' if i['num_threads'] > 1 else ''})"
                 for i in threadpool_info() if i.get("user_api") == "blas"
                 and "numpy" in i.get("filepath", "")]
        if found:
            return ", ".join(found)
    except ImportError:
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except Exception:
        return "unknown"


def git_head():
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------- the report


def geomean(values):
    import math
    return math.exp(sum(math.log(v) for v in values) / len(values))


def ratios(p):
    """{target key: (ratio, detail)} for one pass; a missing peer gives no key."""
    r = {}
    tiny = [(row["eg_b"] / row["th_b"], f"{row['op']} {row['size']}") for row in p["overhead"]["rows"]
            if row["size"] in ("1x1", "4x4") and row["th_b"]]
    if tiny:
        r["overhead_geomean"] = (geomean([v for v, _ in tiny]), "")
        r["overhead_worst"] = max(tiny)
    for row in p["mlp"]["rows"]:
        for peer in ("torch", "jax"):
            if peer in row["us"]:
                r[f"mlp_{row['net']}_{peer}"] = (row["us"]["eigengrad"] / row["us"][peer], "")
    for row in p["gemm"]["rows"]:
        r[f"gemm_{row['dtype']}_{p['sizes']['gemm'].index(row['n'])}"] = (row["ms"]["eigengrad"] / row["ms"]["numpy"], "")
    for key, peer_name, eg_name in (("jacobian", "torch.func.jacrev", 'eg.jacobian mode="auto"'),
                                    ("hvp", "torch double backward", "eg.hvp")):
        for i, group in enumerate(p[key]["groups"]):
            ms = {row["name"]: row["ms"] for row in group["rows"]}
            if peer_name in ms:
                r[f"{key}_{i}"] = (ms[eg_name] / ms[peer_name], "")
    for group in p["hvp"]["groups"][:1]:
        ms = {row["name"]: row["ms"] for row in group["rows"]}
        if "hvp_0" in r and "eg.hvp, inputs 64-byte aligned" in ms:
            r["hvp_0"] = (r["hvp_0"][0], f"{ms['eg.hvp, inputs 64-byte aligned'] / ms['torch double backward']:.2f} "
                          "with the inputs 64-byte aligned")
    if "torch" in p["chain"]["ms"]:
        r["chain"] = (p["chain"]["ms"]["eigengrad"] / p["chain"]["ms"]["torch"], "")
    return r


def f_time(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def f_ratio(a, b):
    return "-" if a is None or b is None else f"{a / b:.2f}"


def met(ratio, target):
    if ratio is None:
        return "-"
    over = ratio / target - 1
    digits = 2 if over < 0.01 else 1 if over < 0.1 else 0
    return "yes" if over <= 0 else f"**no** ({over:.{digits}%} over)"


def numeric(cell):
    text = str(cell).split(" ")[0].lstrip("<=").replace(",", "")
    try:
        float(text)
        return True
    except ValueError:
        return text in ("", "-", "yes", "**no**")


def table(head, rows):
    """A Markdown table; columns of numbers align right, the others left."""
    right = [all(numeric(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("--:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def pass_label(p):
    return "1 thread" if p["threads"] == 1 else f"all threads ({p['threads']})"


def report(passes, png_name):
    one = passes[0]
    m = one["meta"]
    lines = ["# eigengrad benchmark results", ""]
    minutes = sum(p["seconds"] for p in passes) / 60
    lines += [f"Written by `python bench/run.py{' --quick' if one['quick'] else ''}` on {m['date']} "
              f"(the passes took {minutes:.1f} min of measuring). Every time is a median over "
              f"{3 if one['quick'] else 5} or more repeats after a warm-up, all libraries in the "
              "same process. **ratio = eigengrad's time / the peer's time**: below 1 eigengrad "
              "is faster. The targets apply to the one-thread ratios; the all-threads "
              f"ratios are beside them. Chart: [{png_name}]({png_name}).", ""]
    if one["quick"]:
        lines += ["**Smoke run (`--quick`): small sizes and short repeats; these numbers are "
                  "not the benchmark.**", ""]
    jax_text = (f"{m['jax']} (jaxlib {m.get('jaxlib')}, devices {', '.join(m.get('jax_devices', []))}), "
                "float64 enabled (`jax_enable_x64`)" if m["jax"] else
                f"not installed: no JAX rows ({m['jax_error']})")
    lines += ["## Machine and versions", "", table(["", ""], [
        ("CPU", f"{m['cpu']}, {m['cores']} cores ({m['arch']}; {m['simd']})"),
        ("OS", f"{m['os']} ({m['libc']})"),
        ("Python", m["python"]),
        ("NumPy", f"{m['numpy']}; BLAS: {m['blas']}"),
        ("eigengrad", f"{m['eigengrad']} (the installed build of {m.get('eigengrad_built', '?')}, imported from "
                      f"`{m['eigengrad_file']}`; the repo's HEAD was {m['git']})"),
        ("PyTorch", m["torch"] or "not installed: no PyTorch rows"),
        ("JAX", jax_text),
        ("date", m["date"]),
    ]), ""]

    lines += ["## Threads", "", "Each pass is a subprocess of its own, with its thread "
              "settings made before NumPy, PyTorch and JAX are imported.", ""]
    rows = []
    for p in passes:
        pm = p["meta"]
        env = ", ".join(f"{k}={v}" for k, v in pm["env"].items() if k != "XLA_FLAGS" and v is not None)
        xla = f"`XLA_FLAGS=\"{pm['env']['XLA_FLAGS']}\"`" if pm["env"]["XLA_FLAGS"] else "XLA_FLAGS unset (XLA's default: all cores)"
        cpus = (f"CPU {p['pinned_cpu']} only (sched_setaffinity)" if p.get("pinned_cpu") is not None
                else f"all {pm['cores']}")
        rows.append((pass_label(p), cpus, f"eg.set_num_threads({p['threads']}) -> {pm['eg_threads']}",
                     f"torch.set_num_threads({p['threads']}) -> {pm['torch_threads']}" if pm["torch"] else "-",
                     env, xla if pm["jax"] else "-", f"{p['seconds']:.0f} s"))
    lines += [table(["pass", "CPUs", "eigengrad", "PyTorch", "environment (NumPy's BLAS, OpenMP)", "JAX", "pass time"], rows), "",
              "The one-thread pass is also pinned to one CPU: with the XLA_FLAGS above alone, "
              "jaxlib 0.10.2 still ran its GEMMs on both cores (CPU/wall 1.97 for n = 2048 in a "
              "first run of this runner; XLA sizes its thread pool from the affinity mask). "
              "The other libraries are single-threaded by their own settings either way "
              "(the check below).", ""]
    libs = ["eigengrad", "numpy", "torch", "jax"]
    n_max = one["sizes"]["gemm"][-1]
    cells = [f"gemm float32 {n_max}", f"gemm float64 {n_max}", "mlp 1024", "jacobian " + str(one["sizes"]["jacobian"][-1])]
    rows = [(pass_label(p), cell, *(f"{p['usage'].get(cell, {})[lib]:.2f}" if lib in p["usage"].get(cell, {}) else "-"
                                    for lib in libs)) for p in passes for cell in cells]
    lines += ["Check that the settings took: process CPU time / wall time while each library's "
              "cell was timed (warm-up and JIT compilation included): 1.00 is one busy core, "
              f"{one['meta']['cores']}.00 all of them.", "",
              table(["pass", "cell", *libs], rows), ""]
    groups = list(one.get("other_load", {}))
    rows = [(pass_label(p), *("-" if p["other_load"].get(g) is None else f"{p['other_load'][g]:.2f}"
                              for g in groups)) for p in passes]
    lines += ["Other processes on the machine while each group ran (mean cores they kept busy, "
              "from /proc/stat less this process; anything well above 0 makes the times noisy, "
              "the all-threads ones most).", "", table(["pass", *groups], rows), ""]

    # summary
    rs = [ratios(p) for p in passes]
    rows = []
    for key, label, target in targets(one["sizes"]):
        cells = [rs[i].get(key) for i in range(len(passes))]
        one_ratio = cells[0][0] if cells[0] else None
        detail = f" ({cells[0][1]})" if cells[0] and cells[0][1] else ""
        digits = 3 if one_ratio is not None and abs(one_ratio / target - 1) < 0.01 else 2
        rows.append((label, f"<= {target:g}", "-" if one_ratio is None else f"{one_ratio:.{digits}f}{detail}",
                     met(one_ratio, target),
                     *(("-" if c is None else f"{c[0]:.2f}" + (f" ({c[1]})" if c[1] else "")) for c in cells[1:])))
    lines += ["## Summary: the targets", "",
              "ratio = eigengrad / peer; the detail tables below give the times.",
              "", table(["workload", "target", "1 thread", "met?", *(pass_label(p) for p in passes[1:])], rows), ""]

    lines += overhead_section(passes)
    lines += mlp_section(passes)
    lines += gemm_section(passes)
    lines += jacobian_section(passes, "jacobian")
    lines += jacobian_section(passes, "hvp")
    lines += chain_section(passes)
    return "\n".join(lines) + "\n"


def overhead_section(passes):
    out = ["## Per-op overhead", "",
           f"dtype {passes[0]['overhead']['dtype']}; microseconds per call, the Python loop and a closure "
           "call included. fwd: inputs without requires_grad (no graph); fwd+bwd: leaves with "
           "requires_grad, the output reduced with .sum() unless a scalar, .backward(), the "
           "leaves' .grad reset each call. Target for tiny tensors (1x1, 4x4): fwd+bwd <= 0.25x "
           "PyTorch; 256x256 rows have none (the kernels dominate).", ""]
    for k, p in enumerate(passes):
        rows = []
        for row in p["overhead"]["rows"]:
            tiny = row["size"] in ("1x1", "4x4")
            r = row["eg_b"] / row["th_b"] if row["th_b"] else None
            cells = [row["op"], row["size"], f_time(row["np"]), f_time(row["eg"]), f_time(row["th"]),
                     f_ratio(row["eg"], row["th"]), f_time(row["eg_b"]), f_time(row["th_b"]),
                     "-" if r is None else f"{r:.2f}"]
            if k == 0:
                cells += ["<= 0.25" if tiny else "-", met(r, 0.25) if tiny else "-"]
            rows.append(cells)
        head = ["op", "size", "numpy fwd", "eg fwd", "torch fwd", "ratio fwd", "eg fwd+bwd",
                "torch fwd+bwd", "ratio fwd+bwd"] + (["target", "met?"] if k == 0 else [])
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def mlp_section(passes):
    out = ["## MLP train step", "",
           f"dtype {passes[0]['mlp']['dtype']}; microseconds per step = zero_grad + forward + "
           "softmax cross-entropy + backward + SGD (lr 0.01, momentum 0.9). eigengrad: eg.nn.MLP, "
           "eg.nn.cross_entropy, eg.optim.SGD; torch: nn.Sequential, F.cross_entropy, optim.SGD "
           "(eager); numpy: the forward and backward written by hand; jax: value_and_grad and the "
           "momentum update in one jax.jit (parameters donated), blocking on the result each step. "
           "agreement: the largest difference in first-layer weights after 3 steps from the same "
           "start, relative to their scale.", ""]
    targets = {"64-32-10": {"torch": 0.2, "jax": 1.0}, "784-256-256-10": {"torch": 0.8},
               "784-1024-1024-10": {"torch": 1.0}}
    for k, p in enumerate(passes):
        rows = []
        for row in p["mlp"]["rows"]:
            us = row["us"]
            t = targets.get(row["net"], {})
            cells = [row["net"], row["batch"], *(f_time(us.get(lib)) for lib in ("eigengrad", "torch", "jax", "numpy")),
                     f_ratio(us["eigengrad"], us.get("torch")), f_ratio(us["eigengrad"], us.get("jax")),
                     f_ratio(us["eigengrad"], us["numpy"])]
            if k == 0:
                goal = " / ".join(f"{v:g} vs {lib}" for lib, v in t.items()) or "-"
                verdicts = [met(us["eigengrad"] / us[lib], v) if lib in us else "-" for lib, v in t.items()]
                cells += [goal, " / ".join(verdicts) or "-"]
            cells.append(f"{row['agreement']:.0e}")
            rows.append(cells)
        head = ["network", "batch", "eigengrad us", "torch us", "jax jit us", "numpy us", "eg / torch",
                "eg / jax", "eg / numpy"] + (["target", "met?"] if k == 0 else []) + ["agreement"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def gemm_section(passes):
    out = ["## GEMM", "",
           "milliseconds per n x n product C = A @ B (a new output each call): eg.matmul on "
           "Variables without requires_grad (Eigen), NumPy's `@` (its BLAS), torch.matmul, "
           "jax.jit(jnp.matmul). Target: eigengrad within 1.1x of NumPy. err: the largest "
           "|C - C64| / max|C64| against a float64 product.", ""]
    for k, p in enumerate(passes):
        rows = []
        for row in p["gemm"]["rows"]:
            ms = row["ms"]
            r = ms["eigengrad"] / ms["numpy"]
            gflops = 2 * row["n"] ** 3 / (ms["eigengrad"] * 1e-3) / 1e9
            cells = [row["dtype"], row["n"], *(f_time(ms.get(lib)) for lib in ("eigengrad", "numpy", "torch", "jax")),
                     f"{gflops:.0f}", f"{r:.2f}", f_ratio(ms["eigengrad"], ms.get("torch")),
                     f_ratio(ms["eigengrad"], ms.get("jax"))]
            if k == 0:
                cells += ["<= 1.1", met(r, 1.1)]
            cells.append(f"{row['rel_err']['eigengrad']:.0e}")
            rows.append(cells)
        head = ["dtype", "n", "eigengrad ms", "numpy ms", "torch ms", "jax ms", "eg GFLOP/s",
                "eg / numpy", "eg / torch", "eg / jax"] + (["target", "met?"] if k == 0 else []) + ["eg err"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def jacobian_section(passes, key):
    if key == "jacobian":
        out = ["## Jacobian", "",
               f"dtype {passes[0][key]['dtype']}; milliseconds per full Jacobian of f(x) = tanh(W2 tanh(W1 x)), "
               "W1, W2 n x n. eg.jacobian's default mode is \"auto\" (which picks forward mode "
               "for a square Jacobian); the target row is the default. Each result is checked "
               "against the analytic one (max abs error shown) before timing.", ""]
        peer, eg_row = "torch.func.jacrev", 'eg.jacobian mode="auto"'
    else:
        out = ["## Hessian-vector product", "",
               f"dtype {passes[0][key]['dtype']}; milliseconds per H(x) v for g(x) = sum(tanh(W x)^2) "
               "+ 0.5 |x|^2 without forming H. Checked against the analytic H v before timing. "
               f"W, x and v start {OFFSET} bytes past a 64-byte boundary, as a fresh large NumPy "
               "array does (the Jacobian's inputs too); the row \"inputs 64-byte aligned\" "
               "repeats eg.hvp on aligned copies, because eigengrad's speed depends on it "
               "(the other libraries' hardly does).", ""]
        peer, eg_row = "torch double backward", "eg.hvp"
    for k, p in enumerate(passes):
        rows = []
        for i, group in enumerate(p[key]["groups"]):
            ms = {row["name"]: row["ms"] for row in group["rows"]}
            target = jacobian_target(key, i)
            for row in group["rows"]:
                name = row["name"] + (" (default)" if row["name"] == eg_row and key == "jacobian" else "")
                cells = [group["n"], name, f_time(row["ms"]),
                         f_ratio(ms[eg_row], row["ms"]) if row["name"] != eg_row else "1.00"]
                if k == 0:
                    is_target = row["name"] == peer and target is not None
                    r = ms[eg_row] / row["ms"] if is_target else None
                    cells += [f"<= {target:g}" if is_target else "", met(r, target) if is_target else ""]
                cells.append(f"{row['err']:.0e}")
                rows.append(cells)
        head = ["n", "contender", "ms", f"{eg_row} / this"] + (["target", "met?"] if k == 0 else []) + ["max abs err"]
        out += [f"### {pass_label(p)}", "", table(head, rows), ""]
    return out


def chain_section(passes):
    c = passes[0]["chain"]
    out = ["## Long chain", "",
           f"dtype {c['dtype']}; milliseconds to build y = y * 1.0 {c['length']:,} times from a "
           "1-element leaf and call y.backward() (graph recording and backward traversal; the "
           "graph is freed in the timed call). numpy: the same chain with a hand-written tape. "
           f"JAX has no row: its eager mode is not what one would time here and tracing {c['length']:,} "
           "ops for jit is a compile-time benchmark. Target: <= 0.5x PyTorch.", ""]
    rows = []
    for p in passes:
        ms, calls = p["chain"]["ms"], p["chain"].get("calls_ms", {})
        r = ms["eigengrad"] / ms["torch"] if "torch" in ms else None

        def cell(lib):
            if lib not in ms:
                return "-"
            spread = f" ({min(calls[lib]):.0f}-{max(calls[lib]):.0f})" if lib in calls else ""
            return f_time(ms[lib]) + spread
        rows.append((pass_label(p), *(cell(lib) for lib in ("eigengrad", "torch", "numpy")),
                     "-" if r is None else f"{r:.2f}", f_ratio(ms["eigengrad"], ms["numpy"]),
                     met(r, 0.5) if p["threads"] == 1 else ""))
    n_calls = len(next(iter(passes[0]["chain"].get("calls_ms", {"": [0] * 5}).values())))
    out += [f"Median of {n_calls} calls after a warm-up call, the fastest and slowest in brackets.", "",
            table(["pass", "eigengrad ms", "torch ms", "numpy ms", "eg / torch", "eg / numpy", "met? (1 thread)"], rows), ""]
    return out


def chart(passes, png_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    rs = [ratios(p) for p in passes]
    items = [(label, target, [r.get(key, (None,))[0] for r in rs]) for key, label, target in targets(passes[0]["sizes"])]
    items = [it for it in items if it[2][0] is not None]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(items) + 1.8))
    height = 0.8 / len(passes)
    colours = ["tab:blue", "tab:orange"]
    for k, p in enumerate(passes):
        ys = [i + (k - (len(passes) - 1) / 2) * height for i in range(len(items))]
        points = [(y, it[2][k]) for y, it in zip(ys, items) if it[2][k] is not None]
        ax.barh([y for y, _ in points], [v for _, v in points], height=height,
                color=colours[k % 2], label=pass_label(p))
        for y, v in points:
            ax.text(v * 1.03, y, f"{v:.2f}", va="center", fontsize=7)
    for i, (_, target, _) in enumerate(items):
        ax.plot([target, target], [i - 0.45, i + 0.45], color="red", lw=2,
                label="target (1 thread)" if i == 0 else None)
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    ax.set_xscale("log")
    values = [v for it in items for v in it[2] if v] + [it[1] for it in items]
    ax.set_xlim(min(values) / 1.4, max(values) * 1.35)
    ticks = [t for t in (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10)
             if min(values) / 1.4 <= t <= max(values) * 1.35]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_yticks(range(len(items)))
    ax.set_yticklabels([it[0] for it in items], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("eigengrad time / peer time (log scale; left of the red mark meets the target)")
    m = passes[0]["meta"]
    ax.set_title(f"eigengrad {m['eigengrad']} vs NumPy / PyTorch {m['torch']} / JAX {m['jax']}\n"
                 f"{m['cpu']}, {m['cores']} cores, {m['date']}" + ("  (QUICK smoke run)" if passes[0]["quick"] else ""),
                 fontsize=9)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.07 * 16 / (len(items) + 4)), ncol=3)
    fig.tight_layout()
    png_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_path, dpi=110)


def write_report(passes, out_dir):
    png = out_dir / "results" / "results.png"
    chart(passes, png)
    text = report(passes, os.path.relpath(png, out_dir))
    (out_dir / "RESULTS.md").write_text(text)
    print(f"wrote {out_dir / 'RESULTS.md'} and {png}")


def main():
    args = parse_args()
    if args.threads is not None:
        json_path = args.json or Path(f"threads-{args.threads}.json")
        run_pass(args.threads, json_path, args.quick)
        return
    if args.merge:
        passes = sorted((json.loads(Path(f).read_text()) for f in args.merge), key=lambda p: p["threads"])
        out_dir = args.out_dir or (REPO / "out" / "bench-quick" if passes[0]["quick"] else BENCH)
        write_report(passes, out_dir)
        return
    out_dir = args.out_dir or (REPO / "out" / "bench-quick" if args.quick else BENCH)
    counts = [1] + ([os.cpu_count()] if (os.cpu_count() or 1) > 1 else [])
    files = []
    for threads in counts:
        path = out_dir / "results" / f"threads-{threads}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads), "--json", str(path)]
        if args.quick:
            cmd.append("--quick")
        attempts = []  # (cores other processes kept busy, pass text)
        for attempt in range(3 if args.wait_idle else 1):
            if args.wait_idle:
                wait_idle(args.wait_idle)
            print("$", " ".join(cmd[1:]), flush=True)
            subprocess.run(cmd, check=True)
            text = path.read_text()
            busy = json.loads(text)["other_load"].get("whole pass")
            attempts.append((busy or 0.0, attempt, text))
            if not args.wait_idle or busy is None or busy < 0.2:
                break
            print(f"other processes kept {busy:.2f} cores busy during the pass: running it again", flush=True)
        path.write_text(min(attempts)[2])  # the quietest attempt
        files.append(path)
    passes = [json.loads(f.read_text()) for f in files]
    write_report(passes, out_dir)


if __name__ == "__main__":
    main()

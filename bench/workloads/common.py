"""What the workload programs share: the one-thread setup, timing, the agreement
check, the memory probe in a fresh process, and the command line of each program.

A workload module (gmm.py, ba.py, ...) defines:

- NAME, SIZES (the full run), QUICK (a smoke run), and label(size) -> str;
- inputs(size) -> dict of float64 NumPy arrays (seeded: the same every call);
- eigengrad(data) and torch(data): {variant name: fn}, each fn() computing the
  workload's result (a tuple of arrays or tensors) with that library.

Each library may offer several variants (two ways a user of it would write the
Jacobian, say); the table shows the fastest of each, by name. Results are
checked before anything is timed: every variant of both libraries must agree with
the first eigengrad variant to TOL (max relative difference, float64), otherwise
the program exits with status 1.
"""

import os
import sys

if "numpy" not in sys.modules:  # a program of its own, not imported by pytest
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")  # before NumPy or torch load their BLAS

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
from benchutil import cpu_model  # noqa: E402  (bench/python/benchutil.py)

import numpy as np  # noqa: E402

import eigengrad as eg  # noqa: E402

try:
    import torch  # noqa: E402
    import torch.func  # noqa: E402, F401
except ImportError:
    torch = None

HERE = Path(__file__).resolve().parent
TOL = 1e-9  # max |a - b| / max |b|, per result array, in float64
LIBS = ("eigengrad", "torch")


def one_thread():
    """eigengrad and PyTorch on one thread each (the BLAS variables are set above)."""
    eg.set_num_threads(1)
    if torch is not None:
        torch.set_num_threads(1)


def to_numpy(x):
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x)


def rel_diff(a, b):
    """max |a - b| / max |b| (scaled by the largest entry of b: entries near zero
    would make an element-wise relative difference meaningless)."""
    a, b = to_numpy(a), to_numpy(b)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {a.shape} vs {b.shape}")
    scale = float(np.max(np.abs(b))) if b.size else 0.0
    return float(np.max(np.abs(a - b))) / (scale if scale > 0 else 1.0) if b.size else 0.0


def agreement(results, reference):
    """The largest rel_diff over the arrays of two results."""
    results = results if isinstance(results, (tuple, list)) else (results,)
    reference = reference if isinstance(reference, (tuple, list)) else (reference,)
    if len(results) != len(reference):
        raise ValueError(f"{len(results)} results against {len(reference)}")
    return max(rel_diff(a, b) for a, b in zip(results, reference))


def contenders(module, data):
    """{lib: {variant: fn}} for the libraries present."""
    out = {"eigengrad": module.eigengrad(data)}
    if torch is not None:
        out["torch"] = module.torch(data)
    return out


def check(module, data, fns):
    """Max relative difference of every variant from the first eigengrad variant;
    raises AssertionError naming the variants above TOL."""
    reference = next(iter(fns["eigengrad"].values()))()
    diffs = {(lib, name): agreement(fn(), reference) for lib, variants in fns.items()
             for name, fn in variants.items()}
    bad = [f"{lib} {name}: {d:.3g}" for (lib, name), d in diffs.items() if not d <= TOL]
    assert not bad, f"{module.NAME}: results disagree (max rel diff > {TOL:g}): {bad}"
    return diffs


def per_call_s(fn, target_s):
    """Seconds per call of one timed run of N calls, N chosen (from a first call)
    so that the run lasts about target_s."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    n = max(1, min(1000, round(target_s / max(first, 1e-7))))
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def timings(fns, target_s, repeats):
    """{(lib, variant): median seconds per call}. One warm-up call each, then
    `repeats` rounds; each round times every variant once, the libraries in turn, so
    that a burst of load from other processes hits both rather than one."""
    flat = [(lib, name, fn) for lib, variants in fns.items() for name, fn in variants.items()]
    for _, _, fn in flat:
        fn()
    samples = {(lib, name): [] for lib, name, _ in flat}
    for _ in range(repeats):
        for lib, name, fn in flat:
            samples[(lib, name)].append(per_call_s(fn, target_s))
    return {key: statistics.median(v) for key, v in samples.items()}


def best(times, lib):
    """(variant, seconds) of the fastest variant of lib, or (None, nan)."""
    mine = [(s, name) for (l, name), s in times.items() if l == lib]
    if not mine:
        return None, math.nan
    s, name = min(mine)
    return name, s


# ---- memory: one library, one size, in a fresh process ------------------------------

def peak_memory_mb(module_name, size_index, quick, lib, variant, calls=2):
    """Peak resident memory (MB) that `calls` calls of one variant of lib add to a
    fresh process: the peak RSS during the calls minus the RSS before them (after
    imports, inputs and a warm-up call; see memory_child). RSS counts what a library allocates in C++ (which
    tracemalloc would not see) and, for eigengrad, the blocks its caching allocator
    keeps: the same measure for both libraries, where eg.memory_stats() has no
    PyTorch counterpart on the CPU."""
    cmd = [sys.executable, str(HERE / f"{module_name}.py"), "--memory-child", lib, "--variant", variant,
           "--size", str(size_index), "--calls", str(calls)] + (["--quick"] if quick else [])
    # glibc keeps freed memory resident for reuse (and raises its mmap threshold as
    # large blocks are freed), so a warm-up call would hide the next calls' memory
    # from RSS: in the child, every block from 128 KiB on is its own mapping, given
    # back when freed.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"memory child {' '.join(cmd[1:])} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_mb"]


def rss_kb():
    """(current RSS, peak RSS) in KiB, from /proc/self/status."""
    fields = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, value = line.split(":")
                fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def memory_child(module, size, lib, variant, calls):
    one_thread()
    fn = contenders(module, module.inputs(size))[lib][variant]
    # One warm-up call first: PyTorch initialises parts of torch.func on first use
    # (tens of MB), which is not the workload's memory. Then eigengrad's cached
    # blocks go back (eg.empty_cache), so that its calls must allocate afresh as
    # PyTorch's do, and the high-water mark of RSS (VmHWM, also ru_maxrss) is reset
    # to the current RSS (writing 5 to clear_refs, Linux >= 4.0).
    fn()
    eg.empty_cache()
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before, _ = rss_kb()
    for _ in range(calls):
        fn()
    _, peak = rss_kb()
    print(json.dumps({"peak_mb": (peak - before) / 1024}))


# ---- one workload at one size -------------------------------------------------------

def measure(module, size_index, quick, memory=True, check_only=False):
    """A result row (dict) for one workload at one size: agreement, times, memory."""
    sizes = module.QUICK if quick else module.SIZES
    size = sizes[size_index]
    data = module.inputs(size)
    fns = contenders(module, data)
    diffs = check(module, data, fns)
    row = {"workload": module.NAME, "size": module.label(size),
           "agreement": max((d for (lib, _), d in diffs.items() if lib != "eigengrad"), default=math.nan)}
    if check_only:
        return row
    times = timings(fns, target_s=0.02 if quick else 0.2, repeats=3 if quick else 7)
    for lib in LIBS:
        name, s = best(times, lib)
        row[lib] = {"variant": name, "ms": s * 1e3,
                    "variants": {n: t * 1e3 for (l, n), t in times.items() if l == lib}}
        if memory and name is not None:
            row[lib]["peak_mb"] = peak_memory_mb(module.NAME, size_index, quick, lib, name)
    return row


def fmt_ms(ms):
    return "-" if ms is None or math.isnan(ms) else f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def fmt_mb(mb):
    return "-" if mb is None else f"{mb:.1f}"


HEADER = ("| workload | size | eigengrad ms | torch ms | eg / torch | max rel diff | eg peak MB | torch peak MB "
          "| eigengrad variant | torch variant |\n|---|---|--:|--:|--:|--:|--:|--:|---|---|")


def table_row(row):
    e, t = row.get("eigengrad", {}), row.get("torch", {})
    ratio = e["ms"] / t["ms"] if e and t and t.get("ms") else math.nan
    return (f"| {row['workload']} | {row['size']} | {fmt_ms(e.get('ms'))} | {fmt_ms(t.get('ms'))} | "
            f"{ratio:.2f} | {row['agreement']:.1e} | {fmt_mb(e.get('peak_mb'))} | {fmt_mb(t.get('peak_mb'))} | "
            f"{e.get('variant', '-')} | {t.get('variant', '-')} |")


def header_lines(quick):
    return [f"machine: {cpu_model()} ({platform.machine()}, {os.cpu_count()} cores), {platform.system()}",
            f"python {platform.python_version()}, numpy {np.__version__}, eigengrad {eg.__version__}, "
            f"torch {torch.__version__ if torch is not None else 'not installed'}",
            f"threads: 1 (eg {eg.get_num_threads()}, torch {torch.get_num_threads() if torch else '-'}, "
            f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}); dtype float64; "
            f"date {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"timing: median of {3 if quick else 7} rounds (each ~{20 if quick else 200} ms of calls, after a "
            f"warm-up call), libraries interleaved; memory: peak RSS added by 2 calls after a warm-up, in a fresh process per library"]




def main(module):
    """The command line of one workload program."""
    p = argparse.ArgumentParser(description=module.__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, short timing")
    p.add_argument("--check-only", action="store_true", help="check agreement only, no timing")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--size", type=int, help="only this size (index into the list)")
    p.add_argument("--memory-child", choices=LIBS, help=argparse.SUPPRESS)
    p.add_argument("--variant", help=argparse.SUPPRESS)
    p.add_argument("--calls", type=int, default=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    sizes = module.QUICK if args.quick else module.SIZES
    if args.memory_child:
        memory_child(module, sizes[args.size], args.memory_child, args.variant, args.calls)
        return
    if torch is None:
        p.exit(1, f"{module.NAME}: needs PyTorch (pip install torch)\n")
    one_thread()
    indices = [args.size] if args.size is not None else range(len(sizes))
    if not args.check_only:
        print("\n".join(header_lines(args.quick)) + "\n")
        print(HEADER)
    try:
        for i in indices:
            row = measure(module, i, args.quick, memory=not args.no_memory, check_only=args.check_only)
            if args.check_only:
                print(f"{row['workload']} {row['size']}: max rel diff {row['agreement']:.1e} (<= {TOL:g})")
            else:
                print(table_row(row), flush=True)
    except AssertionError as e:
        print(e, file=sys.stderr)
        sys.exit(1)

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

The code: this file holds the command line and the order of the passes; the rest is
in bench/runner/ (its __init__.py lists the modules): one_pass.py measures one pass,
report.py and chart.py write RESULTS.md and results.png from the passes' JSON.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "python"))  # benchutil, the workload programs
from runner.chart import chart  # noqa: E402
from runner.load import wait_idle  # noqa: E402
from runner.one_pass import run_pass  # noqa: E402
from runner.paths import BENCH, REPO  # noqa: E402
from runner.report import report  # noqa: E402


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


def write_report(passes, out_dir):
    png = out_dir / "results" / "results.png"
    chart(passes, png)
    text = report(passes, os.path.relpath(png, out_dir))
    (out_dir / "RESULTS.md").write_text(text)
    print(f"wrote {out_dir / 'RESULTS.md'} and {png}")


def run_passes(out_dir, quick, wait_idle_s):
    """Each pass in a subprocess of its own, one thread, then all cores (unless there
    is one); with wait_idle_s, each after an idle wait and again (twice at most) while
    other processes were busy, keeping the quietest attempt. Returns the JSON files."""
    counts = [1] + ([os.cpu_count()] if (os.cpu_count() or 1) > 1 else [])
    files = []
    for threads in counts:
        path = out_dir / "results" / f"threads-{threads}.json"
        cmd = [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads), "--json", str(path)]
        if quick:
            cmd.append("--quick")
        attempts = []  # (cores other processes kept busy, attempt number, pass text)
        for attempt in range(3 if wait_idle_s else 1):
            if wait_idle_s:
                wait_idle(wait_idle_s)
            print("$", " ".join(cmd[1:]), flush=True)
            subprocess.run(cmd, check=True)
            text = path.read_text()
            busy = json.loads(text)["other_load"].get("whole pass")
            attempts.append((busy or 0.0, attempt, text))
            if not wait_idle_s or busy is None or busy < 0.2:
                break
            print(f"other processes kept {busy:.2f} cores busy during the pass: running it again", flush=True)
        path.write_text(min(attempts)[2])  # the quietest attempt
        files.append(path)
    return files


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
    files = run_passes(out_dir, args.quick, args.wait_idle)
    passes = [json.loads(f.read_text()) for f in files]
    write_report(passes, out_dir)


if __name__ == "__main__":
    main()

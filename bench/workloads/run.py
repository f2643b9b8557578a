"""The AD workloads of GradBench's evals, eigengrad beside PyTorch, in one table.

    python bench/workloads/run.py                  # every workload, every size (~15 min on 2 cores)
    python bench/workloads/run.py --quick          # smoke run, a few seconds a workload
    python bench/workloads/run.py --check-only     # agreement only, no timing
    python bench/workloads/run.py gmm ba --out t.md

Workloads (one program each in this directory, runnable alone): gmm (GMM
objective gradient), ba (bundle-adjustment Jacobian blocks), lstm (LSTM loss
gradient), ode (RK4 solution's gradient), det (determinant by minors, gradient),
kmeans (gradient and Hessian diagonal). Each checks that eigengrad and PyTorch
agree in float64 (max relative difference <= 1e-9) before it times anything, and
the run stops with status 1 when they do not.

A row: the median time per call (eigengrad and PyTorch timed in turn in this
process, one thread each; the fastest of each library's variants, named), their
ratio (below 1: eigengrad is faster), the agreement, and the peak memory a call
adds, each library measured in a fresh process (common.memory_child).
"""

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402

WORKLOADS = ("gmm", "ba", "lstm", "ode", "det", "kmeans")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workloads", nargs="*", choices=WORKLOADS + ((),), default=(), metavar="WORKLOAD",
                   help=f"some of {', '.join(WORKLOADS)} (default: all)")
    p.add_argument("--quick", action="store_true", help="smoke run: small sizes, short timing")
    p.add_argument("--check-only", action="store_true", help="check agreement only, no timing")
    p.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    p.add_argument("--out", type=Path, help="also write the header and table to this file")
    args = p.parse_args()
    if common.torch is None:
        p.exit(1, "run.py: needs PyTorch (pip install torch)\n")
    common.one_thread()
    lines = common.header_lines(args.quick) + ["", common.HEADER]
    print("\n".join(lines), flush=True)
    failed = []
    for name in args.workloads or WORKLOADS:
        module = importlib.import_module(name)
        for i in range(len(module.QUICK if args.quick else module.SIZES)):
            try:
                row = common.measure(module, i, args.quick, memory=not args.no_memory, check_only=args.check_only)
            except AssertionError as e:
                print(e, file=sys.stderr, flush=True)
                failed.append(name)
                continue
            if args.check_only:
                line = f"{row['workload']} {row['size']}: max rel diff {row['agreement']:.1e}"
            else:
                line = common.table_row(row)
            lines.append(line)
            print(line, flush=True)
    if args.out:
        args.out.write_text("\n".join(lines) + "\n")
    if failed:
        sys.exit(f"results disagree: {', '.join(sorted(set(failed)))}")


if __name__ == "__main__":
    main()

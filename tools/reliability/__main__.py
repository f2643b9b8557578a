"""``python -m tools.reliability``: runs the reliability checks and prints one
table of figures (``--json`` also prints them as JSON; ``--scale 0.1`` runs smaller
graphs and loops, e.g. under a sanitizer). Exits 1 when a figure misses its bar."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from tools.reliability import collect


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.reliability", description=__doc__)
    parser.add_argument("--scale", type=float, default=float(os.environ.get("EIGENGRAD_RELIABILITY_SCALE", 1.0)),
                        help="size factor for the large graphs and long loops (default 1: 1e6-op chains, "
                             "2,000 iterations)")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON object")
    args = parser.parse_args(argv)

    import numpy as np

    print(f"eigengrad reliability report ({platform.system()} {platform.machine()}, Python "
          f"{platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} CPUs, scale {args.scale:g})")
    print()
    t0 = time.perf_counter()
    rows, figures = collect(args.scale, progress=lambda msg: print(f"  ... {msg}", file=sys.stderr, flush=True))
    width = max(len(label) for label, _, _ in rows)
    print(f"{'check'.ljust(width)}  {'figure':<60}  ok")
    print(f"{'-' * width}  {'-' * 60}  --")
    for label, figure, ok in rows:
        print(f"{label.ljust(width)}  {figure:<60}  {'yes' if ok else 'NO'}")
    print()
    print(f"{sum(ok for _, _, ok in rows)} of {len(rows)} figures meet their bar "
          f"({time.perf_counter() - t0:.0f} s)")
    if args.json:
        print(json.dumps(figures, default=float))
    return 0 if all(ok for _, _, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Memory and time of a training step with eg.checkpoint on a deep MLP.

The network: --layers Linear(width, width) + ReLU blocks (default 32 of 1024),
batch --batch (default 256), float32, loss = mean of the squared output. One step =
forward, backward, SGD update. Each configuration runs in a fresh subprocess (so
that one's peak does not hide another's), which reports its peak resident set size
(resource.getrusage: C++ allocations included, which tracemalloc would not see)
before the first step and after --steps steps, and the median time of a step:

- none: no checkpoint, every layer's saved activations live until backward;
- every layer: eg.checkpoint around each block;
- segments of k: eg.checkpoint around k consecutive blocks (k = 4, 8: about
  sqrt(layers) segments is the classic choice).

"step memory" is the peak minus the memory before the first step (the weights,
NumPy, the interpreter): the gradients (as large as the weights), the activations
kept for backward, and the recomputation's working set.

Run:
    python3 bench/python/checkpoint.py
    python3 bench/python/checkpoint.py --layers 16 --width 512 --batch 128 --steps 2   # quick
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time


def child(layers: int, width: int, batch: int, steps: int, segment: int, threads: int) -> dict:
    import numpy as np

    import eigengrad as eg

    eg.set_num_threads(threads)
    gen = eg.random.Generator(0)
    blocks = [eg.nn.Sequential(eg.nn.Linear(width, width, dtype="float32", generator=gen), eg.nn.ReLU())
              for _ in range(layers)]
    # segment 0: no checkpoint; k: one checkpoint around each k consecutive blocks.
    runs = [eg.nn.Sequential(*blocks[i:i + segment]) for i in range(0, layers, segment)] if segment else blocks
    params = [p for b in blocks for p in b.parameters()]
    opt = eg.optim.SGD(params, lr=1e-3)
    X = np.random.default_rng(1).standard_normal((batch, width)).astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        h = eg.Variable(X)
        for run in runs:
            h = eg.checkpoint(run, h) if segment != 0 else run(h)
        loss = eg.mean(h * h)
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"before_kb": before, "peak_kb": peak, "step_s": sorted(times)[len(times) // 2], "losses": losses}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=32)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.layers, args.width, args.batch, args.steps, args.child, args.threads)))
        return
    configs = [("none", 0), ("every layer", 1), ("segments of 4", 4), ("segments of 8", 8)]
    mb = lambda kb: kb / 1024  # noqa: E731  (ru_maxrss is in KiB on Linux)
    weights = args.layers * (args.width * args.width + args.width) * 4 / 2**20
    print(f"MLP {args.layers} x Linear({args.width}, {args.width}) + ReLU, batch {args.batch}, float32, "
          f"{args.steps} steps, {args.threads} thread(s); weights {weights:.0f} MB")
    print(f"{'checkpoint':<16}{'before MB':>11}{'peak MB':>10}{'step memory MB':>16}{'step s':>9}")
    results = {}
    for name, segment in configs:
        out = subprocess.run(
            [sys.executable, __file__, "--layers", str(args.layers), "--width", str(args.width), "--batch",
             str(args.batch), "--steps", str(args.steps), "--threads", str(args.threads), "--child", str(segment)],
            capture_output=True, text=True, check=True, env=dict(os.environ))
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[name] = r
        print(f"{name:<16}{mb(r['before_kb']):>11.0f}{mb(r['peak_kb']):>10.0f}"
              f"{mb(r['peak_kb'] - r['before_kb']):>16.0f}{r['step_s']:>9.2f}")
    same = all(r["losses"] == results["none"]["losses"] for r in results.values())
    print(f"losses identical in every configuration: {same}")


if __name__ == "__main__":
    main()

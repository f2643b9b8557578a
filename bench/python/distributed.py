"""Data-parallel training on MPI: all-reduce bandwidth and train-step time for 1 and 2 ranks.

Run (needs ``pip install ".[mpi]"``):
    python3 bench/python/distributed.py            # about two minutes
    python3 bench/python/distributed.py --quick    # smoke run

It launches itself under ``mpiexec -n 1`` and ``-n 2`` (the ``--worker`` mode) and prints:

1. all-reduce of float32 buffers from 4 B to 64 MB on 2 ranks: the median time of
   MPI's blocking ``Allreduce`` (through mpi4py, the floor) and of
   ``eigengrad.distributed.all_reduce`` (a non-blocking all-reduce and a bounded
   wait, plus a copy in and out of the Variable); the bus bandwidth
   ``2 (p-1)/p * bytes / time``; and the latency and bandwidth of the ring model
   ``t = 2 (p-1) alpha + 2 (p-1)/p * bytes / beta`` fitted to the MPI timings;
2. the time of one train step of an MLP (forward, cross-entropy, backward with the
   gradient all-reduce, SGD step) with the same global batch on 1 rank and on 2
   ranks, for several bucket sizes, with the part of the all-reduce that backward
   did not hide (the wait at the end of backward);
3. the step time of one rank on one thread against its batch (fitted by a line),
   and from it and the ring model a projection of the step time on 1, 2, 8 and 64
   ranks: on this machine's shared memory (meaningful only up to its core count)
   and on two networks between machines whose latency and bandwidth are ASSUMED
   typical figures (not measured): "no overlap" adds the all-reduce to the
   compute, "overlapped" hides it behind backward (2/3 of the compute).

Each rank uses cores / ranks threads (the default of ``init()``), float32. Timings
are medians over --repeats runs after a warm-up. The machine is shared; run it idle.
"""

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np


def mpiexec():
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if found is None:
        raise SystemExit('mpiexec not found: pip install ".[mpi]"')
    command = [found]
    version = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version:
        command += ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return command


# ---- inside mpiexec -------------------------------------------------------------------------

def median_seconds(fn, repeats, inner, barrier):
    fn()
    samples = []
    for _ in range(repeats):
        barrier()
        start = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - start) / inner)
    return statistics.median(samples)


def allreduce_rows(args, dist, world):
    MPI = world.MPI
    rows = []
    sizes = [4 * 4**k for k in range(13)] if not args.quick else [4, 4096, 4 * 2**20]
    for nbytes in sizes:
        buffer = np.ones(nbytes // 4, dtype=np.float32)
        out = np.empty_like(buffer)
        inner = max(1, min(200, int(2e7 // max(nbytes, 1))))
        repeats = 3 if args.quick else 9
        mpi = median_seconds(lambda: world.comm.Allreduce(buffer, out, op=MPI.SUM), repeats, inner, world.comm.Barrier)
        import eigengrad as eg
        v = eg.Variable(buffer.copy())
        ours = median_seconds(lambda: dist.all_reduce(v), repeats, inner, world.comm.Barrier)
        rows.append({"bytes": nbytes, "mpi_s": mpi, "eigengrad_s": ours})
    return rows


def step_rows(args, dist, world):
    import eigengrad as eg
    rows = []
    sizes, global_batch = ([784, 1024, 1024, 10], 256) if not args.quick else ([64, 256, 10], 32)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(global_batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], global_batch)
    local = slice(world.rank * global_batch // world.size, (world.rank + 1) * global_batch // world.size)
    model_bytes = None
    cores = eg.get_num_threads()
    settings = [(mb, cores) for mb in (1.0, 25.0, 1000.0)] if world.size > 1 else [(25.0, 1), (25.0, cores)]
    for bucket_mb, threads in settings:
        eg.set_num_threads(threads)
        model = eg.nn.MLP(sizes, dtype="float32", generator=0)
        model_bytes = sum(p.size * 4 for p in model.parameters())
        ddp = dist.DistributedDataParallel(model, bucket_cap_mb=bucket_mb)
        optimizer = eg.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
        waits = []

        def step():
            loss = eg.nn.cross_entropy(ddp(X[local]), y[local])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            waits.append(ddp.last_wait_seconds)

        inner = 3 if args.quick else 10
        seconds = median_seconds(step, 3 if args.quick else 7, inner, world.comm.Barrier)
        rows.append({"sizes": sizes, "global_batch": global_batch, "bucket_mb": bucket_mb,
                     "buckets": len(ddp.buckets), "step_s": seconds,
                     "exposed_wait_s": statistics.median(waits[inner:]) if world.size > 1 else 0.0,
                     "model_bytes": model_bytes, "threads": eg.get_num_threads()})
        ddp.remove_hooks()
    return rows


def compute_rows(args):
    """One process, one thread, no communication: step time against the local batch."""
    import eigengrad as eg
    sizes = [784, 1024, 1024, 10] if not args.quick else [64, 256, 10]
    previous = eg.get_num_threads()
    eg.set_num_threads(1)
    rows = []
    rng = np.random.default_rng(0)
    for batch in (32, 64, 128, 256):
        X = rng.normal(size=(batch, sizes[0])).astype(np.float32)
        y = rng.integers(0, sizes[-1], batch)
        model = eg.nn.MLP(sizes, dtype="float32", generator=0)
        optimizer = eg.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step():
            loss = eg.nn.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        rows.append({"batch": batch, "step_s": median_seconds(step, 3 if args.quick else 7, 5, lambda: None)})
    eg.set_num_threads(previous)
    return rows


def worker(args):
    import eigengrad.distributed as dist
    world = dist.init()
    result = {"ranks": world.size, "steps": step_rows(args, dist, world)}
    if world.size == 1:
        result["compute"] = compute_rows(args)
    if world.size > 1:
        result["allreduce"] = allreduce_rows(args, dist, world)
    if world.rank == 0:
        print("RESULT " + json.dumps(result), flush=True)


# ---- the driver ------------------------------------------------------------------------------

def run_ranks(n, quick):
    command = mpiexec() + ["-n", str(n), sys.executable, __file__, "--worker"] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    line = next(l for l in done.stdout.splitlines() if l.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def fit_ring(rows, p):
    """alpha, beta of t = 2(p-1) alpha + 2(p-1)/p bytes/beta, by least squares on the MPI times."""
    n = np.array([r["bytes"] for r in rows], dtype=float)
    t = np.array([r["mpi_s"] for r in rows])
    A = np.stack([np.full_like(n, 2 * (p - 1)), 2 * (p - 1) / p * n], axis=1)
    # Relative errors: weight each row by 1/t so small and large messages both count.
    (alpha, inv_beta), *_ = np.linalg.lstsq(A / t[:, None], np.ones_like(t), rcond=None)
    return alpha, 1.0 / inv_beta


# Two networks between machines, for the projection. Assumed, typical figures, NOT
# measured here: MPI over TCP on 10 Gigabit Ethernet, and over 100 Gb/s InfiniBand.
NETWORKS = {"10 GbE (assumed: 25 us, 1.1 GB/s)": (25e-6, 1.1e9),
            "100 Gb/s IB (assumed: 2 us, 11 GB/s)": (2e-6, 11e9)}
BACKWARD_SHARE = 2 / 3  # of a step's compute: two of the three products per layer


def ring_seconds(p, nbytes, buckets, alpha, beta):
    """The ring all-reduce of `nbytes` in `buckets` pieces on p ranks."""
    if p == 1:
        return 0.0
    return buckets * 2 * (p - 1) * alpha + 2 * (p - 1) / p * nbytes / beta


def projection(compute, model_bytes, buckets, global_batch, alpha, beta, ranks=(1, 2, 8, 64)):
    """Step time (no overlap, full overlap) for each p with the global batch fixed."""
    b = np.array([r["batch"] for r in compute], dtype=float)
    t = np.array([r["step_s"] for r in compute])
    slope, intercept = np.polyfit(b, t, 1)  # compute(b) = intercept + slope * b, one thread
    if intercept < 0:  # noise: a line through the origin instead
        slope, intercept = float(b @ t / (b @ b)), 0.0
    rows = []
    for p in ranks:
        local = global_batch / p
        work = intercept + slope * local
        comm = ring_seconds(p, model_bytes, buckets, alpha, beta)
        rows.append((p, local, work, comm, work + comm, (1 - BACKWARD_SHARE) * work + max(BACKWARD_SHARE * work, comm)))
    return (intercept, slope), rows


def human(nbytes):
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.3g} {unit}"
        nbytes /= 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=pathlib.Path, help="also write the results here")
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    one, two = run_ranks(1, args.quick), run_ranks(2, args.quick)
    print(f"cores: {len(os.sched_getaffinity(0))}, float32, threads per rank: cores / ranks on this machine\n")
    print("all-reduce on 2 ranks (median)")
    print(f"{'bytes':>10} {'MPI Allreduce':>14} {'eg.all_reduce':>14} {'bus bw (MPI)':>14}")
    for r in two["allreduce"]:
        busbw = r["bytes"] / r["mpi_s"]  # 2(p-1)/p = 1 for p = 2
        print(f"{human(r['bytes']):>10} {r['mpi_s'] * 1e6:>11.1f} us {r['eigengrad_s'] * 1e6:>11.1f} us "
              f"{busbw / 1e9:>10.2f} GB/s")
    alpha, beta = fit_ring(two["allreduce"], 2)
    print(f"ring model fitted: alpha = {alpha * 1e6:.2f} us per step, beta = {beta / 1e9:.2f} GB/s\n")

    base = min(one["steps"], key=lambda r: r["step_s"])  # the faster of 1 and all threads
    print(f"train step, MLP {'-'.join(map(str, base['sizes']))}, global batch {base['global_batch']}, "
          f"{human(base['model_bytes'])} of gradients (median)")
    for r in one["steps"]:
        print(f"  1 rank  ({r['threads']} thread(s)): {r['step_s'] * 1e3:8.2f} ms")
    for r in two["steps"]:
        print(f"  2 ranks ({r['threads']} thread each), buckets of {r['bucket_mb']:g} MB ({r['buckets']}): "
              f"{r['step_s'] * 1e3:8.2f} ms, speed-up {base['step_s'] / r['step_s']:.2f}x over the faster 1-rank run, "
              f"all-reduce not hidden by backward {r['exposed_wait_s'] * 1e3:.2f} ms")
    print("\none rank, one thread, no communication: step time against the batch")
    for r in one["compute"]:
        print(f"  batch {r['batch']:4d}: {r['step_s'] * 1e3:8.2f} ms")
    buckets = next(r["buckets"] for r in two["steps"] if r["bucket_mb"] == 25.0)
    networks = {"this machine, shared memory (measured above)": (alpha, beta), **NETWORKS}
    for name, (a, b) in networks.items():
        (c0, c1), rows = projection(one["compute"], base["model_bytes"], buckets, base["global_batch"], a, b)
        print(f"\nprojection, {name}: one thread per rank, global batch {base['global_batch']}, "
              f"compute {c0 * 1e3:.2f} ms + {c1 * 1e6:.1f} us per row, {buckets} bucket(s)")
        print(f"  {'ranks':>5} {'rows/rank':>9} {'compute':>10} {'all-reduce':>11} {'no overlap':>11} {'overlapped':>11} {'speed-up':>9}")
        for p, local, work, comm, serial, overlapped in rows:
            print(f"  {p:>5} {local:>9.1f} {work * 1e3:>7.2f} ms {comm * 1e3:>8.2f} ms {serial * 1e3:>8.2f} ms "
                  f"{overlapped * 1e3:>8.2f} ms {rows[0][4] / overlapped:>8.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"one": one, "two": two, "alpha_s": alpha, "beta_Bps": beta}, indent=1))


if __name__ == "__main__":
    main()

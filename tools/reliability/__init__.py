"""eigengrad's reliability checks, counted.

``python -m tools.reliability`` prints the report (one table of figures); the
tests under ``tests/reliability`` assert every figure. The checks:

- ``badinput``: every public op and transform driven with bad or unusual input,
  in worker subprocesses (a crash or a hang is a counted failure);
- ``faults``: allocation failures injected at every buffer allocation of a training
  step and a Hessian, and exceptions from Python callbacks, each survived;
- ``memory``: the largest graphs built, backwarded and freed; memory drift over long
  loops; live graph nodes and buffers after everything is released;
- ``threads``: the GIL released during backward, threads bitwise equal to a serial
  run, concurrent accumulation, a shared graph backwarded concurrently, Ctrl-C.

What eigengrad guarantees and how (version counters, read-only NumPy inputs while a
backward rule keeps them, thread safety) is described in the README, section
"Reliability".
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

Row = Tuple[str, str, bool]  # (check, figure, meets its bar)

# The bars the report (and the tests) hold each figure to.
MAX_DRIFT_MIB = 8.0  # resident-set growth over a long loop (allocator noise is a few MiB)
MAX_CTRL_C_MS = 500.0  # SIGINT to KeyboardInterrupt during a long backward


def collect(scale: float = 1.0, progress: Optional[Callable[[str], None]] = None) -> Tuple[List[Row], Dict[str, Any]]:
    """Runs every check; returns the report rows and the raw figures."""
    from tools.reliability import badinput, faults, memory, threads

    say = progress or (lambda msg: None)
    rows: List[Row] = []
    figures: Dict[str, Any] = {}
    baseline = memory.live()

    say("bad inputs (worker subprocesses)")
    bad = badinput.run_all()
    figures["bad_inputs"] = {"tried": bad.tried, "outcomes": bad.outcomes, "failures": bad.failures,
                             "seconds": bad.seconds}
    ops = len({c.op for c in badinput.cases()})
    rows += [
        ("bad inputs tried", f"{bad.tried:,} cases over {ops} ops and transforms ({bad.seconds:.1f} s)", True),
        ("  gave NumPy's answer", f"{bad.numpy:,}", True),
        ("  raised a typed exception naming the op", f"{bad.raised:,}", True),
        ("  wrong / untyped / crashed / hung",
         " / ".join(str(bad.outcomes.get(k, 0)) for k in ("wrong", "untyped", "crash", "hang")), bad.failed == 0),
    ]

    say("faults")
    alloc = faults.allocation_faults()
    callbacks = faults.callback_faults()
    survived_alloc = sum(f.survived for f in alloc)
    survived_cb = sum(f.survived for f in callbacks)
    figures["faults"] = {"allocation": [vars(f) for f in alloc], "callbacks": [vars(f) for f in callbacks]}
    rows += [
        ("faults injected", f"{len(alloc) + len(callbacks)} ({len(alloc)} allocation failures, "
                            f"{len(callbacks)} exceptions and misuses)", True),
        ("  survived (right exception, next result exact, no leak)", f"{survived_alloc + survived_cb}",
         survived_alloc == len(alloc) and survived_cb == len(callbacks)),
    ]

    iterations = memory.scaled(2000, scale)
    warmup = max(1, iterations // 10)
    for name, fn in [("training", memory.drift_training), ("jacobian", memory.drift_jacobian),
                     ("hessian", memory.drift_hessian)]:
        say(f"drift: {name} x {iterations:,}")
        d = fn(iterations, warmup)
        figures[f"drift_{name}"] = vars(d)
        rows.append((f"drift over {d.iterations:,} iterations: {d.name}",
                     f"RSS {d.rss_mib:+.1f} MiB, nodes {d.nodes:+d}, buffers {d.buffers:+d} ({d.seconds:.2f} s)",
                     d.nodes == 0 and d.buffers == 0
                     and (not d.rss_mib > MAX_DRIFT_MIB or not memory.rss_tracks_frees())))

    graphs = []
    for name, fn, n in [("chain", memory.chain, 1_000_000), ("fan_out", memory.fan_out, 1_000_000),
                        ("fan_in", memory.fan_in, 100_000)]:
        size = memory.scaled(n, scale)
        say(f"graph: {name} of {size:,}")
        run = fn(size)
        graphs.append(run)
        figures[f"graph_{name}"] = vars(run)
        rows.append((f"graph: {run.name}",
                     f"build {run.build_s:.2f} s, backward {run.backward_s:.2f} s, free {run.free_s:.2f} s, "
                     f"peak +{run.peak_mib:,.0f} MiB",
                     run.correct and run.left_nodes == 0 and run.left_buffers == 0))
        rows.append(("  nodes built / left after free", f"{run.nodes:,} / {run.left_nodes}, buffers left "
                     f"{run.left_buffers}, gradient {'right' if run.correct else 'WRONG'}",
                     run.correct and run.left_nodes == 0 and run.left_buffers == 0))

    say("threads")
    seconds, counts = threads.gil_released(memory.scaled(300_000, scale))
    parallel = threads.parallel_vs_serial()
    got, want = threads.shared_leaf()
    ran, raised, one_pass = threads.shared_graph()
    holds = threads.custom_rule_holds_gil()
    figures["threads"] = {"gil_counts": counts, "backward_s": seconds, "parallel_bitwise": parallel,
                          "shared_leaf": [got, want], "shared_graph": [ran, raised, one_pass], "custom_gil": holds}
    rows += [
        ("GIL released during backward", f"another thread counted {counts:,} times in {seconds:.2f} s", counts > 0),
        ("8 threads train + Hessian vs serial", "bitwise equal" if parallel else "DIFFERENT", parallel),
        ("8 threads x 50 backward into one leaf", f"grad {got:g} (exact: {want:g})", got == want),
        ("8 threads backward one graph (no retain)", f"{ran} ran, {raised} raised RuntimeError",
         ran == 1 and raised == 7 and one_pass),
        ("Python custom rule from a C++ backward", "holds the GIL" if holds else "DOES NOT hold the GIL", holds),
    ]
    say("Ctrl-C")
    chain = memory.scaled(1_000_000, max(scale, 0.2))  # long enough for the signal to come during backward
    c = threads.ctrl_c_delay(chain, after=0.05 if scale < 1 else 0.3)
    figures["ctrl_c"] = c
    delay = c.get("delay_ms", float("nan"))
    rows.append((f"Ctrl-C during a {chain:,}-op backward",
                 f"KeyboardInterrupt {delay:.0f} ms after SIGINT; next backward right" if c.get("interrupted")
                 else f"not interrupted ({c})",
                 bool(c.get("interrupted")) and delay < MAX_CTRL_C_MS and bool(c.get("after_ok"))))

    after = memory.live()
    figures["live_after"] = after
    figures["live_before"] = baseline
    rows.append(("live graph nodes / buffers after release",
                 f"{after['nodes']} nodes, {after['buffers']} buffers ({after['buffer_bytes']} bytes), "
                 f"{after['borrowed']} borrowed",
                 after["nodes"] == baseline["nodes"] and after["buffers"] == baseline["buffers"]
                 and after["borrowed"] == baseline["borrowed"]))
    return rows, figures

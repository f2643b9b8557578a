"""Threads and interrupts, measured.

- ``gil_released``: a Python thread keeps counting while the main thread runs a long
  backward pass (the engine runs without the GIL);
- ``parallel_vs_serial``: threads training independent models give results bitwise
  equal to the same trainings run one after the other;
- ``shared_leaf``: concurrent backward passes into one leaf add up exactly;
- ``shared_graph``: threads backwarding one graph without retain_graph: one runs it,
  the others raise RuntimeError;
- ``custom_rule_holds_gil``: a Python custom function called from a C++ backward
  running on another thread holds the GIL;
- ``ctrl_c_delay``: how long a SIGINT takes to interrupt a long backward pass (in a
  subprocess).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from typing import Dict, List, Tuple

import numpy as np

import eigengrad as eg
from eigengrad import _core


def _chain(n: int):
    x = eg.Variable(np.array(1.0), requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0000001
    return x, y


def gil_released(n: int = 300_000) -> Tuple[float, int]:
    """(seconds of backward, counts a Python thread made meanwhile)."""
    x, y = _chain(n)
    count = [0]
    stop = threading.Event()
    started = threading.Event()

    def counter():
        started.set()
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    started.wait()
    before = count[0]
    t0 = time.perf_counter()
    y.backward()
    seconds = time.perf_counter() - t0
    during = count[0] - before
    stop.set()
    t.join()
    return seconds, during


def _train(seed: int, steps: int) -> List[np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((32, 16))
    y = rng.integers(0, 4, 32)
    model = eg.nn.MLP([16, 32, 4], generator=seed)
    opt = eg.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        loss = eg.nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        H = eg.hessian(lambda v: (eg.tanh(v) ** 2).sum())(X[0, :4])  # forward over reverse too
    return [np.array(p) for p in model.parameters()] + [np.array(H)]


def parallel_vs_serial(threads: int = 8, steps: int = 20) -> bool:
    serial = [_train(seed, steps) for seed in range(threads)]
    parallel: Dict[int, List[np.ndarray]] = {}

    def run(seed):
        parallel[seed] = _train(seed, steps)

    ts = [threading.Thread(target=run, args=(seed,)) for seed in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return all(
        len(parallel.get(s, [])) == len(serial[s]) and all(np.array_equal(a, b) for a, b in zip(parallel[s], serial[s]))
        for s in range(threads)
    )


def shared_leaf(threads: int = 8, passes: int = 50) -> Tuple[float, float]:
    """(accumulated gradient, exact expectation): each pass adds 3 * ones."""
    w = eg.Variable(np.ones((16, 16)), requires_grad=True)
    ones = np.ones((16, 16))

    def run():
        for _ in range(passes):
            ((w * 3.0) * ones).sum().backward()

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    got = np.asarray(w.grad)
    return float(got.min()) if np.all(got == got.flat[0]) else float("nan"), 3.0 * threads * passes


def shared_graph(threads: int = 8) -> Tuple[int, int, bool]:
    """(passes that ran, passes that raised RuntimeError naming retain_graph,
    whether the leaf's gradient is that of exactly one pass)."""
    x = eg.Variable(np.linspace(-1.0, 1.0, 64), requires_grad=True)
    y = (eg.tanh(x) * eg.exp(x)).sum()
    barrier = threading.Barrier(threads)
    ran, raised = [0], [0]
    lock = threading.Lock()

    def run():
        barrier.wait()
        try:
            y.backward()
            with lock:
                ran[0] += 1
        except RuntimeError as e:
            if "retain_graph" in str(e):
                with lock:
                    raised[0] += 1

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    xv = np.linspace(-1.0, 1.0, 64)
    want = (1 - np.tanh(xv) ** 2) * np.exp(xv) + np.tanh(xv) * np.exp(xv)
    return ran[0], raised[0], bool(np.allclose(np.asarray(x.grad), want, rtol=1e-12))


def custom_rule_holds_gil() -> bool:
    held: List[bool] = []

    class Probe(eg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, gout):
            held.append(_core._testing.gil_held())
            return gout

    def run():
        x = eg.Variable(np.ones(3), requires_grad=True)
        Probe.apply(x).sum().backward()

    t = threading.Thread(target=run)
    t.start()
    t.join()
    run()
    return held == [True, True]


_CTRL_C = """
import json, os, signal, sys, threading, time
import numpy as np, eigengrad as eg
# Python leaves SIGINT ignored when started ignoring it (a background job): restore
# the default handler, which raises KeyboardInterrupt, as in an interactive session.
signal.signal(signal.SIGINT, signal.default_int_handler)
x = eg.Variable(np.array(1.0), requires_grad=True)
y = x
for _ in range({n}):
    y = y * 1.000001
sent = []
def fire():
    time.sleep({after})
    sent.append(time.perf_counter())
    os.kill(os.getpid(), signal.SIGINT)
threading.Thread(target=fire).start()
t0 = time.perf_counter()
result = {{}}
try:
    y.backward()
    result["interrupted"] = False
except KeyboardInterrupt:
    result["interrupted"] = True
    result["delay_ms"] = (time.perf_counter() - sent[0]) * 1000
result["backward_s"] = time.perf_counter() - t0
x.grad = None
(x * 3.0).backward()
result["after_ok"] = x.grad.item() == 3.0
print(json.dumps(result))
"""


def ctrl_c_delay(n: int = 1_000_000, after: float = 0.3) -> Dict[str, float]:
    """SIGINT `after` seconds into the backward of an n-op chain, in a subprocess:
    {"interrupted", "delay_ms" (signal to KeyboardInterrupt), "after_ok" (the next
    backward is right)}."""
    out = subprocess.run([sys.executable, "-c", _CTRL_C.format(n=n, after=after)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        return {"interrupted": False, "error": out.stderr[-300:]}
    return json.loads(out.stdout.strip().splitlines()[-1])

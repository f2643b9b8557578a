"""Graph lifetime and memory, measured: the largest graphs built, backwarded and
freed, memory drift over long loops, and what is alive afterwards.

Memory is read from Linux's /proc/self/status (resident set, and its peak, reset
through /proc/self/clear_refs) and from eigengrad's own counters: live graph nodes
(op nodes and gradient accumulators) and live buffers (owned: count and bytes;
borrowed from NumPy). Elsewhere the RSS figures are NaN; the counters always work.
"""

from __future__ import annotations

import dataclasses
import gc
import re
import time
from typing import Callable, Dict, Optional

import numpy as np

import eigengrad as eg
from eigengrad import _core


def _status(field: str) -> float:
    """A /proc/self/status field in MiB (NaN when unavailable)."""
    try:
        with open("/proc/self/status") as f:
            m = re.search(rf"^{field}:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1)) / 1024 if m else float("nan")
    except OSError:
        return float("nan")


def rss_tracks_frees() -> bool:
    """False in a sanitizer build: AddressSanitizer keeps freed memory in quarantine,
    so the resident set grows whatever the program frees (the live-node and buffer
    counters stay exact)."""
    return not hasattr(_core._testing, "sanitizer_canary")


def _trim() -> None:
    """Asks glibc to return freed memory to the system, so that the resident set
    reflects what is alive (no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def rss_mib() -> float:
    return _status("VmRSS")


def reset_peak_rss() -> bool:
    """Restarts the peak resident set at the current one (Linux only)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    return _status("VmHWM")


def live() -> Dict[str, int]:
    """Live graph nodes and buffers, after a full garbage collection."""
    gc.collect()
    buffers = _core._testing.live_buffers()
    return {"nodes": _core._testing.live_nodes(), "buffers": buffers["owned"], "buffer_bytes": buffers["owned_bytes"],
            "borrowed": buffers["borrowed"]}


# ---- the largest graphs ------------------------------------------------------------------


@dataclasses.dataclass
class GraphRun:
    name: str
    nodes: int  # graph nodes alive after building
    build_s: float
    backward_s: float
    free_s: float
    peak_mib: float  # resident set growth over the run (build, backward, free)
    left_nodes: int  # graph nodes alive after freeing, minus those before
    left_buffers: int
    correct: bool


def _measure(name: str, build: Callable[[], dict], backward: Callable[[dict], bool]) -> GraphRun:
    """`build` returns the graph and its leaves in a dict; everything in it is freed
    (by reference counting: the collector is off) before counting what is left."""
    before = live()
    gc.disable()
    try:
        reset_peak_rss()
        base = rss_mib()
        t0 = time.perf_counter()
        state = build()
        t1 = time.perf_counter()
        nodes = _core._testing.live_nodes() - before["nodes"]
        correct = backward(state)
        t2 = time.perf_counter()
        state.clear()
        t3 = time.perf_counter()
        peak = peak_rss_mib() - base
        left_nodes = _core._testing.live_nodes() - before["nodes"]
        left_buffers = _core._testing.live_buffers()["owned"] - before["buffers"]
    finally:
        gc.enable()
    return GraphRun(name, nodes, t1 - t0, t2 - t1, t3 - t2, peak, left_nodes, left_buffers, correct)


def chain(n: int = 1_000_000) -> GraphRun:
    """y = x * c, n times over: a graph n nodes deep (its backward and its teardown
    must not recurse)."""
    c = 1.0 + 1.0 / n

    def build():
        x = eg.Variable(np.array(1.0), requires_grad=True)
        y = x
        for _ in range(n):
            y = y * c
        return {"x": x, "y": y}

    def backward(state):
        state["y"].backward()
        return bool(np.isclose(state["x"].grad.item(), c ** n, rtol=1e-9))

    return _measure(f"chain of {n:,} ops", build, backward)


def fan_out(n: int = 1_000_000) -> GraphRun:
    """n results of one leaf, backwarded together (n roots into one accumulator)."""

    def build():
        x = eg.Variable(np.array(2.0), requires_grad=True)
        return {"x": x, "ys": [x * 1.0 for _ in range(n)]}

    def backward(state):
        eg.autograd.backward(state["ys"], [None] * n)
        return state["x"].grad.item() == float(n)

    return _measure(f"fan-out of {n:,}", build, backward)


def fan_in(n: int = 100_000) -> GraphRun:
    """One op (stack) with n inputs, each a leaf."""

    def build():
        xs = [eg.Variable(np.array(float(i)), requires_grad=True) for i in range(n)]
        return {"xs": xs, "y": (eg.stack(xs) * 2.0).sum()}

    def backward(state):
        state["y"].backward()
        return all(x.grad.item() == 2.0 for x in state["xs"][:: max(1, n // 1000)])

    return _measure(f"fan-in of {n:,}", build, backward)


# ---- drift over long loops ------------------------------------------------------------------


@dataclasses.dataclass
class Drift:
    name: str
    iterations: int
    seconds: float
    rss_mib: float  # resident set growth between the end of the warm-up and the end
    nodes: int  # live-node growth over the same span
    buffers: int  # live owned-buffer growth


def _drift(name: str, step: Callable[[], None], iterations: int, warmup: int) -> Drift:
    for _ in range(warmup):
        step()
    start = live()
    _trim()
    rss0 = rss_mib()
    t0 = time.perf_counter()
    for _ in range(iterations - warmup):
        step()
    seconds = time.perf_counter() - t0
    end = live()
    _trim()
    return Drift(name, iterations, seconds, rss_mib() - rss0, end["nodes"] - start["nodes"],
                 end["buffers"] - start["buffers"])


def drift_training(iterations: int = 2000, warmup: int = 200) -> Drift:
    """An MLP (64-32-10) trained with Adam on a fixed batch: forward, backward, step."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 64)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    model = eg.nn.MLP([64, 32, 10], dtype="float32", generator=0)
    opt = eg.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        loss = eg.nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return _drift("MLP training step", step, iterations, warmup)


def drift_jacobian(iterations: int = 2000, warmup: int = 200) -> Drift:
    W = np.random.default_rng(1).standard_normal((8, 8))

    def f(x):
        return eg.tanh(W @ x)

    x = np.linspace(-1.0, 1.0, 8)

    def step():
        eg.jacobian(f)(x)

    return _drift("eg.jacobian (8 -> 8)", step, iterations, warmup)


def drift_hessian(iterations: int = 2000, warmup: int = 200) -> Drift:
    W = np.random.default_rng(2).standard_normal((8, 8))

    def f(x):
        return (eg.tanh(W @ x) ** 2).sum()

    x = np.linspace(-1.0, 1.0, 8)

    def step():
        eg.hessian(f)(x)

    return _drift("eg.hessian (8 -> 1)", step, iterations, warmup)


def scaled(n: int, scale: Optional[float]) -> int:
    return max(1, int(n * (scale if scale is not None else 1.0)))

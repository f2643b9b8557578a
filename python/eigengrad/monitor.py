"""``eg.grad_monitor``: gradient telemetry recorded by the C++ engine during backward.

::

    with eg.grad_monitor(model) as m:
        loss = eg.nn.cross_entropy(model(x), y)
        loss.backward()
    m.report()

While the monitor is active on the thread, the engine records, in the backward
pass itself (no second pass over the graph):

- for every parameter (leaf that receives a gradient): the L2 norm and the largest
  ``|value|`` of its ``.grad`` right after accumulation;
- for every ``relu``, ``sigmoid`` and ``tanh`` node: the fraction of dead units
  (relu output exactly 0) and of saturated units (local derivative below ``1e-3``:
  ``out (1 - out)`` for sigmoid, ``1 - out**2`` for tanh), from the saved output;
- the first op whose output had an inf or NaN in the forward (ops run inside the
  ``with`` block) and the first node whose backward rule produced one, each with
  the line of user code that created it.

Each backward pass replaces the parameter and activation rows (the last pass is
reported); the first non-finite entries are kept. The exact ``gelu`` (the
default) is written with ``erfc``, which is not reported as an activation;
``gelu(approximate="tanh")`` shows its inner ``tanh``.

Threads: the monitor belongs to the thread that entered it; a backward run on
another thread records nothing. Monitors do not nest (``RuntimeError``). Off, the
engine pays one thread-local load per op and per backward pass. On, with a new
monitor every step, a 64-32-10 network's training step (batch 32, float32) took
about 9% longer on the development machine, larger networks 1-5% (README,
Benchmarks: ``python bench/python/mlp.py --monitor``).
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import eigengrad._core as _core

__all__ = ["GradMonitor", "grad_monitor"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
# "The line of user code": the first frame outside eigengrad, where the package's
# own applications (the demos, the tour) count as user code.
_USER_CODE = [_PACKAGE_DIR + "demo" + os.sep, _PACKAGE_DIR + "tour.py"]
_core._GradMonitor.set_library_files(_PACKAGE_DIR, _USER_CODE)


class GradMonitor(_core._GradMonitor):
    """What ``eg.grad_monitor(model=None)`` returns; use it as a context manager.

    Making one and entering it runs no Python code (``__init__``, ``__enter__`` and
    ``__exit__`` are the native base class's): a new monitor every training step is
    cheap. ``model`` must have ``named_parameters()`` (``TypeError`` otherwise); its
    names are looked up when the records are read, not here.
    """

    if TYPE_CHECKING:
        def __enter__(self) -> "GradMonitor": ...

    def to_dict(self) -> Dict[str, Any]:
        """The last pass's records as plain Python values::

            {"passes": int,
             "parameters": [{"name", "shape", "norm", "max_abs"}, ...],   # model order
             "activations": [{"op", "shape", "dead", "saturated", "where"}, ...],  # forward order
             "nonfinite": {"forward": None or {"op", "where"},
                           "backward": None or {"op", "where"}}}

        ``where`` is ``"file:line"`` of the user code that created the op (None when
        the op was created outside the monitor). Unnamed parameters (no model given)
        are labelled ``#k`` in the order the backward reached them.
        """
        params: List[Dict[str, Any]] = self._parameters()
        if self._model is not None:
            named = {self._key(p): (i, name) for i, (name, p) in enumerate(self._model.named_parameters())}
            for p in params:
                if p["key"] in named:
                    p["name"] = named[p["key"]][1]
            params = (sorted((p for p in params if p["key"] in named), key=lambda p: named[p["key"]][0])
                      + [p for p in params if p["key"] not in named])
        for p in params:
            del p["key"]
        return {
            "passes": self.passes,
            "parameters": params,
            "activations": self._activations(),
            "nonfinite": {"forward": self._forward_nonfinite(),
                          "backward": self._backward_nonfinite()},
        }

    def report(self, file: Any = None) -> str:
        """Prints (to ``file``, default stdout) and returns the table of the last pass
        (also ``str(monitor)``)."""
        text = str(self)
        print(text, file=file)
        return text

    def __str__(self) -> str:
        d = self.to_dict()
        lines = [f"grad_monitor: {d['passes']} backward pass(es); the last one:"]
        if d["parameters"]:
            width = max(9, *(len(p["name"]) for p in d["parameters"]))
            lines.append(f"  {'parameter':<{width}}  {'shape':<14}{'grad norm':>12}{'max |grad|':>12}")
            for p in d["parameters"]:
                lines.append(f"  {p['name']:<{width}}  {str(p['shape']):<14}{p['norm']:>12.4g}{p['max_abs']:>12.4g}")
        else:
            lines.append("  no parameter received a gradient")
        if d["activations"]:
            lines.append(f"  {'activation':<12}{'shape':<14}{'dead':>8}{'saturated':>11}  created at")
            for a in d["activations"]:
                where = _short(a["where"]) if a["where"] else "-"
                lines.append(f"  {a['op']:<12}{str(a['shape']):<14}{a['dead']:>8.1%}{a['saturated']:>11.1%}  {where}")
        for phase in ("forward", "backward"):
            f = d["nonfinite"][phase]
            if f is not None:
                lines.append(f"  first non-finite value in {phase}: {f['op']}"
                             + (f" at {_short(f['where'])}" if f["where"] else ""))
        if all(d["nonfinite"][k] is None for k in ("forward", "backward")):
            lines.append("  no inf or NaN seen")
        return "\n".join(lines)

    def plot(self, ax: Any = None) -> Any:
        """Bar chart of the last pass's per-parameter gradient norms (log scale) with
        matplotlib; returns the Axes. ImportError naming the extra when matplotlib is
        missing; ValueError when no parameter received a gradient."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as e:
            raise ImportError('grad_monitor.plot() needs matplotlib: pip install "eigengrad[demo]"') from e
        params = self.to_dict()["parameters"]
        if not params:
            raise ValueError("grad_monitor.plot(): no parameter received a gradient while the monitor was active")
        if ax is None:
            _, ax = plt.subplots(figsize=(max(4, 0.6 * len(params)), 3))
        norms = [p["norm"] if math.isfinite(p["norm"]) and p["norm"] > 0 else float("nan") for p in params]
        ax.bar(range(len(params)), norms)
        ax.set_xticks(range(len(params)), [p["name"] for p in params], rotation=45, ha="right")
        ax.set_yscale("log")
        ax.set_ylabel("gradient norm")
        ax.set_title("gradient norm per parameter")
        return ax


def _short(where: str) -> str:
    path, _, line = where.rpartition(":")
    return f"{os.path.basename(path)}:{line}"


def grad_monitor(model: Any = None) -> GradMonitor:
    """A context manager recording gradient telemetry of the backward passes run in
    it (see the module docstring): ``.report()``, ``.to_dict()``, ``.plot()``.
    ``model``, an ``eg.nn.Module``, names the parameters (``named_parameters()``)."""
    return GradMonitor(model)

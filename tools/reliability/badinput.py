"""Bad input, counted: every public op and transform driven with inputs it should
refuse or handle as NumPy does.

``cases()`` lists the cases in a fixed order (seeded values); each has a ``thunk``
that runs the op and a NumPy reference (or none when only an error is acceptable).
``run_case`` classifies the outcome:

- ``numpy``: eigengrad returned NumPy's answer (NaN where NumPy has NaN);
- ``raised``: a typed Python exception (ValueError, TypeError, IndexError,
  RuntimeError, MemoryError or a subclass) whose message names the op (a MemoryError
  from the allocation size check names the shape instead: it is raised below the op);
- ``wrong``: a value that differs from NumPy's, or an answer where NumPy refuses;
- ``untyped``: any other exception, or a message that does not name the op.

``run_all`` runs the cases in worker subprocesses, so that a crash (a signal, an
abort) or a hang is a counted failure (``crash``/``hang``) naming the case instead of
the end of the run.
"""


from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from typing import Dict, List, Optional, Tuple

import numpy as np

from tools.reliability.badinput_cases import _compare, cases
from tools.reliability.badinput_specs import TYPED, Case

__all__ = ["Case", "Summary", "cases", "run_all", "run_case"]

# ---- running ----------------------------------------------------------------------------


def run_case(case: Case) -> Tuple[str, str]:
    """(outcome, detail): outcome is numpy, raised, wrong or untyped (see the module doc)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            got = case.thunk()
        except TYPED as e:
            message = str(e)
            words = (case.op,) + case.names
            if "internal error" in message or "Unable to cast" in message:
                return "untyped", f"{type(e).__name__}: {message[:200]}"
            if any(w.split(".")[-1] in message for w in words):
                return "raised", type(e).__name__
            if isinstance(e, MemoryError) and "shape" in message:
                return "raised", "MemoryError (names the shape)"
            return "untyped", f"{type(e).__name__} not naming {case.op!r}: {message[:200]}"
        except Exception as e:  # noqa: BLE001 - classified, not swallowed
            return "untyped", f"{type(e).__name__}: {str(e)[:200]}"
        if case.ref is None:
            return "wrong", f"returned {type(got).__name__} where an error was expected"
        try:
            want = case.ref()
        except Exception as e:  # noqa: BLE001
            return "wrong", f"returned a value where NumPy raises {type(e).__name__}: {str(e)[:120]}"
        problem = _compare(got, want, case.rtol)
        return ("wrong", problem) if problem else ("numpy", "")


def _worker(start: int, stop: int) -> None:
    """Runs cases [start, stop), printing one JSON line before and after each.

    EIGENGRAD_BADINPUT_SELFTEST=crash:i (or hang:i) makes case i abort the process
    (or sleep): how the tests check that the runner survives both."""
    all_cases = cases()
    mode, _, at = os.environ.get("EIGENGRAD_BADINPUT_SELFTEST", "").partition(":")
    for i in range(start, min(stop, len(all_cases))):
        print(json.dumps({"start": i}), flush=True)
        if at and i == int(at):
            if mode == "crash":
                os.abort()
            time.sleep(3600)
        outcome, detail = run_case(all_cases[i])
        print(json.dumps({"done": i, "outcome": outcome, "detail": detail}), flush=True)


@dataclasses.dataclass
class Summary:
    tried: int
    outcomes: Dict[str, int]
    failures: List[Tuple[str, str, str, str]]  # (op, label, outcome, detail)
    seconds: float

    @property
    def raised(self) -> int:
        return self.outcomes.get("raised", 0)

    @property
    def numpy(self) -> int:
        return self.outcomes.get("numpy", 0)

    @property
    def failed(self) -> int:
        return self.tried - self.raised - self.numpy


def _pythonpath() -> str:
    """The workers' PYTHONPATH: the repository root (where ``tools`` is) first."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def _run_range(lo: int, hi: int, timeout: float, results: Dict[int, Tuple[str, str]]) -> None:
    """Runs cases [lo, hi) in worker processes, one after the other: a worker that
    dies marks its current case crash, one silent for `timeout` seconds hang, and a
    new worker starts after that case."""
    while lo < hi:
        cmd = [sys.executable, "-c", f"from tools.reliability.badinput import _worker; _worker({lo}, {hi})"]
        with tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                    env=dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONPATH=_pythonpath()))
            lines: "queue.Queue[Optional[str]]" = queue.Queue()

            def read(stream=proc.stdout):
                for line in stream:
                    lines.put(line)
                lines.put(None)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            started, hung = None, False
            while True:
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:
                    hung = True
                    proc.kill()
                    break
                if line is None:
                    break
                msg = json.loads(line)
                if "start" in msg:
                    started = msg["start"]
                else:
                    results[msg["done"]] = (msg["outcome"], msg["detail"])
                    started = None
            proc.wait()
            reader.join(timeout=5)
            proc.stdout.close()
            err.seek(0)
            tail = " | ".join(err.read().strip().splitlines()[-3:])
        if proc.returncode == 0 and not hung:
            return
        if started is None:  # died between cases: go on after the last one done
            started = max([i for i in results if lo <= i < hi], default=lo - 1) + 1
            if started >= hi:
                return
        results[started] = ("hang" if hung else "crash", f"exit {proc.returncode}: {tail}")
        lo = started + 1


def run_all(workers: int = 2, timeout: float = 120.0) -> Summary:
    """Runs every case in `workers` parallel chains of subprocesses (see _run_range;
    `timeout` is per case)."""
    all_cases = cases()
    n = len(all_cases)
    results: Dict[int, Tuple[str, str]] = {}
    start_time = time.perf_counter()
    chains = [threading.Thread(target=_run_range, args=(k * n // workers, (k + 1) * n // workers, timeout, results))
              for k in range(workers)]
    for t in chains:
        t.start()
    for t in chains:
        t.join()
    outcomes: Dict[str, int] = {}
    failures = []
    for i, case in enumerate(all_cases):
        outcome, detail = results.get(i, ("crash", "never ran"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome not in ("numpy", "raised"):
            failures.append((case.op, case.label, outcome, detail))
    return Summary(n, outcomes, failures, time.perf_counter() - start_time)


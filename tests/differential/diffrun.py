"""Runs every registered check on one program and reports what differs.

    python tests/differential/diffrun.py 17           # one seed, every check, verbose
    python tests/differential/diffrun.py 0 2000       # seeds 0..1999, a summary
    python tests/differential/diffrun.py 17 --check hvp --check jvp

A failing program's report has its seed, its text (``B`` is the backend: eigengrad
or torch) and, per failed comparison, the check, the label, and the values.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import traceback
from typing import List, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import diffouter  # noqa: E402,F401  (registers its checks)
import diffstate  # noqa: E402  (registers its checks)
from diffchecks import CHECKS, Case, Discrepancy, OracleError, compare, to_numpy  # noqa: E402
from diffgen import generate  # noqa: E402


@dataclasses.dataclass
class Result:
    program: object
    failures: List[str]
    compared: int = 0
    zero: int = 0  # comparisons whose torch result is all zeros (less telling)
    checks: int = 0
    seconds: float = 0.0

    def report(self) -> str:
        head = (f"differential program seed {self.program.seed}: {len(self.failures)} failure(s)\n"
                f"reproduce: python tests/differential/diffrun.py {self.program.seed}\n\n{self.program.text}\n")
        return head + "\n".join(self.failures)


def run(seed: Optional[int], names: Optional[Sequence[str]] = None, program=None, case_factory=Case) -> Result:
    """Runs the checks `names` (default: all) on the program of `seed` (or on
    `program`); a check that raises is one failure, each differing pair another."""
    p = generate(seed) if program is None else program
    result, t0 = Result(p, []), time.perf_counter()
    case = case_factory(p)
    for name in names or list(CHECKS):
        result.checks += 1
        try:
            triples = list(CHECKS[name](case) or [])
        except OracleError as e:
            result.failures.append(f"[{name}] ORACLE (harness) error: {e}\n{_trace(e)}")
            continue
        except Discrepancy as e:
            result.failures.append(f"[{name}] {e}")
            continue
        except Exception as e:  # noqa: BLE001  eigengrad raised where torch did not
            result.failures.append(f"[{name}] eigengrad raised {type(e).__name__}: {e}\n{_trace(e)}")
            continue
        for label, got, want in triples:
            result.compared += 1
            w = to_numpy(want)
            result.zero += w is None or not np.any(w)
            problem = compare(got, want)
            if problem:
                result.failures.append(f"[{name}] {label}: {problem}")
    result.seconds = time.perf_counter() - t0
    return result


def _trace(e: BaseException) -> str:
    lines = traceback.format_exception(type(e), e, e.__traceback__)
    return "".join(lines[-6:])


def main(argv: Sequence[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    names = [argv[i + 1] for i, a in enumerate(argv) if a == "--check"]
    args = [a for a in args if a not in names]
    start = int(args[0]) if args else 0
    count = int(args[1]) if len(args) > 1 else 1
    failed, compared, zero, t0 = 0, 0, 0, time.perf_counter()
    for seed in range(start, start + count):
        r = run(seed, names or None)
        compared, zero = compared + r.compared, zero + r.zero
        if r.failures:
            failed += 1
            print(r.report(), end="\n\n")
        elif count == 1:
            print(f"{r.program.text}\nseed {seed}: {r.compared} comparisons in {r.checks} checks, all equal")
    print(f"{count} programs, {failed} failed, {compared} comparisons ({zero} against all-zero results), "
          f"{time.perf_counter() - t0:.1f} s")
    print("in-place updates between forward and backward:", dict(diffstate.OUTCOMES))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

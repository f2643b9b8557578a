"""Differential tests: random programs run on eigengrad and on PyTorch (the oracle),
values and derivatives compared in float64 by every transform, nested two deep, with
closed-over Variables, in-place updates and aliased inputs (issue 10: no silent
wrong answer). Design: README.md in this folder; checks: diffchecks.py,
diffouter.py, diffstate.py; programs: diffprog.py, diffgen.py.

EIGENGRAD_DIFF_PROGRAMS=N (default 150) sets how many programs run, from seed
EIGENGRAD_DIFF_SEED (default 0). A failure prints the seed, the program and every
comparison that differs; `python tests/differential/diffrun.py SEED` replays it.
"""

import os

import pytest

pytest.importorskip("torch", reason="the differential tests compare with PyTorch: pip install torch==2.13.0")

from diffrun import run  # noqa: E402

PROGRAMS = int(os.environ.get("EIGENGRAD_DIFF_PROGRAMS", "150"))
FIRST_SEED = int(os.environ.get("EIGENGRAD_DIFF_SEED", "0"))


@pytest.mark.parametrize("seed", range(FIRST_SEED, FIRST_SEED + PROGRAMS))
def test_program(seed):
    result = run(seed)
    assert result.compared > 0
    assert not result.failures, result.report()

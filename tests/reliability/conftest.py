"""Shared settings of the reliability tests.

EIGENGRAD_RELIABILITY_SCALE shrinks the large graphs and long loops (the sanitizer
run in .ci/sanitize uses 0.05); the default 1 runs them at the sizes the report
states (1e6-op chains, 2,000 iterations)."""

import os

import pytest

SCALE = float(os.environ.get("EIGENGRAD_RELIABILITY_SCALE", "1"))


@pytest.fixture
def scale() -> float:
    return SCALE

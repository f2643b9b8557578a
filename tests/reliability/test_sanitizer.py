"""In a sanitizer build (.ci/sanitize), the sanitizers are live in the core's code:
each canary's deliberate error is reported, in tensor.cpp, and stops the process.
Skipped in normal builds (they have no canary)."""

import os
import subprocess
import sys

import pytest

import eigengrad as eg

pytestmark = pytest.mark.skipif(not hasattr(eg._core._testing, "sanitizer_canary"), reason="not a sanitizer build")


@pytest.mark.parametrize("kind, report", [("address", "heap-buffer-overflow"),
                                          ("undefined", "signed integer overflow")])
def test_the_canary_is_reported(kind, report):
    out = subprocess.run([sys.executable, "-c", f"import eigengrad._core as c; c._testing.sanitizer_canary({kind!r})"],
                         capture_output=True, text=True, env=dict(os.environ), timeout=120)
    assert out.returncode != 0
    assert report in out.stderr and "tensor.cpp" in out.stderr, out.stderr[-2000:]

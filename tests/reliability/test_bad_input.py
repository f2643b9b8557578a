"""Bad input, counted (tools.reliability.badinput): every op and transform with
broadcast-incompatible shapes, wrong ndim, bad axes, refused dtypes, unusual layouts
and dtypes, special values, zero-size and overflowing shapes, allocations that can
never fit. Each case gives NumPy's answer or raises a typed exception naming the op;
the cases run in worker subprocesses, so a crash or a hang fails one case, not the
run."""

import numpy as np
import pytest

import eigengrad as eg
from tools.reliability import badinput


def test_every_case_gives_numpys_answer_or_a_typed_error_in_subprocesses():
    summary = badinput.run_all(workers=2)
    assert summary.tried > 2000
    assert summary.failures == [], "\n".join(map(str, summary.failures[:20]))
    assert summary.raised > 900 and summary.numpy > 1400


def test_every_public_op_is_driven():
    driven = {c.op for c in badinput.cases()}
    missing = set(eg._core.op_names()) - driven
    assert not missing, f"ops without bad-input cases: {sorted(missing)}"
    for transform in ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp", "autograd.grad",
                      "backward", "gradcheck"]:
        assert transform in driven


def test_each_kind_of_bad_input_is_covered():
    labels = " ".join(c.label for c in badinput.cases())
    for word in ["incompatible", "axis=", "int8", "uint64", "bool", "complex", "object", "str", "float16",
                 "big-endian", "structured", "shapes ((0,", "shapes ((),", "NaN", "Inf", "non-contiguous",
                 "negative-stride", "stride-0", "unaligned", "read-only", "subclass", "masked", "overflow", "2^40"]:
        assert word in labels, word


def test_a_worker_that_crashes_fails_its_case_and_the_run_goes_on(monkeypatch):
    # A case that kills its process: the runner counts it as a crash, names it, and
    # runs the cases after it in a new worker.
    cases = badinput.cases()
    target = len(cases) // 3
    monkeypatch.setenv("EIGENGRAD_BADINPUT_SELFTEST", f"crash:{target}")
    summary = badinput.run_all(workers=2)
    assert summary.outcomes.get("crash") == 1
    (op, label, outcome, detail), = summary.failures
    assert (op, label) == (cases[target].op, cases[target].label) and outcome == "crash"
    assert summary.numpy + summary.raised == summary.tried - 1


def test_a_worker_that_hangs_fails_its_case(monkeypatch):
    cases = badinput.cases()
    monkeypatch.setenv("EIGENGRAD_BADINPUT_SELFTEST", f"hang:{len(cases) - 3}")
    summary = badinput.run_all(workers=2, timeout=3)
    assert summary.outcomes.get("hang") == 1
    assert summary.numpy + summary.raised == summary.tried - 1


def test_classification():
    ok = badinput.Case("exp", "t", "t", lambda: eg.exp(np.zeros(2)), ref=lambda: np.exp(np.zeros(2)))
    assert badinput.run_case(ok) == ("numpy", "")
    wrong = badinput.Case("exp", "t", "t", lambda: eg.exp(np.zeros(2)), ref=lambda: np.zeros(2))
    assert badinput.run_case(wrong)[0] == "wrong"
    named = badinput.Case("exp", "t", "t", lambda: eg.exp("x"))
    assert badinput.run_case(named) == ("raised", "TypeError")

    def unnamed():
        raise ValueError("something")

    assert badinput.run_case(badinput.Case("exp", "t", "t", unnamed))[0] == "untyped"

    def untyped():
        raise KeyError("exp")

    assert badinput.run_case(badinput.Case("exp", "t", "t", untyped))[0] == "untyped"


@pytest.mark.parametrize("shape", [(2**40, 2**40), (2**20, 2**20, 2**10)])
def test_allocations_that_can_never_fit_are_refused_before_allocating(shape):
    before = eg._core._testing.allocation_count()
    with pytest.raises(MemoryError, match="shape"):
        eg.broadcast_to(eg.Variable(np.ones(1)), shape)
    assert eg._core._testing.allocation_count() == before  # refused by the size check


def test_a_size_beyond_the_machine_is_refused_with_a_size_check():
    n = 2**20
    with pytest.raises(MemoryError, match="more than this machine's memory"):
        eg.matmul(np.ones((n, 1)), np.ones((1, n)))


def test_zero_size_shapes_whose_other_dimensions_overflow_are_refused_like_numpy():
    with pytest.raises(ValueError, match="too big"):
        np.empty((0, 2**62, 2**62))
    with pytest.raises(ValueError, match="too big"):
        eg.reshape(eg.Variable(np.ones(0)), (0, 2**62, 2**62))
    assert eg.reshape(eg.Variable(np.ones(0)), (0, 2**20, 2**20)).shape == (0, 2**20, 2**20)

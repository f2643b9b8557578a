"""eg.jacobian(f, memory_budget=...) and eg.jacobian_plan (python/eigengrad/jacobian_plan.py)."""

import tracemalloc

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.jacobian_plan import parse_memory_budget, plan_jacobian

RNG = np.random.default_rng(3)


def layer(m, n):
    A = RNG.standard_normal((m, n)) / np.sqrt(n)
    return (lambda v: eg.tanh(A @ eg.sin(v)) * 2.0), RNG.standard_normal(n), A


def measured_extra_peak(run):
    """eigengrad's allocator peak above what was in use, plus NumPy's (tracemalloc)."""
    eg.empty_cache()
    before = eg.memory_stats()["bytes_in_use"]
    eg.reset_peak_memory_stats()
    tracemalloc.start()
    try:
        result = run()
        numpy_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, eg.memory_stats()["peak_bytes_in_use"] - before + numpy_peak


@pytest.mark.parametrize("text, nbytes", [
    (1000, 1000), ("256MB", 256 * 10**6), ("1.5GiB", int(1.5 * 2**30)), ("64 kib", 64 * 1024),
    ("2e3B", 2000), ("3", 3), ("1 TB", 10**12),
])
def test_budgets_are_read_in_decimal_or_binary_units(text, nbytes):
    assert parse_memory_budget(text) == nbytes


@pytest.mark.parametrize("bad, error, words", [
    ("256 furlongs", ValueError, "cannot read memory_budget '256 furlongs'"),
    ("MB", ValueError, "cannot read"), (0, ValueError, "at least one byte"), (True, TypeError, "int (bytes)"),
    (1.5, TypeError, "got 1.5"),
])
def test_bad_budgets_are_named(bad, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        eg.jacobian(lambda v: v, memory_budget=bad)


@pytest.mark.parametrize("m, n, mode", [(40, 1500, "rev"), (1500, 40, "fwd"), (300, 300, "rev")])
def test_the_mode_follows_the_shape(m, n, mode):
    f, x, _ = layer(m, n)
    plan = eg.jacobian_plan(f, x, memory_budget="100MB")
    assert plan.mode == mode and plan.chunk_size == min(m, n) and plan.passes == 1
    assert (plan.n_outputs, plan.n_inputs) == (m, n)
    assert ("reverse" if mode == "rev" else "forward") in plan.reason and str(plan).startswith("JacobianPlan")


def deep(m, n, hidden=3000):
    """Wide hidden values: a pass costs far more per basis vector than one row of J."""
    A = RNG.standard_normal((hidden, n)) / np.sqrt(n)
    B = RNG.standard_normal((m, hidden)) / np.sqrt(hidden)
    return (lambda v: B @ eg.tanh(eg.sin(A @ v) * 2.0)), RNG.standard_normal(n)


@pytest.mark.parametrize("m, n", [(40, 300), (300, 40)])
def test_the_measured_peak_stays_under_several_budgets(m, n):
    f, x = deep(m, n)
    reference = eg.jacobian(f)(x).numpy()
    chunks = []
    for budget in ("400kB", "1MB", "2MB", "4MB", "100MB"):
        plan = eg.jacobian_plan(f, x, memory_budget=budget)
        J, peak = measured_extra_peak(lambda: eg.jacobian(f, memory_budget=budget)(x))
        assert peak <= plan.budget == parse_memory_budget(budget), (peak, plan)
        assert plan.bytes <= plan.budget
        np.testing.assert_allclose(J.numpy(), reference, rtol=1e-12, atol=1e-14)
        chunks.append(plan.chunk_size)
    assert chunks == sorted(chunks) and chunks[0] < chunks[-1] == min(m, n)  # a larger budget, larger chunks


def test_against_finite_differences():
    f, x, _ = layer(5, 7)
    J = eg.jacobian(f, memory_budget="1MB")(x).numpy()
    eps = 1e-6
    fd = np.stack([(f(x + eps * e).numpy() - f(x - eps * e).numpy()) / (2 * eps) for e in np.eye(7)], axis=1)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)


def test_a_budget_too_small_for_one_column_names_it():
    f, x, _ = layer(200, 300)
    with pytest.raises(ValueError, match=r"memory_budget '100kB' \(100,000 bytes\) is too small for even one row "
                                         r"of the 200 x 300 Jacobian"):
        eg.jacobian(f, memory_budget="100kB")(x)


def test_a_forced_mode_is_kept_and_shapes_survive():
    f = lambda v: eg.sin(v) * v.sum()  # noqa: E731  (2, 3) -> (2, 3)
    x = RNG.standard_normal((2, 3))
    for mode in ("rev", "fwd"):
        J = eg.jacobian(f, mode=mode, memory_budget="1MB")(x)
        assert J.shape == (2, 3, 2, 3)
        np.testing.assert_allclose(J.numpy(), eg.jacobian(f)(x).numpy(), rtol=1e-12)
        assert plan_jacobian(f, [x], 0, "1MB", mode=mode).mode == mode


def test_budget_arguments_that_do_not_combine():
    with pytest.raises(ValueError, match="without chunk_size"):
        eg.jacobian(lambda v: v, memory_budget="1MB", chunk_size=2)
    with pytest.raises(ValueError, match="one argument to differentiate"):
        eg.jacobian(lambda a, b: a * b, argnums=(0, 1), memory_budget="1MB")(np.ones(2), np.ones(2))


def test_against_torch_when_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    f, x, A = layer(30, 50)
    J = eg.jacobian(f, memory_budget="50kB")(x).numpy()
    At = torch.tensor(A)
    ref = torch.func.jacrev(lambda v: torch.tanh(At @ torch.sin(v)) * 2.0)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(J, ref, rtol=1e-12, atol=1e-14)

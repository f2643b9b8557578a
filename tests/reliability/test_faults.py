"""Faults survived (tools.reliability.faults): each surfaces as the right Python
exception, the next normal computation gives the undisturbed answer, nothing leaks.
Also the gradient hooks these faults go through."""

import numpy as np
import pytest

import eigengrad as eg
from tools.reliability import faults


def test_a_memory_error_at_every_allocation_of_a_training_step_and_a_hessian():
    results = faults.allocation_faults()
    assert len(results) > 50
    bad = [r for r in results if not r.survived]
    assert not bad, bad[:5]


@pytest.mark.parametrize("result", faults.callback_faults(), ids=lambda r: r.name)
def test_exceptions_from_python_callbacks_and_graph_misuse(result):
    assert result.survived, result


def test_fault_injection_is_exact_and_disarms():
    x = eg.Variable(np.ones(4))
    eg._core._testing.fail_allocations_after(1)
    try:
        eg.exp(x)  # the first allocation succeeds
        with pytest.raises(MemoryError, match="injected"):
            eg.exp(x)
        with pytest.raises(MemoryError, match="injected"):
            eg.exp(x)  # stays failing until disarmed
    finally:
        eg._core._testing.fail_allocations_after(-1)
    np.testing.assert_array_equal(eg.exp(x).numpy(), np.exp(np.ones(4)))


def test_a_memory_error_mid_backward_leaves_leaves_untouched_or_whole():
    # The failure comes after some leaves received their gradient: those keep a whole
    # gradient; the rest keep none. A new backward then gives the exact gradient.
    a = eg.Variable(np.ones(3), requires_grad=True)
    b = eg.Variable(np.full(3, 2.0), requires_grad=True)
    before = eg._core._testing.allocation_count()
    (eg.exp(a) * eg.exp(b)).sum().backward()
    count = eg._core._testing.allocation_count() - before
    a.grad = b.grad = None
    for k in range(count):
        y = (eg.exp(a) * eg.exp(b)).sum()
        eg._core._testing.fail_allocations_after(k)
        try:
            y.backward()
        except MemoryError:
            pass
        finally:
            eg._core._testing.fail_allocations_after(-1)
        for v, want in [(a, np.exp(3.0)), (b, np.exp(3.0))]:
            assert v.grad is None or np.allclose(v.grad.numpy(), want)
        a.grad = b.grad = None
    (eg.exp(a) * eg.exp(b)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), np.exp(3.0))


# ---- hooks ----------------------------------------------------------------------------------


def test_hooks_see_and_may_replace_the_gradient():
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 3.0
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    h = y.register_hook(lambda g: g * 10.0)
    (y * y).sum().backward(retain_graph=True)
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [180.0, 360.0])
    h.remove()
    x.grad = None
    (y * 1.0).sum().backward()  # y's graph is still there (mul saved nothing of y's)
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_leaf_hooks_run_before_accumulation_and_in_autograd_grad():
    x = eg.Variable(np.ones(2), requires_grad=True)
    x.register_hook(lambda g: g * 2.0)
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])
    (g,) = eg.autograd.grad((x * 3.0).sum(), [x])
    np.testing.assert_array_equal(g.numpy(), [6.0, 6.0])


def test_hooks_are_differentiable_with_create_graph():
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    y.register_hook(lambda g: g * x)  # the hook's result depends on x too
    (g,) = eg.autograd.grad(y.sum(), [x], create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * np.array([1.0, 2.0]) ** 2)  # x * 2x
    (gg,) = eg.autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(gg.numpy(), 4 * np.array([1.0, 2.0]))


def test_register_hook_needs_a_variable_that_requires_grad():
    with pytest.raises(RuntimeError, match="register_hook"):
        eg.Variable(np.ones(2)).register_hook(lambda g: g)

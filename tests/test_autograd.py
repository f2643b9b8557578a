"""The reverse-mode engine: accumulation, retain_graph, autograd.grad, grad mode,
deep graphs. Mirrors cpp/src/engine.cpp and cpp/src/variable.cpp, node.cpp."""

import gc
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import eigengrad as eg


def leaf(a, dtype=None):
    return eg.Variable(np.asarray(a, dtype=np.float64), requires_grad=True, dtype=dtype)


def test_grad_accumulates_across_backward_calls():
    x = leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1.0, 2.0, 3.0]) + 3.0)


def test_shared_node_accumulates_every_path():
    x = leaf(2.0)
    y = x * x  # used three times below
    z = y + y * y + eg.exp(y) * 0.0
    z.backward()
    # dz/dx = (1 + 2y) * 2x
    assert x.grad.item() == pytest.approx((1 + 2 * 4.0) * 4.0)


def test_second_backward_without_retain_graph_names_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)


def test_leaf_properties_and_grad_fn():
    x = leaf([1.0])
    c = eg.Variable([1.0])
    y = x * 2.0
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name() == "mul"
    assert not (c * 2.0).requires_grad and (c * 2.0).grad_fn is None
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False


def test_detach_shares_memory_and_cuts_the_graph():
    x = leaf([1.0, 2.0])
    d = (x * 2.0).detach()
    assert d.is_leaf and not d.requires_grad and d.grad_fn is None
    e = x.detach()
    assert np.shares_memory(e.numpy(), x.numpy())


def test_no_grad_records_nothing_and_restores_mode():
    x = leaf([1.0])
    with eg.no_grad():
        y = x * 2.0
        assert not eg.is_grad_enabled()
    assert eg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @eg.no_grad()
    def f(v):
        return v * 2.0

    assert f(x).grad_fn is None


def test_autograd_grad_returns_tuple_and_leaves_dot_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    out = (x * y).sum()
    gx, gy = eg.autograd.grad(out, (x, y))
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gy.numpy(), [1.0, 2.0])
    assert x.grad is None and y.grad is None


def test_autograd_grad_with_respect_to_an_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3.0
    out = (h * h).sum()
    (gh,) = eg.autograd.grad(out, h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())


def test_autograd_grad_unused_input():
    x, y = leaf([1.0]), leaf([2.0])
    out = (x * 2.0).sum()
    with pytest.raises(RuntimeError, match="not used"):
        eg.autograd.grad(out, (x, y), retain_graph=True)
    gx, gy = eg.autograd.grad(out, (x, y), allow_unused=True)
    assert gy is None and gx.item() == 2.0


def test_gradients_never_alias_each_other_or_the_seed():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = np.array([1.0, 1.0])
    (x + y).backward(seed)
    assert not np.shares_memory(x.grad.numpy(), y.grad.numpy())
    assert not np.shares_memory(x.grad.numpy(), seed)
    gx, gy = eg.autograd.grad(x + y, (x, y), seed)
    assert not np.shares_memory(gx.numpy(), gy.numpy())


def test_backward_with_explicit_grad_is_a_vjp():
    W = leaf(np.arange(6.0).reshape(2, 3))
    x = np.array([1.0, -1.0, 2.0])
    u = np.array([0.5, -2.0])
    (W @ x).backward(u)
    np.testing.assert_allclose(W.grad.numpy(), np.outer(u, x))


def test_create_graph_gives_second_derivatives():
    x = leaf([0.5, -1.0, 2.0])
    (g,) = eg.autograd.grad((x**3).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = eg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())
    # backward(create_graph=True) leaves a differentiable .grad
    x2 = leaf([1.5])
    (eg.sin(x2) * x2).sum().backward(create_graph=True)
    (gg,) = eg.autograd.grad(x2.grad.sum(), x2)
    np.testing.assert_allclose(gg.numpy(), 2 * np.cos(1.5) - 1.5 * np.sin(1.5))


def test_float32_graph_gives_float32_gradients():
    x = leaf([1.0, 2.0], dtype="float32")
    y = (x * np.float64(2.0)).sum()  # promotes to float64 inside the graph
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32


def test_graph_is_freed_by_reference_counting():
    # A float64 array is shared, not copied: the graph's saved values keep it
    # alive, so its reference count tells when the graph is gone.
    a = np.ones(3)
    base = sys.getrefcount(a)
    gc.disable()
    try:
        x = eg.Variable(a, requires_grad=True)
        y = (x * x).exp().sum()
        assert sys.getrefcount(a) > base
        del x, y
        assert sys.getrefcount(a) == base
    finally:
        gc.enable()


def test_million_op_chain_builds_backwards_and_frees():
    # In a subprocess: a recursion bug would overflow the stack and kill it.
    code = textwrap.dedent(
        """
        import numpy as np, eigengrad as eg
        x = eg.Variable(np.ones(1), requires_grad=True)
        y = x
        for _ in range(1_000_000):
            y = y * 1.0
        y.sum().backward()
        assert x.grad.item() == 1.0
        del y
        z = x
        for _ in range(1_000_000):
            z = z + 1.0
        del z  # freed without backward
        w = x
        for _ in range(1_000_000):
            w = w * w  # a node that is the child twice
        del w
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ---- gradients never alias each other or the seed (issue 10, class 4) --------------


@pytest.mark.parametrize("create_graph", [False, True])
def test_leaf_grads_do_not_alias_each_other_or_the_seed(create_graph):
    x = eg.Variable(np.ones(3), requires_grad=True)
    y = eg.Variable(np.ones(3), requires_grad=True)
    seed = eg.Variable(np.full(3, 2.0))
    (x + y).backward(seed, create_graph=create_graph)  # add passes the seed to both
    with eg.no_grad():
        x.grad += 1.0
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0, 3.0])
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(seed.numpy(), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("create_graph", [False, True])
def test_autograd_grad_results_do_not_alias(create_graph):
    x = eg.Variable(np.ones(2), requires_grad=True)
    y = eg.Variable(np.ones(2), requires_grad=True)
    seed = np.full(2, 5.0)
    gx, gy = eg.autograd.grad(x + y, [x, y], seed, create_graph=create_graph)
    with eg.no_grad():
        gx += 1.0
    np.testing.assert_array_equal(gy.numpy(), [5.0, 5.0])
    np.testing.assert_array_equal(seed, [5.0, 5.0])


def test_create_graph_grads_stay_differentiable_after_the_copy():
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = eg.Variable(np.array([3.0, 4.0]), requires_grad=True)
    (x * y).sum().backward(create_graph=True)
    (dgx,) = eg.autograd.grad(x.grad.sum(), [y])  # x.grad = y
    np.testing.assert_array_equal(dgx.numpy(), [1.0, 1.0])
    x.grad = y.grad = None

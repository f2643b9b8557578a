"""eg.norm's matrix orders (two axes) against numpy.linalg.norm, finite differences
(both modes) and torch.linalg.matrix_norm."""

import math

import numpy as np
import pytest

import eigengrad as eg

ORDERS = [1, -1, math.inf, -math.inf, 2, -2, "nuc", "fro", None]


def generic(*shape, seed=0):
    """Entries without ties in the row and column sums, distinct singular values."""
    return np.random.default_rng(seed).standard_normal(shape) + 0.1 * np.arange(np.prod(shape)).reshape(shape)


@pytest.mark.parametrize("ord", ORDERS)
@pytest.mark.parametrize("shape, axis", [((3, 4), None), ((4, 3), (0, 1)), ((2, 3, 4), (1, 2)),
                                         ((3, 2, 4), (0, 2)), ((3, 2, 4), (2, 0)), ((2, 4, 3), (-1, -2))])
@pytest.mark.parametrize("keepdims", [False, True])
def test_values_are_numpys(ord, shape, axis, keepdims):
    x = generic(*shape)
    got = eg.norm(x, ord=ord, axis=axis, keepdims=keepdims).numpy()
    want = np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ord", [1, -1, math.inf, -math.inf, 2, -2, "nuc"])
def test_gradients_against_finite_differences_both_modes(ord):
    x = generic(2, 3, 4, seed=1)
    assert eg.gradcheck(lambda a: eg.norm(a, ord=ord, axis=(1, 2)), [x])


@pytest.mark.parametrize("ord", [1, -1, math.inf, -math.inf, 2, -2, "nuc"])
def test_gradients_are_torchs(ord):
    torch = pytest.importorskip("torch", reason="PyTorch not installed (the bench extra)")
    x = generic(3, 4, seed=2)
    v = eg.Variable(x, requires_grad=True)
    eg.norm(v, ord=ord).backward()
    t = torch.tensor(x, requires_grad=True)
    torch.linalg.matrix_norm(t, ord=ord).backward()
    np.testing.assert_allclose(v.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_nuclear_norm_gradient_is_u_vh():
    x = generic(4, 3, seed=3)
    v = eg.Variable(x, requires_grad=True)
    eg.norm(v, ord="nuc").backward()
    u, _, vh = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(v.grad.numpy(), u @ vh, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("ord, axis, message", [
    ("nuc", (0,), "invalid norm order"),
    (2, (0, 1, 2), "one axis"),
    (3, (0, 1), "invalid norm order 3 for matrices"),
    ("bad", (0, 1), "invalid norm order 'bad' for matrices"),
    (1, (1, 1), "two distinct axes"),
    (1, (0, 5), "two distinct axes"),
])
def test_bad_orders_and_axes_name_the_problem(ord, axis, message):
    with pytest.raises(ValueError, match=message):
        eg.norm(generic(2, 3, 4), ord=ord, axis=axis)

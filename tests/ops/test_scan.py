"""cumsum, cumprod, prod, var and std (cpp/src/ops/scan.cpp) against PyTorch: values,
both modes and second order, also at zeros (cumprod and prod) and with ddof. The
generic tests check them against NumPy and finite differences (samples.py); the
conventions (zeros, constant slices, order of the scans) are in test_conventions.py."""

import numpy as np
import pytest

import eigengrad as eg
from torch_oracle import check_against_torch

try:
    import torch
except ImportError:  # the NumPy checks below still run
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch not installed (the bench extra)")

rng = np.random.default_rng(11)
X = rng.standard_normal((3, 5))
ZEROS = np.array([[1.5, 0.0, -2.0, 0.7, 1.1], [0.0, 1.3, 0.0, -0.9, 2.0], [0.5, -1.2, 0.8, 1.7, 0.0]])


@needs_torch
@pytest.mark.parametrize("x", [X, ZEROS], ids=["plain", "zeros"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum_and_cumprod_match_torch(x, axis):
    check_against_torch(lambda v: eg.cumsum(v, axis=axis), lambda t: torch.cumsum(t, dim=axis), [x])
    check_against_torch(lambda v: eg.cumprod(v, axis=axis), lambda t: torch.cumprod(t, dim=axis), [x])


@needs_torch
@pytest.mark.parametrize("x", [X, ZEROS], ids=["plain", "zeros"])
def test_prod_matches_torch(x):
    check_against_torch(lambda v: eg.prod(v, axis=1), lambda t: torch.prod(t, dim=1), [x])
    check_against_torch(lambda v: eg.prod(v, axis=0, keepdims=True), lambda t: torch.prod(t, 0, keepdim=True), [x])
    check_against_torch(lambda v: eg.prod(v[:2, :3]), lambda t: torch.prod(t[:2, :3]), [x])


@needs_torch
@pytest.mark.parametrize("ddof", [0, 1, 2])
@pytest.mark.parametrize("axis", [None, 0, 1])
def test_var_and_std_match_torch(axis, ddof):
    dim = tuple(range(X.ndim)) if axis is None else axis
    check_against_torch(lambda v: eg.var(v, axis=axis, ddof=ddof), lambda t: torch.var(t, dim=dim, correction=ddof),
                        [X])
    check_against_torch(lambda v: eg.std(v, axis=axis, ddof=ddof), lambda t: torch.std(t, dim=dim, correction=ddof),
                        [X])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_values_match_numpy_on_long_axes(dtype):
    x = (1 + rng.standard_normal((300, 7)) / 50).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    # The scans add and multiply strictly in order (Note [Scan order]), as NumPy's
    # accumulate does: the same bits.
    for name in ("cumsum", "cumprod"):
        np.testing.assert_array_equal(getattr(eg, name)(x, axis=0).numpy(), getattr(np, name)(x, axis=0))
        assert getattr(eg, name)(x, axis=0).dtype == dtype
    np.testing.assert_allclose(eg.prod(x, axis=(0, 1)).numpy(), np.prod(x.astype(np.float64)), rtol=rtol * 10)
    np.testing.assert_allclose(eg.var(x, axis=0).numpy(), np.var(x, axis=0), rtol=rtol * 10)
    np.testing.assert_array_equal(eg.cumsum(x).numpy(), np.cumsum(x))


def test_methods_and_empty_reductions():
    v = eg.Variable(X)
    np.testing.assert_allclose(v.cumsum(axis=1).numpy(), np.cumsum(X, axis=1), rtol=1e-14)
    np.testing.assert_allclose(v.prod(axis=0).numpy(), np.prod(X, axis=0), rtol=1e-14)
    np.testing.assert_allclose(v.std(ddof=1).numpy(), np.std(X, ddof=1), rtol=1e-14)
    np.testing.assert_array_equal(eg.prod(np.zeros((0, 3)), axis=0).numpy(), np.ones(3))
    assert np.isnan(eg.var(np.ones(1), ddof=1).numpy())  # NumPy: NaN and a warning (0 / 0)
    assert eg.var(np.array([1.0, 2.0]), ddof=3).numpy() == np.inf

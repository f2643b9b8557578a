"""The element-wise ops of issue 14 (arctan, arcsin, arccos, sinh, cosh, arctanh,
softplus, log_sigmoid, erf, erfc, logaddexp, arctan2) against NumPy (values) and PyTorch
(values, gradients in both modes and second derivatives) over dense grids, in
float64 and float32. The generic tests (tests/ops/test_generic.py) check them
against finite differences through samples.py; the conventions at the edges of the
domains are in tests/test_conventions.py, the special values in test_special_values.py."""

import math

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch")

# name -> (eigengrad op, torch op, NumPy reference, grid)
UNARY = {
    "arctan": (torch.atan, np.arctan, np.linspace(-30.0, 30.0, 2001)),
    "arcsin": (torch.asin, np.arcsin, np.linspace(-0.999, 0.999, 2001)),
    "arccos": (torch.acos, np.arccos, np.linspace(-0.999, 0.999, 2001)),
    "sinh": (torch.sinh, np.sinh, np.linspace(-30.0, 30.0, 2001)),
    "cosh": (torch.cosh, np.cosh, np.linspace(-30.0, 30.0, 2001)),
    "arctanh": (torch.atanh, np.arctanh, np.linspace(-0.999, 0.999, 2001)),
    # |x| < 20: PyTorch's softplus returns x itself beyond its threshold 20
    "softplus": (torch.nn.functional.softplus, lambda x: np.logaddexp(0.0, x), np.linspace(-19.9, 19.9, 2001)),
    "log_sigmoid": (torch.nn.functional.logsigmoid, lambda x: -np.logaddexp(0.0, -x),
                    np.linspace(-40.0, 40.0, 2001)),
    "erf": (torch.erf, np.vectorize(math.erf), np.linspace(-6.0, 6.0, 2001)),
    "erfc": (torch.erfc, np.vectorize(math.erfc), np.linspace(-6.0, 26.0, 2001)),
}
TOL = {np.float64: dict(rtol=1e-13, atol=1e-300), np.float32: dict(rtol=2e-6, atol=1e-30)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_numpy_and_torch(name, dtype):
    tfn, ref, grid = UNARY[name]
    x = grid.astype(dtype)
    v = eg.Variable(x, requires_grad=True)
    out = getattr(eg, name)(v)
    np.testing.assert_allclose(out.numpy(), ref(x.astype(np.float64)).astype(dtype), **TOL[dtype])
    # first and second derivatives against PyTorch's (float64 for both)
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    (g1,) = torch.autograd.grad(tfn(xt).sum(), xt, create_graph=True)
    (g2,) = torch.autograd.grad(g1.sum(), xt)
    (e1,) = eg.autograd.grad(getattr(eg, name)(v).sum(), [v], create_graph=True)
    (e2,) = eg.autograd.grad(e1.sum(), [v])
    tol = TOL[dtype]
    np.testing.assert_allclose(e1.numpy(), g1.detach().numpy().astype(dtype), rtol=tol["rtol"] * 10, atol=tol["atol"])
    # (float32: sigmoid's rule out * (1 - out), behind softplus' and log_sigmoid's
    # second derivatives, loses digits where out is near 1, as PyTorch's does)
    g2 = g2.numpy()
    np.testing.assert_allclose(e2.numpy(), g2.astype(dtype), rtol=tol["rtol"] * (100 if dtype == np.float64 else 1000),
                               atol=1e-12 if dtype == np.float64 else 1e-6 * np.abs(g2).max())
    # forward mode: the JVP with a unit tangent is the same derivative
    _, t = eg.jvp(getattr(eg, name), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t.numpy(), e1.numpy(), rtol=tol["rtol"], atol=tol["atol"])


BINARY = {
    "logaddexp": (torch.logaddexp, np.logaddexp),
    "arctan2": (torch.atan2, np.arctan2),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_matches_numpy_and_torch(name, dtype):
    tfn, ref = BINARY[name]
    a, b = np.meshgrid(np.linspace(-20.0, 20.0, 61), np.linspace(-15.0, 15.0, 47) + 0.1)
    x, y = a.ravel().astype(dtype), b.ravel().astype(dtype)
    vx, vy = eg.Variable(x, requires_grad=True), eg.Variable(y, requires_grad=True)
    out = getattr(eg, name)(vx, vy)
    np.testing.assert_allclose(out.numpy(), ref(x.astype(np.float64), y.astype(np.float64)).astype(dtype),
                               **TOL[dtype])
    xt = torch.tensor(x.astype(np.float64), requires_grad=True)
    yt = torch.tensor(y.astype(np.float64), requires_grad=True)
    tx, ty = torch.autograd.grad(tfn(xt, yt).sum(), (xt, yt), create_graph=True)
    (txx, txy) = torch.autograd.grad(tx.sum(), (xt, yt))
    ex, ey = eg.autograd.grad(getattr(eg, name)(vx, vy).sum(), [vx, vy], create_graph=True)
    exx, exy = eg.autograd.grad(ex.sum(), [vx, vy])
    tol = TOL[dtype]
    for got, want in ((ex, tx), (ey, ty)):
        np.testing.assert_allclose(got.numpy(), want.detach().numpy().astype(dtype), rtol=tol["rtol"] * 10, atol=1e-12)
    for got, want in ((exx, txx), (exy, txy)):  # (float32: as for the unary ops above)
        want = want.numpy()
        np.testing.assert_allclose(got.numpy(), want.astype(dtype),
                                   rtol=tol["rtol"] * (100 if dtype == np.float64 else 1000),
                                   atol=1e-10 if dtype == np.float64 else 1e-6 * np.abs(want).max())
    _, t = eg.jvp(getattr(eg, name), (x, y), (np.ones_like(x), np.zeros_like(y)))
    np.testing.assert_allclose(t.numpy(), ex.numpy(), rtol=tol["rtol"], atol=1e-12)


def test_softplus_and_log_sigmoid_are_finite_at_large_arguments():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    np.testing.assert_array_equal(eg.softplus(eg.Variable(x)).numpy(), np.logaddexp(0.0, x))
    np.testing.assert_array_equal(eg.log_sigmoid(eg.Variable(x)).numpy(), -np.logaddexp(0.0, -x))
    v = eg.Variable(x, requires_grad=True)
    eg.softplus(v).sum().backward()
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(v.grad.numpy(), 1 / (1 + np.exp(-x)), rtol=1e-15)


def test_sinh_cosh_overflow_where_numpy_does():
    x = np.array([710.0, 710.4758600739439, 711.0, -711.0])
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(eg.sinh(eg.Variable(x)).numpy()[[2, 3]], np.sinh(x)[[2, 3]])
        np.testing.assert_array_equal(eg.cosh(eg.Variable(x)).numpy()[[2, 3]], np.cosh(x)[[2, 3]])
    assert np.isfinite(eg.cosh(eg.Variable(x[:2])).numpy()).all()

"""eg.jacobian(f, sparsity=...) and eg.jacobian_sparsity (python/eigengrad/sparse_jacobian.py)."""

import builtins

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import sparse_jacobian as sj

sparse = pytest.importorskip("scipy.sparse", reason='scipy is not installed: pip install ".[sparse]"')
RNG = np.random.default_rng(5)


def band(x):
    """A discretised u'' + u^3 residual: tridiagonal Jacobian."""
    inner = x[:-2] - 2 * x[1:-1] + x[2:] + x[1:-1] ** 3
    return eg.concatenate([x[:1] * 1.0, inner, x[-1:] * 1.0])


def bundle(cameras, points, observations):
    """Each residual pair touches one camera block (6) and one point block (3)."""
    cam = RNG.integers(0, cameras, observations)
    pt = RNG.integers(0, points, observations)

    def f(p):
        c = p[: 6 * cameras].reshape(cameras, 6)[cam]
        q = p[6 * cameras:].reshape(points, 3)[pt]
        rotated = q * eg.cos(c[:, :3]) + eg.sin(c[:, :3]) * q[:, [1, 2, 0]] + c[:, 3:]
        return (rotated[:, :2] / (rotated[:, 2:] + 5.0)).reshape(-1)
    return f, RNG.standard_normal(6 * cameras + 3 * points)


def finite_differences(f, x, eps=1e-6):
    return np.stack([(f(x + eps * e).numpy() - f(x - eps * e).numpy()) / (2 * eps) for e in np.eye(x.size)], axis=1)


@pytest.mark.parametrize("make", [lambda: (band, RNG.standard_normal(40)), lambda: bundle(4, 10, 30)])
def test_auto_matches_dense_and_finite_differences(make):
    f, x = make()
    J = eg.jacobian(f, sparsity="auto")(x)
    assert sparse.isspmatrix_csr(J)
    dense = eg.jacobian(f)(x).numpy()
    np.testing.assert_allclose(J.toarray(), dense, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(J.toarray(), finite_differences(f, x), rtol=1e-6, atol=1e-7)


def test_the_detected_pattern_is_exactly_the_structure_of_a_band():
    x = RNG.standard_normal(3000)
    P = eg.jacobian_sparsity(band, x)
    n = x.size
    truth = sparse.diags([np.r_[np.ones(n - 2), 0], np.ones(n), np.r_[0, np.ones(n - 2)]], [-1, 0, 1]) != 0
    assert (P != truth).nnz == 0


def test_no_cancellation_hides_an_entry():
    # d/dx0 of (x0 + x1) - (x0 - x1) is 0 by cancellation, but x0 reaches the output:
    # the pattern keeps it (computed as an exact 0), random numeric probes would not
    f = lambda x: (x[:1] * 1e-300 + x[1:] * 2.0) - x[:1] * 1e-300  # noqa: E731
    P = eg.jacobian_sparsity(f, np.ones(2))
    assert P.toarray().tolist() == [[True, True]]


@pytest.mark.parametrize("mode, colours", [("fwd", 3), ("rev", 3)])
def test_colours_of_a_band_are_its_width(mode, colours):
    x = RNG.standard_normal(500)
    P = sparse.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(500, 500), format="csr") != 0
    plan = sj.plan_colouring(P, mode)
    assert plan.count == colours and plan.mode == mode
    J = eg.jacobian(band, mode=mode, sparsity=P)(x)
    np.testing.assert_allclose(J.toarray(), eg.jacobian(band)(x).numpy(), rtol=1e-13)


def test_a_colouring_is_proper_and_greedy_small():
    P = sparse.random(300, 200, density=0.02, random_state=1, format="csr") != 0
    colours = sj.colour_columns(P)
    rows, cols = P.nonzero()
    for r in range(P.shape[0]):
        c = colours[cols[rows == r]]
        assert len(set(c)) == len(c)  # no two columns of a row share a colour
    assert colours.max() + 1 <= (P.T.astype(int) @ P.astype(int) != 0).sum(axis=1).max()  # <= max degree + 1


def test_given_patterns_as_arrays_and_matrices():
    x = RNG.standard_normal((4, 5))
    f = lambda v: eg.sin(v) * 3.0  # noqa: E731  diagonal
    dense = eg.jacobian(f)(x).numpy().reshape(20, 20)
    for pattern in (np.eye(20, dtype=bool), np.eye(20, dtype=bool).reshape(4, 5, 4, 5), sparse.eye(20, format="coo")):
        J = eg.jacobian(f, sparsity=pattern)(x)
        assert J.shape == (20, 20) and J.nnz == 20
        np.testing.assert_allclose(J.toarray(), dense, rtol=1e-14)


def test_bad_sparsity_arguments_are_named():
    x = RNG.standard_normal(6)
    with pytest.raises(ValueError, match="unknown sparsity 'banded'"):
        eg.jacobian(band, sparsity="banded")(x)
    with pytest.raises(ValueError, match="unknown sparsity 3"):
        eg.jacobian(band, sparsity=3)(x)
    with pytest.raises(ValueError, match=r"pattern has shape \(5, 6\).*expected \(6, 6\)"):
        eg.jacobian(band, sparsity=np.ones((5, 6), dtype=bool))(x)


def test_without_scipy_the_error_names_the_extra(monkeypatch):
    real = builtins.__import__

    def no_scipy(name, *args, **kwargs):
        if name.startswith("scipy"):
            raise ImportError("no scipy here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_scipy)
    with pytest.raises(ImportError, match=r'pip install "\.\[sparse\]"'):
        eg.jacobian(band, sparsity="auto")(np.ones(5))


def test_against_torch_when_installed():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    x = RNG.standard_normal(200)
    J = eg.jacobian(band, sparsity="auto")(x).toarray()

    def band_t(v):
        inner = v[:-2] - 2 * v[1:-1] + v[2:] + v[1:-1] ** 3
        return torch.cat([v[:1], inner, v[-1:]])
    np.testing.assert_allclose(J, torch.func.jacrev(band_t)(torch.tensor(x)).numpy(), rtol=1e-13, atol=1e-15)


def test_float32_keeps_its_dtype():
    x = RNG.standard_normal(50).astype(np.float32)
    J = eg.jacobian(band, sparsity="auto")(x)
    assert J.dtype == np.float32
    np.testing.assert_allclose(J.toarray(), eg.jacobian(band)(x).numpy(), rtol=1e-6)

"""matmul paths that the generic sample table does not reach (cpp/src/kernels/gemm.cpp):
diagonal factors (scaled instead of multiplied) and a 2-D operand times a batch of
vectors (folded into one GEMM)."""

import numpy as np
import pytest

import eigengrad as eg

rng = np.random.default_rng(3)


@pytest.mark.parametrize("n", [40, 64])
def test_diagonal_factors_on_either_side(n):
    D = np.diag(rng.standard_normal(n))
    Y = rng.standard_normal((n, 5))
    Z = rng.standard_normal((5, n))
    for a, b in [(D, Y), (Z, D), (D, D), (D, np.eye(n))]:
        np.testing.assert_allclose(eg.matmul(a, b).numpy(), a @ b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_diagonal_check_reads_every_off_diagonal_entry(dtype):
    # -0 off the diagonal is a zero (the scaling is then exact); any other value,
    # even only in the last row or in the first column, makes the matrix dense
    # (a NaN or inf off the diagonal must reach the product).
    n = 40
    Y = rng.standard_normal((n, 3)).astype(dtype)
    D = np.diag(rng.standard_normal(n)).astype(dtype)
    D[0, 5] = D[n - 1, 2] = -0.0
    np.testing.assert_array_equal(eg.matmul(D, Y).numpy(), np.diag(D)[:, None] * Y)
    for i, j, v in [(n - 1, 0, 1e-30), (n - 1, n - 2, np.inf), (5, 0, np.nan), (0, n - 1, 2.0)]:
        E = D.copy()
        E[i, j] = v
        with np.errstate(invalid="ignore", over="ignore"):
            np.testing.assert_allclose(eg.matmul(E, Y).numpy(), E.astype(np.float64) @ Y, rtol=1e-5)


def test_diagonal_factors_in_backward_rules():
    # The rules multiply by transposed operands: every flag combination is reached.
    n = 48
    D = np.diag(rng.standard_normal(n))
    Y = rng.standard_normal((n, n))
    G = rng.standard_normal((n, n))
    for left, right in [(D, Y), (Y, D)]:
        a = eg.Variable(left, requires_grad=True)
        b = eg.Variable(right, requires_grad=True)
        (eg.matmul(a, b) * G).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), G @ right.T, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(b.grad.numpy(), left.T @ G, rtol=1e-12, atol=1e-12)


def test_a_matrix_times_a_batch_of_vectors_is_one_product():
    W = rng.standard_normal((6, 5))
    V = rng.standard_normal((7, 5, 1))
    np.testing.assert_allclose(eg.matmul(W, V).numpy(), np.matmul(W, V), rtol=1e-13)
    np.testing.assert_allclose(eg.matmul(W.T, rng.standard_normal((3, 6, 1))).shape, (3, 5, 1))
    x = eg.Variable(V, requires_grad=True)
    (eg.matmul(W, x) ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.matmul(W.T, 2 * np.matmul(W, V)), rtol=1e-12)

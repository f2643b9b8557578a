"""The source text's worked example: x -> y = W x + b -> z = sigmoid(y) -> L.

Gradients are in denominator layout: dL/dW has W's shape and equals
(dL/dz * sigma'(y)) x^T, dL/db = dL/dz * sigma'(y), dL/dx = W^T (dL/dz * sigma'(y)).
"""

import numpy as np
import pytest

import eigengrad as eg


def sigma(v):
    return 1.0 / (1.0 + np.exp(-v))


@pytest.fixture
def layer():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)


@pytest.mark.parametrize("loss", ["sum", "mse"])
def test_one_layer_gradients_match_the_hand_formulas(layer, loss):
    W0, x0, b0 = layer
    target = np.array([0.0, 1.0, 0.5])
    W = eg.Variable(W0, requires_grad=True)
    x = eg.Variable(x0, requires_grad=True)
    b = eg.Variable(b0, requires_grad=True)
    z = eg.sigmoid(W @ x + b)
    L = z.sum() if loss == "sum" else ((z - target) ** 2).mean()
    L.backward()

    y = W0 @ x0 + b0
    dL_dz = np.ones(3) if loss == "sum" else 2 * (sigma(y) - target) / 3
    delta = dL_dz * sigma(y) * (1 - sigma(y))  # dL/dy
    assert W.grad.shape == W0.shape and b.grad.shape == b0.shape and x.grad.shape == x0.shape
    np.testing.assert_allclose(W.grad.numpy(), np.outer(delta, x0), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), delta, rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), W0.T @ delta, rtol=1e-12)


def test_a_gradient_descent_step_lowers_the_loss(layer):
    W0, x0, b0 = layer
    W = eg.Variable(W0, requires_grad=True)
    b = eg.Variable(b0, requires_grad=True)
    L = eg.sigmoid(W @ x0 + b).sum()
    L.backward()
    with eg.no_grad():
        W2 = W - 0.1 * W.grad
        b2 = b - 0.1 * b.grad
    assert eg.sigmoid(W2 @ x0 + b2).sum().item() < L.item()

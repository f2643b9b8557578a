"""Losses against their formulas: values, gradients (also at extreme logits),
gradients of gradients, reductions, dtypes and errors."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from eigengrad.nn import functional as F

rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def reduce(per, reduction):
    return per.mean() if reduction == "mean" else per.sum() if reduction == "sum" else per


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def backward_with_ones(out):
    out.backward(None if out.ndim == 0 else np.ones(out.shape))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction):
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    xv = eg.Variable(x, requires_grad=True)
    out = F.mse_loss(xv, y, reduction=reduction)
    np.testing.assert_allclose(np.asarray(out), reduce((x - y) ** 2, reduction), rtol=1e-13)
    backward_with_ones(out)
    n = x.size if reduction == "mean" else 1
    np.testing.assert_allclose(np.asarray(xv.grad), 2 * (x - y) / n, rtol=1e-13)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy(reduction):
    logits, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 1, 2])
    x = eg.Variable(logits, requires_grad=True)
    out = F.cross_entropy(x, labels, reduction=reduction)
    per = -np.log(softmax(logits)[np.arange(5), labels])
    np.testing.assert_allclose(np.asarray(out), reduce(per, reduction), rtol=1e-13)
    backward_with_ones(out)
    onehot = np.eye(4)[labels]
    n = 5 if reduction == "mean" else 1
    np.testing.assert_allclose(np.asarray(x.grad), (softmax(logits) - onehot) / n, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits(reduction):
    logits, target = rng.standard_normal((3, 4)), rng.uniform(0, 1, (3, 4))
    x, t = eg.Variable(logits, requires_grad=True), eg.Variable(target, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, t, reduction=reduction)
    s = 1 / (1 + np.exp(-logits))
    per = -target * np.log(s) - (1 - target) * np.log(1 - s)
    np.testing.assert_allclose(np.asarray(out), reduce(per, reduction), rtol=1e-12)
    backward_with_ones(out)
    n = logits.size if reduction == "mean" else 1
    np.testing.assert_allclose(np.asarray(x.grad), (s - target) / n, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(t.grad), -logits / n, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cross_entropy_at_extreme_logits(dtype):
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0], [1000.0, 1000.0, -1000.0]], dtype)
    labels = np.array([1, 2, 0])
    x = eg.Variable(logits, requires_grad=True)
    out = F.cross_entropy(x, labels, reduction="none")
    np.testing.assert_allclose(np.asarray(out), [2000.0, 0.0, np.log(2)], rtol=1e-6)
    out.backward(np.ones(3, dtype))
    expected = np.array([[1, -1, 0], [0, 0, 0], [-0.5, 0.5, 0]], np.float64)
    assert np.all(np.isfinite(np.asarray(x.grad)))
    np.testing.assert_allclose(np.asarray(x.grad), expected, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_binary_cross_entropy_at_extreme_logits_and_zero(dtype):
    logits = np.array([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype)
    target = np.array([0.0, 1.0, 1.0, 0.0, 0.25], dtype)
    x = eg.Variable(logits, requires_grad=True)
    out = F.binary_cross_entropy_with_logits(x, target, reduction="none")
    np.testing.assert_allclose(np.asarray(out), [1000.0, 1000.0, 0.0, 0.0, np.log(2)], rtol=1e-6)
    out.backward(np.ones(5, dtype))
    np.testing.assert_allclose(np.asarray(x.grad), [1.0, -1.0, 0.0, 0.0, 0.25], atol=1e-7)


def test_losses_pass_gradcheck_and_gradgrad():
    logits, labels = rng.standard_normal((3, 4)), np.array([1, 0, 3])
    target = rng.uniform(0, 1, (3, 4))
    assert eg.gradcheck(lambda x: F.cross_entropy(x, labels), [logits])
    assert eg.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y), [logits, target])
    assert eg.gradcheck(lambda x, y: F.mse_loss(x, y, "sum"), [logits, target])
    # Hessian-vector product of the mean cross-entropy through create_graph:
    # per row, H v = (p * v - p (p . v)) / N.
    x = eg.Variable(logits, requires_grad=True)
    (g,) = eg.autograd.grad(F.cross_entropy(x, labels), [x], create_graph=True)
    v = rng.standard_normal((3, 4))
    (hv,) = eg.autograd.grad((g * v).sum(), [x])
    p = softmax(logits)
    expected = (p * v - p * (p * v).sum(axis=1, keepdims=True)) / 3
    np.testing.assert_allclose(np.asarray(hv), expected, atol=1e-12)


def test_single_sample_cross_entropy():
    logits = np.array([0.5, -1.0, 2.0])
    out = F.cross_entropy(logits, 2)
    assert out.shape == ()
    np.testing.assert_allclose(out.item(), -np.log(softmax(logits)[2]))


def test_numpy_targets_follow_the_input_dtype():
    x = eg.Variable(np.ones((2, 3), np.float32), requires_grad=True)
    assert F.mse_loss(x, np.zeros((2, 3))).dtype == np.float32
    assert F.binary_cross_entropy_with_logits(x, np.ones((2, 3))).dtype == np.float32
    assert F.cross_entropy(x, np.array([0, 2])).dtype == np.float32
    F.cross_entropy(x, np.array([0, 2])).backward()
    assert x.grad.dtype == np.float32


def test_loss_modules():
    x, y = rng.standard_normal((4, 3)), np.array([0, 1, 2, 0])
    np.testing.assert_allclose(np.asarray(CrossEntropyLoss("sum")(x, y)), np.asarray(F.cross_entropy(x, y, "sum")))
    assert MSELoss()(x, x).item() == 0.0
    assert repr(BCEWithLogitsLoss(reduction="none")) == "BCEWithLogitsLoss(reduction='none')"
    with pytest.raises(ValueError, match="MSELoss: reduction must be"):
        MSELoss("average")


def test_loss_errors_name_the_function_and_shapes():
    logits = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"cross_entropy: label 4 \(at index 1\) is out of range .*\(3, 4\)"):
        F.cross_entropy(logits, [0, 4, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: label -1"):
        F.cross_entropy(logits, [0, -1, 1])
    with pytest.raises(TypeError, match="cross_entropy: labels must be integers, got dtype float64"):
        F.cross_entropy(logits, np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TypeError, match="cross_entropy: labels must be integers, got dtype bool"):
        F.cross_entropy(logits, np.array([True, False, True]))
    with pytest.raises(TypeError, match="cross_entropy: labels must be integers, got a Variable"):
        F.cross_entropy(logits, eg.Variable([0, 1, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: 2 labels for logits of shape \(3, 4\)"):
        F.cross_entropy(logits, [0, 1])
    with pytest.raises(ValueError, match=r"cross_entropy: labels of shape \(3, 1\)"):
        F.cross_entropy(logits, np.zeros((3, 1), int))
    with pytest.raises(ValueError, match=r"cross_entropy: logits must have shape \(N, C\) or \(C,\), got \(2, 3, 4\)"):
        F.cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match=r"mse_loss: input shape \(3,\) and target shape \(3, 1\) differ"):
        F.mse_loss(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: logits shape \(2,\)"):
        F.binary_cross_entropy_with_logits(np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        F.mse_loss(np.zeros(2), np.zeros(2), reduction="avg")


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_jacobians_forward_and_batched_reverse_agree(reduction):
    """eg.jacobian in both modes through linear and each loss (forward-mode rules,
    and reverse rules that take a batch of cotangents), against finite differences."""
    x, W, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    labels, target = np.array([0, 1, 1, 0]), rng.uniform(0, 1, (4, 2))
    losses = [
        lambda z: F.cross_entropy(z, labels, reduction),
        lambda z: F.mse_loss(z, target, reduction),
        lambda z: F.binary_cross_entropy_with_logits(z, target, reduction),
    ]
    for loss in losses:
        def f(W):
            return loss(F.linear(x, W, b))

        rev = np.asarray(eg.jacobian(f, mode="rev")(W))
        fwd = np.asarray(eg.jacobian(f, mode="fwd")(W))
        np.testing.assert_allclose(rev, fwd, rtol=1e-12, atol=1e-14)
        assert eg.gradcheck(f, [W])

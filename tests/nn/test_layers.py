"""Layers: Linear (PyTorch's initialisation, seedable), Sequential, MLP,
activations and Dropout."""

import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import GELU, MLP, Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh


def test_linear_computes_x_w_transpose_plus_b():
    layer = Linear(3, 2, generator=0)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (2,)
    x = np.random.default_rng(1).standard_normal((5, 3))
    expected = x @ np.asarray(layer.weight).T + np.asarray(layer.bias)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-12)
    # One sample as in the source text: y = W x + b.
    np.testing.assert_allclose(np.asarray(layer(x[0])), expected[0], rtol=1e-12)


def test_linear_gradients():
    layer = Linear(3, 2, generator=0)
    x = eg.Variable(np.random.default_rng(1).standard_normal((5, 3)), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(np.asarray(layer.weight.grad), np.tile(np.asarray(x).sum(0), (2, 1)))
    np.testing.assert_allclose(np.asarray(layer.bias.grad), [5.0, 5.0])
    np.testing.assert_allclose(np.asarray(x.grad), np.tile(np.asarray(layer.weight).sum(0), (5, 1)))


def test_linear_initialisation_follows_pytorch():
    layer = Linear(400, 300, generator=0)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        a = np.asarray(p)
        assert a.min() >= -bound and a.max() <= bound
        assert a.min() < -0.9 * bound and a.max() > 0.9 * bound  # spread over the range
    assert abs(np.asarray(layer.weight).std() - bound / math.sqrt(3)) < 0.02 * bound


def test_linear_is_seedable():
    a, b, c = Linear(4, 3, generator=7), Linear(4, 3, generator=7), Linear(4, 3, generator=8)
    np.testing.assert_array_equal(np.asarray(a.weight), np.asarray(b.weight))
    assert not np.array_equal(np.asarray(a.weight), np.asarray(c.weight))
    eg.random.seed(3)
    d = Linear(4, 3)
    eg.random.seed(3)
    e = Linear(4, 3)
    np.testing.assert_array_equal(np.asarray(d.bias), np.asarray(e.bias))


def test_linear_options():
    layer = Linear(3, 2, bias=False, dtype="float32", generator=0)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    assert layer.weight.dtype == np.float32
    assert layer(np.ones((1, 3), np.float32)).dtype == np.float32
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"
    with pytest.raises(ValueError, match=r"linear: .*x \(2, 4\), W \(2, 3\)"):
        layer(np.ones((2, 4)))
    with pytest.raises(TypeError, match="generator"):
        Linear(2, 2, generator="seed")


def test_sequential():
    model = Sequential(Linear(2, 3, generator=0), Tanh())
    assert len(model) == 2 and isinstance(model[1], Tanh) and isinstance(model[-1], Tanh)
    assert [type(m) for m in model] == [Linear, Tanh]
    model.append(Sigmoid())
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    out = model(np.ones((4, 2)))
    assert out.shape == (4, 3) and np.all((np.asarray(out) > 0) & (np.asarray(out) < 1))


def test_mlp_structure():
    model = MLP([64, 32, 16, 10], activation="tanh", generator=0)
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert model(np.zeros((2, 64))).shape == (2, 10)
    with_dropout = MLP([4, 8, 2], dropout=0.5, generator=0)
    assert [type(m).__name__ for m in with_dropout] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert [type(m).__name__ for m in MLP([4, 8, 2], activation=GELU)] == ["Linear", "GELU", "Linear"]
    a, b = MLP([4, 8, 2], generator=5), MLP([4, 8, 2], generator=5)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))
    c = MLP([4, 8, 2], generator=6)
    assert not np.array_equal(np.asarray(a[0].weight), np.asarray(c[0].weight))


def test_mlp_errors():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLP([2, 2], activation="swish")
    with pytest.raises(ValueError, match="at least an input and an output"):
        MLP([2])
    with pytest.raises(TypeError, match="activation must be"):
        MLP([2, 2, 2], activation=np.tanh)


@pytest.mark.parametrize("module, ref", [
    (ReLU(), lambda x: np.maximum(x, 0)),
    (Tanh(), np.tanh),
    (Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (GELU(approximate="tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
    (GELU(), lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
])
def test_activations(module, ref):
    x = np.random.default_rng(0).standard_normal((3, 4))
    np.testing.assert_allclose(np.asarray(module(eg.Variable(x))), ref(x), rtol=1e-12, atol=1e-15)
    assert eg.gradcheck(module, [x])


def test_dropout():
    x = np.ones((200, 100))
    layer = Dropout(0.3, generator=0)
    out = np.asarray(layer(x))
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.7)
    np.testing.assert_array_equal(np.asarray(Dropout(0.3, generator=0)(x)), out)  # seeded
    assert not np.array_equal(np.asarray(layer(x)), out)  # the stream moves on
    layer.eval()
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    assert np.all(np.asarray(Dropout(1.0)(x)) == 0)
    v = eg.Variable(np.ones(10), requires_grad=True)
    Dropout(0.5, generator=1)(v).sum().backward()
    assert set(np.unique(np.asarray(v.grad))) <= {0.0, 2.0}
    with pytest.raises(ValueError, match="p must be in"):
        Dropout(1.5)


def test_gelu_matches_torch_exact_and_tanh():
    torch = pytest.importorskip("torch")
    x = np.linspace(-12.0, 12.0, 1201)
    for approximate in ("none", "tanh"):
        v = eg.Variable(x, requires_grad=True)
        out = GELU(approximate=approximate)(v)
        out.sum().backward()
        xt = torch.tensor(x, requires_grad=True)
        want = torch.nn.GELU(approximate=approximate)(xt)
        want.sum().backward()
        # PyTorch's 1 + erf(x / sqrt 2) cancels for negative x (absolute error ~ eps |x|)
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(v.grad.numpy(), xt.grad.numpy(), rtol=1e-13, atol=1e-14)
    # and without the cancellation: relative accuracy where GELU is tiny (to the
    # rounding of x / sqrt 2, which erfc's slope 2 x^2 magnifies: 1.6e-14 at -12)
    exact = np.array([0.5 * t * math.erfc(-t / math.sqrt(2)) for t in x])
    np.testing.assert_allclose(GELU()(x).numpy(), exact, rtol=1e-13, atol=0)
    with pytest.raises(ValueError, match="approximate"):
        GELU(approximate="fast")
    with pytest.raises(ValueError, match="approximate"):
        eg.nn.functional.gelu(x, approximate="erf")

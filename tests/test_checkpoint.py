"""eg.checkpoint: the same gradients, bit for bit, as without it (parameters read
inside included), without keeping the intermediates; clear errors otherwise."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad._core import _testing


def blocks(n=6, width=16, dtype="float64", dropout=0.0):
    gen = eg.random.Generator(0)
    layers = []
    for _ in range(n):
        layer = [eg.nn.Linear(width, width, dtype=dtype, generator=gen), eg.nn.Tanh()]
        if dropout:
            layer.append(eg.nn.Dropout(dropout))
        layers.append(eg.nn.Sequential(*layer))
    return layers


def run(layers, x, use_checkpoint):
    for layer in layers:
        layer.zero_grad()
    x = eg.Variable(x, requires_grad=True)
    h = x
    for layer in layers:
        h = eg.checkpoint(layer, h) if use_checkpoint else layer(h)
    loss = (h * h).sum()
    loss.backward()
    return [np.asarray(x.grad)] + [np.array(p.grad) for layer in layers for p in layer.parameters()]


def assert_bitwise(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert u.dtype == v.dtype and u.shape == v.shape
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deep_mlp_gradients_are_bitwise_the_same(dtype):
    layers = blocks(dtype=dtype)
    x = np.random.default_rng(1).standard_normal((8, 16)).astype(dtype)
    assert_bitwise(run(layers, x, False), run(layers, x, True))


def test_autograd_grad_reaches_the_parameters_read_inside():
    layers = blocks(3)
    params = [p for layer in layers for p in layer.parameters()]
    x = eg.Variable(np.random.default_rng(2).standard_normal((4, 16)))

    def loss(use_checkpoint):
        h = x
        for layer in layers:
            h = eg.checkpoint(layer, h) if use_checkpoint else layer(h)
        return eg.sum(h * h)

    expected = eg.autograd.grad(loss(False), params)
    got = eg.autograd.grad(loss(True), params)
    assert_bitwise([np.asarray(g) for g in expected], [np.asarray(g) for g in got])
    assert all(p.grad is None for p in params)  # grad() leaves .grad alone


def test_intermediates_are_not_kept():
    layers = blocks(8, width=32)
    segments = [eg.nn.Sequential(*layers[:4]), eg.nn.Sequential(*layers[4:])]
    x = eg.Variable(np.ones((16, 32)), requires_grad=True)

    def live_after_forward(use_checkpoint):
        base = _testing.live_buffers()["owned"]
        h = x
        for segment in segments:
            h = eg.checkpoint(segment, h) if use_checkpoint else segment(h)
        live = _testing.live_buffers()["owned"] - base
        (h * h).sum().backward()
        return live

    # Without: the activations every layer's rules keep (at least one per layer);
    # with: the output of each segment.
    plain, checkpointed = live_after_forward(False), live_after_forward(True)
    assert plain >= len(layers) and checkpointed == len(segments)


def test_closed_over_leaf_and_a_parameter_also_used_outside():
    rng = np.random.default_rng(3)
    W = eg.Variable(rng.standard_normal((5, 5)) / 3, requires_grad=True)
    b = eg.Variable(rng.standard_normal(5), requires_grad=True)
    x0 = rng.standard_normal((2, 5))

    def f(h):
        return eg.tanh(h @ W + b) * b  # W, b closed over

    def loss(use_checkpoint):
        h = eg.tanh(x0 @ W)  # W read before the checkpoint too
        h = eg.checkpoint(f, h) if use_checkpoint else f(h)
        return eg.sum(h @ W)

    expected = eg.autograd.grad(loss(False), [W, b])
    got = eg.autograd.grad(loss(True), [W, b])
    assert_bitwise([np.asarray(g) for g in expected], [np.asarray(g) for g in got])


def test_several_outputs_an_argument_twice_and_non_variables():
    rng = np.random.default_rng(4)
    x = eg.Variable(rng.standard_normal(4), requires_grad=True)
    y = eg.Variable(rng.standard_normal(4).astype(np.float32), requires_grad=True)

    def f(a, b, c, scale):
        return eg.sin(a) * b * scale, eg.exp(c) * a

    def loss(use_checkpoint):
        u, v = eg.checkpoint(f, x, x, y, 2.0) if use_checkpoint else f(x, x, y, 2.0)
        assert u.dtype == np.float64 and v.dtype == np.float64
        return eg.sum(u * u) + eg.sum(v)

    expected = eg.autograd.grad(loss(False), [x, y])
    got = eg.autograd.grad(loss(True), [x, y])
    assert_bitwise([np.asarray(g) for g in expected], [np.asarray(g) for g in got])


def test_returning_a_closed_over_parameter():
    W = eg.Variable(np.ones(3), requires_grad=True)
    x = eg.Variable(np.arange(3.0))
    out, w = eg.checkpoint(lambda a: (a * W, W), x)
    eg.sum(out + 2 * w).backward()
    np.testing.assert_array_equal(np.asarray(W.grad), np.arange(3.0) + 2)


def test_dropout_draws_the_same_mask_and_the_stream_goes_on():
    layers = blocks(4, dropout=0.3)
    x = np.random.default_rng(5).standard_normal((8, 16))
    eg.random.seed(11)
    expected = run(layers, x, False)
    after_plain = eg.random.rand(3)
    eg.random.seed(11)
    got = run(layers, x, True)
    after_checkpoint = eg.random.rand(3)
    assert_bitwise(expected, got)
    np.testing.assert_array_equal(np.asarray(after_plain), np.asarray(after_checkpoint))


def test_without_preserving_the_rng_the_masks_differ():
    layer = blocks(1, dropout=0.5)[0]
    x = eg.Variable(np.ones((4, 16)), requires_grad=True)
    eg.random.seed(0)
    eg.checkpoint(layer, x, preserve_rng_state=False).sum().backward()
    g = np.asarray(x.grad).copy()
    x.grad = None
    eg.random.seed(0)
    layer(x).sum().backward()
    assert not np.array_equal(g, np.asarray(x.grad))


def test_nested_checkpoints():
    layers = blocks(4)
    x = np.random.default_rng(6).standard_normal((3, 16))

    def pair(h, i):
        return layers[i + 1](eg.checkpoint(layers[i], h))

    expected = run(layers, x, False)
    for layer in layers:
        layer.zero_grad()
    xv = eg.Variable(x, requires_grad=True)
    h = eg.checkpoint(pair, xv, 0)
    h = eg.checkpoint(pair, h, 2)
    (h * h).sum().backward()
    got = [np.asarray(xv.grad)] + [np.array(p.grad) for layer in layers for p in layer.parameters()]
    assert_bitwise(expected, got)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_second_derivatives_through_arguments(mode):
    rng = np.random.default_rng(7)
    W = eg.Variable(rng.standard_normal((3, 3)), requires_grad=True)
    x = rng.standard_normal(3)
    g = lambda x, W: eg.tanh(W @ x)  # noqa: E731

    def f(x, use_checkpoint):
        return eg.sum(eg.checkpoint(g, x, W) if use_checkpoint else g(x, W)) ** 2

    # forward over reverse (eg.hessian) and reverse over reverse
    expected = eg.jacobian(eg.grad(lambda x: f(x, False)), mode=mode)(x)
    got = eg.jacobian(eg.grad(lambda x: f(x, True)), mode=mode)(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-13, atol=1e-15)
    # the gradient in x stays differentiable in W (an argument of checkpoint)
    second = []
    for use_checkpoint in (False, True):
        xv = eg.Variable(x, requires_grad=True)
        (gx,) = eg.autograd.grad(f(xv, use_checkpoint), [xv], create_graph=True)
        second.append(np.asarray(eg.autograd.grad(eg.sum(gx * gx), [W])[0]))
    np.testing.assert_allclose(second[1], second[0], rtol=1e-13)


def test_jvp_through_checkpoint():
    rng = np.random.default_rng(9)
    W = rng.standard_normal((4, 3))
    f = lambda x: eg.sin(W @ x)  # noqa: E731
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    _, expected = eg.jvp(f, (x,), (v,))
    out, got = eg.jvp(lambda x: eg.checkpoint(f, x), (x,), (v,))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    np.testing.assert_array_equal(np.asarray(eg.jacobian(lambda x: eg.checkpoint(f, x), mode="fwd")(x)),
                                  np.asarray(eg.jacobian(f, mode="fwd")(x)))


def test_jacobian_through_checkpoint():
    rng = np.random.default_rng(8)
    W = rng.standard_normal((4, 3))
    f = lambda x: eg.tanh(W @ x)  # noqa: E731
    x = rng.standard_normal(3)
    expected = eg.jacobian(f, mode="rev")(x)
    got = eg.jacobian(lambda x: eg.checkpoint(f, x), mode="rev")(x)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def test_with_grad_mode_off_fn_just_runs():
    layer = blocks(1)[0]
    with eg.no_grad():
        out = eg.checkpoint(layer, eg.Variable(np.ones((2, 16))))
    assert out.grad_fn is None and not out.requires_grad


def test_errors():
    W = eg.Variable(np.ones((2, 2)), requires_grad=True)
    h = W * 2  # computed outside, requires grad
    x = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"checkpoint: fn reads a Variable of shape \(2, 2\) \(float64\) "
                                           r"computed outside it by mul.*pass it to checkpoint as an argument"):
        eg.checkpoint(lambda a: h @ a, x)
    with pytest.raises(TypeError, match="checkpoint: fn must be callable"):
        eg.checkpoint(3, x)
    with pytest.raises(TypeError, match="checkpoint: fn must return Variables, got str"):
        eg.checkpoint(lambda a: "no", x)


def test_create_graph_with_a_closed_over_parameter_raises():
    W = eg.Variable(np.ones((2, 2)), requires_grad=True)
    x = eg.Variable(np.ones(2), requires_grad=True)
    out = eg.checkpoint(lambda a: eg.sum(eg.tanh(W @ a)), x)
    with pytest.raises(RuntimeError, match=r"checkpoint: its backward is being differentiated .*shapes \(2, 2\).*"
                                           r"pass them to checkpoint as arguments"):
        eg.autograd.grad(out, [x], create_graph=True)


def test_in_place_change_of_an_input_before_backward_raises():
    layer = blocks(1)[0]
    x = eg.Variable(np.ones((2, 16)))
    out = eg.checkpoint(layer, x)
    with eg.no_grad():
        layer[0].weight.copy_(np.zeros((16, 16)))
    with pytest.raises(RuntimeError, match="checkpoint: .*modified in place"):
        out.sum().backward()


def test_forward_mode_through_a_closed_over_parameter_raises():
    W = eg.Variable(np.ones((2, 2)))
    with eg._core.ForwardLevel() as level:
        Wd = eg._core.make_dual(W, eg.Variable(np.ones((2, 2))), level)
        Wd.requires_grad = True
        x = eg.Variable(np.ones(2))
        with pytest.raises(RuntimeError, match="checkpoint: forward mode through Variables that fn reads"):
            eg.checkpoint(lambda a: Wd @ a, x)

"""Custom differentiable functions with Python rules (python/eigengrad/function.py)."""

import numpy as np
import pytest

import eigengrad as eg


class Cube(eg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, gout):
        (x,) = ctx.saved_tensors
        return gout * 3.0 * x * x

    @staticmethod
    def jvp(ctx, tx):
        (x,) = ctx.saved_tensors
        return tx * 3.0 * x * x


class Scale(eg.Function):
    """Two inputs and a non-tensor argument; no jvp rule."""

    @staticmethod
    def forward(ctx, x, factor, y):
        ctx.factor = factor
        ctx.save_for_backward(x, y)
        return x * y * factor

    @staticmethod
    def backward(ctx, gout):
        x, y = ctx.saved_tensors
        return gout * y * ctx.factor, None, gout * x * ctx.factor


class Failing(eg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, gout):
        raise KeyError("raised inside backward")


def test_custom_function_passes_gradcheck_in_both_modes():
    assert eg.gradcheck(Cube.apply, np.array([0.5, -2.0, 1.5]))


def test_custom_function_second_derivatives():
    x = np.array([0.5, -2.0])
    np.testing.assert_allclose(eg.hessian(lambda v: Cube.apply(v).sum())(x).numpy(), np.diag(6 * x))
    np.testing.assert_allclose(eg.jacobian(eg.grad(lambda v: Cube.apply(v).sum()), mode="rev")(x).numpy(),
                               np.diag(6 * x))


def test_custom_function_with_several_inputs_and_a_constant():
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = eg.Variable(np.array([3.0, 4.0]), requires_grad=True)
    out = Scale.apply(x, 0.5, y)
    assert out.grad_fn.name() == "Scale"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.5, 2.0])
    np.testing.assert_allclose(y.grad.numpy(), [0.5, 1.0])


def test_missing_jvp_rule_raises_naming_the_function():
    with pytest.raises(RuntimeError, match="Scale: no forward-mode"):
        eg.jvp(lambda x: Scale.apply(x, 2.0, np.ones(2)), (np.ones(2),), (np.ones(2),))


def test_exception_in_a_rule_propagates_and_the_engine_still_works():
    x = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(KeyError, match="raised inside backward"):
        Failing.apply(x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_rule_returning_the_wrong_shape_is_a_value_error():
    class Wrong(eg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, gout):
            return eg.Variable(np.ones(5))

    x = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"Wrong: backward returned shape \(5,\)"):
        Wrong.apply(x).sum().backward()


def test_batched_jacobian_through_a_custom_function():
    x = np.array([0.5, -1.0, 2.0])
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(eg.jacobian(Cube.apply, mode=mode)(x).numpy(), np.diag(3 * x**2))


def test_custom_vjp_decorator():
    calls = []

    @eg.custom_vjp
    def clipped_identity(x):
        return x * 1.0

    def fwd(x):
        return x * 1.0, None

    def bwd(residuals, gout):
        calls.append(1)
        return (eg.clip(gout, -1.0, 1.0),)

    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(eg.grad(lambda v: (clipped_identity(v) * 5.0).sum())(x).numpy(), [5.0, 5.0])
    clipped_identity.defvjp(fwd, bwd)
    np.testing.assert_array_equal(eg.grad(lambda v: (clipped_identity(v) * 5.0).sum())(x).numpy(), [1.0, 1.0])
    assert calls == [1]

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


# ---- higher derivatives, several outputs, rule errors (issue 10, classes 10 and 11) -----


class CubeKeepsIntermediate(eg.Function):
    """x^3 with x^2 kept on ctx: right to first order, a constant to the second."""

    @staticmethod
    def forward(ctx, x):
        ctx.square = x * x
        return x * ctx.square

    @staticmethod
    def backward(ctx, gout):
        return gout * 3.0 * ctx.square

    @staticmethod
    def jvp(ctx, tx):
        return tx * 3.0 * ctx.square


class ExpKeepsOutput(eg.Function):
    @staticmethod
    def forward(ctx, x):
        y = eg.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gout):
        (y,) = ctx.saved_tensors
        return gout * y


def test_intermediates_kept_on_ctx_give_the_first_derivative():
    np.testing.assert_allclose(eg.grad(lambda v: CubeKeepsIntermediate.apply(v).sum())(np.array([2.0])).numpy(),
                               [12.0])


@pytest.mark.parametrize("second_order", ["jacobian of grad", "hessian", "hvp", "backward twice"])
def test_differentiating_a_backward_that_uses_intermediates_raises_never_a_wrong_number(second_order):
    f = lambda v: CubeKeepsIntermediate.apply(v).sum()  # noqa: E731
    x = np.array([2.0])
    run = {
        "jacobian of grad": lambda: eg.jacobian(eg.grad(f), mode="rev")(x),
        "hessian": lambda: eg.hessian(f)(x),
        "hvp": lambda: eg.hvp(f, (x,), (np.ones(1),)),
        "backward twice": lambda: eg.autograd.grad(
            eg.autograd.grad(f(v := eg.Variable(x, requires_grad=True)), [v], create_graph=True)[0].sum(), [v]),
    }[second_order]
    # eg.hvp is reverse over forward (Note [Hessian-vector products]): it
    # differentiates the tangent that jvp returns, the others the backward.
    rule = "jvp" if second_order == "hvp" else "backward"
    with pytest.raises(RuntimeError, match=rf"CubeKeepsIntermediate: its {rule} is being differentiated.*ctx.square"):
        run()


class ExpKeepsOutputWithJvp(ExpKeepsOutput):
    @staticmethod
    def jvp(ctx, tx):
        (y,) = ctx.saved_tensors
        return tx * y


def test_a_kept_output_is_differentiable_in_jvp_too():
    # The jvp sees the recorded output, so eg.hvp (which differentiates the tangent)
    # gets exp's second derivative, not 0.
    x, v = np.array([0.5, 1.0]), np.array([1.0, -2.0])
    _, (Hv,) = eg.hvp(lambda u: ExpKeepsOutputWithJvp.apply(u).sum(), (x,), (v,))
    np.testing.assert_allclose(Hv.numpy(), np.exp(x) * v, rtol=1e-12)


def test_a_kept_output_is_differentiable_again():
    x = np.array([0.5, 1.0])
    H = eg.jacobian(eg.grad(lambda v: ExpKeepsOutput.apply(v).sum()), mode="rev")(x)
    np.testing.assert_allclose(H.numpy(), np.diag(np.exp(x)), rtol=1e-12)


class SumAndScale(eg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * 2.0, (x * x).sum()

    @staticmethod
    def backward(ctx, g_scaled, g_sum):
        (x,) = ctx.saved_tensors
        return g_scaled * 2.0 + g_sum * 2.0 * x

    @staticmethod
    def jvp(ctx, tx):
        (x,) = ctx.saved_tensors
        return tx * 2.0, (tx * 2.0 * x).sum(axis=-1)  # tangents may carry batch dims


def test_tuple_outputs_are_a_tuple_with_their_own_gradients():
    x = np.array([1.0, -2.0, 0.5])
    scaled, total = SumAndScale.apply(eg.Variable(x))
    assert scaled.shape == (3,) and total.shape == ()
    assert eg.gradcheck(lambda v: SumAndScale.apply(v)[0], x)
    assert eg.gradcheck(lambda v: SumAndScale.apply(v)[1], x)
    assert eg.gradcheck(lambda v: SumAndScale.apply(v)[0] * SumAndScale.apply(v)[1], x)


def test_a_rule_returning_the_wrong_dtype_names_the_function_input_and_dtypes():
    class Wrong(eg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, gout):
            return gout.astype("float32")

    x = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(TypeError, match="Wrong: backward returned dtype float32 for input 0, which has dtype float64"):
        Wrong.apply(x).sum().backward()


def test_a_rule_returning_the_wrong_shape_names_the_function_and_shapes():
    class WrongShape(eg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, gout):
            return gout[:1]

    x = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"WrongShape: backward returned shape \(1,\) for input 0; expected \(2,\)"):
        WrongShape.apply(x).sum().backward()

"""Strong zero (issue 13; Note [Strong zero] in cpp/src/kernels/strong_zero.h).

A zero cotangent or tangent stays zero through every rule, in reverse mode, forward
mode and at second order: ``where(x > 0, sqrt(x), 0)`` has gradient 0 at x <= 0,
while a genuine NaN or inf cotangent still propagates. ``eg.set_strong_zero(False)``
(or ``with eg.strong_zero(False)``) gives PyTorch's results, checked against torch
where it is installed. On ordinary points the switch changes no bit of a gradient.
"""

import pathlib
import sys
import warnings

import numpy as np
import pytest

import eigengrad as eg

try:
    import torch
    import torch.func
except ImportError:  # pragma: no cover - torch is the oracle of the PyTorch-mode tests
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is the oracle of these tests; not installed")
inf, nan = np.inf, np.nan


@pytest.fixture(autouse=True)
def default_mode():
    """Every test starts and ends in the default mode (strong zero on)."""
    assert eg.is_strong_zero_enabled()
    yield
    eg.set_strong_zero(True)


def nan_to_zero(a):
    return np.where(np.isnan(a), 0.0, a)


def same(got, want):
    """Equal values, NaN where NaN (and finite where finite)."""
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def close(got, want):
    """As `same`, up to rounding (torch's rules round differently in the last bit)."""
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-13, atol=0)


# PyTorch's sign(nan) is 0, NumPy's (and eigengrad's) NaN: abs'(nan) differs from
# torch's whether strong zero is on or not, so abs is checked without torch.
ABS_OF_NAN = "PyTorch's sign(nan) = 0 gives abs'(nan) = 0; eigengrad's is NaN (NumPy's sign)"


# ---- the issue's example ---------------------------------------------------------------


def where_sqrt(x):
    return eg.where(x > 0, eg.sqrt(x), 0.0).sum()


def test_the_example_of_the_issue():
    same(eg.grad(where_sqrt)([-1.0, 4.0]), [0.0, 0.25])
    with eg.strong_zero(False):
        same(eg.grad(where_sqrt)([-1.0, 4.0]), [nan, 0.25])


def test_the_example_in_float32_and_at_second_order():
    g = eg.grad(where_sqrt)(np.array([-1.0, 0.0, 4.0], np.float32))
    assert g.dtype == np.float32
    same(g, np.array([0.0, 0.0, 0.25], np.float32))
    H = np.diag([0.0, 0.0, -0.25 * 4.0**-1.5])
    same(eg.hessian(where_sqrt)(np.array([-1.0, 0.0, 4.0])), H)
    same(eg.jacobian(eg.grad(where_sqrt), mode="rev")(np.array([-1.0, 0.0, 4.0])), H)


# ---- branches not taken: reverse mode, forward mode, second order, against torch ----------
# Each case: a scalar loss of x in eigengrad and in torch, and x. With strong zero the
# gradient and the Hessian are torch's with its NaN (0 * inf, 0 * NaN in a branch not
# taken) replaced by 0; without, they are torch's.

X0 = np.array([0.0, 2.0])  # a divisor with a zero
B0 = np.array([-1.0, 0.0, 4.0])  # a base: negative, zero, positive

BRANCHES = {
    "where sqrt": (where_sqrt, lambda t, x: t.where(x > 0, t.sqrt(x), 0.0).sum(), [-1.0, 0.0, 4.0]),
    "where log": (lambda x: eg.where(x > 0, eg.log(x), 0.0).sum(),
                  lambda t, x: t.where(x > 0, t.log(x), 0.0).sum(), [-1.0, 0.0, 2.0]),
    "log1p at -1": (lambda x: eg.where(x > -1, eg.log1p(x), 0.0).sum(),
                    lambda t, x: t.where(x > -1, t.log1p(x), 0.0).sum(), [-2.0, -1.0, 1.0]),
    "pow 0 ** 0.5 and (-1) ** 0.5": (lambda x: eg.where(x > 0, x**0.5, 0.0).sum(),
                                     lambda t, x: t.where(x > 0, x**0.5, 0.0).sum(), [-1.0, 0.0, 4.0]),
    "pow 0 ** -1": (lambda x: eg.where(x != 0, x**-1.0, 0.0).sum(),
                    lambda t, x: t.where(x != 0, x**-1.0, 0.0).sum(), [0.0, 2.0]),
    "pow in the exponent, base <= 0": (lambda y: eg.where(B0 > 0, eg.pow(B0, y), 0.0).sum(),
                                       lambda t, y: t.where(t.tensor(B0) > 0, t.tensor(B0) ** y, 0.0).sum(),
                                       [0.5, 0.5, 0.5]),
    "division by zero, numerator": (lambda x: eg.where(X0 != 0, x / X0, 0.0).sum(),
                                    lambda t, x: t.where(t.tensor(X0) != 0, x / t.tensor(X0), 0.0).sum(),
                                    [1.0, 1.0]),
    "division by zero, divisor": (lambda y: eg.where(y != 0, 3.0 / y, 0.0).sum(),
                                  lambda t, y: t.where(y != 0, 3.0 / y, 0.0).sum(), [0.0, 2.0]),
    "abs of NaN": (lambda x: eg.where(x == x, eg.abs(x), 0.0).sum(), None, [nan, -2.0, 3.0]),
    "exp overflow": (lambda x: eg.where(x < 100, eg.exp(x), 0.0).sum(),
                     lambda t, x: t.where(x < 100, t.exp(x), 0.0).sum(), [1000.0, 1.0]),
    "sin at inf": (lambda x: eg.where(eg.abs(x) < 1e300, eg.sin(x), 0.0).sum(),
                   lambda t, x: t.where(t.abs(x) < 1e300, t.sin(x), 0.0).sum(), [inf, 1.0]),
    "logsumexp of +inf": (lambda x: eg.where(eg.abs(eg.logsumexp(x, axis=1)) < 1e300, eg.logsumexp(x, axis=1),
                                             0.0).sum(),
                          lambda t, x: t.where(t.abs(t.logsumexp(x, 1)) < 1e300, t.logsumexp(x, 1), 0.0).sum(),
                          [[inf, 0.0], [1.0, 2.0]]),
    "sqrt after maximum": (lambda x: eg.sqrt(eg.maximum(x, 0.0)).sum(),
                           lambda t, x: t.sqrt(t.maximum(x, t.tensor(0.0, dtype=t.float64))).sum(),
                           [-1.0, 0.5, 4.0]),
    "sqrt after minimum": (lambda x: eg.sqrt(-eg.minimum(x, 0.0)).sum(),
                           lambda t, x: t.sqrt(-t.minimum(x, t.tensor(0.0, dtype=t.float64))).sum(),
                           [1.0, -4.0]),
    "sqrt after clip": (lambda x: eg.sqrt(eg.clip(x, 0.0, 1.0)).sum(),
                        lambda t, x: t.sqrt(t.clamp(x, 0.0, 1.0)).sum(), [-1.0, 0.25, 2.0]),
}


def torch_grad_and_hessian(loss, x):
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(loss(torch, xt), xt)
    H = torch.autograd.functional.hessian(lambda v: loss(torch, v), xt.detach())
    return g.numpy(), H.numpy()


@needs_torch
@pytest.mark.parametrize("name", list(BRANCHES))
def test_reverse_mode_and_second_order_against_torch(name):
    f, loss, x = BRANCHES[name]
    if loss is None:
        pytest.skip(ABS_OF_NAN)
    x = np.array(x)
    g_torch, H_torch = torch_grad_and_hessian(loss, x)
    assert not np.isnan(g_torch).all()
    close(eg.grad(f)(x), nan_to_zero(g_torch))
    for H in (eg.hessian(f)(x), eg.jacobian(eg.grad(f), mode="rev")(x)):
        close(H, nan_to_zero(H_torch))
    with eg.strong_zero(False):
        close(eg.grad(f)(x), g_torch)
        assert np.isnan(eg.hessian(f)(x).numpy()).any() == np.isnan(H_torch).any()


def test_the_branch_cases_had_nan_gradients_without_strong_zero():
    """Each branch case is one where the switch matters (or, for maximum, minimum
    and clip, where PyTorch's masked gradient is finite too)."""
    masked = ("sqrt after maximum", "sqrt after minimum", "sqrt after clip")
    for name, (f, _, x) in BRANCHES.items():
        with eg.strong_zero(False):
            g = eg.grad(f)(np.array(x)).numpy()
        assert np.isnan(g).any() != (name in masked), name
        assert not np.isnan(eg.grad(f)(np.array(x)).numpy()).any(), name


@pytest.mark.parametrize("name", list(BRANCHES))
def test_forward_mode_agrees_with_reverse_mode(name):
    f, _, x = BRANCHES[name]
    x = np.array(x)
    v = np.random.default_rng(0).standard_normal(x.shape)
    _, t = eg.jvp(f, (x,), (v,))
    g = eg.grad(f)(x).numpy()
    assert t.item() == pytest.approx(np.sum(g * v), rel=1e-12)


# ---- singular points met by a zero cotangent or tangent ---------------------------------
# f element-wise, x holding points where f' is inf or NaN (`singular`). A cotangent or
# tangent that is 0 there gives 0 there; elsewhere the results are torch's.

POINTS = {
    "sqrt at 0 and -1": (eg.sqrt, lambda t, x: t.sqrt(x), [0.0, -1.0, 4.0]),
    "log at 0 and -1": (eg.log, lambda t, x: t.log(x), [0.0, -1.0, 2.0]),
    "pow 0 ** 0.5": (lambda x: x**0.5, lambda t, x: x**0.5, [0.0, -1.0, 4.0]),
    "pow 0 ** -1": (lambda x: x**-1.0, lambda t, x: x**-1.0, [0.0, 2.0]),
    "division by zero": (lambda x: 1.0 / x, lambda t, x: 1.0 / x, [0.0, 2.0]),
    "abs of NaN": (eg.abs, None, [nan, 0.0, -2.0]),
    "exp overflow": (eg.exp, lambda t, x: t.exp(x), [1000.0, 1.0]),
    "tanh of NaN": (eg.tanh, lambda t, x: t.tanh(x), [nan, 0.5]),
    "square of inf": (eg.square, lambda t, x: t.square(x), [inf, 3.0]),
    "cos at inf": (eg.cos, lambda t, x: t.cos(x), [-inf, 1.0]),
}


def zero_at_singular(f, x, seed=0):
    """Random weights, 0 where f'(x) is not finite (found from the Jacobian's diagonal)."""
    with eg.strong_zero(False):
        d = np.diag(eg.jacobian(f, mode="fwd")(x).numpy())
    singular = ~np.isfinite(d)
    assert singular.any()
    return singular, np.where(singular, 0.0, np.random.default_rng(seed).uniform(0.5, 1.5, x.shape))


def torch_vjp_jvp_hessian(f, x, u):
    xt = torch.tensor(x, dtype=torch.float64)
    ut = torch.tensor(u, dtype=torch.float64)
    with warnings.catch_warnings():  # torch.func's lazy imports warn about deprecations
        warnings.simplefilter("ignore")
        _, vjp_fn = torch.func.vjp(lambda v: f(torch, v), xt)
        _, jv = torch.func.jvp(lambda v: f(torch, v), (xt,), (ut,))
        H = torch.autograd.functional.hessian(lambda v: (ut * f(torch, v)).sum(), xt)
        return vjp_fn(ut)[0].numpy(), jv.numpy(), H.numpy()


@pytest.mark.parametrize("name", list(POINTS))
def test_zero_cotangent_and_tangent_at_singular_points(name):
    f, _, x = POINTS[name]
    x = np.array(x)
    singular, u = zero_at_singular(f, x)
    (uJ,) = eg.vjp(f, x)[1](u)
    _, Ju = eg.jvp(f, (x,), (u,))
    for r in (uJ.numpy(), Ju.numpy()):
        same(r[singular], 0.0)
    H = eg.hessian(lambda v: (u * f(v)).sum())(x).numpy()
    same(H[singular], 0.0)
    same(H[:, singular], 0.0)
    # the Jacobian: inf or NaN on the diagonal at the singular points, 0 off it, the
    # same in both modes
    J_fwd, J_rev = eg.jacobian(f, mode="fwd")(x).numpy(), eg.jacobian(f, mode="rev")(x).numpy()
    same(J_fwd, J_rev)
    same(J_fwd[~np.eye(x.size, dtype=bool)], 0.0)


@needs_torch
@pytest.mark.parametrize("name", list(POINTS))
def test_singular_points_against_torch(name):
    f, tf, x = POINTS[name]
    if tf is None:
        pytest.skip(ABS_OF_NAN)
    x = np.array(x)
    _, u = zero_at_singular(f, x)
    uJ_torch, Ju_torch, H_torch = torch_vjp_jvp_hessian(tf, x, u)
    assert np.isnan(uJ_torch).any() and np.isnan(Ju_torch).any()
    hess = lambda: eg.hessian(lambda v: (u * f(v)).sum())(x).numpy()  # noqa: E731
    close(eg.vjp(f, x)[1](u)[0], nan_to_zero(uJ_torch))
    close(eg.jvp(f, (x,), (u,))[1], nan_to_zero(Ju_torch))
    close(hess(), nan_to_zero(H_torch))
    with eg.strong_zero(False):
        close(eg.vjp(f, x)[1](u)[0], uJ_torch)
        close(eg.jvp(f, (x,), (u,))[1], Ju_torch)
        # reverse over reverse, as torch's hessian (forward over reverse puts the NaN
        # in the transposed places)
        L = lambda v: (u * f(v)).sum()  # noqa: E731
        same(np.isnan(eg.jacobian(eg.grad(L), mode="rev")(x).numpy()), np.isnan(H_torch))
        same(np.isnan(hess()), np.isnan(H_torch.T))


def test_division_by_zero_in_both_arguments():
    x, y = np.array([1.0, 0.0, 6.0]), np.array([0.0, 0.0, 2.0])
    f = lambda a, b: eg.where(b != 0, a / b, 0.0).sum()  # noqa: E731
    gx, gy = eg.grad(f, argnums=(0, 1))(x, y)
    same(gx, [0.0, 0.0, 0.5])
    same(gy, [0.0, 0.0, -1.5])
    with eg.strong_zero(False):
        gx, gy = eg.grad(f, argnums=(0, 1))(x, y)
        same(gx, [nan, nan, 0.5])
        same(gy, [nan, nan, -1.5])


# ---- the conventions at kinks, ties and bounds keep their values ----------------------------


@pytest.mark.parametrize("strong", [True, False])
def test_maximum_and_minimum_at_ties_and_with_inf(strong):
    x = np.array([1.0, inf, -inf, 2.0, inf])
    y = np.array([1.0, inf, 0.0, inf, -inf])
    with eg.strong_zero(strong):
        gx, gy = eg.grad(lambda a, b: eg.maximum(a, b).sum(), argnums=(0, 1))(x, y)
        same(gx, [0.5, 0.5, 0.0, 0.0, 1.0])
        same(gy, [0.5, 0.5, 1.0, 1.0, 0.0])
        gx, gy = eg.grad(lambda a, b: eg.minimum(a, b).sum(), argnums=(0, 1))(x, y)
        same(gx, [0.5, 0.5, 1.0, 1.0, 0.0])
        same(gy, [0.5, 0.5, 0.0, 0.0, 1.0])
        # an inf cotangent reaches the selected input only (PyTorch's masked_fill)
        (g,) = eg.vjp(lambda a: eg.maximum(a, 0.0), np.array([-1.0, 0.0, 2.0]))[1](np.array([inf, inf, inf]))
        same(g, [0.0, inf, inf])
        H = eg.hessian(lambda a: eg.maximum(a, y).sum())(x)
        same(H, np.zeros((5, 5)))


@pytest.mark.parametrize("strong", [True, False])
def test_clip_abs_and_relu_at_their_kinks(strong):
    with eg.strong_zero(strong):
        same(eg.grad(lambda a: eg.clip(a, 0.0, 1.0).sum())([-1.0, 0.0, 0.5, 1.0, 2.0]), [0, 1, 1, 1, 0])
        same(eg.grad(lambda a: eg.sqrt(eg.clip(a, 0.0, 1.0)).sum())([-1.0, 0.0, 4.0]), [0.0, inf, 0.0])
        same(eg.grad(lambda a: eg.abs(a).sum())([-2.0, 0.0, 3.0]), [-1.0, 0.0, 1.0])
        same(eg.grad(lambda a: eg.sqrt(eg.relu(a)).sum())([-2.0, 4.0]), [0.0, 0.25])
        same(eg.jacobian(eg.abs, mode="fwd")(np.array([0.0, 2.0])), [[0.0, 0.0], [0.0, 1.0]])


# ---- genuine NaN and inf still propagate ---------------------------------------------------


@pytest.mark.parametrize("strong", [True, False])
def test_nan_and_inf_cotangents_and_tangents_propagate(strong):
    with eg.strong_zero(strong):
        (g,) = eg.vjp(eg.sqrt, np.array([4.0, 0.0, 0.0, 4.0]))[1](np.array([nan, 1.0, inf, inf]))
        same(g, [nan, inf, inf, inf])
        _, t = eg.jvp(eg.sqrt, (np.array([4.0, 0.0]),), (np.array([nan, 1.0]),))
        same(t, [nan, inf])
        (g,) = eg.vjp(eg.log, np.array([0.0, 2.0]))[1](np.array([-1.0, nan]))
        same(g, [-inf, nan])
        # an inf cotangent times a zero derivative is NaN, as in PyTorch: only a
        # zero cotangent is strong
        (g,) = eg.vjp(lambda a: a * 0.0, np.array([1.0]))[1](np.array([inf]))
        same(g, [nan])
        # the gradient at a singular point reached by a nonzero cotangent is inf or NaN
        same(eg.grad(lambda a: eg.sqrt(a).sum())([0.0, -1.0]), [inf, nan])
        same(eg.grad(lambda a: (a**-1.0).sum())([0.0]), [-inf])


def test_nan_from_an_input_reaches_the_gradient_only_through_a_nonzero_cotangent():
    x = np.array([nan, 1.0])
    same(eg.grad(lambda a: eg.tanh(a).sum())(x), [nan, 1 - np.tanh(1.0) ** 2])
    same(eg.grad(lambda a: eg.where(a == a, eg.tanh(a), 0.0).sum())(x), [0.0, 1 - np.tanh(1.0) ** 2])


# ---- the losses and the fused kernels ---------------------------------------------------------


def test_losses_with_a_zero_cotangent_at_a_non_finite_input():
    logits = np.array([[inf, 0.0], [1.0, 2.0]])
    w = np.array([0.0, 1.0])  # the first row's loss is not used
    for strong, first_row in ((True, [0.0, 0.0]), (False, [nan, nan])):
        with eg.strong_zero(strong):
            f = lambda z: (w * eg.nn.cross_entropy(z, np.array([0, 1]), reduction="none")).sum()  # noqa: E731
            for g in (eg.grad(f)(logits), eg.jacobian(f, mode="fwd")(logits), eg.hessian(f)(logits)[:, :, 0, 0]):
                assert np.isnan(g.numpy()[0]).all() != strong
            same(eg.grad(f)(logits)[0], first_row)
            # mse: (x - y) is inf in both gradients; bce: x is inf in the target's
            x, y = np.array([inf, 0.5]), np.array([1.0, 0.0])
            for loss, non_finite in ((eg.nn.mse_loss, (0, 1)), (eg.nn.binary_cross_entropy_with_logits, (1,))):
                for fused in (True, False):  # a plain backward, and the composed rules
                    xs = [eg.Variable(x, requires_grad=True), eg.Variable(y, requires_grad=True)]
                    out = (w * loss(*xs, reduction="none")).sum()
                    grads = eg.autograd.grad(out, xs, create_graph=not fused)
                    for i in non_finite:
                        assert np.isnan(grads[i].numpy()[0]).any() != strong, (loss, fused, i)


@pytest.mark.parametrize("f", [eg.tanh, eg.sigmoid, eg.exp, eg.relu])
@pytest.mark.parametrize("strong", [True, False])
def test_fused_and_composed_backward_agree(f, strong):
    x = eg.Variable(np.array([nan, 1000.0, 0.5, nan]), requires_grad=True)
    u = np.array([0.0, 0.0, 1.0, 1.0])
    with eg.strong_zero(strong):
        out = f(x)
        (fused,) = eg.autograd.grad(out, x, u, retain_graph=True)  # a plain backward: the fused kernel
        (composed,) = eg.autograd.grad(out, x, u, create_graph=True)  # the composed rules
    same(fused, composed)
    if strong or f is eg.relu:
        same(fused[:2], [0.0, 0.0])


# ---- the switch ---------------------------------------------------------------------------------


def test_the_switch_and_the_context_manager():
    assert eg.is_strong_zero_enabled()
    eg.set_strong_zero(False)
    assert not eg.is_strong_zero_enabled()
    with eg.strong_zero(True):
        assert eg.is_strong_zero_enabled()
        with eg.strong_zero(False):
            assert not eg.is_strong_zero_enabled()
        assert eg.is_strong_zero_enabled()
    assert not eg.is_strong_zero_enabled()
    eg.set_strong_zero(True)
    with pytest.raises(KeyError):
        with eg.strong_zero(False):
            raise KeyError
    assert eg.is_strong_zero_enabled()

    @eg.strong_zero(False)
    def pytorch_grad(x):
        assert not eg.is_strong_zero_enabled()
        return eg.grad(where_sqrt)(x)

    same(pytorch_grad([-1.0]), [nan])
    assert eg.is_strong_zero_enabled()


def test_the_setting_is_read_when_the_rules_run():
    x = eg.Variable(np.array([-1.0, 4.0]), requires_grad=True)
    loss = where_sqrt(x)  # recorded with strong zero on
    with eg.strong_zero(False):
        loss.backward()
    same(x.grad, [nan, 0.25])


# ---- ordinary points: not a bit changes --------------------------------------------------------

sys.path.insert(0, str(pathlib.Path(__file__).parent / "ops"))
from samples import OPS  # noqa: E402


def first_and_second_order(info, sample):
    """The VJP and JVP of a sample, and the VJP of its VJP, as arrays."""
    rng = np.random.default_rng(5)
    f = lambda *a: info.op(*a, **sample.kwargs)  # noqa: E731
    out, vjp_fn = eg.vjp(f, *sample.args)
    u = rng.standard_normal(out.shape)
    results = [r.numpy() for r in vjp_fn(u)]
    _, t = eg.jvp(f, tuple(sample.args), tuple(rng.standard_normal(a.shape) for a in sample.args))
    results.append(t.numpy())
    if info.gradgrad:
        second = eg.vjp(lambda *a: eg.vjp(f, *a)[1](u), *sample.args)[1]
        results += [r.numpy() for r in second(tuple(rng.standard_normal(a.shape) for a in sample.args))]
    return results


@pytest.mark.parametrize("info", [i for i in OPS if i.differentiable], ids=lambda i: i.name)
def test_ordinary_points_give_the_same_bits_in_both_modes(info):
    for sample in info.samples:
        strong = first_and_second_order(info, sample)
        with eg.strong_zero(False):
            plain = first_and_second_order(info, sample)
        for a, b in zip(strong, plain):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b), (info.name, sample)
        n_first = len(sample.args) + 1
        for a, b in zip(strong[:n_first], plain[:n_first]):
            assert a.tobytes() == b.tobytes(), (info.name, sample)  # also the sign of a zero

"""Conventions at kinks, ties and infinities (DESIGN.md, "Kinks and ties").
Each is a choice; these tests pin it and the README documents it."""

import numpy as np
import pytest

import eigengrad as eg


def grad_of(f, *arrays):
    xs = [eg.Variable(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays]
    f(*xs).sum().backward()
    return [x.grad.numpy() for x in xs]


def test_abs_derivative_at_zero_is_zero():
    (g,) = grad_of(eg.abs, [-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(g, [-1.0, 0.0, 1.0])


def test_relu_derivative_at_zero_is_zero():
    (g,) = grad_of(eg.relu, [-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


def test_max_reduction_ties_share_the_gradient_evenly():
    (g,) = grad_of(lambda x: eg.max(x), [1.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 0.5, 0.5, 0.0])
    (g,) = grad_of(lambda x: eg.max(x, axis=1), [[5.0, 5.0, 5.0], [1.0, 2.0, 0.0]])
    np.testing.assert_allclose(g, [[1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]])


def test_min_reduction_ties_share_the_gradient_evenly():
    (g,) = grad_of(lambda x: eg.min(x, axis=0), [[1.0, 4.0], [1.0, 2.0]])
    np.testing.assert_array_equal(g, [[0.5, 0.0], [0.5, 1.0]])


def test_maximum_and_minimum_ties_split_evenly():
    gx, gy = grad_of(eg.maximum, [1.0, 2.0, 3.0], [1.0, 5.0, 0.0])
    np.testing.assert_array_equal(gx, [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 1.0, 0.0])
    gx, gy = grad_of(eg.minimum, [1.0, 2.0], [1.0, 5.0])
    np.testing.assert_array_equal(gx, [0.5, 1.0])
    np.testing.assert_array_equal(gy, [0.5, 0.0])


def test_maximum_tie_split_survives_broadcasting():
    gx, gy = grad_of(eg.maximum, [2.0, 2.0, 1.0], 2.0)
    np.testing.assert_array_equal(gx, [0.5, 0.5, 0.0])
    np.testing.assert_array_equal(gy, 2.0)  # 0.5 + 0.5 from the ties, 1.0 from the third


def test_pow_zero_exponent_has_zero_derivative_at_zero():
    gx, gy = grad_of(lambda x, y: x**y, [0.0, 2.0], [0.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0])
    assert np.all(np.isfinite(gy))


def test_pow_derivative_in_the_exponent_is_zero_at_zero_base():
    gx, gy = grad_of(lambda x, y: x**y, [0.0, 0.0], [2.0, 0.5])
    np.testing.assert_array_equal(gy, [0.0, 0.0])


def test_python_scalar_exponent_of_zero_base():
    x = eg.Variable(np.array([0.0, 3.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_of_exponent_one_and_two_match_numpy_bit_for_bit(dtype):
    # x ** 1 and x ** 2 take shortcuts in the kernel (x itself, x * x); the results
    # must be NumPy's pow to the bit, special values included.
    x = np.array([0.0, -0.0, 1.5, -2.25, 1e-30, 3e30, np.inf, -np.inf, np.nan], dtype)
    for e in (1.0, 2.0):
        with np.errstate(over="ignore"):
            expected = np.power(x, dtype(e))
        np.testing.assert_array_equal((eg.Variable(x) ** e).numpy(), expected)


def test_logsumexp_of_all_minus_inf_has_value_minus_inf_and_zero_gradient():
    x = eg.Variable(np.array([[-np.inf, -np.inf], [0.0, -np.inf]]), requires_grad=True)
    out = eg.logsumexp(x, axis=1)
    np.testing.assert_array_equal(out.numpy(), [-np.inf, 0.0])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("big", [1000.0, -1000.0])
def test_softmax_family_is_finite_at_large_magnitudes(big):
    a = np.array([[big, 0.0, -big], [big, big, big]])
    for f in (lambda x: eg.logsumexp(x, axis=1), eg.softmax, eg.log_softmax):
        x = eg.Variable(a, requires_grad=True)
        y = f(x)
        assert np.all(np.isfinite(y.numpy()))
        (y * np.arange(y.size).reshape(y.shape)).sum().backward()
        assert np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(eg.logsumexp(a, axis=1).numpy(), [abs(big), big + np.log(3)])


def test_nan_propagates_through_max_maximum_and_clip():
    a = np.array([1.0, np.nan, 3.0])
    assert np.isnan(eg.max(a).item())
    assert np.isnan(eg.maximum(a, 2.0).numpy()[1])
    assert np.isnan(eg.minimum(a, 2.0).numpy()[1])
    assert np.isnan(eg.clip(a, 0.0, 2.0).numpy()[1])
    np.testing.assert_array_equal(eg.clip(a, 0.0, 2.0).numpy()[[0, 2]], [1.0, 2.0])


def test_clip_gradient_passes_at_the_bounds():
    (g,) = grad_of(lambda x: eg.clip(x, 0.0, 1.0), [-1.0, 0.0, 0.5, 1.0, 2.0])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_sigmoid_is_finite_at_large_magnitudes():
    x = eg.Variable(np.array([-1000.0, 1000.0]), requires_grad=True)
    y = eg.sigmoid(x)
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


def test_float32_exp_is_finite_up_to_the_float32_limit():
    # Eigen's AVX-512 float exp overflows early on [88.38, 88.72]; we patch it.
    a = np.full(39, 88.5, np.float32)
    np.testing.assert_allclose(eg.exp(a).numpy(), np.exp(a), rtol=1e-6)
    np.testing.assert_allclose(eg.expm1(a).numpy(), np.expm1(a), rtol=1e-6)
    assert np.isinf(eg.exp(np.float32(89.0)).item())


def test_float32_log_softmax_is_exact_for_large_offsets():
    a = (np.array([[0.0, 1.0, 2.0]]) + 500.0).astype(np.float32)
    expected = np.array([[0.0, 1.0, 2.0]]) - np.log(np.exp([0.0, 1.0, 2.0]).sum())
    np.testing.assert_allclose(eg.log_softmax(a).numpy(), expected, rtol=1e-6)


KINKS = {
    "abs at 0": (eg.abs, [0.0, -1.0, 2.0]),
    "relu at 0": (eg.relu, [0.0, 1.0, -1.0]),
    "max ties": (lambda x: eg.max(x), [1.0, 3.0, 3.0]),
    "min ties along an axis": (lambda x: eg.min(x, axis=0), [[1.0, 2.0], [1.0, 0.0]]),
    "maximum ties": (lambda x: eg.maximum(x, 1.0), [1.0, 0.0, 2.0]),
    "minimum ties": (lambda x: eg.minimum(x, x * 0.0 + 1.0), [1.0, 0.0, 2.0]),
    "x ** 0 at 0": (lambda x: x**0, [0.0, 1.0]),
    "x ** y at x = 0": (lambda x: eg.pow(np.zeros(2), x), [2.0, 0.5]),
    "logsumexp of all -inf": (lambda x: eg.logsumexp(x, axis=1), [[-np.inf, -np.inf], [0.0, -np.inf]]),
    "clip at the bounds": (lambda x: eg.clip(x, 0.0, 1.0), [0.0, 1.0, 2.0]),
}


@pytest.mark.parametrize("name", list(KINKS))
def test_forward_mode_follows_the_same_conventions(name):
    f, x = KINKS[name]
    x = np.array(x, dtype=np.float64)
    J_rev = eg.jacobian(f, mode="rev")(x).numpy()
    J_fwd = eg.jacobian(f, mode="fwd")(x).numpy()
    np.testing.assert_array_equal(J_rev, J_fwd)
    # the adjoint identity <u, J v> == <J^T u, v>, exactly at the kink
    rng = np.random.default_rng(1)
    v = np.where(np.isfinite(x), rng.standard_normal(x.shape), 0.0)
    out, Jv = eg.jvp(f, (x,), (v,))
    u = rng.standard_normal(out.shape)
    (JTu,) = eg.vjp(f, x)[1](u)
    assert np.sum(u * Jv.numpy()) == pytest.approx(np.sum(JTu.numpy() * v), rel=1e-12, abs=1e-12)


def test_pow_second_derivative_at_a_zero_exponent():
    # The x**0 convention applies at x == 0 only: elsewhere d/dx x**y = y x**(y-1)
    # stays a function of y, whose derivative at y = 0 is 1/x.
    f = lambda y: eg.grad(lambda b: (b**y).sum())(np.array(2.0))  # noqa: E731
    assert eg.grad(lambda y: f(y))(np.array(0.0)).item() == pytest.approx(0.5)
    assert eg.gradcheck(lambda x, y: eg.grad(lambda a, b: (a**b).sum(), argnums=(0, 1))(x, y), (2.0, 0.0))


# ---- norm at 0 (issue 10, class 12) ------------------------------------------------------


@pytest.mark.parametrize("ord", [None, 2, 1, 3, np.inf, -np.inf])
def test_norm_gradient_at_zero_is_zero_in_both_modes(ord):
    zero = np.zeros(3)
    f = lambda v: eg.norm(v, ord)  # noqa: E731
    np.testing.assert_array_equal(eg.grad(f)(zero).numpy(), np.zeros(3))
    np.testing.assert_array_equal(eg.jacobian(f, mode="fwd")(zero).numpy(), np.zeros(3))
    _, t = eg.jvp(f, (zero,), (np.ones(3),))
    assert t.item() == 0.0


def test_norm_second_derivatives_at_zero_are_finite():
    for H in (eg.hessian(lambda v: eg.norm(v))(np.zeros(3)),
              eg.jacobian(eg.grad(lambda v: eg.norm(v)), mode="rev")(np.zeros(3))):
        assert np.all(np.isfinite(H.numpy()))


def test_norm_over_axes_at_zero_rows():
    x = eg.Variable(np.array([[0.0, 0.0], [3.0, 4.0]]), requires_grad=True)
    eg.norm(x, axis=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])


@pytest.mark.parametrize("ord", [None, 1, 2, 3, np.inf, -np.inf])
def test_norm_matches_numpy(ord):
    x = np.random.default_rng(3).standard_normal((4, 5))
    np.testing.assert_allclose(eg.norm(x, ord, axis=1).numpy(), np.linalg.norm(x, ord, axis=1), rtol=1e-13)
    assert eg.gradcheck(lambda v: eg.norm(v, ord, axis=-1), x)


def test_arcsin_arccos_derivatives_at_the_domain_edges_are_infinite():
    # The one-sided limits (PyTorch's values): +inf for arcsin, -inf for arccos.
    (g,) = grad_of(eg.arcsin, [-1.0, 1.0])
    np.testing.assert_array_equal(g, [np.inf, np.inf])
    (g,) = grad_of(eg.arccos, [-1.0, 1.0])
    np.testing.assert_array_equal(g, [-np.inf, -np.inf])
    _, t = eg.jvp(eg.arcsin, (np.array([1.0]),), (np.array([1.0]),))
    assert t.numpy()[0] == np.inf


def test_arctanh_at_plus_minus_one_is_infinite_with_infinite_derivative():
    x = eg.Variable(np.array([-1.0, 1.0]), requires_grad=True)
    y = eg.arctanh(x)
    np.testing.assert_array_equal(y.numpy(), [-np.inf, np.inf])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [np.inf, np.inf])


def test_arctan2_gradient_at_the_origin_is_zero():
    # Both partial derivatives are 0 at (0, 0) (the minimum-norm choice, as the norm's);
    # y / (x^2 + y^2) is 0 / 0 there, NaN in PyTorch.
    gx, gy = grad_of(eg.arctan2, [0.0, -0.0, 1.0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gy, [0.0, 0.0, -1.0])
    _, t = eg.jvp(eg.arctan2, (np.zeros(1), np.zeros(1)), (np.ones(1), np.ones(1)))
    assert t.numpy()[0] == 0.0


def test_arctan2_has_numpy_values_on_the_axes():
    x = np.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, np.inf, -np.inf])
    y = np.array([0.0, 0.0, -0.0, -0.0, 0.0, -0.0, np.inf, -np.inf])
    got = eg.arctan2(eg.Variable(x), eg.Variable(y)).numpy()
    np.testing.assert_array_equal(got, np.arctan2(x, y))
    assert eg.atan2 is eg.arctan2


def test_logaddexp_of_equal_infinities_splits_the_gradient_evenly():
    # logaddexp(-inf, -inf) = -inf (NumPy); the gradient, sigmoid(x - y), is NaN there
    # (inf - inf); the limit along x == y gives each input 1/2, as a tie in maximum.
    x = eg.Variable(np.array([-np.inf, np.inf, np.inf, -np.inf, 0.0]), requires_grad=True)
    y = eg.Variable(np.array([-np.inf, np.inf, -np.inf, 3.0, 0.0]), requires_grad=True)
    out = eg.logaddexp(x, y)
    np.testing.assert_array_equal(out.numpy(), [-np.inf, np.inf, np.inf, 3.0, np.log(2.0)])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.5, 0.5, 1.0, 0.0, 0.5])
    np.testing.assert_array_equal(y.grad.numpy(), [0.5, 0.5, 0.0, 1.0, 0.5])
    _, t = eg.jvp(eg.logaddexp, (np.array([-np.inf]), np.array([-np.inf])), (np.ones(1), np.ones(1)))
    assert t.numpy()[0] == 1.0


# ---- issue 14: scans, sort and the arg-reductions (one block for merging) -------------


@pytest.mark.parametrize("x, expected", [
    # d/dx_i sum_j cumprod(x)_j = sum_{j>=i} prod_{k<=j, k!=i} x_k, by hand
    ([2.0, 0.0, 3.0, 4.0], [1.0, 2.0 + 2.0 * 3.0 + 2.0 * 3.0 * 4.0, 0.0, 0.0]),
    ([2.0, 0.0, 3.0, 0.0], [1.0, 2.0 + 2.0 * 3.0, 0.0, 0.0]),
    ([0.0, 0.0, 5.0], [1.0, 0.0, 0.0]),
], ids=["one zero", "two zeros", "two leading zeros"])
def test_cumprod_gradient_is_exact_at_zeros(x, expected):
    # No division by x: at one zero and at two zeros the gradient is the exact
    # polynomial derivative (PyTorch's), in both modes.
    (g,) = grad_of(lambda v: eg.cumprod(v, axis=0), x)
    np.testing.assert_array_equal(g, expected)
    n = len(x)
    _, t = eg.jvp(lambda v: eg.cumprod(v, axis=0), (np.array(x),), (np.eye(n),))
    np.testing.assert_array_equal(t.numpy().sum(axis=-1), expected)  # row b: d out / d x_b


def test_prod_gradient_is_exact_at_one_and_two_zeros():
    # The product of the others: at one zero, nonzero only at the zero; at two, 0.
    (g,) = grad_of(lambda v: eg.prod(v, axis=1), [[2.0, 0.0, 3.0], [0.0, 5.0, 0.0], [1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(g, [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [6.0, 3.0, 2.0]])
    h = eg.hessian(lambda v: eg.prod(v))(np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(h.numpy(), [[0.0, 3.0, 0.0], [3.0, 0.0, 2.0], [0.0, 2.0, 0.0]])


def test_cumprod_keeps_a_zero_cotangent_zero_past_an_infinity():
    # Only out[0] = x[0] is used: the cotangent of out[1:] is 0, and 0 * inf in the
    # rule stays 0 (strong zero); with strong zero off, PyTorch's NaN.
    (g,) = grad_of(lambda v: eg.cumprod(v, axis=0)[0], [2.0, np.inf, 3.0])
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0])
    with eg.strong_zero(False):
        (g,) = grad_of(lambda v: eg.cumprod(v, axis=0)[0], [2.0, np.inf, 3.0])
    assert np.isnan(g).any()


def test_sort_is_stable_and_its_gradient_follows_the_stable_order():
    # Equal values keep their order (numpy.sort(kind="stable")): the first of the
    # two 2.0s fills the first slot they take, and gets that slot's cotangent.
    x = eg.Variable(np.array([2.0, 1.0, 2.0, -0.0, 0.0]), requires_grad=True)
    out = eg.sort(x)
    np.testing.assert_array_equal(out.numpy(), [-0.0, 0.0, 1.0, 2.0, 2.0])
    assert np.signbit(out.numpy()[0]) and not np.signbit(out.numpy()[1])
    out.backward(np.array([10.0, 20.0, 30.0, 40.0, 50.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [40.0, 30.0, 50.0, 10.0, 20.0])


def test_argsort_is_stable_with_nan_last():
    x = np.array([3.0, np.nan, 1.0, 3.0, -np.inf, np.nan, 1.0])
    got = eg.argsort(x)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.argsort(x, kind="stable"))
    np.testing.assert_array_equal(got, [4, 2, 6, 0, 3, 1, 5])
    np.testing.assert_array_equal(eg.sort(x).numpy(), np.sort(x))


def test_argmax_and_argmin_give_the_first_extremum_or_the_first_nan():
    x = np.array([[1.0, 5.0, 5.0, 0.0, 0.0], [2.0, np.nan, 7.0, np.nan, -1.0]])
    np.testing.assert_array_equal(eg.argmax(x, axis=1), [1, 1])
    np.testing.assert_array_equal(eg.argmin(x, axis=1), [3, 1])
    assert eg.argmax(x) == np.argmax(x) == 6 and eg.argmin(x[:1]) == 3
    np.testing.assert_array_equal(eg.argmax(x, axis=0, keepdims=True), np.argmax(x, axis=0, keepdims=True))


def test_arg_reductions_return_int64_arrays_that_are_not_differentiable():
    x = eg.Variable(np.array([[1.0, 3.0], [4.0, 2.0]]), requires_grad=True)
    for got in (eg.argmax(x, axis=1), eg.argmin(x, axis=0), eg.argsort(x), x.argmax(axis=1)):
        assert isinstance(got, np.ndarray) and got.dtype == np.int64
    assert isinstance(eg.argmax(x), np.int64)
    with pytest.raises(TypeError, match="take_along_axis: indices must be integers"):
        eg.take_along_axis(x, eg.Variable(np.zeros((2, 1))), axis=1)


def test_std_gradient_over_a_constant_slice_is_zero():
    # std = norm(x - mean(x)) / sqrt(n - ddof): the norm's convention at 0 (gradient 0,
    # the minimum-norm subgradient); sqrt(var) written out gives NaN (PyTorch's).
    (g,) = grad_of(lambda v: eg.std(v, axis=1, ddof=1), [[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]])
    np.testing.assert_allclose(g, [[0.0, 0.0, 0.0], [-0.5, 0.0, 0.5]], rtol=1e-15, atol=0)
    _, t = eg.jvp(lambda v: eg.std(v), (np.full(3, 2.0),), (np.array([1.0, -1.0, 3.0]),))
    assert t.numpy() == 0.0


def test_scatter_add_and_take_along_axis_add_up_repeated_indices():
    x = eg.Variable(np.arange(3.0), requires_grad=True)
    eg.take_along_axis(x, np.array([2, 2, 0, 2]), axis=0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])
    out = eg.scatter_add(np.zeros(3), np.array([2, 2, 0, 2]), np.array([1.0, 2.0, 3.0, 4.0]), axis=0)
    np.testing.assert_array_equal(out.numpy(), [3.0, 0.0, 7.0])


def test_scans_and_prod_combine_in_order():
    # Left to right, one element after another (the same bits on every instruction
    # set): the bits of a Python loop, for a long axis with many columns.
    rng = np.random.default_rng(0)
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal((257, 19)).astype(dtype)
        y = (1 + x / 64).astype(dtype)
        want_sum, want_prod = x.copy(), y.copy()
        for i in range(1, len(x)):
            want_sum[i] = want_sum[i - 1] + x[i]
            want_prod[i] = want_prod[i - 1] * y[i]
        assert eg.cumsum(x, axis=0).numpy().tobytes() == want_sum.tobytes()
        assert eg.cumprod(y, axis=0).numpy().tobytes() == want_prod.tobytes()
        assert eg.prod(y, axis=0).numpy().tobytes() == want_prod[-1].tobytes()

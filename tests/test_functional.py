"""Function transforms (python/eigengrad/functional.py) and the source text's
identities: Jacobian layout, the chain rule as a product of Jacobians, jvp = J v,
vjp = u J, grad = vjp seeded with 1, reverse == forward, Hessians."""

import numpy as np
import pytest

import eigengrad as eg

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal((2, 3))


def g(x):  # R^4 -> R^3
    return eg.tanh(A @ x) * 2.0


def f(y):  # R^3 -> R^2
    return eg.sin(B @ y) + y[:2] ** 2


def scalar(x):
    return (eg.exp(x * 0.3) * eg.sin(x)).sum() + (A @ x).sum() ** 2


def numeric_jacobian(fn, x, eps=1e-6):
    x = np.asarray(x, dtype=np.float64)
    cols = []
    for k in range(x.size):
        d = np.zeros_like(x)
        d.flat[k] = eps
        cols.append((np.asarray(fn(x + d)) - np.asarray(fn(x - d))).ravel() / (2 * eps))
    out_shape = np.asarray(fn(x)).shape
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


X = rng.standard_normal(4)


@pytest.mark.parametrize("mode", ["rev", "fwd", "auto"])
def test_jacobian_layout_vector(mode):
    J = eg.jacobian(g, mode=mode)(X)
    assert isinstance(J, eg.Variable) and J.shape == (3, 4)  # m x n, row i = grad of y_i
    np.testing.assert_allclose(J.numpy(), numeric_jacobian(g, X), atol=1e-8)


@pytest.mark.parametrize("m, mode", [(3, "rev"), (4, "rev"), (5, "fwd")])
def test_jacobian_auto_takes_reverse_unless_the_output_is_larger(m, mode):
    # Note [Jacobian mode ties]: a square Jacobian goes to reverse mode, and reverse
    # mode keeps the forward pass that measured the output (f runs once).
    M = rng.standard_normal((m, 4))
    calls = []

    def h(x):
        calls.append(x.requires_grad)  # reverse mode differentiates an input that requires grad
        return eg.tanh(M @ x)

    J = eg.jacobian(h)(X)
    assert calls == ([True] if mode == "rev" else [True, False])
    np.testing.assert_array_equal(J.numpy(), eg.jacobian(h, mode=mode)(X).numpy())


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_layout_matrix_argument(mode):
    W = rng.standard_normal((3, 4))
    h = lambda W: eg.sigmoid(W @ X)  # noqa: E731  R^{3x4} -> R^3
    J = eg.jacobian(h, mode=mode)(W)
    assert J.shape == (3, 3, 4)
    np.testing.assert_allclose(J.numpy(), numeric_jacobian(h, W), atol=1e-8)


@pytest.mark.parametrize("chunk_size", [1, 2, 5])
def test_jacobian_chunks_give_the_same_result(chunk_size):
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(
            eg.jacobian(g, mode=mode, chunk_size=chunk_size)(X).numpy(), eg.jacobian(g, mode=mode)(X).numpy()
        )


def test_reverse_and_forward_jacobians_agree():
    np.testing.assert_allclose(eg.jacobian(g, mode="rev")(X).numpy(), eg.jacobian(g, mode="fwd")(X).numpy(),
                               rtol=1e-13, atol=1e-14)


def test_chain_rule_is_a_product_of_jacobians():
    y = g(X)
    left = eg.jacobian(lambda x: f(g(x)))(X).numpy()
    right = eg.jacobian(f)(y).numpy() @ eg.jacobian(g)(X).numpy()
    np.testing.assert_allclose(left, right, rtol=1e-12, atol=1e-13)


def test_jvp_is_J_times_v_and_vjp_is_u_times_J():
    v = rng.standard_normal(4)
    u = rng.standard_normal(3)
    J = eg.jacobian(g)(X).numpy()
    out, tout = eg.jvp(g, (X,), (v,))
    np.testing.assert_allclose(tout.numpy(), J @ v, rtol=1e-12)
    np.testing.assert_allclose(out.numpy(), g(X).numpy())
    out2, vjp_fn = eg.vjp(g, X)
    (gx,) = vjp_fn(u)
    np.testing.assert_allclose(gx.numpy(), u @ J, rtol=1e-12)
    (gx_again,) = vjp_fn(u)  # vjp_fn may be called again
    np.testing.assert_allclose(gx_again.numpy(), gx.numpy())


def test_batched_jvp_gives_one_product_per_tangent():
    V = rng.standard_normal((5, 4))
    _, T = eg.jvp(g, (X,), (V,))
    assert T.shape == (5, 3)
    np.testing.assert_allclose(T.numpy(), V @ eg.jacobian(g)(X).numpy().T, rtol=1e-12)


def test_grad_is_vjp_seeded_with_one():
    G = eg.grad(scalar)(X)
    _, vjp_fn = eg.vjp(scalar, X)
    (V,) = vjp_fn(np.array(1.0))
    np.testing.assert_array_equal(G.numpy(), V.numpy())
    assert G.shape == X.shape  # denominator layout
    np.testing.assert_allclose(G.numpy(), numeric_jacobian(scalar, X), rtol=1e-7)


def test_value_and_grad_argnums_and_aux():
    def loss(W, x, b):
        return (eg.sigmoid(W @ x + b) ** 2).sum(), "aux"

    W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    (value, aux), (gW, gb) = eg.value_and_grad(loss, argnums=(0, 2), has_aux=True)(W, X, b)
    assert aux == "aux" and gW.shape == W.shape and gb.shape == b.shape
    assert value.item() == pytest.approx(loss(eg.Variable(W), X, b)[0].item())
    gx = eg.grad(lambda W, x, b: loss(W, x, b)[0], argnums=1)(W, X, b)
    np.testing.assert_allclose(gx.numpy(), numeric_jacobian(lambda x: loss(W, x, b)[0], X), rtol=1e-6)
    with pytest.raises(TypeError, match="single value"):
        eg.grad(g)(X)
    with pytest.raises(ValueError, match="argnums"):
        eg.grad(scalar, argnums=3)(X)


def test_grad_of_an_unused_argument_is_zero():
    gy = eg.grad(lambda x, y: (x * 2.0).sum(), argnums=1)(X, np.ones(2))
    np.testing.assert_array_equal(gy.numpy(), [0.0, 0.0])


def test_hessian_is_symmetric_and_equals_jacobian_of_grad():
    H = eg.hessian(scalar)(X)
    assert H.shape == (4, 4)
    H = H.numpy()
    np.testing.assert_allclose(H, H.T, rtol=1e-12, atol=1e-12)
    for mode in ("rev", "fwd"):
        np.testing.assert_allclose(eg.jacobian(eg.grad(scalar), mode=mode)(X).numpy(), H, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(H, numeric_jacobian(lambda x: eg.grad(scalar)(x), X), rtol=1e-6, atol=1e-6)


def test_hvp_equals_hessian_times_v():
    v = rng.standard_normal(4)
    value, (hv,) = eg.hvp(scalar, (X,), (v,))
    assert value.item() == pytest.approx(scalar(eg.Variable(X)).item())
    np.testing.assert_allclose(hv.numpy(), eg.hessian(scalar)(X).numpy() @ v, rtol=1e-12)


def test_hessian_of_a_matrix_argument_and_two_arguments():
    W = rng.standard_normal((2, 3))
    h = lambda W: (eg.tanh(W @ X[:3]) ** 2).sum()  # noqa: E731
    H = eg.hessian(h)(W)
    assert H.shape == (2, 3, 2, 3)
    flat = H.numpy().reshape(6, 6)
    np.testing.assert_allclose(flat, flat.T, atol=1e-12)
    _, (hv_a, hv_b) = eg.hvp(lambda a, b: (a * b * b).sum(), (np.ones(2), np.full(2, 2.0)), (np.ones(2), np.zeros(2)))
    np.testing.assert_allclose(hv_a.numpy(), [0.0, 0.0])
    np.testing.assert_allclose(hv_b.numpy(), [4.0, 4.0])  # d/db (b^2 * 1) = 2b


def test_transforms_compose_to_third_order():
    h = lambda x: (x**4).sum()  # noqa: E731
    third = eg.jacobian(eg.hessian(h))(np.array([1.0, 2.0]))
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0], expected[1, 1, 1] = 24.0, 48.0
    np.testing.assert_allclose(third.numpy(), expected, atol=1e-10)
    # forward over forward
    d2 = eg.jvp(lambda x: eg.jvp(eg.sin, (x,), (np.ones(1),))[1], (np.array([0.5]),), (np.ones(1),))[1]
    np.testing.assert_allclose(d2.numpy(), [-np.sin(0.5)])
    # reverse over forward
    rf = eg.grad(lambda x: eg.jvp(lambda y: (y**3).sum(), (x,), (np.ones(2),))[1])(np.array([1.0, 2.0]))
    np.testing.assert_allclose(rf.numpy(), [6.0, 12.0])


def test_transforms_accept_variables_and_return_variables():
    x = eg.Variable(X)
    for result in (eg.grad(scalar)(x), eg.jacobian(g)(x), eg.jvp(g, (x,), (X,))[1], eg.hessian(scalar)(X)):
        assert isinstance(result, eg.Variable)


def test_forward_mode_builds_no_reverse_graph():
    out, tout = eg.jvp(g, (X,), (np.ones(4),))
    assert out.grad_fn is None and tout.grad_fn is None


def test_batched_cotangents_in_autograd_grad():
    x = eg.Variable(X, requires_grad=True)
    y = g(x)
    U = rng.standard_normal((6, 3))
    (G,) = eg.autograd.grad(y, x, U, is_grads_batched=True)
    assert G.shape == (6, 4)
    np.testing.assert_allclose(G.numpy(), U @ eg.jacobian(g)(X).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="batched"):
        eg.autograd.grad(g(eg.Variable(X, requires_grad=True)), x, np.ones((2, 4)), is_grads_batched=True)


def test_jvp_argument_errors():
    with pytest.raises(ValueError, match="tangent"):
        eg.jvp(g, (X,), (np.ones(3),))
    with pytest.raises(ValueError, match="primals"):
        eg.jvp(g, (X, X), (X,))
    with pytest.raises(ValueError, match="mode"):
        eg.jacobian(g, mode="sideways")


# ---- the result stays differentiable in the Variables the function read ---------------
# (issue 10, class 1: what torch.func and JAX give; Note [Outer leaves] in engine.cpp)

W0 = rng.standard_normal((3, 3))
X0 = rng.standard_normal(3)


def penalty_grad(make):
    """d/dW of sum(g*g) for g = make(x0, W): reference by finite differences of the
    closed form g = W^T (1 - tanh(W x)^2) for f = sum(tanh(W x))."""
    W = eg.Variable(W0.copy(), requires_grad=True)
    g = make(X0, W)
    assert g.requires_grad
    (dW,) = eg.autograd.grad((g * g).sum(), [W])
    return dW.numpy()


def closed_form_penalty(Wv):
    t = np.tanh(Wv @ X0)
    g = Wv.T @ (1 - t * t)
    return np.sum(g * g)


def numeric_penalty_grad():
    out = np.zeros_like(W0)
    for idx in np.ndindex(*W0.shape):
        e = np.zeros_like(W0)
        e[idx] = 1e-6
        out[idx] = (closed_form_penalty(W0 + e) - closed_form_penalty(W0 - e)) / 2e-6
    return out


TRANSFORMS_OF_W = {
    "grad, W an argument not differentiated": lambda x, W: eg.grad(lambda x, w: eg.tanh(w @ x).sum())(x, W),
    "grad, W closed over": lambda x, W: eg.grad(lambda x: eg.tanh(W @ x).sum())(x),
    "value_and_grad": lambda x, W: eg.value_and_grad(lambda x: eg.tanh(W @ x).sum())(x)[1],
    "vjp": lambda x, W: eg.vjp(lambda x: eg.tanh(W @ x).sum(), x)[1](np.array(1.0))[0],
    "jacobian rev": lambda x, W: eg.jacobian(lambda x: eg.tanh(W @ x).sum(), mode="rev")(x),
    "jacobian fwd": lambda x, W: eg.jacobian(lambda x: eg.tanh(W @ x).sum(), mode="fwd")(x),
}


@pytest.mark.parametrize("name", list(TRANSFORMS_OF_W))
def test_transform_results_stay_differentiable_in_outer_variables(name):
    np.testing.assert_allclose(penalty_grad(TRANSFORMS_OF_W[name]), numeric_penalty_grad(), rtol=1e-6, atol=1e-8)


def test_hvp_stays_differentiable_in_closed_over_variables():
    W = eg.Variable(W0.copy(), requires_grad=True)
    v = np.array([1.0, -0.5, 2.0])
    _, (Hv,) = eg.hvp(lambda x: (W @ x * x).sum(), (X0,), (v,))
    assert Hv.requires_grad
    # H = W + W^T, so d/dW sum(H v) = outer(1, v) + outer(v, 1)
    (dW,) = eg.autograd.grad(Hv.sum(), [W])
    np.testing.assert_allclose(dW.numpy(), np.outer(np.ones(3), v) + np.outer(v, np.ones(3)), rtol=1e-12)


def test_a_transform_of_constants_records_nothing():
    g = eg.grad(lambda x: (eg.tanh(eg.Variable(W0) @ x)).sum())(X0)
    assert not g.requires_grad and g.grad_fn is None


def test_gradient_penalty_trains_like_torch():
    torch = pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0")
    from torch.func import grad as tgrad

    W = eg.Variable(W0.copy(), requires_grad=True)
    g = eg.grad(lambda x, w: eg.tanh(w @ x).sum())(X0, W)
    (g * g).sum().backward()
    Wt = torch.tensor(W0, requires_grad=True)
    gt = tgrad(lambda x, w: torch.tanh(w @ x).sum())(torch.tensor(X0), Wt)
    (gt * gt).sum().backward()
    np.testing.assert_allclose(W.grad.numpy(), Wt.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobians_of_zero_size_functions(mode):
    assert eg.jacobian(lambda v: v * 2.0, mode=mode)(np.zeros(0)).shape == (0, 0)
    assert eg.jacobian(lambda v: v.sum(), mode=mode)(np.zeros(0)).shape == (0,)
    J = eg.jacobian(lambda v: v[:0], mode=mode)(np.ones(3))
    assert J.shape == (0, 3)
    assert eg.hessian(lambda v: (v * v).sum())(np.zeros(0)).shape == (0, 0)

"""eg.vmap: in_axes/out_axes, nesting, composition with the transforms both ways,
per-sample gradients (against a loop and torch.func), layers and composites,
errors. Every op's batching rule is checked in tests/ops/test_vmap_ops.py."""

import numpy as np
import pytest

import eigengrad as eg

rng = np.random.default_rng(7)


def arr(x):
    return np.asarray(x)


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(arr(a), arr(b), rtol=tol, atol=tol)


# ---- axes ----------------------------------------------------------------------------------

def test_in_axes_int_none_negative_and_out_axes():
    X = rng.normal(size=(3, 4))
    w = rng.normal(size=4)
    close(eg.vmap(lambda x, w: (x * w).sum(), in_axes=(0, None))(X, w), X @ w)
    close(eg.vmap(lambda x: x.sum(), in_axes=1)(X), X.sum(0))
    close(eg.vmap(lambda x: x.sum(), in_axes=-1)(X), X.sum(0))
    close(eg.vmap(lambda x: x * 2, out_axes=1)(X), (X * 2).T)
    close(eg.vmap(lambda x: x * 2, out_axes=-1)(X), (X * 2).T)


def test_pytrees_in_and_out():
    X, Y = rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
    f = lambda d, pair: {"s": d["x"] + pair[1], "t": (d["x"] * pair[0],)}
    out = eg.vmap(f, in_axes=({"x": 0}, (None, 1)), out_axes={"s": 0, "t": (1,)})({"x": X}, [2.0, Y])
    close(out["s"], X + Y.T)
    close(out["t"][0], (X * 2.0).T)


def test_several_outputs_and_an_output_that_does_not_depend_on_the_batch():
    X = rng.normal(size=(5, 2))
    s, c = eg.vmap(lambda x: (x.sum(), eg.Variable(np.ones(2))), out_axes=(0, None))(X)
    close(s, X.sum(1))
    close(c, np.ones(2))
    const = eg.vmap(lambda x: eg.Variable(np.arange(2.0)))(X)  # out_axes 0: repeated
    close(const, np.tile(np.arange(2.0), (5, 1)))


def test_keyword_arguments_are_not_mapped():
    X = rng.normal(size=(3, 4))
    close(eg.vmap(lambda x, scale=1.0: x.sum() * scale)(X, scale=np.float64(2.0)), 2 * X.sum(1))


def test_axis_size_when_nothing_is_mapped():
    out = eg.vmap(lambda c: c * 2, in_axes=None, axis_size=3)(np.arange(2.0))
    close(out, np.tile(np.arange(2.0) * 2, (3, 1)))


def test_integer_arguments_stay_indices():
    X = rng.normal(size=(4, 5))
    labels = np.array([0, 4, 2, 1])
    picked = eg.vmap(lambda x, i: x[i])(X, labels)
    close(picked, X[np.arange(4), labels])
    close(eg.vmap(lambda x, i: eg.take(x, i))(X, labels), X[np.arange(4), labels])


# ---- nesting -------------------------------------------------------------------------------

def test_nested_vmap_matches_a_double_loop():
    A = rng.normal(size=(3, 4, 5))
    f = lambda v: eg.tanh(v) @ v
    out = eg.vmap(eg.vmap(f))(A)
    close(out, [[arr(f(eg.Variable(A[i, j]))) for j in range(4)] for i in range(3)])
    # The outer vmap over axis 1, the inner over the (remaining) axis 1.
    out = eg.vmap(eg.vmap(lambda v: v.sum(), in_axes=1), in_axes=1)(A)
    close(out, A.sum(0))


def test_outer_product_by_nesting_with_none():
    x, y = rng.normal(size=3), rng.normal(size=4)
    out = eg.vmap(eg.vmap(lambda a, b: a * b, in_axes=(None, 0)), in_axes=(0, None))(x, y)
    close(out, np.outer(x, y))


# ---- composition with the transforms ----------------------------------------------------------

def loss(w, x, y):
    return (eg.tanh(x @ w) - y) ** 2


def test_per_sample_gradients_match_a_loop():
    w, X, Y = rng.normal(size=3), rng.normal(size=(6, 3)), rng.normal(size=6)
    per_sample = eg.vmap(eg.grad(loss), in_axes=(None, 0, 0))(w, X, Y)
    assert per_sample.shape == (6, 3)
    close(per_sample, [arr(eg.grad(loss)(w, x, y)) for x, y in zip(X, Y)])


def test_grad_of_vmap_is_the_sum_of_the_gradients():
    w, X, Y = rng.normal(size=3), rng.normal(size=(6, 3)), rng.normal(size=6)
    total = eg.grad(lambda w: eg.vmap(loss, in_axes=(None, 0, 0))(w, X, Y).sum())(w)
    close(total, sum(arr(eg.grad(loss)(w, x, y)) for x, y in zip(X, Y)))


def test_grad_inside_vmap_through_a_closure():
    w, X = rng.normal(size=3), rng.normal(size=(4, 3))
    out = eg.vmap(lambda x: eg.grad(lambda w: eg.sin(w @ x))(w))(X)
    close(out, [np.cos(w @ x) * x for x in X])


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_vmap_of_jacobian_and_jacobian_of_vmap(mode):
    X = rng.normal(size=(4, 3))
    f = lambda x: eg.sin(x) * x.sum()
    J = eg.vmap(eg.jacobian(f, mode=mode))(X)
    close(J, [arr(eg.jacobian(f)(x)) for x in X])
    J = eg.vmap(eg.jacobian(f, mode=mode, chunk_size=2))(X)
    close(J, [arr(eg.jacobian(f)(x)) for x in X])
    big = eg.jacobian(eg.vmap(f), mode=mode)(X)  # block-diagonal (4, 3, 4, 3)
    for i in range(4):
        close(big[i, :, i, :], arr(eg.jacobian(f)(X[i])))


def test_vmap_of_hessian_hvp_jvp_vjp():
    X, V = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    f = lambda x: (eg.sin(x) * x).sum() ** 2
    close(eg.vmap(eg.hessian(f))(X), [arr(eg.hessian(f)(x)) for x in X], 1e-10)
    _, (hv,) = eg.vmap(lambda x, v: eg.hvp(f, (x,), (v,)))(X, V)
    close(hv, [arr(eg.hessian(f)(x)) @ v for x, v in zip(X, V)], 1e-10)
    _, t = eg.vmap(lambda x, v: eg.jvp(eg.sin, (x,), (v,)))(X, V)
    close(t, np.cos(X) * V)
    g = eg.vmap(lambda x, u: eg.vjp(eg.sin, x)[1](u)[0])(X, V)
    close(g, np.cos(X) * V)
    g = eg.vmap(lambda x: eg.vjp(eg.sin, x)[1](np.ones(3))[0])(X)  # unbatched cotangent
    close(g, np.cos(X))


def test_nested_vmap_of_grad():
    A = rng.normal(size=(2, 3))
    close(eg.vmap(eg.vmap(eg.grad(lambda x: x ** 3)))(A), 3 * A ** 2)


def test_vmap_records_one_graph_node_per_op_not_per_element():
    X = eg.Variable(rng.normal(size=(1000, 8)), requires_grad=True)
    out = eg.vmap(lambda x: eg.tanh(x).sum())(X)
    names, node = [], out.grad_fn
    while node is not None:
        names.append(node.name())
        node = next((n for n in node.next_functions if n is not None), None)
    assert "stack" not in names and len(names) <= 4, names


# ---- against torch.func --------------------------------------------------------------------

def test_per_sample_gradients_of_an_mlp_match_torch_func():
    torch = pytest.importorskip("torch")
    from torch.func import grad as tgrad, vmap as tvmap

    W1, b1 = rng.normal(size=(16, 5)) * 0.3, rng.normal(size=16)
    W2, b2 = rng.normal(size=(3, 16)) * 0.3, rng.normal(size=3)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 3, size=8)

    def eg_loss(W1, b1, W2, b2, x, t):
        return eg.nn.functional.cross_entropy((W2 @ eg.tanh(W1 @ x + b1) + b2)[None], t[None])

    def torch_loss(params, x, t):
        W1, b1, W2, b2 = params
        return torch.nn.functional.cross_entropy((W2 @ torch.tanh(W1 @ x + b1) + b2)[None], t[None])

    params = (W1, b1, W2, b2)
    ours = eg.vmap(eg.grad(eg_loss, argnums=(0, 1, 2, 3)), in_axes=(None,) * 4 + (0, 0))(*params, X, y)
    theirs = tvmap(tgrad(torch_loss), in_dims=(None, 0, 0))(tuple(torch.tensor(p) for p in params),
                                                           torch.tensor(X), torch.tensor(y))
    for o, t in zip(ours, theirs):
        assert o.shape == tuple(t.shape)
        close(o, t.numpy(), 1e-10)


# ---- layers and composites -------------------------------------------------------------------

def test_layers_and_composites_inside_vmap():
    X = rng.normal(size=(4, 3, 5))
    for f in (eg.nn.Linear(5, 2), eg.nn.LayerNorm(5), eg.nn.functional.gelu, lambda x: eg.norm(x, "fro"),
              lambda x: eg.norm(x, 2), lambda x: eg.einsum("ij,kj->ik", x, x), lambda x: eg.linalg.svd(x)[1]):
        close(eg.vmap(f)(X), [arr(f(eg.Variable(x))) for x in X], 1e-10)
    conv = eg.nn.Conv1d(3, 2, 3)
    close(eg.vmap(conv)(X), [arr(conv(eg.Variable(x[None])))[0] for x in X])
    emb = eg.nn.Embedding(10, 3, padding_idx=2)
    idx = rng.integers(0, 10, size=(4, 6))
    close(eg.vmap(emb)(idx), arr(emb(idx)))


def test_dropout_draws_a_mask_per_element():
    out = arr(eg.vmap(lambda x: eg.nn.functional.dropout(x, 0.5))(np.ones((2, 2000))))
    assert 0.3 < (out[0] != out[1]).mean() < 0.7


# ---- errors ----------------------------------------------------------------------------------

def test_errors_name_what_was_asked():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match="different sizes"):
        eg.vmap(lambda a, b: a + b)(X, np.ones((4, 2)))
    with pytest.raises(ValueError, match="out of range"):
        eg.vmap(lambda a: a, in_axes=2)(X)
    with pytest.raises(ValueError, match="in_axes has 1 entries for 2"):
        eg.vmap(lambda a, b: a, in_axes=(0,))(X, X)
    with pytest.raises(ValueError, match="out_axes is None"):
        eg.vmap(lambda a: a, out_axes=None)(X)
    with pytest.raises(ValueError, match="axis_size"):
        eg.vmap(lambda a: a, in_axes=None)(X)
    with pytest.raises(TypeError, match="in_axes must be an int"):
        eg.vmap(lambda a: a, in_axes="0")
    for convert in (float, bool, np.asarray, lambda x: x.item()):
        with pytest.raises(TypeError, match="cannot convert a batched value"):
            eg.vmap(lambda a: convert(a.sum()))(X)
    with pytest.raises(ValueError, match="matmul"):
        eg.vmap(lambda a: a @ np.ones((3, 3)))(X)


def test_checkpoint_inside_vmap_runs_fn_as_it_is():
    X = rng.normal(size=(3, 2))
    f = lambda y: eg.sin(y) * 2
    close(eg.vmap(lambda x: eg.checkpoint(f, x))(X), 2 * np.sin(X))
    close(eg.vmap(eg.grad(lambda x: eg.checkpoint(f, x).sum()))(X), 2 * np.cos(X))


def test_custom_functions_inside_vmap():
    @eg.custom_vjp
    def square(x, w):
        return x * x * w

    square.defvjp(lambda x, w: (x * x * w, (x, w)), lambda res, g: (2 * res[0] * res[1] * g, res[0] * res[0] * g))

    class Cube(eg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return 3 * x * x * t

    X, w = rng.normal(size=(4, 3)), rng.normal(size=3)
    close(eg.vmap(square, in_axes=(0, None))(X, w), X * X * w)
    close(eg.vmap(eg.grad(lambda x: square(x, w).sum()))(X), 2 * X * w)
    # The shared argument's gradient: per example inside vmap, summed through it.
    close(eg.vmap(eg.grad(lambda x, w: square(x, w).sum(), argnums=1), in_axes=(0, None))(X, w), X * X)
    close(eg.grad(lambda w: eg.vmap(square, in_axes=(0, None))(X, w).sum())(w), (X * X).sum(0))
    close(eg.vmap(eg.grad(lambda x: Cube.apply(x).sum()))(X), 3 * X * X)
    _, t = eg.vmap(lambda x: eg.jvp(Cube.apply, (x,), (np.ones(3),)))(X)
    close(t, 3 * X * X)
    with pytest.raises(RuntimeError, match="Cube"):  # differentiating the backward: kept values are constants
        eg.vmap(eg.hessian(lambda x: Cube.apply(x).sum()))(X)

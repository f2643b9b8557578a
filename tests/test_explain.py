"""eg.explain (python/eigengrad/explain.py): the chain of Jacobians of one gradient,
against independent references (hand formulas, finite differences, PyTorch's
torch.func, dense Jacobians), and the promise to change nothing."""

import shutil
import subprocess

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.explain import Explanation

rng = np.random.default_rng(11)
W0 = rng.standard_normal((3, 4))
X0 = rng.standard_normal(4)
B0 = rng.standard_normal(3)


def sigma(v):
    return 1.0 / (1.0 + np.exp(-v))


def one_layer(dtype=np.float64):
    """The source text's x -> y = W x + b -> z = sigmoid(y) -> L = sum(z)."""
    W = eg.Variable(W0.astype(dtype), requires_grad=True)
    b = eg.Variable(B0.astype(dtype), requires_grad=True)
    x = eg.Variable(X0.astype(dtype))
    y = W @ x + b
    z = eg.sigmoid(y)
    L = z.sum()
    return dict(L=L, z=z, y=y, W=W, b=b, x=x)


def fd_gradient(f, X, eps=1e-6):
    """Central differences of a scalar NumPy function."""
    g = np.zeros_like(X)
    for i in np.ndindex(X.shape):
        d = np.zeros_like(X)
        d[i] = eps
        g[i] = (f(X + d) - f(X - d)) / (2 * eps)
    return g


# ---- the textbook's one-layer example -------------------------------------------------


def test_one_layer_chain_reads_as_the_textbook_writes_it():
    v = one_layer()
    e = eg.explain(v["L"], v["W"], names=v)
    text = str(e)
    assert text.splitlines()[0] == "dL/dW = dL/dz · dz/dy · dy/dv1 · dv1/dv2 · dv2/dW"
    assert [(f.op, f.shape, f.kind) for f in e.factors] == [
        ("sum", (1, 3), "reduction"),
        ("sigmoid", (3, 3), "elementwise"),
        ("add", (3, 3), "elementwise"),
        ("reshape", (3, 3), "reshape/transpose"),  # W @ x with a 1-D x: (3, 1) -> (3,)
        ("matmul", (3, 12), "linear map"),
    ]
    assert "y = add(v1, b)" in text and "v2 = matmul(W, ·)" in text
    assert "W's shape (3, 4) (denominator layout)" in text
    assert e.paths == [(0, 1, 2, 3, 4)] and e.n_paths == 1


def test_one_layer_factors_match_the_hand_formulas():
    v = one_layer()
    e = eg.explain(v["L"], v["W"], names=v)
    y = W0 @ X0 + B0
    J = [e.jacobian(k) for k in range(5)]
    np.testing.assert_array_equal(J[0], np.ones((1, 3)))  # dL/dz: L = sum(z)
    np.testing.assert_allclose(J[1], np.diag(sigma(y) * (1 - sigma(y))), rtol=1e-15, atol=1e-16)
    np.testing.assert_array_equal(J[2], np.eye(3))  # y = v1 + b
    np.testing.assert_array_equal(J[3], np.eye(3))  # a reshape of 3 values
    # v2 = W x: dv2_i/dW_ab = [i == a] x_b
    np.testing.assert_array_equal(J[4], np.kron(np.eye(3), X0[None, :]))
    product = J[0] @ J[1] @ J[2] @ J[3] @ J[4]
    delta = sigma(y) * (1 - sigma(y))
    np.testing.assert_allclose(product.reshape(3, 4), np.outer(delta, X0), rtol=1e-14)
    # ... and finite differences of L itself
    fd = fd_gradient(lambda W: sigma(W @ X0 + B0).sum(), W0)
    np.testing.assert_allclose(product.reshape(3, 4), fd, rtol=1e-7, atol=1e-9)


def test_one_layer_check_is_at_rounding_level():
    v = one_layer()
    assert eg.explain(v["L"], v["W"]).check() < 1e-15
    assert eg.explain(v["L"], v["b"]).check() < 1e-15
    assert eg.explain(v["z"], v["W"]).check() < 1e-15  # a vector output: the 3 x 12 Jacobian
    assert eg.explain(v["L"], v["y"]).check() < 1e-15  # an intermediate wrt


def test_one_layer_costs_by_hand():
    v = one_layer()
    e = eg.explain(v["L"], v["W"], names=v)
    # forming: a dense (m x n) factor times the (1 x m) product so far, r = L.size = 1;
    # the first factor starts the product
    assert [f.form_cost for f in e.factors] == [0, 3 * 3, 3 * 3, 3 * 3, 3 * 12]
    # applying: sum's VJP touches 3 inputs; sigmoid and add scale 3 entries; reshape
    # moves values; matmul's VJP for W is the outer product g x^T, 3 * 4
    assert [f.apply_cost for f in e.factors] == [3, 3, 3, 0, 12]
    assert (e.form_cost, e.apply_cost, e.dense_entries) == (63, 21, 3 + 9 + 9 + 9 + 36)
    assert "forming the 66 dense entries and multiplying left to right 63" in str(e)
    assert "as reverse mode does 21" in str(e)


def test_the_chain_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.func import jacrev

    v = one_layer()
    e = eg.explain(v["L"], v["W"], names=v)
    Wt = torch.tensor(W0, requires_grad=True)
    xt, bt = torch.tensor(X0), torch.tensor(B0)
    yt = Wt @ xt + bt
    Lt = torch.sigmoid(yt).sum()
    (gW,) = torch.autograd.grad(Lt, Wt)
    np.testing.assert_allclose(e.jacobian(1), jacrev(torch.sigmoid)(yt.detach()).numpy(), rtol=1e-15)
    np.testing.assert_allclose(e.jacobian(4), jacrev(lambda W: W @ xt)(Wt.detach()).reshape(3, 12).numpy())
    product = np.linalg.multi_dot([e.jacobian(k) for k in range(5)])
    np.testing.assert_allclose(product.reshape(3, 4), gW.numpy(), rtol=1e-14)


# ---- an MLP, broadcasting, reductions, several paths ------------------------------------


def test_mlp_against_torch():
    torch = pytest.importorskip("torch")
    eg.random.seed(3)
    mlp = eg.nn.MLP([4, 5, 3], activation="tanh")
    X = rng.standard_normal((6, 4))
    labels = np.array([0, 1, 2, 0, 1, 2])
    L = eg.nn.cross_entropy(mlp(eg.Variable(X)), labels)
    p = dict(mlp.named_parameters())
    e = eg.explain(L, p["0.weight"], names={"L": L, "W1": p["0.weight"]})
    assert [f.kind for f in e.factors] == ["reduction", "linear map", "elementwise", "linear map"]
    assert e.check() < 1e-15
    t = {k: torch.tensor(np.asarray(val), requires_grad=True) for k, val in p.items()}
    h = torch.tanh(torch.tensor(X) @ t["0.weight"].T + t["0.bias"])
    Lt = torch.nn.functional.cross_entropy(h @ t["2.weight"].T + t["2.bias"], torch.tensor(labels))
    (gW,) = torch.autograd.grad(Lt, t["0.weight"])
    product = np.linalg.multi_dot([e.jacobian(k) for k in e.paths[0]])
    np.testing.assert_allclose(product.reshape(5, 4), gW.numpy(), rtol=1e-12, atol=1e-15)
    for name in ("0.bias", "2.weight", "2.bias"):
        assert eg.explain(L, p[name]).check() < 1e-15


def test_broadcasting_a_bias_over_a_batch():
    X = eg.Variable(rng.standard_normal((5, 4)))
    W = eg.Variable(W0, requires_grad=True)
    b = eg.Variable(B0, requires_grad=True)
    L = eg.sigmoid(X @ W.T + b).sum()
    e = eg.explain(L, b, names={"L": L, "b": b})
    f = e.factors[-1]
    assert (f.op, f.kind, f.shape, f.in_shape, f.out_shape) == ("add", "broadcast", (15, 3), (3,), (5, 3))
    # the broadcast of b: a 0/1 matrix with one 1 per row (row (i, j) reads b_j)
    np.testing.assert_array_equal(e.jacobian(len(e.factors) - 1), np.tile(np.eye(3), (5, 1)))
    assert e.check() < 1e-15
    eW = eg.explain(L, W)
    assert "reshape/transpose" in [f.kind for f in eW.factors]  # W.T
    assert eW.check() < 1e-15


@pytest.mark.parametrize("reduce", ["sum", "mean", "sum0", "max", "logsumexp"])
def test_reductions(reduce):
    W = eg.Variable(rng.standard_normal((4, 3)), requires_grad=True)
    h = eg.tanh(W)
    out = {"sum": lambda: h.sum(), "mean": lambda: h.mean(), "sum0": lambda: h.sum(axis=0),
           "max": lambda: h.max(axis=1), "logsumexp": lambda: eg.logsumexp(h, axis=0)}[reduce]()
    e = eg.explain(out, W)
    assert any(f.kind == "reduction" and f.shape == (out.size, 12) for f in e.factors)
    assert e.check() < 1e-15
    if reduce == "mean":  # sum, then a scaling by 1/12: together a row of 1/12
        assert [f.op for f in e.factors] == ["mul", "sum", "tanh"]
        np.testing.assert_allclose(e.jacobian(0) @ e.jacobian(1), np.full((1, 12), 1 / 12), rtol=1e-15)


def test_several_paths_add():
    W = eg.Variable(W0, requires_grad=True)
    x = eg.Variable(X0)
    h = eg.tanh(W @ x)
    r = h + eg.sin(h)  # a residual: two paths from r back to h
    L = (r * r).sum() + (W * W).sum()  # and W used twice more
    e = eg.explain(L, W, names={"L": L, "W": W, "h": h, "r": r})
    assert e.n_paths == 2 * 2 + 2 == len(e.paths)
    first = str(e).splitlines()[0]
    assert first.count(" + ") == 5 and "[0]" in first and "[1]" in first
    assert "the sum over 6 paths" in str(e)
    assert e.check() < 1e-14
    torch = pytest.importorskip("torch")
    Wt = torch.tensor(W0, requires_grad=True)
    ht = torch.tanh(Wt @ torch.tensor(X0))
    rt = ht + torch.sin(ht)
    (gW,) = torch.autograd.grad((rt * rt).sum() + (Wt * Wt).sum(), Wt)
    total = sum(np.linalg.multi_dot([np.eye(1)] + [e.jacobian(k) for k in p]) for p in e.paths)
    np.testing.assert_allclose(total.reshape(3, 4), gW.numpy(), rtol=1e-13)


def test_a_wrong_factor_is_caught(monkeypatch):
    v = one_layer()
    e = eg.explain(v["L"], v["W"])
    assert e.check() < 1e-15
    right = Explanation.jacobian

    def wrong(self, k, limit=10**6):
        J = right(self, k, limit)
        return J * 1.01 if k == 1 else J  # dz/dy off by 1%

    monkeypatch.setattr(Explanation, "jacobian", wrong)
    assert eg.explain(v["L"], v["W"]).check() > 1e-4


def test_kinds_match_the_structure_of_the_formed_jacobians():
    x = eg.Variable(rng.standard_normal((3, 4)), requires_grad=True)
    out = eg.concatenate([eg.exp(x).T.reshape(12), x[1:, 2]])
    e = eg.explain(out.sum(), x)
    for k, f in enumerate(e.factors):
        J = e.jacobian(k)
        if f.kind == "elementwise":
            assert np.count_nonzero(J - np.diag(np.diag(J))) == 0, f
        elif f.kind == "reshape/transpose":
            assert J.shape[0] == J.shape[1] and set(np.unique(J)) <= {0.0, 1.0}, f
            assert (J.sum(0) == 1).all() and (J.sum(1) == 1).all(), f  # a permutation
        elif f.kind == "selection":
            assert set(np.unique(J)) <= {0.0, 1.0} and (J.sum(1) <= 1).all(), f
    assert {"elementwise", "reshape/transpose", "selection", "reduction"} <= {f.kind for f in e.factors}
    assert e.check() < 1e-15


def test_float32_and_an_output_that_is_wrt():
    v = one_layer(np.float32)
    assert eg.explain(v["L"], v["W"]).check() < 1e-6
    W = v["W"]
    e = eg.explain(W, W, names={"W": W})
    assert str(e) == "dW/dW = I: the output is W itself" and e.check() == 0.0


# ---- explaining changes nothing ---------------------------------------------------------


def test_explain_changes_no_value_no_grad_and_no_graph():
    v = one_layer()
    hook_calls = []
    v["z"].register_hook(lambda g: hook_calls.append(1))
    before = {k: (np.array(val), val._version) for k, val in v.items()}
    e = eg.explain(v["L"], v["W"], names=v)
    str(e), e.to_dot(), [e.jacobian(k) for k in range(len(e.factors))]
    assert hook_calls == []  # the rules ran, not the engine: hooks did not
    e.check()
    assert hook_calls == [1]  # check() runs one reverse pass (documented)
    assert v["W"].grad is None and v["b"].grad is None
    for k, val in v.items():
        np.testing.assert_array_equal(np.asarray(val), before[k][0])
        assert val._version == before[k][1]
    v["L"].backward()  # the graph is whole: no retain_graph was needed before
    fresh = one_layer()
    fresh["L"].backward()
    np.testing.assert_array_equal(v["W"].grad.numpy(), fresh["W"].grad.numpy())
    np.testing.assert_array_equal(v["b"].grad.numpy(), fresh["b"].grad.numpy())


def test_a_freed_graph_is_named():
    v = one_layer()
    v["L"].backward()
    with pytest.raises(RuntimeError, match="explain: .*freed.*retain_graph=True"):
        eg.explain(v["L"], v["W"])


# ---- bad input --------------------------------------------------------------------------


def test_bad_input_raises_naming_what_was_asked():
    v = one_layer()
    with pytest.raises(TypeError, match="explain: output must be a Variable, got ndarray"):
        eg.explain(np.ones(3), v["W"])
    with pytest.raises(TypeError, match="explain: wrt must be a Variable, got float"):
        eg.explain(v["L"], 1.0)
    with pytest.raises(TypeError, match=r"names\['z'\] must be a Variable"):
        eg.explain(v["L"], v["W"], names={"z": 3})
    with pytest.raises(ValueError, match=r"explain: x \(shape \(4,\)\) does not require grad"):
        eg.explain(v["L"], v["x"], names=v)
    other = eg.Variable(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match=r"the output L \(shape \(\)\) does not depend on other \(shape \(2,\)\)"):
        eg.explain(v["L"], other, names={**v, "other": other})
    with pytest.raises(ValueError, match="does not depend on"):
        eg.explain(v["z"], eg.Variable(np.ones(2), requires_grad=True) * 2)  # a non-leaf elsewhere
    with pytest.raises(ValueError, match=r"the output out \(shape \(4,\)\) does not require grad"):
        eg.explain(v["x"] * 2, v["W"])


def test_check_refuses_large_dense_factors():
    W = eg.Variable(np.ones((20, 20)), requires_grad=True)
    e = eg.explain(eg.tanh(W).sum(), W)
    assert e.check() < 1e-15
    with pytest.raises(ValueError, match=r"dtanh/dwrt|dv1/dwrt"):
        e.check(limit=100_000)
    with pytest.raises(ValueError, match=r"dense 400 x 400 matrix \(160,000 entries\); forming is limited to 100,000"):
        e.check(limit=100_000)


# ---- DOT --------------------------------------------------------------------------------


def test_to_dot_is_graphviz_text_of_the_paths():
    v = one_layer()
    e = eg.explain(v["L"], v["W"], names=v)
    dot = e.to_dot()
    assert dot.startswith("digraph explain {") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}") == 1
    assert dot.count(" -> ") == len(e.factors)
    assert 'label="dz/dy\\nsigmoid: elementwise\\n3 x 3", style=dashed' in dot
    assert 'label="W\\n(3, 4)"' in dot
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    result = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "<svg" in result.stdout


def test_the_readme_example_runs_and_prints_what_it_shows():
    import io
    import contextlib
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## The chain rule, read off the graph"):]
    code, printed = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {})
    # The values are random; the printout's structure and costs are not.
    assert out.getvalue().strip() == printed.strip()


def test_a_custom_function_is_a_dense_factor_and_a_deep_chain_is_walked_without_recursion():
    class Cube(eg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x * x * g

    x = eg.Variable(rng.standard_normal(5), requires_grad=True)
    e = eg.explain(Cube.apply(x).sum(), x)
    assert [(f.op, f.kind) for f in e.factors] == [("sum", "reduction"), ("Cube", "dense")]
    np.testing.assert_allclose(e.jacobian(1), np.diag(3 * np.asarray(x) ** 2), rtol=1e-15)
    assert e.check() < 1e-15
    h = x
    for _ in range(3000):
        h = eg.tanh(h) * 1.0001
    e = eg.explain(h.sum(), x)
    assert len(e.factors) == 6001 and e.n_paths == 1

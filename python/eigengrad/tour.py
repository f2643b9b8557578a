"""A walk through the source text, on live values: ``python -m eigengrad.tour``.

The chapter "Vector and matrix derivatives" teaches the gradient in denominator
layout, the Jacobian, the vector chain rule, and backpropagation through one layer
``x -> y = W x + b -> z = sigmoid(y) -> L``. Each section below computes its claim
with eigengrad and checks it; ``tests/test_tour.py`` asserts the same facts.
"""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict

import numpy as np

import eigengrad as eg

_rng = np.random.default_rng(7)
W0 = _rng.standard_normal((3, 4))
X0 = _rng.standard_normal(4)
B0 = _rng.standard_normal(3)


def sigma(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-v))
    return out


def _grad_of(v: eg.Variable) -> np.ndarray:
    """``v.grad`` as a NumPy array (set by the backward pass before)."""
    assert v.grad is not None, "backward() fills .grad"
    return v.grad.numpy()


def layout() -> Dict[str, Any]:
    """Denominator layout: the derivative has the shape of what you differentiate by."""
    x = eg.Variable(X0, requires_grad=True)
    W = eg.Variable(W0, requires_grad=True)
    (x * x).sum().backward()  # y = x . x, a scalar of a vector
    eg.sigmoid(W @ X0).sum().backward()  # a scalar of a matrix
    return {
        "vector_shape": x.shape,
        "vector_grad_shape": _grad_of(x).shape,
        "vector_grad_is_2x": bool(np.allclose(_grad_of(x), 2 * X0)),
        "matrix_shape": W.shape,
        "matrix_grad_shape": _grad_of(W).shape,
    }


def jacobian_layout() -> Dict[str, Any]:
    """Vector by vector: the m x n Jacobian, J[i, j] = dy_i / dx_j."""
    def f(x: eg.Variable) -> eg.Variable:  # R^4 -> R^3
        return eg.tanh(W0 @ x)

    J = eg.jacobian(f)(X0).numpy()
    y_grad_row1 = eg.grad(lambda x: f(x)[1])(X0).numpy()
    eps = 1e-6
    e2 = np.zeros(4)
    e2[2] = eps
    entry = (np.tanh(W0 @ (X0 + e2))[1] - np.tanh(W0 @ (X0 - e2))[1]) / (2 * eps)
    return {
        "shape": J.shape,
        "row_1_is_grad_of_y1": bool(np.allclose(J[1], y_grad_row1)),
        "entry_1_2": float(J[1, 2]),
        "entry_1_2_by_finite_differences": float(entry),
        "J": J,
    }


def chain_rule() -> Dict[str, Any]:
    """dz/dx = (dz/dy)(dy/dx), and backpropagation's single VJP instead."""
    n, k, m = 400, 400, 400
    rng = np.random.default_rng(1)
    A = rng.standard_normal((k, n)) / np.sqrt(n)
    C = rng.standard_normal((m, k)) / np.sqrt(k)
    x = rng.standard_normal(n)
    def g(x: Any) -> eg.Variable:  # y = g(x), of a Variable or an array
        return eg.tanh(A @ x)

    def f(y: eg.Variable) -> eg.Variable:  # z = f(y)
        return eg.sin(C @ y)

    def loss(x: eg.Variable) -> eg.Variable:
        return f(g(x)).sum()

    start = time.perf_counter()
    J_f = eg.jacobian(f, mode="rev")(g(x)).numpy()
    J_g = eg.jacobian(g, mode="rev")(x).numpy()
    product = J_f @ J_g
    jacobian_seconds = time.perf_counter() - start
    start = time.perf_counter()
    backprop = eg.grad(loss)(x).numpy()
    vjp_seconds = time.perf_counter() - start
    return {
        "chain_rule_holds": bool(np.allclose(eg.jacobian(lambda v: f(g(v)))(x).numpy(), product)),
        "vjp_matches_row_sum": bool(np.allclose(np.ones(m) @ product, backprop)),
        # multiply-adds: forming J_f @ J_g, against pushing one row vector back
        "jacobian_product_flops": m * k * n,
        "vjp_flops": m * k + k * n,
        "jacobian_seconds": jacobian_seconds,
        "vjp_seconds": vjp_seconds,
    }


def backprop_one_layer() -> Dict[str, Any]:
    """y = W x + b, z = sigmoid(y), L = sum(z): the gradients by hand and by eigengrad."""
    W = eg.Variable(W0, requires_grad=True)
    b = eg.Variable(B0, requires_grad=True)
    x = eg.Variable(X0, requires_grad=True)
    L = eg.sigmoid(W @ x + b).sum()
    L.backward()
    y = W0 @ X0 + B0
    delta = sigma(y) * (1 - sigma(y))  # dL/dy = dL/dz * sigma'(y), dL/dz = 1
    return {
        "L": L.item(),
        "W_grad_matches": bool(np.allclose(_grad_of(W), np.outer(delta, X0))),
        "b_grad_matches": bool(np.allclose(_grad_of(b), delta)),
        "x_grad_matches": bool(np.allclose(_grad_of(x), W0.T @ delta)),
        "W_grad": _grad_of(W),
    }


def descent_step(lr: float = 0.5) -> Dict[str, float]:
    """One gradient-descent step against the gradient lowers L."""
    def loss(W: eg.Variable, b: eg.Variable) -> eg.Variable:
        return eg.sigmoid(W @ X0 + b).sum()
    (L0, (gW, gb)) = eg.value_and_grad(loss, argnums=(0, 1))(W0, B0)
    W1 = W0 - lr * gW.numpy()
    b1 = B0 - lr * gb.numpy()
    return {"L_before": L0.item(), "L_after": loss(eg.Variable(W1), eg.Variable(b1)).item()}


def explain_one_layer() -> Dict[str, Any]:
    """Section 4's chain, read off the recorded graph by eg.explain and checked."""
    W = eg.Variable(W0, requires_grad=True)
    b = eg.Variable(B0, requires_grad=True)
    x = eg.Variable(X0)
    y = W @ x + b
    z = eg.sigmoid(y)
    L = z.sum()
    e = eg.explain(L, W, names={"L": L, "z": z, "y": y, "W": W, "b": b})
    by_op = {f.op: f for f in e.factors}
    return {
        "explanation": e,
        "text": str(e),
        "chain": str(e).splitlines()[0],
        "dz_dy_shape": by_op["sigmoid"].shape,
        "dz_dy_diagonal": by_op["sigmoid"].kind == "elementwise",
        "dy_dW_kind": by_op["matmul"].kind,
        "check": e.check(),
        "W_grad_untouched": W.grad is None,
        "form_cost": e.form_cost,
        "apply_cost": e.apply_cost,
    }


def render(e: "eg.Explanation", stem: str) -> str:
    """Draws the explanation to `stem`.svg with Graphviz's dot, else its first path to
    `stem`.png with matplotlib; returns the file's path, or "" when neither is installed."""
    if shutil.which("dot"):
        subprocess.run(["dot", "-Tsvg", "-o", stem + ".svg"], input=e.to_dot(), text=True, check=True, timeout=60)
        return stem + ".svg"
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return ""
    chain = [e.factors[k] for k in (e.paths or [()])[0]]
    values = [e.output_label] + [f.input for f in chain]
    fig = Figure(figsize=(2.2 * len(values), 2.2))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_ylim(-1, 1)
    for i, label in enumerate(values):
        ax.text(i, 0, label, ha="center", va="center", bbox={"boxstyle": "round", "fc": "white"})
    for i, f in enumerate(chain):
        ax.annotate("", xy=(i + 0.8, 0), xytext=(i + 0.2, 0),
                    arrowprops={"arrowstyle": "->", "linestyle": "--" if f.diagonal else "-"})
        ax.text(i + 0.5, 0.35, f"{f.name}\n{f.op}\n{f.shape[0]} x {f.shape[1]}", ha="center", fontsize=8)
    fig.savefig(stem + ".png")
    return stem + ".png"


def monitor_one_layer() -> Dict[str, Any]:
    """eg.grad_monitor on section 4's layer, batched (50 inputs) with W scaled by 8 so
    that some sigmoid units saturate; then a log of values below 0 makes a NaN."""
    X = np.random.default_rng(8).standard_normal((4, 50))
    W = eg.Variable(8 * W0, requires_grad=True)
    b = eg.Variable(B0, requires_grad=True)
    with eg.grad_monitor() as m:
        z = eg.sigmoid(W @ X + B0[:, None] + b[:, None] - B0[:, None])
        z.sum().backward()
    rows = {p["shape"]: p for p in m.to_dict()["parameters"]}
    (act,) = m.to_dict()["activations"]
    s = sigma(8 * W0 @ X + B0[:, None])
    by_hand = (s * (1 - s)) @ X.T  # dL/dW = sum over the batch of sigma'(y) x^T
    frame = inspect.currentframe()
    with eg.grad_monitor() as bad:
        eg.log(z - 0.5).sum(); nan_line = frame.f_lineno if frame else -1  # noqa: E702
    nan = bad.to_dict()["nonfinite"]["forward"]
    return {
        "monitor": m,
        "W_norm": rows[(3, 4)]["norm"],
        "W_norm_by_hand": float(np.linalg.norm(by_hand)),
        "W_max_abs": rows[(3, 4)]["max_abs"],
        "W_max_abs_by_hand": float(np.abs(by_hand).max()),
        "saturated": act["saturated"],
        "saturated_by_hand": float(np.mean(s * (1 - s) < 1e-3)),
        "nan_op": nan["op"],
        "nan_line": int(nan["where"].rpartition(":")[2]),
        "nan_line_in_tour": nan_line,
    }


def budget_and_sparsity() -> Dict[str, Any]:
    """eg.jacobian under a memory budget (section 2's layer, widened), then a sparse
    Jacobian: a tridiagonal residual computed in one pass per colour."""
    rng = np.random.default_rng(9)
    A, B = rng.standard_normal((3000, 1000)) / 30, rng.standard_normal((40, 3000)) / 60
    f = lambda v: B @ eg.tanh(A @ v)  # noqa: E731  R^1000 -> R^40 (wide), through 3000 hidden values
    x = rng.standard_normal(1000)
    budget = 1_000_000  # one pass of all 40 rows needs about 2.3 MB
    plan = eg.jacobian_plan(f, x, memory_budget=budget)
    eg.empty_cache()
    before = eg.memory_stats()["bytes_in_use"]
    eg.reset_peak_memory_stats()
    J = eg.jacobian(f, memory_budget=budget)(x).numpy()
    peak = eg.memory_stats()["peak_bytes_in_use"] - before
    result = {"plan": plan, "budget": budget, "peak": peak, "matches_dense": bool(np.allclose(J, eg.jacobian(f)(x).numpy()))}
    try:
        from eigengrad.sparse_jacobian import _scipy_sparse, plan_colouring
        _scipy_sparse("tour")  # raises ImportError without scipy
    except ImportError:
        return {**result, "sparse": None}

    def residual(u: eg.Variable) -> eg.Variable:  # u'' + u^3 on a grid, the ends fixed: a tridiagonal Jacobian
        inner = u[:-2] - 2 * u[1:-1] + u[2:] + u[1:-1] ** 3
        return eg.concatenate([u[:1] * 1.0, inner, u[-1:] * 1.0])
    u = np.random.default_rng(11).standard_normal(2000)
    P = eg.jacobian_sparsity(residual, u)
    Js = eg.jacobian(residual, sparsity=P)(u)
    by_hand = np.diag(np.r_[1.0, -2 + 3 * u[1:-1] ** 2, 1.0]) + np.diag(np.r_[0, np.ones(1998)], 1) \
        + np.diag(np.r_[np.ones(1998), 0], -1)
    return {**result, "sparse": {
        "n": u.size, "nonzeros": Js.nnz, "true_nonzeros": int((by_hand != 0).sum()),
        "colours": plan_colouring(P).count, "matches_by_hand": bool(np.allclose(Js.toarray(), by_hand)),
        "same_entries": bool(np.array_equal(P.toarray(), by_hand != 0)),
    }}


def main() -> None:
    np.set_printoptions(precision=4, suppress=True)
    print("1. Denominator layout: the derivative has the shape of what you differentiate by")
    s = layout()
    print(f"   y = x.x with x of shape {s['vector_shape']}: dy/dx has shape {s['vector_grad_shape']} (= 2x: "
          f"{s['vector_grad_is_2x']})")
    print(f"   L = sum(sigmoid(W x)) with W of shape {s['matrix_shape']}: dL/dW has shape {s['matrix_grad_shape']}")

    print("\n2. The Jacobian of y = tanh(W x), R^4 -> R^3: an m x n matrix, J[i, j] = dy_i/dx_j")
    s = jacobian_layout()
    print(f"   shape {s['shape']}; row 1 is the gradient of y_1: {s['row_1_is_grad_of_y1']}")
    print(f"   J[1, 2] = {s['entry_1_2']:.6f}, by finite differences {s['entry_1_2_by_finite_differences']:.6f}")
    print("   " + str(s["J"]).replace("\n", "\n   "))

    print("\n3. The chain rule: dz/dx = (dz/dy)(dy/dx), a product of Jacobians (sizes 400)")
    s = chain_rule()
    print(f"   jacobian(f o g) == jacobian(f) @ jacobian(g): {s['chain_rule_holds']}")
    print(f"   backpropagation computes 1^T (dz/dy)(dy/dx) right to left as vector-Jacobian products: "
          f"matches {s['vjp_matches_row_sum']}")
    print(f"   cost: {s['jacobian_product_flops']:,} multiply-adds to form the product, "
          f"{s['vjp_flops']:,} for the VJPs ({s['jacobian_product_flops'] // s['vjp_flops']}x fewer)")
    print(f"   time: Jacobians {1e3 * s['jacobian_seconds']:.1f} ms, one backward pass {1e3 * s['vjp_seconds']:.2f} ms")

    print("\n4. Backpropagation through y = W x + b, z = sigmoid(y), L = sum(z)")
    s = backprop_one_layer()
    print(f"   L = {s['L']:.6f}")
    print(f"   dL/dW = (dL/dz * sigma'(y)) x^T: {s['W_grad_matches']};  dL/db = dL/dz * sigma'(y): "
          f"{s['b_grad_matches']};  dL/dx = W^T (dL/dz * sigma'(y)): {s['x_grad_matches']}")
    print("   dL/dW =\n   " + str(s["W_grad"]).replace("\n", "\n   "))

    print("\n5. One gradient-descent step, W <- W - 0.5 dL/dW, b <- b - 0.5 dL/db")
    s = descent_step()
    print(f"   L: {s['L_before']:.6f} -> {s['L_after']:.6f} (lower: {s['L_after'] < s['L_before']})")

    print("\n6. The chain of section 4 on live values: eg.explain(L, W)")
    s = explain_one_layer()
    print("   " + s["text"].replace("\n", "\n   "))
    print(f"   dz/dy is {s['dz_dy_shape'][0]} x {s['dz_dy_shape'][1]} and diagonal: {s['dz_dy_diagonal']} "
          f"(applied as a scaling); the factor of W itself, dv2/dW with v2 = W x, is a {s['dy_dW_kind']}")
    print(f"   the dense factors multiplied agree with reverse mode to {s['check']:.1e} (below 1e-12: "
          f"{s['check'] < 1e-12}); W.grad untouched: {s['W_grad_untouched']}")
    drawn = render(s["explanation"], os.path.join(tempfile.gettempdir(), "eigengrad-tour-explain"))
    if drawn:
        print(f"   the path, drawn: {drawn}")
    else:
        print("   the path in Graphviz's language (install graphviz or matplotlib to draw it):")
        print("   " + s["explanation"].to_dot().rstrip().replace("\n", "\n   "))

    print("\n7. Watching a backward pass: eg.grad_monitor on the layer of section 4 (W scaled by 8, 50 inputs)")
    s = monitor_one_layer()
    print("   " + str(s["monitor"]).replace("\n", "\n   "))
    print(f"   |dL/dW| = {s['W_norm']:.6f}, by the formula of section 4: {s['W_norm_by_hand']:.6f}; "
          f"max |dL/dW| = {s['W_max_abs']:.6f} (by hand {s['W_max_abs_by_hand']:.6f})")
    print(f"   saturated sigmoid units (sigma'(y) < 1e-3): {s['saturated']:.1%}, counted by hand "
          f"{s['saturated_by_hand']:.1%}")
    print(f"   log(z - 0.5) makes a NaN where z < 0.5: the monitor names {s['nan_op']!r} at line {s['nan_line']} "
          f"(the tour's line: {s['nan_line_in_tour']})")


    print("\n8. A Jacobian within a memory budget, and a sparse one")
    s = budget_and_sparsity()
    p = s["plan"]
    print(f"   B tanh(A x), R^1000 -> R^40 (wide), budget {s['budget']:,} bytes: "
          f"{'reverse' if p.mode == 'rev' else 'forward'} mode (reverse: {p.mode == 'rev'}), chunks of "
          f"{p.chunk_size} in {p.passes} passes")
    print(f"   measured extra peak {s['peak']:,} bytes, under the budget: {s['peak'] <= s['budget']}; "
          f"equals the dense Jacobian: {s['matches_dense']}")
    if s["sparse"] is None:
        print('   (sparse Jacobians need scipy: pip install ".[sparse]")')
    else:
        q = s["sparse"]
        print(f"   u'' + u^3 on {q['n']} points: {q['true_nonzeros']} nonzeros (tridiagonal); NaN probes found "
              f"{q['nonzeros']}, the same entries: {q['same_entries']}")
        print(f"   {q['colours']} colours, so {q['colours']} tangents instead of {q['n']} (three: "
              f"{q['colours'] == 3}); equals the Jacobian by hand: {q['matches_by_hand']}")


if __name__ == "__main__":
    main()

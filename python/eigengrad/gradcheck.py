"""``gradcheck``: reverse- and forward-mode derivatives against central finite
differences, and against each other (the adjoint identity)."""

from __future__ import annotations

from typing import Any, Callable, List, Sequence, Tuple

import numpy as np

from eigengrad import autograd
from eigengrad._core import Variable


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` with the worst-matching Jacobian entry."""


def _outputs(result: Any) -> List[Variable]:
    if isinstance(result, Variable):
        return [result]
    if isinstance(result, (tuple, list)):
        return [r if isinstance(r, Variable) else Variable(r) for r in result]
    return [Variable(result)]


def _jacobians_numeric(f: Callable[..., Any], values: List[np.ndarray], eps: float) -> List[List[np.ndarray]]:
    """J[i][o] of shape (outputs[o].size, inputs[i].size) by central differences."""
    def evaluate(vals: List[np.ndarray]) -> List[np.ndarray]:
        with autograd.no_grad():
            return [np.array(o, dtype=np.float64).ravel() for o in _outputs(f(*[Variable(v) for v in vals]))]

    base = evaluate(values)
    jac = [[np.zeros((b.size, v.size)) for b in base] for v in values]
    for i, v in enumerate(values):
        for k in range(v.size):
            plus = [w.copy() for w in values]
            minus = [w.copy() for w in values]
            plus[i].flat[k] += eps
            minus[i].flat[k] -= eps
            for o, (fp, fm) in enumerate(zip(evaluate(plus), evaluate(minus))):
                jac[i][o][:, k] = (fp - fm) / (2 * eps)
    return jac


def _jacobians_reverse(f: Callable[..., Any], values: List[np.ndarray]) -> List[List[np.ndarray]]:
    """J[i][o] by one vector-Jacobian product per output element."""
    xs = [Variable(v, requires_grad=True) for v in values]
    outs = _outputs(f(*xs))
    jac = [[np.zeros((o.size, v.size)) for o in outs] for v in values]
    for o, out in enumerate(outs):
        if not out.requires_grad:
            continue
        for j in range(out.size):
            seed = np.zeros(out.shape, dtype=np.float64)
            seed.flat[j] = 1.0
            grads = autograd.grad(out, xs, seed, retain_graph=True, allow_unused=True)
            for i, g in enumerate(grads):
                if g is not None:
                    if g.shape != xs[i].shape:
                        raise GradcheckError(
                            f"gradient for input {i} has shape {g.shape}, the input has {xs[i].shape}"
                        )
                    jac[i][o][j, :] = np.asarray(g).ravel()
    return jac


def _jacobians_forward(f: Callable[..., Any], values: List[np.ndarray]) -> List[List[np.ndarray]]:
    """J[i][o] by forward mode: one batched JVP per input, its basis as the batch."""
    from eigengrad.functional import jvp

    jac = []
    for i, v in enumerate(values):
        basis = np.eye(v.size).reshape((v.size,) + v.shape)

        def f_i(xi: Variable, i: int = i) -> Any:
            return f(*[xi if k == i else Variable(w) for k, w in enumerate(values)])

        _, touts = jvp(f_i, (values[i],), (basis,))
        touts = touts if isinstance(touts, tuple) else (touts,)
        outs = _outputs(f(*[Variable(w) for w in values])) if v.size == 0 else None
        sizes = [o.size for o in outs] if outs is not None else [int(np.asarray(t).size // v.size) for t in touts]
        jac.append([np.asarray(t, dtype=np.float64).reshape(v.size, m).T for t, m in zip(touts, sizes)])
    return jac


def _check_adjoint(f: Callable[..., Any], values: List[np.ndarray], rtol: float) -> None:
    """<u, J v> (forward mode) == <J^T u, v> (reverse mode) for random u, v."""
    from eigengrad.functional import jvp, vjp

    rng = np.random.default_rng(0)
    vs = [rng.standard_normal(v.shape) for v in values]
    out, touts = jvp(f, values, vs)
    outs = _outputs(out)
    touts = touts if isinstance(touts, tuple) else (touts,)
    us = [rng.standard_normal(o.shape) for o in outs]
    forward = sum(float(np.sum(u * np.asarray(t))) for u, t in zip(us, touts))
    _, vjp_fn = vjp(f, *values)
    grads = vjp_fn(us[0] if isinstance(out, Variable) else tuple(us))
    reverse = sum(float(np.sum(np.asarray(g) * v)) for g, v in zip(grads, vs))
    if any(o.dtype == np.float32 for o in outs):
        rtol = max(rtol, 1e-6)  # a float32 output rounds both products differently
    scale = max(1.0, abs(forward), abs(reverse))
    if not abs(forward - reverse) <= rtol * scale:
        raise GradcheckError(
            f"gradcheck failed: adjoint identity <u, J v> = {forward!r} (forward mode) but "
            f"<J^T u, v> = {reverse!r} (reverse mode)"
        )


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    check_forward: bool = True,
    check_adjoint: bool = True,
    adjoint_rtol: float = 1e-12,
) -> bool:
    """Checks the derivatives of ``f`` at ``inputs``, in both modes.

    ``inputs`` is one array-like or a sequence of them; they are converted to
    float64 and differentiated by central finite differences with step ``eps``.
    ``f`` returns a Variable or a tuple of them. Every entry of the reverse-mode
    Jacobian (one VJP per output element) and, with ``check_forward``, of the
    forward-mode Jacobian (one batched JVP per input) must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|``. With ``check_adjoint``,
    the two modes must also agree exactly on random directions:
    ``<u, J v> == <J^T u, v>`` to ``adjoint_rtol`` (1e-6 when ``f`` returns
    float32: the two products then round differently).

    Returns True, or raises :class:`GradcheckError` naming the worst entry (mode,
    input, output, their flat indices, and both values).
    """
    if isinstance(inputs, (Variable, np.ndarray)) or np.isscalar(inputs):
        inputs = (inputs,)
    values = [np.array(x, dtype=np.float64) for x in inputs]
    numeric = _jacobians_numeric(f, values, eps)
    modes = [("reverse", _jacobians_reverse(f, values))]
    if check_forward:
        modes.append(("forward", _jacobians_forward(f, values)))
    worst: Tuple[float, str] = (0.0, "")
    for mode, analytic in modes:
        for i, (ja, jn) in enumerate(zip(analytic, numeric)):
            for o, (a, n) in enumerate(zip(ja, jn)):
                excess = np.abs(a - n) - (atol + rtol * np.abs(n))
                excess = np.where(np.isnan(a) != np.isnan(n), np.inf, np.nan_to_num(excess, nan=-1.0))
                if excess.size and excess.max() > worst[0]:
                    r, c = np.unravel_index(int(np.argmax(excess)), excess.shape)
                    worst = (
                        float(excess.max()),
                        f"gradcheck failed ({mode} mode): d output[{o}].flat[{r}] / d input[{i}].flat[{c}]: "
                        f"analytic {a[r, c]!r}, numeric {n[r, c]!r} (atol={atol}, rtol={rtol})",
                    )
    if worst[0] > 0:
        raise GradcheckError(worst[1])
    if check_adjoint and all(v.size for v in values):
        _check_adjoint(f, values, adjoint_rtol)
    return True

"""``gradcheck``: reverse-mode gradients against central finite differences."""

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


def _jacobians_numeric(f: Callable, values: List[np.ndarray], eps: float) -> List[List[np.ndarray]]:
    """J[i][o] of shape (outputs[o].size, inputs[i].size) by central differences."""
    def evaluate(vals):
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


def _jacobians_reverse(f: Callable, values: List[np.ndarray]) -> List[List[np.ndarray]]:
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


def gradcheck(
    f: Callable[..., Any],
    inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Checks the reverse-mode derivatives of ``f`` at ``inputs``.

    ``inputs`` is one array-like or a sequence of them; they are converted to
    float64 and differentiated by central finite differences with step ``eps``.
    ``f`` returns a Variable or a tuple of them. Every Jacobian entry must satisfy
    ``|analytic - numeric| <= atol + rtol * |numeric|``.

    Returns True, or raises :class:`GradcheckError` naming the worst entry (input,
    output, their flat indices, and both values).
    """
    if isinstance(inputs, (Variable, np.ndarray)) or np.isscalar(inputs):
        inputs = (inputs,)
    values = [np.array(x, dtype=np.float64) for x in inputs]
    analytic = _jacobians_reverse(f, values)
    numeric = _jacobians_numeric(f, values, eps)
    worst: Tuple[float, str] = (0.0, "")
    for i, (ja, jn) in enumerate(zip(analytic, numeric)):
        for o, (a, n) in enumerate(zip(ja, jn)):
            excess = np.abs(a - n) - (atol + rtol * np.abs(n))
            excess = np.where(np.isnan(a) != np.isnan(n), np.inf, np.nan_to_num(excess, nan=-1.0))
            if excess.size and excess.max() > worst[0]:
                r, c = np.unravel_index(int(np.argmax(excess)), excess.shape)
                worst = (
                    float(excess.max()),
                    f"gradcheck failed: d output[{o}].flat[{r}] / d input[{i}].flat[{c}]: "
                    f"analytic {a[r, c]!r}, numeric {n[r, c]!r} (atol={atol}, rtol={rtol})",
                )
    if worst[0] > 0:
        raise GradcheckError(worst[1])
    return True

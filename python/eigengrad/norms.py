"""``eg.norm``: vector norms and the Frobenius norm, as ``numpy.linalg.norm``.

Conventions at the kink (0), pinned by tests in tests/test_conventions.py: the
gradient of the 2-norm (and Frobenius norm) at 0 is 0, the minimum-norm
subgradient (PyTorch's choice; a plain ``sqrt(sum(x**2))`` would give NaN there);
the 1-norm uses ``abs'(0) = 0``; the inf-norms share the gradient among ties.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import eigengrad._core as _core
from eigengrad._core import Variable

Axis = Union[None, int, Sequence[int]]


def norm(x: Any, ord: Optional[Union[int, float, str]] = None, axis: Axis = None,
         keepdims: bool = False) -> Variable:
    """The norm of ``x`` over ``axis`` (None: all axes), as ``numpy.linalg.norm``
    for the orders below.

    - ``ord=None`` or ``2`` (one axis), ``None`` or ``"fro"`` (two axes, or all):
      the Euclidean / Frobenius norm ``sqrt(sum(x**2))``; gradient 0 at 0.
    - ``ord=1``: ``sum(|x|)``; ``ord=inf``: ``max(|x|)``; ``ord=-inf``:
      ``min(|x|)``; another number ``p >= 1``: ``sum(|x|**p) ** (1/p)`` (gradient
      0 at 0). These are vector norms: one axis, or a 1-d ``x``.

    Matrix orders (``"nuc"``, spectral 2, and 1/inf over two axes) raise
    ``ValueError``."""
    x = x if isinstance(x, Variable) else _core._to_variable(x, "norm")
    # Axis values are checked by the ops below (errors name norm's parts).
    axes = tuple(range(x.ndim)) if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
    vector = len(axes) == 1
    if ord is None or (ord == "fro" and not vector) or (ord == 2 and vector):
        return _core._norm2(x, None if axis is None else axes, keepdims)
    if not vector:
        raise ValueError(f"norm: ord={ord!r} over {len(axes)} axes is a matrix norm, which eg.norm does not "
                         "compute; use ord=None or 'fro'")
    if isinstance(ord, str) or isinstance(ord, bool):
        raise ValueError(f"norm: invalid norm order {ord!r} for a vector")
    a = _core.abs(x)
    if ord == math.inf:
        return _core.max(a, axes, keepdims)
    if ord == -math.inf:
        return _core.min(a, axes, keepdims)
    if ord == 1:
        return _core.sum(a, axes, keepdims)
    if not ord >= 1:
        raise ValueError(f"norm: ord must be >= 1 (or inf, -inf) for a differentiable vector norm, got {ord!r}")
    # ||x||_p = m * (sum |x/m|^p)^(1/p), m = max |x|: no overflow, and with the
    # where()s no 0/0 or 0^(1/p - 1) in any derivative: the gradient at 0 is 0.
    m = _core.max(a, axes, True)
    y = a / _core.where(m == 0, 1.0, m)
    s = _core.sum(y ** float(ord), axes, True)
    out = m * _core.where(s == 0, 1.0, s) ** (1.0 / ord)
    return out if keepdims else _core.sum(out, axes, False)  # drops the kept size-1 axes

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
from eigengrad import linalg
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

    Over two axes (a matrix, or a stack of them), the matrix orders of NumPy:

    - ``ord=1`` / ``-1``: the largest / smallest column sum of ``|x|``;
      ``ord=inf`` / ``-inf``: the largest / smallest row sum (ties in the max or
      min share the gradient, as ``eg.max`` does);
    - ``ord=2`` / ``-2``: the largest / smallest singular value, and
      ``ord="nuc"``: their sum, through ``eg.linalg.svd`` (whose gradient needs
      distinct singular values for ``2`` and ``-2``; the nuclear norm's gradient
      ``U Vh`` is right at repeated ones)."""
    x = x if isinstance(x, Variable) else _core._to_variable(x, "norm")
    # Axis values are checked by the ops below (errors name norm's parts).
    axes = tuple(range(x.ndim)) if axis is None else (tuple(axis) if isinstance(axis, (tuple, list)) else (axis,))
    vector = len(axes) == 1
    if ord is None or (ord == "fro" and not vector) or (ord == 2 and vector):
        return _core._norm2(x, None if axis is None else axes, keepdims)
    if not vector:
        if len(axes) != 2:
            raise ValueError(f"norm: ord={ord!r} needs one axis (a vector norm) or two (a matrix norm); "
                             f"got {len(axes)} axes")
        return _matrix_norm(x, ord, axes, keepdims)
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


def _matrix_norm(x: Variable, ord: Union[int, float, str], axes: Sequence[int], keepdims: bool) -> Variable:
    """NumPy's matrix norms of the order ``ord`` over the two axes ``axes``."""
    row, col = (a + x.ndim if a < 0 else a for a in axes)
    if not (0 <= row < x.ndim and 0 <= col < x.ndim) or row == col:
        raise ValueError(f"norm: axes {tuple(axes)} are not two distinct axes of an array of dimension {x.ndim}")
    if ord in (1, -1, math.inf, -math.inf) and not isinstance(ord, bool):
        # the sum runs over rows for the column sums (1), over columns for the row sums (inf)
        summed, kept = (row, col) if ord in (1, -1) else (col, row)
        sums = _core.sum(_core.abs(x), (summed,), True)
        out = (_core.max if ord > 0 else _core.min)(sums, (kept,), True)
    elif ord in (2, -2, "nuc") and not isinstance(ord, bool):
        rest = [d for d in range(x.ndim) if d not in (row, col)]
        s = linalg.svd(_core.transpose(x, rest + [row, col]), compute_uv=False)
        out = _core.sum(s, (-1,), False) if ord == "nuc" else (_core.max if ord == 2 else _core.min)(s, (-1,), False)
        shape = list(x.shape)
        shape[row] = shape[col] = 1
        out = _core.reshape(out, shape)
    else:
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    return out if keepdims else _core.sum(out, (row, col), False)  # drops the kept size-1 axes


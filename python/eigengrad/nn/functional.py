"""Neural-network functions: the linear map, activations, dropout and losses.

The losses and ``linear`` are fused C++ ops (one graph node each, stable and
differentiable to any order). Every loss takes ``reduction="mean" | "sum" |
"none"``. A target given as a NumPy array or list (not a Variable) is data: it is
converted to the input's dtype, so a float32 model's loss stays float32.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

import eigengrad._core as _core
from eigengrad import random as _random
from eigengrad._core import Variable, erfc, relu, sigmoid, tanh

__all__ = [
    "linear", "relu", "tanh", "sigmoid", "gelu", "dropout",
    "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
]

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def linear(x: Any, weight: Any, bias: Optional[Any] = None) -> Variable:
    """``x @ weight.T + bias`` for ``x`` of shape ``(..., in)``, ``weight`` of shape
    ``(out, in)`` (the source text's ``y = W x + b`` on each row) and ``bias`` of
    shape ``(out,)`` or None. Fused: one GEMM with the transpose folded in."""
    return _core.linear(x, weight, bias)


def gelu(x: Any, approximate: str = "none") -> Variable:
    """GELU, ``x Phi(x)`` with ``Phi`` the standard normal CDF, as PyTorch's:
    ``approximate="none"`` (the default) is the exact ``0.5 x (1 + erf(x / sqrt 2))``,
    computed as ``0.5 x erfc(-x / sqrt 2)`` (no cancellation for negative x);
    ``approximate="tanh"`` is ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    Any other ``approximate`` is a ValueError."""
    v = x if isinstance(x, Variable) else Variable(x)
    if approximate == "none":
        return 0.5 * v * erfc(v * -_SQRT_HALF)
    if approximate == "tanh":
        inner = (v + 0.044715 * v * v * v) * _SQRT_2_OVER_PI
        return 0.5 * v * (1.0 + tanh(inner))
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def dropout(
    x: Any, p: float = 0.5, training: bool = True, generator: Optional[_random.Generator] = None
) -> Variable:
    """Zeroes each element with probability ``p`` and scales the rest by
    ``1 / (1 - p)`` (so the expectation is unchanged); the identity when not
    ``training`` or ``p == 0``. The mask comes from ``generator`` (default: the
    shared ``eg.random`` generator, so ``eg.random.seed`` makes it reproducible)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    v = x if isinstance(x, Variable) else Variable(x)
    if not training or p == 0:
        return v
    if p == 1:
        return v * 0.0
    draw = (generator or _random._default).rand(*v.shape)
    mask = (np.asarray(draw) >= p).astype(v.dtype) / np.asarray(1 - p, v.dtype)
    return v * Variable(mask)


def _as_target(target: Any, like: Any) -> Any:
    """A non-Variable target as data in the input's dtype (Python scalars stay weak)."""
    if isinstance(target, Variable) or not isinstance(like, Variable):
        return target
    if isinstance(target, (list, tuple)):  # may hold Variables: stacked, never detached
        return _core.astype(_core._to_variable(target, "loss target"), like.dtype)
    return Variable(np.asarray(target), dtype=like.dtype)


def mse_loss(input: Any, target: Any, reduction: str = "mean") -> Variable:
    """Mean squared error ``(input - target)^2``, reduced. The shapes must be equal
    (a ``(N,)`` against ``(N, 1)`` mismatch is a ValueError, not a broadcast)."""
    return _core.mse_loss(input, _as_target(target, input), reduction)


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Variable:
    """Softmax cross-entropy ``logsumexp(logits_i) - logits_i[labels_i]`` per row.

    ``logits``: ``(N, C)`` with ``labels`` an integer array of shape ``(N,)``, or
    ``(C,)`` with a single integer label. Labels must be integers in ``[0, C)``
    (a float array is a TypeError, an out-of-range label a ValueError). Fused and
    stable: finite values and gradients at logits of +-1000. The gradient is
    ``softmax(logits) - onehot(labels)`` (divided by N for the mean).
    """
    return _core.cross_entropy(logits, labels, reduction)


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Variable:
    """``-target log sigmoid(logits) - (1 - target) log(1 - sigmoid(logits))``,
    computed stably as ``max(x, 0) - x t + log1p(exp(-|x|))``. Same shapes
    required; targets are probabilities in ``[0, 1]``. Gradient ``sigmoid(x) - t``
    (exact at ``x = 0`` too)."""
    return _core.binary_cross_entropy_with_logits(logits, _as_target(target, logits), reduction)


def _check_reduction(reduction: str, op: str) -> str:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{op}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    return reduction

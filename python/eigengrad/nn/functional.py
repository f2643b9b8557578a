"""Neural-network functions: the linear map, activations, dropout, losses, layer
normalisation, embedding lookup and 1-d convolution.

The losses and ``linear`` are fused C++ ops (one graph node each, stable and
differentiable to any order). Every loss takes ``reduction="mean" | "sum" |
"none"``. A target given as a NumPy array or list (not a Variable) is data: it is
converted to the input's dtype, so a float32 model's loss stays float32.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np

import eigengrad._core as _core
from eigengrad import random as _random
from eigengrad._core import Variable, erfc, relu, sigmoid, tanh
from eigengrad.batching import BatchedVariable, innermost, per_element

__all__ = [
    "linear", "relu", "tanh", "sigmoid", "gelu", "dropout",
    "mse_loss", "cross_entropy", "binary_cross_entropy_with_logits",
    "layer_norm", "embedding", "conv1d",
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
    v = _variable(x, "gelu")
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
    v = _variable(x, "dropout")
    if not training or p == 0:
        return v
    if p == 1:
        return v * 0.0
    source = generator or _random._default

    def mask(shape: Tuple[int, ...]) -> np.ndarray:
        keep: np.ndarray = (np.asarray(source.rand(*shape)) >= p).astype(v.dtype) / np.asarray(1 - p, v.dtype)
        return keep

    dropped: Variable = v * per_element(v, mask)  # inside eg.vmap: a mask of its own for each element
    return dropped


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


def _variable(x: Any, who: str) -> Variable:
    return x if isinstance(x, Variable) else _core._to_variable(x, who)


# ---- layer normalisation -------------------------------------------------------------


def _normalized_shape(normalized_shape: Union[int, Sequence[int]], who: str) -> Tuple[int, ...]:
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    if not shape or any(not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0 for n in shape):
        raise ValueError(f"{who}: normalized_shape must be one or more sizes >= 0, got {normalized_shape!r}")
    return tuple(int(n) for n in shape)


def _layer_norm(x: Any, shape: Tuple[int, ...], weight: Any, bias: Any, eps: float, who: str) -> Variable:
    x = _variable(x, who)
    if x.ndim < len(shape) or tuple(x.shape[x.ndim - len(shape):]) != shape:
        raise ValueError(
            f"{who}: input of shape {tuple(x.shape)} does not end in normalized_shape {shape}"
        )
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(np.shape(p)) != shape:
            raise ValueError(f"{who}: {name} has shape {tuple(np.shape(p))}, normalized_shape is {shape}")
    axes = tuple(range(-len(shape), 0))
    centred = x - _core.mean(x, axes, keepdims=True)
    variance = _core.mean(centred * centred, axes, keepdims=True)
    out: Variable = centred / _core.sqrt(variance + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def layer_norm(
    x: Any, normalized_shape: Union[int, Sequence[int]], weight: Optional[Any] = None,
    bias: Optional[Any] = None, eps: float = 1e-5,
) -> Variable:
    """Layer normalisation over the trailing axes, as ``torch.nn.functional.layer_norm``.

    Parameters
    ----------
    x : Variable or array_like
        Input of shape ``(..., *normalized_shape)``.
    normalized_shape : int or sequence of int
        The trailing shape normalised as one group.
    weight, bias : Variable or array_like, optional
        Of shape ``normalized_shape``: the result is scaled by ``weight`` and shifted
        by ``bias`` (element-wise, over the group).
    eps : float
        Added to the variance before the square root.

    Returns
    -------
    Variable
        ``(x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the
        biased variance (divisor n) taken over the trailing axes; the shape of ``x``.

    Raises
    ------
    ValueError
        When ``x`` does not end in ``normalized_shape``, or ``weight``/``bias`` has
        another shape.
    """
    shape = _normalized_shape(normalized_shape, "layer_norm")
    return _layer_norm(x, shape, weight, bias, eps, "layer_norm")


# ---- embedding lookup ----------------------------------------------------------------


def _indices(indices: Any, num_embeddings: int, who: str) -> Any:
    """Integer indices as an int64 array, each in ``[0, num_embeddings)`` (inside
    eg.vmap, batched indices as they are, once their values are checked)."""
    if isinstance(indices, BatchedVariable):
        _indices(innermost(indices), num_embeddings, who)
        return indices
    if isinstance(indices, Variable):
        raise TypeError(
            f"{who}: indices must be integers (a NumPy integer array or a list), got a Variable "
            "(Variables hold floats)"
        )
    arr = np.asarray(indices)
    if arr.dtype.kind not in "iu" and not (arr.size == 0 and arr.dtype.kind in "fb"):
        raise TypeError(f"{who}: indices must be integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size:
        low, high = int(arr.min()), int(arr.max())
        bad = low if low < 0 else high
        if low < 0 or high >= num_embeddings:
            raise IndexError(
                f"{who}: index {bad} is out of range for {num_embeddings} embeddings "
                f"(indices must be in [0, {num_embeddings}))"
            )
    return arr


def _padding_idx(padding_idx: Optional[int], num_embeddings: int, who: str) -> Optional[int]:
    if padding_idx is None:
        return None
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(
            f"{who}: padding_idx {padding_idx} is out of range for {num_embeddings} embeddings "
            f"(it must be in [-{num_embeddings}, {num_embeddings}))"
        )
    return padding_idx % num_embeddings


def _embedding(indices: Any, weight: Any, padding_idx: Optional[int], who: str) -> Variable:
    weight = _variable(weight, who)
    if weight.ndim != 2:
        raise ValueError(f"{who}: weight must be 2-d (num_embeddings, embedding_dim), got shape {tuple(weight.shape)}")
    num_embeddings = weight.shape[0]
    idx = _indices(indices, num_embeddings, who)
    padding_idx = _padding_idx(padding_idx, num_embeddings, who)
    out = _core.take(weight, idx, 0)
    if padding_idx is not None:
        # The padding row's value is read, but no gradient flows back to it: the
        # positions that read it take it from a detached copy of the weight.
        is_padding = (idx == padding_idx)[..., None]
        if isinstance(is_padding, BatchedVariable) or is_padding.any():
            out = _core.where(is_padding, weight.detach()[padding_idx], out)
    return out


def embedding(indices: Any, weight: Any, padding_idx: Optional[int] = None) -> Variable:
    """Rows of ``weight`` looked up by integer ``indices``, as
    ``torch.nn.functional.embedding``.

    Parameters
    ----------
    indices : array_like of int
        A NumPy integer array or a (nested) list of ints, any shape; each in
        ``[0, num_embeddings)``.
    weight : Variable or array_like
        The table, of shape ``(num_embeddings, embedding_dim)``.
    padding_idx : int, optional
        A row that gets no gradient (its value is still read); negative counts from
        the end.

    Returns
    -------
    Variable
        Of shape ``indices.shape + (embedding_dim,)``: ``out[..., :] = weight[indices[...]]``.
        The gradient of ``weight`` adds up the output cotangents of the positions
        that read each row.

    Raises
    ------
    TypeError
        When ``indices`` are not integers (a float array, a Variable).
    IndexError
        When an index is outside ``[0, num_embeddings)`` (negative indices included).
    ValueError
        When ``weight`` is not 2-d or ``padding_idx`` is out of range.
    """
    return _embedding(indices, weight, padding_idx, "embedding")


# ---- 1-d convolution -----------------------------------------------------------------


def _single(value: Any) -> Any:
    """PyTorch's one-element tuples (``stride=(2,)``) as their element."""
    return value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value


def _conv_padding(padding: Union[int, str], kernel_size: int, dilation: int, who: str) -> Tuple[int, int]:
    """(left, right) zero padding for an int, ``'valid'`` or ``'same'``."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = dilation * (kernel_size - 1)
        return total // 2, total - total // 2
    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool) and padding >= 0:
        return int(padding), int(padding)
    raise ValueError(f"{who}: padding must be an int >= 0, 'valid' or 'same', got {padding!r}")


def _check_conv_steps(stride: Any, padding: Any, dilation: Any, who: str) -> None:
    for name, value in (("stride", stride), ("dilation", dilation)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{who}: {name} must be an int >= 1, got {value!r}")
    if padding == "same" and stride != 1:
        raise ValueError(f"{who}: padding='same' needs stride 1, got stride {stride}")


def _conv1d(
    x: Any, weight: Any, bias: Optional[Any], stride: int, padding: Union[int, str], dilation: int, who: str,
) -> Variable:
    stride, padding, dilation = _single(stride), _single(padding), _single(dilation)
    x = _variable(x, who)
    weight = _variable(weight, who)
    if weight.ndim != 3:
        raise ValueError(f"{who}: weight must be 3-d (out_channels, in_channels, kernel_size), got shape {tuple(weight.shape)}")
    out_channels, in_channels, kernel_size = weight.shape
    if x.ndim not in (2, 3) or x.shape[-2] != in_channels:
        raise ValueError(
            f"{who}: expected input of shape (N, {in_channels}, L) or ({in_channels}, L) for weight of shape "
            f"{tuple(weight.shape)}, got {tuple(x.shape)}"
        )
    _check_conv_steps(stride, padding, dilation, who)
    if bias is not None and tuple(np.shape(bias)) != (out_channels,):
        raise ValueError(f"{who}: bias has shape {tuple(np.shape(bias))}, expected ({out_channels},)")
    left, right = _conv_padding(padding, kernel_size, dilation, who)

    batched = x.ndim == 3
    if not batched:
        x = _core.reshape(x, (1,) + tuple(x.shape))
    if left or right:
        x = _core.pad(x, ((0, 0), (0, 0), (left, right)))
    length = x.shape[2]
    span = dilation * (kernel_size - 1) + 1
    if length < span:
        raise ValueError(
            f"{who}: the padded input has length {length} (input shape {tuple(x.shape)}), shorter than the "
            f"kernel's span {span} (kernel_size {kernel_size}, dilation {dilation})"
        )
    out_length = (length - span) // stride + 1
    # im2col: columns[n, c, l, k] = x[n, c, l * stride + k * dilation], then one
    # GEMM with the weight as a (out_channels, in_channels * kernel_size) matrix.
    where = np.arange(out_length)[:, None] * stride + np.arange(kernel_size)[None, :] * dilation
    columns = _core.take(x, where, 2)                                   # (N, C, L_out, K)
    columns = _core.reshape(_core.transpose(columns, (0, 2, 1, 3)),
                            (x.shape[0], out_length, in_channels * kernel_size))
    out = _core.linear(columns, _core.reshape(weight, (out_channels, in_channels * kernel_size)), bias)
    out = _core.transpose(out, (0, 2, 1))                               # (N, C_out, L_out)
    return out if batched else _core.reshape(out, tuple(out.shape[1:]))


def conv1d(
    x: Any, weight: Any, bias: Optional[Any] = None, stride: int = 1, padding: Union[int, str] = 0,
    dilation: int = 1,
) -> Variable:
    """1-d convolution (cross-correlation, as in PyTorch) over the last axis.

    Parameters
    ----------
    x : Variable or array_like
        Input of shape ``(N, in_channels, L)``, or ``(in_channels, L)`` for one sample.
    weight : Variable or array_like
        Of shape ``(out_channels, in_channels, kernel_size)``.
    bias : Variable or array_like, optional
        Of shape ``(out_channels,)``.
    stride, dilation : int
        Step between output positions; spacing between kernel taps (PyTorch's
        one-element tuples are accepted too, here and for ``padding``).
    padding : int or {'valid', 'same'}
        Zeros added on both ends; ``'same'`` (stride 1 only) pads
        ``dilation * (kernel_size - 1)`` in all, the odd one on the right.

    Returns
    -------
    Variable
        ``out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] x[n, c, l * stride + k * dilation]``
        (on the padded input), of shape ``(N, out_channels, L_out)`` with
        ``L_out = (L + pad - dilation * (kernel_size - 1) - 1) // stride + 1``.

    Raises
    ------
    ValueError
        Naming conv1d and the shapes: a wrong input rank or channel count, a weight
        that is not 3-d, a bias of the wrong shape, bad stride/padding/dilation, or a
        padded input shorter than the kernel's span.

    Notes
    -----
    Computed as im2col: ``take`` gathers the ``(L_out, kernel_size)`` windows of
    every channel, and one matrix product with the flattened weight does the rest.
    Every step is a recorded op, so the gradients (both modes, any order) come from
    their rules.
    """
    return _conv1d(x, weight, bias, stride, padding, dilation, "conv1d")

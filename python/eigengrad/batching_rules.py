"""The batching rules of eg.vmap, one per op (Note [Batched values] in
eigengrad.batching).

Each rule gets the batch size ``b``, the op's arguments in signature order (those of
the vmap level being computed as physical values with the batch on axis 0) and a
flag per argument saying which are. It runs the op once on the whole batch: axes
shift past the batch axis, batched operands get size-1 axes so that they broadcast
as one element would, and the result carries the batch on axis 0.
tests/ops/test_vmap_ops.py checks every rule against a Python loop over the batch, and that
every public op has one.
"""

from __future__ import annotations

import operator
from typing import Any, List, Sequence, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad import _variable
from eigengrad.batching import (align, broadcast_batch, composite_rule, logical_ndim, moveaxis, normalize_axis,
                                physical_axes, reshape, rule, rules_for, shape_of)

Args = Sequence[Any]
Flags = Sequence[Any]


def _materialize(x: Any, batched: bool, b: int) -> Any:
    return x if batched else broadcast_batch(x, b)


def _flatten_element(x: Any, b: int) -> Any:
    """A batched value as (b, elements of one)."""
    return reshape(x, (b, int(np.prod(shape_of(x)[1:], dtype=np.int64))))


# ---- element-wise ------------------------------------------------------------------------

@rules_for("neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "log1p", "expm1", "square",
           "sign", "arctan", "arcsin", "arccos", "sinh", "cosh", "arctanh", "softplus", "log_sigmoid", "erf", "erfc")
def _unary(op: Any, b: int, args: Args, batched: Flags) -> Any:
    return op(args[0])


@rule("clip")
def _clip(b: int, args: Args, batched: Flags) -> Any:
    x, lo, hi = args
    if not batched[1] and not batched[2]:
        return _core.clip(x, lo, hi)
    # Batched bounds: clip's rule as wheres (the gradient passes inside the bounds, inclusive).
    out, out_on = x, batched[0]
    for bound, on, outside in ((lo, batched[1], operator.lt), (hi, batched[2], operator.gt)):
        if bound is not None:
            v, c = _aligned([out, bound], [out_on, on])
            out, out_on = _core.where(np.asarray(outside(v, c)), c, v), True
    return out


@rule("astype")
def _astype(b: int, args: Args, batched: Flags) -> Any:
    return _core.astype(args[0], args[1])


def _aligned(args: Args, batched: Flags) -> List[Any]:
    """The operands of a broadcasting op, batched ones given size-1 axes after the batch
    axis up to the largest element ndim."""
    n = max(logical_ndim(a, f) for a, f in zip(args, batched))
    return [align(a, f, n) for a, f in zip(args, batched)]


@rules_for("add", "sub", "mul", "div", "pow", "maximum", "minimum", "logaddexp", "arctan2")
def _binary(op: Any, b: int, args: Args, batched: Flags) -> Any:
    return op(*_aligned(args, batched))


@rule("where")
def _where(b: int, args: Args, batched: Flags) -> Any:
    condition, x, y = _aligned(args, batched)
    out = _core.where(condition, x, y)
    if not batched[1] and not batched[2]:  # the condition alone is batched: the result is anyway
        out = _core.broadcast_to(out, (b,) + shape_of(out)[1:]) if shape_of(out)[:1] != (b,) else out
    return out


class _Comparisons:
    """The comparison operators under the names BatchedVariable dispatches them by."""

    less, less_equal, greater, greater_equal = operator.lt, operator.le, operator.gt, operator.ge
    equal, not_equal = operator.eq, operator.ne


@rules_for("less", "less_equal", "greater", "greater_equal", "equal", "not_equal", ops=_Comparisons)
def _compare(op: Any, b: int, args: Args, batched: Flags) -> Any:
    out = op(*_aligned(args, batched))  # a NumPy bool array (Variable comparisons give one)
    return np.broadcast_to(out, (b,) + np.shape(out)[1:]) if np.shape(out)[:1] != (b,) else out


# ---- matmul and contractions -------------------------------------------------------------

@rule("matmul")
def _matmul(b: int, args: Args, batched: Flags) -> Any:
    x, y = args
    nx, ny = logical_ndim(x, batched[0]), logical_ndim(y, batched[1])
    if nx == 0 or ny == 0:
        raise ValueError("matmul: a 0-d operand (use *); got element shapes "
                         f"{shape_of(x)[batched[0]:]} and {shape_of(y)[batched[1]:]}")
    # The common cases are one matmul as they stand: a batch of rows or matrices times a
    # shared matrix, and a shared matrix times a batch of matrices.
    if batched[0] and not batched[1] and ny == 2:
        return _core.matmul(x, y)
    if batched[1] and not batched[0] and nx == 2 and ny >= 2:
        return _core.matmul(x, y)
    # One element's vector operands as matrices: (k,) -> (1, k) on the left, (k, 1) on the right.
    if nx == 1:
        x = _core.reshape(x, shape_of(x)[:-1] + (1, shape_of(x)[-1]))
    if ny == 1:
        y = _core.reshape(y, shape_of(y) + (1,))
    mx, my = max(nx, 2), max(ny, 2)
    # Batched operands get size-1 stack axes after the batch axis, up to the larger stack.
    n = max(mx, my)
    x = align(x, batched[0], n)
    y = align(y, batched[1], n)
    if not batched[0] and batched[1]:
        # x's own stack axes would meet the batch axis: give x a leading size-1 axis.
        x = _core.reshape(x, (1,) * (n + 1 - len(shape_of(x))) + shape_of(x))
    out = _core.matmul(x, y)
    # Drop the axes that stood for vector operands (NumPy's matmul).
    shape = shape_of(out)
    dropped = {len(shape) - 1} if ny == 1 else set()
    dropped |= {len(shape) - 2} if nx == 1 else set()
    return _core.reshape(out, tuple(d for i, d in enumerate(shape) if i not in dropped)) if dropped else out


@rule("tensordot")
def _tensordot(b: int, args: Args, batched: Flags) -> Any:
    x, y, axes = args
    nx, ny = logical_ndim(x, batched[0]), logical_ndim(y, batched[1])
    if isinstance(axes, (tuple, list)):
        ax = [normalize_axis(a, nx, "tensordot") for a in np.atleast_1d(axes[0]).tolist()]
        ay = [normalize_axis(a, ny, "tensordot") for a in np.atleast_1d(axes[1]).tolist()]
    else:
        k = operator.index(axes)
        ax, ay = list(range(nx - k, nx)), list(range(k))
    free_x = [i for i in range(nx) if i not in ax]
    free_y = [i for i in range(ny) if i not in ay]
    sx = shape_of(x)[1:] if batched[0] else shape_of(x)
    sy = shape_of(y)[1:] if batched[1] else shape_of(y)
    # Each side as (batch, free, contracted) matrices, then one batched matmul.
    xm = _core.transpose(_materialize(x, batched[0], b), (0,) + tuple(i + 1 for i in free_x + ax))
    ym = _core.transpose(_materialize(y, batched[1], b), (0,) + tuple(i + 1 for i in ay + free_y))
    fx = int(np.prod([sx[i] for i in free_x], dtype=np.int64))
    fy = int(np.prod([sy[i] for i in free_y], dtype=np.int64))
    c = int(np.prod([sx[i] for i in ax], dtype=np.int64))
    out = _core.matmul(_core.reshape(xm, (b, fx, c)), _core.reshape(ym, (b, c, fy)))
    return _core.reshape(out, (b,) + tuple(sx[i] for i in free_x) + tuple(sy[i] for i in free_y))


# ---- reductions ------------------------------------------------------------------------------

@rules_for("sum", "mean", "max", "min", "logsumexp", "prod")
def _reduce(op: Any, b: int, args: Args, batched: Flags) -> Any:
    x, axis, keepdims = args
    return op(x, physical_axes(axis, logical_ndim(x, True), op.__name__), keepdims)


@rule("norm")
def _norm2(b: int, args: Args, batched: Flags) -> Any:
    x, axis, keepdims = args
    return _core._norm2(x, physical_axes(axis, logical_ndim(x, True), "norm"), keepdims)


@rules_for("var", "std")
def _moment(op: Any, b: int, args: Args, batched: Flags) -> Any:
    x, axis, ddof, keepdims = args
    return op(x, physical_axes(axis, logical_ndim(x, True), op.__name__), ddof, keepdims)


@rules_for("argmax", "argmin")
def _arg_reduce(op: Any, b: int, args: Args, batched: Flags) -> Any:
    x, axis, keepdims = args
    n = logical_ndim(x, True)
    if axis is None:
        out = op(_flatten_element(x, b), 1, False)
        return out.reshape((b,) + (1,) * n) if keepdims else out
    return op(x, normalize_axis(operator.index(axis), n, op.__name__) + 1, keepdims)


@rule("sum_to")
def _sum_to(b: int, args: Args, batched: Flags) -> Any:
    x, shape = args
    target = tuple(np.atleast_1d(shape).tolist()) if not isinstance(shape, tuple) else shape
    element = shape_of(x)[1:]
    if len(target) > len(element):
        raise ValueError(f"sum_to: cannot sum shape {element} to {target}")
    lead = len(element) - len(target)
    axes = tuple(range(1, lead + 1)) + tuple(1 + lead + i for i, (t, s) in enumerate(zip(target, element[lead:]))
                                             if t == 1 and s != 1)
    out = _core.sum(x, axes, True) if axes else x
    return _core.reshape(out, (b,) + tuple(target))


# ---- along an axis ---------------------------------------------------------------------------

@rules_for("cumsum", "cumprod", "sort", "argsort", "softmax", "log_softmax")
def _along_axis(op: Any, b: int, args: Args, batched: Flags) -> Any:
    x, axis = args
    if axis is None:
        return op(_flatten_element(x, b), 1)
    return op(x, normalize_axis(operator.index(axis), logical_ndim(x, True), op.__name__) + 1)


@rule("flip")
def _flip(b: int, args: Args, batched: Flags) -> Any:
    x, axis = args
    return _core.flip(x, physical_axes(axis, logical_ndim(x, True), "flip"))


@rule("roll")
def _roll(b: int, args: Args, batched: Flags) -> Any:
    x, shift, axis = args
    if axis is None:
        return _core.reshape(_core.roll(_flatten_element(x, b), shift, 1), shape_of(x))
    axes = physical_axes(axis, logical_ndim(x, True), "roll")
    return _core.roll(x, shift, axes if isinstance(axis, (tuple, list)) else axes[0])


@rules_for("tril", "triu")
def _triangle(op: Any, b: int, args: Args, batched: Flags) -> Any:
    return op(args[0], args[1])  # the last two axes: the batch axis is one more stack axis


def _diagonal_axes(x: Any, axis1: Any, axis2: Any, op: str) -> Tuple[int, int]:
    n = logical_ndim(x, True)
    return normalize_axis(operator.index(axis1), n, op) + 1, normalize_axis(operator.index(axis2), n, op) + 1


@rule("diagonal")
def _diagonal(b: int, args: Args, batched: Flags) -> Any:
    x, offset, axis1, axis2 = args
    return _core.diagonal(x, offset, *_diagonal_axes(x, axis1, axis2, "diagonal"))


@rule("trace")
def _trace(b: int, args: Args, batched: Flags) -> Any:
    x, offset, axis1, axis2 = args
    return _core.trace(x, offset, *_diagonal_axes(x, axis1, axis2, "trace"))


@rule("diag")
def _diag(b: int, args: Args, batched: Flags) -> Any:
    x, k = args
    n = logical_ndim(x, True)
    if n == 2:
        return _core.diagonal(x, k, 1, 2)
    if n != 1:
        raise ValueError(f"diag: x must be 1-d or 2-d, got shape {shape_of(x)[1:]}")
    # Each vector on the k-th diagonal: v[:, :, None] * I, then padded to the offset.
    size = shape_of(x)[1]
    square = _core.mul(_core.reshape(x, (b, size, 1)), np.eye(size, dtype=x.dtype))
    k = operator.index(k)
    if k == 0:
        return square
    rows, cols = ((0, k), (k, 0)) if k > 0 else ((-k, 0), (0, -k))
    return _core.pad(square, ((0, 0), rows, cols), "constant", 0)


@rule("pad")
def _pad(b: int, args: Args, batched: Flags) -> Any:
    x, pad_width, mode, constant_values = args
    n = logical_ndim(x, True)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (n, 2)) if n else np.zeros((0, 2), np.int64)
    return _core.pad(x, ((0, 0),) + tuple(map(tuple, widths.tolist())), mode, constant_values)


# ---- shape -----------------------------------------------------------------------------------

@rule("reshape")
def _reshape(b: int, args: Args, batched: Flags) -> Any:
    x, shape = args
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return _core.reshape(x, (b,) + tuple(operator.index(s) for s in shape))


@rule("transpose")
def _transpose(b: int, args: Args, batched: Flags) -> Any:
    x, axes = args
    n = logical_ndim(x, True)
    order = list(range(n))[::-1] if axes is None else [normalize_axis(operator.index(a), n, "transpose")
                                                        for a in axes]
    return _core.transpose(x, (0,) + tuple(a + 1 for a in order))


@rule("broadcast_to")
def _broadcast_to(b: int, args: Args, batched: Flags) -> Any:
    x, shape = args
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    return _core.broadcast_to(align(x, True, len(shape)), (b,) + tuple(shape))


def _joined(args: Args, batched: Flags, b: int) -> List[Any]:
    xs, flags = args[0], batched[0]
    if not isinstance(flags, list):
        flags = [flags] * len(xs)
    return [_materialize(x, f, b) for x, f in zip(xs, flags)]


@rule("concatenate")
def _concatenate(b: int, args: Args, batched: Flags) -> Any:
    xs = _joined(args, batched, b)
    axis = args[1]
    if axis is None:
        return _core.concatenate([_flatten_element(x, b) for x in xs], 1)
    return _core.concatenate(xs, normalize_axis(operator.index(axis), logical_ndim(xs[0], True), "concatenate") + 1)


@rule("stack")
def _stack(b: int, args: Args, batched: Flags) -> Any:
    xs = _joined(args, batched, b)
    return _core.stack(xs, normalize_axis(operator.index(args[1]), logical_ndim(xs[0], True) + 1, "stack") + 1)


# ---- indexing --------------------------------------------------------------------------------

def _offset_indices(indices: np.ndarray, b: int, per_element: int) -> np.ndarray:
    """Indices into one element's axis of size `per_element` (batch on axis 0), as
    indices into the batch-flattened axis of size b * per_element."""
    offsets = (np.arange(b, dtype=np.int64) * per_element).reshape((b,) + (1,) * (indices.ndim - 1))
    return np.where(indices < 0, indices + per_element, indices) + offsets


@rule("take")
def _take(b: int, args: Args, batched: Flags) -> Any:
    x, indices, axis = args
    x_on, i_on = batched[0], batched[1]
    if axis is None:
        x = _flatten_element(_materialize(x, x_on, b), b) if x_on else _core.reshape(x, (-1,))
        axis_x = 1 if x_on else 0
    else:
        axis_x = normalize_axis(operator.index(axis), logical_ndim(x, x_on), "take") + (1 if x_on else 0)
    if not i_on:
        out = _core.take(x, indices, axis_x)
        return out if x_on else moveaxis(out, axis_x, 0)
    indices = np.asarray(indices)
    if not x_on:
        x = broadcast_batch(x, b)
        axis_x += 1
    # Batched indices: one gather from the batch-flattened axis (the batch moved next to it).
    x = moveaxis(x, axis_x, 1)
    size = shape_of(x)[1]
    if indices.size and (indices.max() >= size or indices.min() < -size):
        bad = indices.max() if indices.max() >= size else indices.min()
        raise IndexError(f"take: index {bad} is out of bounds for axis {axis_x - 1} with size {size}")
    rest = shape_of(x)[2:]
    flat = _core.reshape(x, (b * size,) + rest)
    out = _core.take(flat, _offset_indices(indices, b, size), 0)  # (b, *index shape, *rest)
    ind = indices.ndim - 1
    # Back to NumPy's order: the index axes where the taken axis was.
    order = [0] + list(range(1 + ind, 1 + ind + axis_x - 1)) + list(range(1, 1 + ind)) + \
        list(range(1 + ind + axis_x - 1, len(shape_of(out))))
    return _core.transpose(out, tuple(order))


@rule("take_along_axis")
def _take_along_axis(b: int, args: Args, batched: Flags) -> Any:
    x, indices, axis = args
    if axis is None:
        return _core.take_along_axis(_flatten_element(_materialize(x, batched[0], b), b),
                                     _flatten_element(_materialize(np.asarray(indices), batched[1], b), b), 1)
    n = logical_ndim(x, batched[0])
    a = normalize_axis(operator.index(axis), n, "take_along_axis") + 1
    x = _materialize(x, batched[0], b)
    indices = np.asarray(indices)
    indices = indices if batched[1] else np.broadcast_to(indices, (b,) + indices.shape)
    return _core.take_along_axis(x, indices, a)


@rule("scatter_add")
def _scatter_add(b: int, args: Args, batched: Flags) -> Any:
    x, indices, values, axis = args
    n = logical_ndim(x, batched[0])
    a = normalize_axis(operator.index(axis), n, "scatter_add") + 1
    x = _materialize(x, batched[0], b)
    indices = np.asarray(indices)
    indices = indices if batched[1] else np.broadcast_to(indices, (b,) + indices.shape)
    values = _materialize(values, batched[2], b)
    if shape_of(values) != indices.shape:
        values = _core.broadcast_to(align(values, True, indices.ndim - 1), indices.shape)
    return _core.scatter_add(x, indices, values, a)


@rule("slice")
def _slice(b: int, args: Args, batched: Flags) -> Any:
    x, starts, stops, steps = args
    return _core._slice(x, [0] + list(starts), [b] + list(stops), [1] + list(steps))


@rule("getitem")
def _getitem(b: int, args: Args, batched: Flags) -> Any:
    x, key = args
    keys = list(key) if isinstance(batched[1], list) else [key]
    flags = batched[1] if isinstance(batched[1], list) else [batched[1]]
    if any(flags):  # batched integer indices: a gather, as eg.take
        at = [i for i, f in enumerate(flags) if f]
        if len(at) != 1 or any(not (isinstance(k, slice) and k == slice(None)) for i, k in enumerate(keys) if i != at[0]):
            raise NotImplementedError("vmap: indexing with batched indices is supported as x[i] or x[:, ..., i] "
                                      "(one index array, full slices before it); use eg.take or eg.take_along_axis")
        return _take(b, [x, np.asarray(keys[at[0]]), at[0]], [batched[0], True])
    key = key if isinstance(key, tuple) else (key,)
    n = logical_ndim(x, True)
    items = _variable._expand_key(key, n) if not isinstance(x, np.ndarray) else None
    if items is None:  # integer data (NumPy): NumPy indexes it, the batch axis first
        out = x[(slice(None),) + key]
        return out
    advanced = [i for i, k in enumerate(items) if isinstance(k, np.ndarray) or
                (any(isinstance(j, np.ndarray) for j in items) and isinstance(k, int))]
    out = x[(slice(None),) + tuple(items)]
    if advanced and advanced != list(range(advanced[0], advanced[0] + len(advanced))):
        # Separated advanced indices put their axes first (NumPy), before the batch axis.
        arrays = [np.asarray(items[i]) for i in advanced]
        lead = len(np.broadcast_shapes(*(a.shape for a in arrays)))
        out = moveaxis(out, lead, 0)
    return out


# ---- neural-network functions ------------------------------------------------------------------

@rule("linear")
def _linear(b: int, args: Args, batched: Flags) -> Any:
    x, weight, bias = args
    if not batched[1] and not batched[2]:
        return _core.linear(x, weight, bias)
    out_on = batched[0] or batched[1]
    out = _matmul(b, [x, _core.transpose(weight, (0, 2, 1)) if batched[1] else _core.transpose(weight)],
                  [batched[0], batched[1]]) if out_on else _core.matmul(x, _core.transpose(weight))
    if bias is None:
        return out
    return _core.add(*_aligned([out, bias], [out_on, batched[2]]))


def _reduce_loss(losses: Any, reduction: str, b: int) -> Any:
    if reduction == "none":
        return losses
    axes = tuple(range(1, len(shape_of(losses))))
    return (_core.mean if reduction == "mean" else _core.sum)(losses, axes, False)


@rules_for("mse_loss", "binary_cross_entropy_with_logits")
def _elementwise_loss(op: Any, b: int, args: Args, batched: Flags) -> Any:
    x, y, reduction = args
    return _reduce_loss(op(_materialize(x, batched[0], b), _materialize(y, batched[1], b), "none"), reduction, b)


@rule("cross_entropy")
def _cross_entropy(b: int, args: Args, batched: Flags) -> Any:
    logits, labels, reduction = args
    logits = _materialize(logits, batched[0], b)
    labels = np.asarray(labels) if batched[1] else np.broadcast_to(np.asarray(labels), (b,) + np.shape(labels))
    shape = shape_of(logits)
    if len(shape) == 3:  # (b, N, C): the op takes (N, C), so the batch joins the rows
        losses = _core.cross_entropy(_core.reshape(logits, (b * shape[1], shape[2])), labels.reshape(-1), "none")
        losses = _core.reshape(losses, (b, shape[1]))
    else:
        losses = _core.cross_entropy(logits, labels, "none")
    return _reduce_loss(losses, reduction, b)


# ---- eg.linalg -------------------------------------------------------------------------------

@rule("solve")
def _solve(b: int, args: Args, batched: Flags) -> Any:
    a, rhs = args
    vector = logical_ndim(rhs, batched[1]) == 1
    a, rhs = _materialize(a, batched[0], b), _materialize(rhs, batched[1], b)
    if vector:  # a vector b only when 1-d (NumPy 2): as a one-column matrix
        rhs = _core.reshape(rhs, shape_of(rhs) + (1,))
    n = max(len(shape_of(a)), len(shape_of(rhs))) - 1  # stack axes and the two matrix axes
    out = _core.linalg.solve(align(a, True, n), align(rhs, True, n))
    return _core.reshape(out, shape_of(out)[:-1]) if vector else out


@rules_for("inv", "det", "slogdet", "cholesky", "qr", "eigh", "svd", ops=_core.linalg)
def _stacked(op: Any, b: int, args: Args, batched: Flags) -> Any:
    return op(*args)  # each takes a stack of matrices: the batch axis is one more stack axis


# ---- conversions -----------------------------------------------------------------------------

@composite_rule("_to_variable")
def _to_variable(x: Any, op: str) -> Any:
    return x  # a batched value is already what the op computes on

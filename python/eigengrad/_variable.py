"""Python-side parts of Variable: NumPy indexing, repr, comparisons, and the
pickle and copy protocols.

Indexing is parsed here (NumPy's rules are easier to read in Python) and then runs
as at most four differentiable C++ ops: a strided slice, a reshape (dropping integer
axes, inserting ``None`` axes), a transpose and a ``take`` for integer arrays.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterator, List, Optional, SupportsIndex, Tuple, Type

import numpy as np
import numpy.typing as npt

import eigengrad._core as _core
from eigengrad import batching as _batching
from eigengrad._core import Variable


def _index_array(k: Any) -> np.ndarray:
    a = np.asarray(k)
    if a.size == 0 and a.dtype.kind not in "iub":
        a = a.astype(np.intp)
    if a.dtype.kind not in "iu":
        raise IndexError(
            "getitem: only integers, slices, Ellipsis, None and integer or boolean arrays are "
            f"valid indices (got an array of dtype {a.dtype})"
        )
    return a


def _expand_key(key: Any, ndim: int) -> List[Any]:
    """The key as a list with Ellipsis expanded, boolean arrays turned into integer
    arrays and every axis of x covered (trailing full slices added)."""
    if not isinstance(key, tuple):
        key = (key,)
    items: List[Any] = []
    for k in key:
        if isinstance(k, Variable):
            k = np.asarray(k)
        if isinstance(k, (list, np.ndarray)) or (isinstance(k, np.generic) and k.dtype == bool):
            a = np.asarray(k)
            if a.dtype == bool:
                if a.ndim == 0:
                    raise IndexError("getitem: 0-d boolean indices are not supported")
                items.extend(a.nonzero())
            else:
                items.append(_index_array(a))
        elif isinstance(k, bool):
            raise IndexError("getitem: boolean scalars are not supported as indices")
        elif k is None or k is Ellipsis or isinstance(k, slice):
            items.append(k)
        else:
            try:
                items.append(int(np.asarray(k).item()) if isinstance(k, np.generic) else k.__index__())
            except (AttributeError, TypeError):
                raise IndexError(
                    "getitem: only integers, slices, Ellipsis, None and integer or boolean arrays "
                    f"are valid indices (got {type(k).__name__})"
                ) from None
    consumed = sum(1 for k in items if k is not None and k is not Ellipsis)
    if consumed > ndim:
        raise IndexError(
            f"getitem: too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed"
        )
    n_ellipsis = sum(1 for k in items if k is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    fill = [slice(None)] * (ndim - consumed)
    if n_ellipsis:
        i = next(i for i, k in enumerate(items) if k is Ellipsis)
        items[i : i + 1] = fill
    else:
        items.extend(fill)
    return items


def _getitem(x: Variable, key: Any) -> Variable:
    if _batching.level_of(key):  # indices batched by eg.vmap: their batching rule
        result: Variable = _batching.dispatch("getitem", (x, key))
        return result
    items = _expand_key(key, x.ndim)
    advanced = any(isinstance(k, np.ndarray) for k in items)
    if advanced:  # integers join the advanced indices (NumPy's rule)
        items = [np.asarray(k, dtype=np.intp) if isinstance(k, int) else k for k in items]

    starts, stops, steps = [], [], []
    shape = []  # the shape after dropping integer axes and inserting None axes
    adv_positions, adv_arrays = [], []
    axis = 0
    for k in items:
        if k is None:
            shape.append(1)
            continue
        dim = x.shape[axis]
        if isinstance(k, slice):
            start, stop, step = k.indices(dim)
            starts.append(start)
            stops.append(stop)
            steps.append(step)
            shape.append(len(range(start, stop, step)))
        elif isinstance(k, np.ndarray):
            starts.append(0)
            stops.append(dim)
            steps.append(1)
            adv_positions.append(len(shape))
            adv_arrays.append(k)
            shape.append(dim)
        else:
            if not -dim <= k < dim:
                raise IndexError(f"getitem: index {k} is out of bounds for axis {axis} with size {dim}")
            k = k + dim if k < 0 else k
            starts.append(k)
            stops.append(k + 1)
            steps.append(1)
        axis += 1

    y = x
    if any((b, e, s) != (0, d, 1) for b, e, s, d in zip(starts, stops, steps, x.shape)):
        y = _core._slice(y, starts, stops, steps)
    if tuple(shape) != y.shape:
        y = _core.reshape(y, shape)
    if not advanced:
        return y

    arrays = list(np.broadcast_arrays(*adv_arrays))
    dims = [shape[p] for p in adv_positions]
    for a, d, p in zip(arrays, dims, adv_positions):
        if a.size and (a.max() >= d or a.min() < -d):
            bad = a.max() if a.max() >= d else a.min()
            raise IndexError(f"getitem: index {bad} is out of bounds for axis {p} with size {d}")
    arrays = [np.where(a < 0, a + d, a) for a, d in zip(arrays, dims)]
    linear = np.ravel_multi_index(arrays, dims) if len(arrays) > 1 else arrays[0]
    first = adv_positions[0]
    if adv_positions != list(range(first, first + len(adv_positions))):
        # Advanced indices separated by a slice: their result axes go first (NumPy).
        rest = [p for p in range(len(shape)) if p not in adv_positions]
        y = _core.transpose(y, adv_positions + rest)
        first = 0
    merged = list(y.shape[:first]) + [int(np.prod(dims))] + list(y.shape[first + len(dims) :])
    y = _core.reshape(y, merged)
    return _core.take(y, linear, first)


def _repr(x: Variable) -> str:
    body = np.array2string(np.asarray(x), separator=", ", prefix="Variable(")
    extras = [f"dtype={x.dtype}"]
    if x.grad_fn is not None:
        extras.append(f"grad_fn=<{x.grad_fn.name()}>")
    elif x.requires_grad:
        extras.append("requires_grad=True")
    return f"Variable({body}, {', '.join(extras)})"


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Variable, Any], npt.NDArray[np.bool_]]:
    def method(self: Variable, other: Any) -> npt.NDArray[np.bool_]:
        result: npt.NDArray[np.bool_] = op(np.asarray(self), np.asarray(other) if isinstance(other, Variable) else other)
        return result

    return method


def _bool(x: Variable) -> bool:
    return bool(np.asarray(x))


# Note [Pickling Variables]
# A Variable pickles as its value: data (a NumPy array), dtype, shape and
# requires_grad, plus the attributes of a Python subclass (nn.Parameter). Not
# included: the graph (a non-leaf comes back as a leaf of its value that requires
# grad, as torch.save does), .grad (as PyTorch's pickling), forward-mode tangents
# and hooks. copy.copy and copy.deepcopy copy the data and .grad (as PyTorch's
# deepcopy) and refuse a non-leaf (as PyTorch does): a copy cut from the graph
# that still required grad would silently stop gradients from reaching the
# original. Either way the new Variable owns its memory, also when the original
# borrows a NumPy array's.


def _rebuild(cls: Type[Variable], data: np.ndarray, requires_grad: bool, state: Optional[Dict[str, Any]] = None) -> Variable:
    """A ``cls`` (Variable or a subclass) over ``data``, which it keeps when ``data``
    owns its memory and otherwise copies (an array unpickled from a protocol-5
    buffer views memory that is not its own)."""
    data = np.asarray(data)
    if not (data.flags.owndata and data.flags.writeable and data.flags.c_contiguous):
        data = np.array(data, copy=True, order="C")
    out = cls.__new__(cls)
    Variable.__init__(out, data, requires_grad=requires_grad)
    if state:
        out.__dict__.update(state)
    return out


def _reduce_ex(x: Variable, protocol: SupportsIndex) -> Tuple[Any, ...]:
    return _rebuild, (type(x), np.asarray(x), x.requires_grad, getattr(x, "__dict__", None) or None)


def _copy(x: Variable, memo: Optional[Dict[int, Any]]) -> Variable:
    if not x.is_leaf:
        raise RuntimeError(
            f"copy.{'deepcopy' if memo is not None else 'copy'}: the Variable (shape {x.shape}, {x.dtype}) was "
            f"computed by {x.grad_fn.name() if x.grad_fn else 'an op'}, and a copy cut from the graph would stop its gradients; copy "
            "x.detach() for a leaf of its value (pickle gives the same)")
    out = _rebuild(type(x), np.array(x, copy=True), x.requires_grad)
    if memo is not None:
        memo[id(x)] = out
    if x.grad is not None:
        out.grad = np.array(x.grad, copy=True)
    state = getattr(x, "__dict__", None)
    if state:
        out.__dict__.update(copy.deepcopy(state, memo) if memo is not None else state)
    return out


def _float(x: Variable) -> float:
    return float(x.item())


def _iter(x: Variable) -> Iterator[Variable]:
    return (x[i] for i in range(len(x)))


def _shallow_copy(x: Variable) -> Variable:
    return _copy(x, None)


def _deep_copy(x: Variable, memo: Dict[int, Any]) -> Variable:
    return _copy(x, memo)


# Variable is a C++ class; these methods join it here. The stub of the native module
# (eigengrad/_core.pyi, written by tools/gen_stubs.py) declares them on Variable.
for _name, _method in {
    "__reduce_ex__": _reduce_ex,
    "__copy__": _shallow_copy,
    "__deepcopy__": _deep_copy,
    "__getitem__": _getitem,
    "__repr__": _repr,
    "__str__": _repr,
    "__bool__": _bool,
    "__float__": _float,
    "__iter__": _iter,
    "__lt__": _compare(np.less),
    "__le__": _compare(np.less_equal),
    "__gt__": _compare(np.greater),
    "__ge__": _compare(np.greater_equal),
    "__eq__": _compare(np.equal),
    "__ne__": _compare(np.not_equal),
    "__hash__": object.__hash__,
}.items():
    setattr(Variable, _name, _method)
del _name, _method

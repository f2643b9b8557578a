"""``eg.vmap``: a function of one example made a function of a batch.

``eg.vmap(f, in_axes, out_axes)(*args)`` is ``f`` applied to each slice of the
mapped arguments along their ``in_axes``, stacked along ``out_axes``, as in JAX and
torch.func. It does not loop: ``f`` runs once, on :class:`~eigengrad.batching.BatchedVariable`
values, and each op runs once on the whole batch by its batching rule (Note [Batched
values] in eigengrad.batching). Nesting vmaps maps over several axes; vmap composes
with grad, vjp, jvp, jacobian, hessian and hvp both ways, so per-sample gradients are
``eg.vmap(eg.grad(loss), in_axes=(None, 0, 0))(w, X, y)``.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, List, Optional, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad._core import Variable
from eigengrad.batching import BatchedVariable, broadcast_batch, moveaxis

__all__ = ["vmap"]

_depth = threading.local()


def _next_level() -> int:
    return getattr(_depth, "level", 0) + 1


class _Level:
    """The vmap level of a call: one deeper than any vmap running on this thread and
    than any batched value among the arguments."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> int:
        self.saved = getattr(_depth, "level", 0)
        _depth.level = self.level
        return self.level

    def __exit__(self, *exc: Any) -> None:
        _depth.level = self.saved


# ---- pytrees: tuples, lists and dicts of leaves ----------------------------------------------

def _is_container(x: Any) -> bool:
    return isinstance(x, (tuple, list, dict))


def _broadcast_prefix(prefix: Any, tree: Any, what: str) -> Any:
    """An axes specification (an int or None at any container) spread over `tree`."""
    if not _is_container(prefix):
        if _is_container(tree):
            items = tree.items() if isinstance(tree, dict) else enumerate(tree)
            spread = {k: _broadcast_prefix(prefix, v, what) for k, v in items}
            return spread if isinstance(tree, dict) else type(tree)(spread[i] for i in range(len(tree)))
        return prefix
    if isinstance(prefix, dict) != isinstance(tree, dict) or not _is_container(tree) or len(prefix) != len(tree):
        raise ValueError(f"vmap: {what} {prefix!r} does not match the structure of the arguments "
                         f"({type(tree).__name__} of {len(tree) if _is_container(tree) else 'one value'})")
    if isinstance(tree, dict):
        if set(prefix) != set(tree):
            raise ValueError(f"vmap: {what} has keys {sorted(prefix)} but the argument has {sorted(tree)}")
        return {k: _broadcast_prefix(prefix[k], tree[k], what) for k in tree}
    return type(tree)(_broadcast_prefix(p, t, what) for p, t in zip(prefix, tree))


def _leaves(tree: Any, axes: Any) -> List[Tuple[Any, Any]]:
    if isinstance(tree, dict):
        return [pair for k in tree for pair in _leaves(tree[k], axes[k])]
    if isinstance(tree, (tuple, list)):
        return [pair for t, a in zip(tree, axes) for pair in _leaves(t, a)]
    return [(tree, axes)]


def _map(fn: Callable[[Any, Any], Any], tree: Any, axes: Any) -> Any:
    if isinstance(tree, dict):
        return {k: _map(fn, tree[k], axes[k]) for k in tree}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a named tuple
        return type(tree)(*(_map(fn, t, a) for t, a in zip(tree, axes)))
    if isinstance(tree, (tuple, list)):
        return type(tree)(_map(fn, t, a) for t, a in zip(tree, axes))
    return fn(tree, axes)


def _check_axis_spec(spec: Any, what: str) -> None:
    if _is_container(spec):
        for s in (spec.values() if isinstance(spec, dict) else spec):
            _check_axis_spec(s, what)
    elif spec is not None and (isinstance(spec, bool) or not isinstance(spec, (int, np.integer))):
        raise TypeError(f"vmap: {what} must be an int, None or a container of them, got {spec!r}")


# ---- in and out ------------------------------------------------------------------------------

def _ndim(x: Any) -> int:
    return x.ndim if hasattr(x, "ndim") else int(np.ndim(x))


def _as_mappable(x: Any) -> Any:
    """A mapped argument as an op input: Variables and batched values as they are,
    integer and boolean arrays as NumPy arrays (indices), anything else a Variable."""
    if isinstance(x, (Variable, BatchedVariable)):
        return x
    a = np.asarray(x)
    return a if a.dtype.kind in "iub" and not isinstance(x, (float, int)) else _core._to_variable(x, "vmap")


def _bring_in(x: Any, axis: Optional[int], level: int) -> Any:
    if axis is None:
        return x
    x = _as_mappable(x)
    n = _ndim(x)
    if not -n <= axis < n:
        raise ValueError(f"vmap: in_axes {axis} is out of range for an argument of {n} dimensions "
                         f"(shape {tuple(x.shape)})")
    return BatchedVariable(moveaxis(x, axis, 0), level)


def _bring_out(x: Any, axis: Optional[int], level: int, size: int) -> Any:
    batched = isinstance(x, BatchedVariable) and x.level == level
    if axis is None:
        if batched:
            raise ValueError("vmap: out_axes is None for an output that depends on the mapped inputs; "
                             "give it an axis (the output differs per element)")
        return x
    if not batched:
        x = x if isinstance(x, (Variable, BatchedVariable, np.ndarray)) else np.asarray(x)
        value = broadcast_batch(x, size)
    else:
        value = x.value
    n = _ndim(value)
    if not -n <= axis < n:
        raise ValueError(f"vmap: out_axes {axis} is out of range for an output of {n - 1} dimensions")
    return moveaxis(value, 0, axis)


def vmap(f: Callable[..., Any], in_axes: Any = 0, out_axes: Any = 0, *, axis_size: Optional[int] = None
         ) -> Callable[..., Any]:
    """``f`` mapped over an axis of its arguments, as one batched computation.

    Parameters
    ----------
    f : callable
        A function of Variables or arrays (or tuples, lists and dicts of them)
        returning the same kinds of values.
    in_axes : int, None, or a tuple/list/dict of them
        For each positional argument, the axis to map over (``None``: the argument
        is the same for every element). A single int or None applies to all
        arguments; a container may nest to match the arguments' structure. Negative
        axes count from the end.
    out_axes : int, None, or a container of them
        Where the mapped axis goes in each output (``None`` only for outputs that do
        not depend on the mapped arguments).
    axis_size : int, optional
        The batch size when no argument is mapped.

    Returns
    -------
    callable
        ``(*args, **kwargs) -> outputs`` with the batch along ``out_axes``; keyword
        arguments are passed to ``f`` unmapped (as torch.func.vmap).

    Raises
    ------
    ValueError
        When mapped arguments disagree on the batch size, an axis is out of range
        or the axes do not match the arguments' structure.
    TypeError
        When ``f`` turns a batched value into a Python number or NumPy array
        (the values differ per element).

    Notes
    -----
    Every op runs once on the whole batch: a batched value holds the batch on a
    hidden axis 0, and each op's batching rule (eigengrad.batching_rules) shifts its
    axes past it. vmap nests (a vmap inside ``f`` maps over one more axis) and
    composes with the transforms both ways: ``eg.grad(lambda w: eg.vmap(f)(w,
    X).sum())`` differentiates through it, and ``eg.vmap(eg.grad(loss), in_axes=(None,
    0, 0))`` gives one gradient per example. Random ops draw independently for each
    element.

    Examples
    --------
    >>> X = np.arange(6.0).reshape(3, 2)
    >>> np.asarray(eg.vmap(lambda x: (x * x).sum())(X))
    array([ 1., 13., 41.])
    >>> w = np.ones(2)
    >>> per_example = eg.vmap(eg.grad(lambda w, x: (w * x).sum() ** 2), in_axes=(None, 0))(w, X)
    >>> per_example.shape
    (3, 2)
    """
    _check_axis_spec(in_axes, "in_axes")
    _check_axis_spec(out_axes, "out_axes")
    if axis_size is not None and (isinstance(axis_size, bool) or not isinstance(axis_size, (int, np.integer))
                                  or axis_size < 0):
        raise TypeError(f"vmap: axis_size must be a non-negative int, got {axis_size!r}")

    @functools.wraps(f)
    def mapped(*args: Any, **kwargs: Any) -> Any:
        if _plain(args, in_axes) and type(out_axes) is int:
            fast = _map_plain(f, args, kwargs, in_axes, out_axes)
            if fast is not _NOT_PLAIN:
                return fast
        if isinstance(in_axes, (tuple, list)) and len(in_axes) != len(args):
            raise ValueError(f"vmap: in_axes has {len(in_axes)} entries for {len(args)} positional arguments")
        axes = _broadcast_prefix(tuple(in_axes) if isinstance(in_axes, list) else in_axes, args, "in_axes")
        leaves = [(x, a) for x, a in _leaves(args, axes) if a is not None]
        shapes = [tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x)) for x, _ in leaves]
        for shape, (_, a) in zip(shapes, leaves):
            if not -len(shape) <= a < len(shape):
                raise ValueError(f"vmap: in_axes {a} is out of range for an argument of {len(shape)} dimensions "
                                 f"(shape {shape})")
        sizes = {shape[a] for shape, (_, a) in zip(shapes, leaves)}
        if len(sizes) > 1:
            raise ValueError("vmap: the mapped axes have different sizes: " + ", ".join(
                f"{shape} along axis {a}" for shape, (_, a) in zip(shapes, leaves)))
        if not leaves and axis_size is None:
            raise ValueError("vmap: no argument is mapped (all in_axes are None); give axis_size")
        size = sizes.pop() if sizes else int(axis_size)  # type: ignore[arg-type]
        if leaves and axis_size is not None and axis_size != size:
            raise ValueError(f"vmap: axis_size {axis_size} but the mapped axes have size {size}")
        with _Level(max(_next_level(), _max_level(args) + 1)) as level:
            batched_args = _map(lambda x, a: _bring_in(x, a, level), args, axes)
            out = f(*batched_args, **kwargs)
            out_spec = _broadcast_prefix(tuple(out_axes) if isinstance(out_axes, list) else out_axes, out,
                                         "out_axes")
            return _map(lambda x, a: _bring_out(x, a, level, size), out, out_spec)

    return mapped


_NOT_PLAIN = object()


def _plain(args: Tuple[Any, ...], in_axes: Any) -> bool:
    """Whether the arguments and in_axes are flat: Variables or arrays, and an int or a
    tuple of ints and Nones (no container to walk)."""
    if type(in_axes) is tuple:
        if len(in_axes) != len(args) or any(a is not None and type(a) is not int for a in in_axes):
            return False
    elif in_axes is not None and type(in_axes) is not int:
        return False
    return all(type(a) in (Variable, BatchedVariable, np.ndarray) for a in args)


def _map_plain(f: Callable[..., Any], args: Tuple[Any, ...], kwargs: Any, in_axes: Any, out_axes: int) -> Any:
    """vmap's call for flat arguments and one output: what the general path does, without
    walking trees. _NOT_PLAIN when the case needs the general path (its checks and errors)."""
    axes = in_axes if type(in_axes) is tuple else (in_axes,) * len(args)
    size = None
    for x, a in zip(args, axes):
        if a is None:
            continue
        n = x.ndim
        if not -n <= a < n or (size is not None and x.shape[a] != size):
            return _NOT_PLAIN  # the general path raises with the details
        size = x.shape[a]
    if size is None:
        return _NOT_PLAIN
    with _Level(max(_next_level(), _max_level(args) + 1)) as level:
        out = f(*[x if a is None else _bring_in(x, a, level) for x, a in zip(args, axes)], **kwargs)
        if type(out) not in (Variable, BatchedVariable):
            return _map(lambda x, a: _bring_out(x, a, level, size),  # several outputs
                        out, _broadcast_prefix(out_axes, out, "out_axes"))
        return _bring_out(out, out_axes, level, size)


def _max_level(tree: Any) -> int:
    if isinstance(tree, BatchedVariable):
        return tree.level
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return max((_max_level(t) for t in tree), default=0)
    return 0

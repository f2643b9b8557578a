"""The values inside ``eg.vmap``: :class:`BatchedVariable` and the dispatch of ops
on them to their batching rules.

Note [Batched values]
A BatchedVariable stands for one value per batch element. It holds them as one
*physical* value whose axis 0 is the batch, and a *level*: the depth of the
``eg.vmap`` that made it (nested vmaps make nested levels). Its ``shape`` and
``ndim`` are the logical ones, those of one element, so the user's function sees
exactly what it would see unbatched. The physical value is a Variable (float data),
a NumPy array (integer or boolean data: indices, argmax results, comparisons) or a
BatchedVariable of an outer (lower) level.

An op given a BatchedVariable does not compute on it: its binding hands the op's
name and arguments to :func:`dispatch` (Note [vmap dispatch] in
python/src/batchable.h), which takes the innermost level among the arguments,
unwraps the arguments of that level to their physical values and runs the op's
batching rule (eigengrad.batching_rules): the same op, once, on the whole batch,
with its axes shifted past the batch axis. The rule's result is wrapped at the same
level. Arguments of outer levels pass through as they are, so the rule's own ops
dispatch again, one level further out. Gradients need no rules of their own: the
rules run differentiable ops on the physical values, so the graph is recorded on
them and reverse and forward mode go through vmap unchanged.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad._core import Variable

__all__ = ["BatchedVariable", "dispatch", "rule", "composite_rule"]


class BatchedVariable:
    """One value per batch element inside ``eg.vmap``; behaves as one of them.

    ``shape``, ``ndim``, ``size`` and ``dtype`` are those of one element. Every eg
    op, operator, method and indexing works on it; converting it to NumPy or to a
    Python number does not (the values differ per element), as with JAX's tracers.
    """

    __slots__ = ("value", "level")
    __array_ufunc__ = None  # ndarray op BatchedVariable defers to BatchedVariable.__rop__

    def __init__(self, value: Any, level: int) -> None:
        self.value = value  # the physical value: axis 0 is the batch (Note [Batched values])
        self.level = level

    # ---- what one element looks like -------------------------------------------------
    @property
    def shape(self) -> Tuple[int, ...]:
        """The shape of one element (the physical shape without the batch axis)."""
        return tuple(self.value.shape[1:])

    @property
    def ndim(self) -> int:
        """The number of axes of one element."""
        return len(self.value.shape) - 1

    @property
    def size(self) -> int:
        """The number of elements of one element."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> Any:
        """The dtype (shared by all elements)."""
        return self.value.dtype

    @property
    def batch_size(self) -> int:
        """How many elements this value stands for (the size of its vmap)."""
        return int(self.value.shape[0])

    @property
    def requires_grad(self) -> bool:
        """Whether the physical value requires grad."""
        return bool(getattr(self.value, "requires_grad", False))

    def detach(self) -> "BatchedVariable":
        """The same values cut from the graph."""
        return BatchedVariable(self.value.detach() if hasattr(self.value, "detach") else self.value, self.level)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d value")
        return self.shape[0]

    def __iter__(self) -> Iterator[Any]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"BatchedVariable(level={self.level}, batch={self.batch_size}, shape={self.shape}, dtype={self.dtype})"

    # ---- values that differ per element cannot leave as one ----------------------------
    def _no_concrete(self, what: str) -> Any:
        raise TypeError(f"vmap: cannot convert a batched value to {what} inside the vmapped function: it has "
                        f"{self.batch_size} different values. Compute with eg ops (eg.where instead of if, for example), "
                        "or return the value from the vmapped function")

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        return self._no_concrete("a NumPy array")

    def __bool__(self) -> bool:
        return bool(self._no_concrete("a bool"))

    def __float__(self) -> float:
        return float(self._no_concrete("a float"))

    def __int__(self) -> int:
        return int(self._no_concrete("an int"))

    def __index__(self) -> int:
        return int(self._no_concrete("an index"))

    def item(self) -> float:
        """Not available inside vmap (one value per element); raises TypeError."""
        return float(self._no_concrete("a Python number"))

    def numpy(self) -> Any:
        """Not available inside vmap (one value per element); raises TypeError."""
        return self._no_concrete("a NumPy array")

    # ---- indexing and comparisons (computed by batching rules) -----------------------
    def __getitem__(self, key: Any) -> Any:
        return dispatch("getitem", (self, key))

    def _compare(self, other: Any, op: str) -> Any:
        return dispatch(op, (self, other))

    def __lt__(self, other: Any) -> Any:
        return self._compare(other, "less")

    def __le__(self, other: Any) -> Any:
        return self._compare(other, "less_equal")

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, "greater")

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, "greater_equal")

    def __eq__(self, other: Any) -> Any:
        return self._compare(other, "equal")

    def __ne__(self, other: Any) -> Any:
        return self._compare(other, "not_equal")

    __hash__ = object.__hash__

    # ---- operators: the eg ops (a Variable operand returns NotImplemented to these) ----
    def __add__(self, other: Any) -> Any:
        return _core.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return _core.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return _core.sub(self, other)

    def __rsub__(self, other: Any) -> Any:
        return _core.sub(other, self)

    def __mul__(self, other: Any) -> Any:
        return _core.mul(self, other)

    def __rmul__(self, other: Any) -> Any:
        return _core.mul(other, self)

    def __truediv__(self, other: Any) -> Any:
        return _core.div(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _core.div(other, self)

    def __pow__(self, other: Any) -> Any:
        return _core.pow(self, other)

    def __rpow__(self, other: Any) -> Any:
        return _core.pow(other, self)

    def __matmul__(self, other: Any) -> Any:
        return _core.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return _core.matmul(other, self)

    def __neg__(self) -> Any:
        return _core.neg(self)

    def __pos__(self) -> "BatchedVariable":
        return self

    def __abs__(self) -> Any:
        return _core.abs(self)

    @property
    def T(self) -> Any:
        """The axes of each element reversed."""
        return _core.transpose(self)

    @property
    def mT(self) -> Any:
        """The last two axes of each element swapped."""
        n = self.ndim
        return _core.transpose(self, tuple(range(n - 2)) + (n - 1, n - 2))

    def reshape(self, *shape: Any) -> Any:
        """eigengrad.reshape of each element: the shape as a tuple or separate ints."""
        return _core.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes: Any) -> Any:
        """eigengrad.transpose of each element: axes as a tuple or separate ints."""
        if not axes or (len(axes) == 1 and axes[0] is None):
            return _core.transpose(self)
        return _core.transpose(self, axes[0] if len(axes) == 1 else axes)


def _method(name: str) -> Callable[..., Any]:
    fn = getattr(_core, name)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"eigengrad.{name} of this value."
    return method


# The methods a Variable has, on batched values (each calls the eg op of that name).
for _name in ("exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "log1p", "expm1", "square",
              "sign", "arctan", "arcsin", "arccos", "sinh", "cosh", "arctanh", "softplus", "log_sigmoid", "erf",
              "erfc", "neg", "clip", "astype", "sum", "mean", "max", "min", "logsumexp", "prod", "var", "std",
              "cumsum", "cumprod", "argmax", "argmin", "argsort", "diagonal", "trace"):
    setattr(BatchedVariable, _name, _method(_name))



# ---- dispatch ------------------------------------------------------------------------

Rule = Callable[..., Any]
_SEQUENCE_OPS = ("concatenate", "stack", "getitem")
_RULES: Dict[str, Tuple[Rule, bool]] = {}


def rule(*names: str) -> Callable[[Rule], Rule]:
    """Registers a batching rule for the ops `names`.

    The rule is called as ``rule(b, args, batched)``: ``b`` the batch size, ``args``
    the op's arguments in signature order with those of the innermost level replaced
    by their physical values (batch on axis 0), ``batched[i]`` whether ``args[i]``
    is such a value (for a list argument: a list of flags). It returns the physical
    result (a value or a tuple of them), each with the batch on axis 0."""

    def register(fn: Rule) -> Rule:
        for name in names:
            _RULES[name] = (fn, False)
        return fn

    return register


def rules_for(*names: str, ops: Any = _core) -> Callable[[Rule], Rule]:
    """Registers one batching rule for the ops `names`: it is called as
    ``rule(op, b, args, batched)``, ``op`` the op of that name in `ops`."""

    def register(fn: Rule) -> Rule:
        for name in names:
            _RULES[name] = (functools.partial(fn, getattr(ops, name)), False)
        return fn

    return register


def composite_rule(*names: str) -> Callable[[Rule], Rule]:
    """Registers a rule that takes the op's arguments as they are (batched values
    included) and computes the op from other ops, each of which dispatches again."""

    def register(fn: Rule) -> Rule:
        for name in names:
            _RULES[name] = (fn, True)
        return fn

    return register


def rule_names() -> List[str]:
    """The ops that have a batching rule."""
    _load_rules()
    return sorted(_RULES)


def _load_rules() -> None:
    if "add" not in _RULES:  # the rules register themselves when their module loads
        import eigengrad.batching_rules  # noqa: F401  (registers the rules)


def level_of(x: Any) -> int:
    """The innermost vmap level among the batched values in x (0: none)."""
    if isinstance(x, BatchedVariable):
        return x.level
    if isinstance(x, (list, tuple)):
        return max((level_of(item) for item in x), default=0)
    return 0


def _unwrap(x: Any, level: int) -> Tuple[Any, Any]:
    """(physical value, batched flag) of an argument at `level`; lists item by item."""
    if isinstance(x, BatchedVariable) and x.level == level:
        return x.value, True
    if isinstance(x, (list, tuple)) and level_of(x) == level:
        pairs = [_unwrap(item, level) for item in x]
        return [p for p, _ in pairs], [f for _, f in pairs]
    return x, False


def _batch_size(args: Sequence[Any], level: int) -> int:
    for a in args:
        if isinstance(a, BatchedVariable) and a.level == level:
            return a.batch_size
        if isinstance(a, (list, tuple)):
            for item in a:
                if isinstance(item, BatchedVariable) and item.level == level:
                    return item.batch_size
    raise AssertionError("dispatch: no batched argument")


def wrap(value: Any, level: int) -> Any:
    """A physical result (or a tuple or list of them) as batched values of `level`."""
    if type(value) is Variable:
        return BatchedVariable(value, level)
    if isinstance(value, tuple):
        return type(value)(wrap(v, level) for v in value) if not hasattr(value, "_fields") else \
            type(value)(*(wrap(v, level) for v in value))
    if isinstance(value, list):
        return [wrap(v, level) for v in value]
    return BatchedVariable(value, level)


def dispatch(op: str, args: Sequence[Any]) -> Any:
    """Runs op `op` on arguments some of which are batched values: its batching rule
    at the innermost level among them (Note [Batched values])."""
    entry = _RULES.get(op)
    if entry is None:
        _load_rules()
        entry = _RULES.get(op)
        if entry is None:
            raise NotImplementedError(f"vmap: {op} has no batching rule")
    fn, composite = entry
    if composite:
        return fn(*args)
    # One pass for the common case, plain arguments: the level, then the values.
    level, size, plain = 0, 0, True
    for a in args:
        if type(a) is BatchedVariable:
            if a.level > level:
                level, size = a.level, a.value.shape[0]
        elif type(a) in (list, tuple) and level_of(a):
            plain = False
    if plain:
        values = [a.value if type(a) is BatchedVariable and a.level == level else a for a in args]
        flags = [type(a) is BatchedVariable and a.level == level for a in args]
        return wrap(fn(size, values, flags), level)
    if op not in _SEQUENCE_OPS:  # a list holding batched values is one value, stacked
        args = [_core.stack(list(a), 0) if isinstance(a, (list, tuple)) and level_of(a) else a for a in args]
    level = level_of(args)
    pairs = [_unwrap(a, level) for a in args]
    return wrap(fn(_batch_size(args, level), [p for p, _ in pairs], [f for _, f in pairs]), level)


_core._set_batched_type(BatchedVariable, dispatch)


class Lift:
    """A vmap level and its batch size, for code that computes on physical values
    (the transforms: Note [Transforms inside vmap] in functional.py; custom functions)."""

    def __init__(self, level: int, size: int) -> None:
        self.level = level
        self.size = size

    def physical(self, x: Any) -> Any:
        """x's physical value at this level; a value not batched here (a tree of them)
        repeated along a new axis 0."""
        if isinstance(x, (tuple, list)):
            return type(x)(self.physical(v) for v in x)
        if isinstance(x, BatchedVariable) and x.level == self.level:
            return x.value
        return broadcast_batch(x if isinstance(x, (Variable, BatchedVariable)) else _core._to_variable(x, "vmap"),
                               self.size)

    def wrap(self, x: Any) -> Any:
        if isinstance(x, (tuple, list)):
            return type(x)(self.wrap(v) for v in x)
        return BatchedVariable(x, self.level)


def innermost(x: Any) -> Any:
    """The physical value under every vmap level of x (all batch axes leading)."""
    while isinstance(x, BatchedVariable):
        x = x.value
    return x


def per_element(x: Any, draw: Callable[[Tuple[int, ...]], np.ndarray]) -> Any:
    """draw(shape) for x's shape; for a batched x, one draw for all its elements at
    once (each element gets values of its own: random masks differ per element)."""
    if isinstance(x, BatchedVariable):
        return BatchedVariable(per_element(x.value, draw), x.level)
    return Variable(draw(tuple(x.shape)))


# ---- helpers for the rules -------------------------------------------------------------

def logical_ndim(x: Any, batched: bool) -> int:
    """The ndim of one element of a physical argument."""
    return _ndim(x) - (1 if batched else 0)


def _ndim(x: Any) -> int:
    return x.ndim if isinstance(x, (Variable, BatchedVariable, np.ndarray)) else int(np.ndim(x))


def shape_of(x: Any) -> Tuple[int, ...]:
    """The shape of a physical argument as the ops see it (logical for an outer level's
    batched value)."""
    return tuple(x.shape) if hasattr(x, "shape") else tuple(np.shape(x))


def reshape(x: Any, shape: Sequence[int]) -> Any:
    """x reshaped, NumPy arrays staying NumPy arrays."""
    return x.reshape(tuple(shape)) if isinstance(x, np.ndarray) else _core.reshape(x, tuple(shape))


def moveaxis(x: Any, source: int, destination: int) -> Any:
    """numpy.moveaxis for physical values (differentiable for Variables)."""
    n = _ndim(x)
    source, destination = source % n, destination % n
    if source == destination:
        return x
    if isinstance(x, np.ndarray):
        return np.moveaxis(x, source, destination)
    order = [i for i in range(n) if i != source]
    order.insert(destination, source)
    return _core.transpose(x, tuple(order))


def broadcast_batch(x: Any, b: int) -> Any:
    """An unbatched argument repeated along a new axis 0 of size b."""
    shape = (b,) + shape_of(x)
    if isinstance(x, np.ndarray) or np.isscalar(x):
        return np.broadcast_to(x, shape)
    return _core.broadcast_to(x, shape)


def align(x: Any, batched: bool, ndim: int) -> Any:
    """A batched argument with size-1 axes after the batch axis, so that it broadcasts
    like one element of `ndim` axes (unbatched arguments broadcast as they are)."""
    if not batched:
        return x
    shape = shape_of(x)
    missing = ndim - (len(shape) - 1)
    if missing <= 0:
        return x
    return reshape(x, shape[:1] + (1,) * missing + shape[1:])


def normalize_axis(axis: int, ndim: int, op: str) -> int:
    """A logical axis in [0, ndim), as NumPy checks it."""
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(f"{op}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim


def physical_axes(axis: Any, ndim: int, op: str) -> Tuple[int, ...]:
    """The physical axes (past the batch axis) of a logical axis argument; None is all."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(normalize_axis(operator.index(a), ndim, op) + 1 for a in axes)

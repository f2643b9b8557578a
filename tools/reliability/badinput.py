"""Bad input, counted: every public op and transform driven with inputs it should
refuse or handle as NumPy does.

``cases()`` lists the cases in a fixed order (seeded values); each has a ``thunk``
that runs the op and a NumPy reference (or none when only an error is acceptable).
``run_case`` classifies the outcome:

- ``numpy``: eigengrad returned NumPy's answer (NaN where NumPy has NaN);
- ``raised``: a typed Python exception (ValueError, TypeError, IndexError,
  RuntimeError, MemoryError or a subclass) whose message names the op (a MemoryError
  from the allocation size check names the shape instead: it is raised below the op);
- ``wrong``: a value that differs from NumPy's, or an answer where NumPy refuses;
- ``untyped``: any other exception, or a message that does not name the op.

``run_all`` runs the cases in worker subprocesses, so that a crash (a signal, an
abort) or a hang is a counted failure (``crash``/``hang``) naming the case instead of
the end of the run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

import eigengrad as eg

TYPED = (ValueError, TypeError, IndexError, RuntimeError, MemoryError)


@dataclasses.dataclass
class Case:
    op: str
    kind: str  # the family of bad input (dtype, layout, axis, shape, memory, ...)
    label: str
    thunk: Callable[[], Any]
    ref: Optional[Callable[[], Any]] = None  # NumPy's answer; None: an error is expected
    rtol: float = 1e-6
    names: Tuple[str, ...] = ()  # other words that count as naming the op


# ---- inputs -------------------------------------------------------------------------

_rng = np.random.default_rng(2024)


def _values(shape: Tuple[int, ...], domain: str) -> np.ndarray:
    x = _rng.uniform(-2.0, 2.0, shape)
    if domain == "positive":
        x = np.abs(x) + 0.5
    return x


class _Sub(np.ndarray):
    """A plain ndarray subclass (NumPy's ufuncs keep it; eigengrad reads the values)."""


def _unaligned(a: np.ndarray) -> np.ndarray:
    buffer = np.empty(a.nbytes + 1, np.uint8)
    out = np.frombuffer(buffer.data, dtype=a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


def _readonly(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flags.writeable = False
    return a


def _strided(a: np.ndarray) -> np.ndarray:
    buffer = np.empty(a.shape + (2,), a.dtype)
    buffer[..., 0] = a
    return buffer[..., 0]


def _reversed(a: np.ndarray) -> np.ndarray:
    if a.ndim == 0:
        return a
    out = np.ascontiguousarray(a[(slice(None, None, -1),) * a.ndim])
    return out[(slice(None, None, -1),) * a.ndim]  # a's values on negative strides


def _stride0(a: np.ndarray) -> np.ndarray:
    """A broadcast (stride-0) view with a's values, when a repeats along axis 0."""
    if a.ndim == 0 or a.shape[0] == 0:
        return a
    row = a[:1]
    return np.broadcast_to(row, a.shape)


# Mutations that keep the values (as float64): eigengrad must give NumPy's answer.
VALUE_PRESERVING: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "fortran-order": np.asfortranarray,
    "non-contiguous": _strided,
    "negative-stride": _reversed,
    "stride-0": _stride0,
    "unaligned": _unaligned,
    "read-only": _readonly,
    "subclass": lambda a: a.view(_Sub),
    "big-endian": lambda a: a.astype(">f8"),
    "float32": lambda a: a.astype(np.float32),
    "float16": lambda a: a.astype(np.float16),
    "big-endian float32": lambda a: a.astype(">f4"),
    "longdouble": lambda a: a.astype(np.longdouble),
}

# Mutations to other real dtypes: the converted values give NumPy's answer.
REAL_DTYPES = ["int8", "int64", "uint8", "uint64", "bool"]

# Dtypes and objects that no op accepts.
REFUSED: Dict[str, Callable[[np.ndarray], Any]] = {
    "complex128": lambda a: a.astype(np.complex128),
    "complex64": lambda a: a.astype(np.complex64),
    "object": lambda a: a.astype(object),
    "str": lambda a: a.astype(str),
    "bytes": lambda a: a.astype(bytes),
    "structured": lambda a: np.zeros(a.shape, dtype=[("x", "f8"), ("y", "i4")]),
    "datetime64": lambda a: np.zeros(a.shape, dtype="datetime64[s]"),
    "timedelta64": lambda a: np.zeros(a.shape, dtype="timedelta64[s]"),
    "void": lambda a: np.zeros(a.shape, dtype="V8"),
    "masked array": lambda a: np.ma.masked_array(a, mask=np.zeros(a.shape, bool)),
    "None": lambda a: None,
    "text": lambda a: "text",
    "ragged list": lambda a: [[1.0, 2.0], [3.0]],
    "dict": lambda a: {"a": 1.0},
}

SPECIAL_VALUES = {
    "NaN": np.nan,
    "+Inf": np.inf,
    "-Inf": -np.inf,
    "1e308": 1e308,
    "subnormal": 5e-324,
}

# ---- the ops --------------------------------------------------------------------------


@dataclasses.dataclass
class Spec:
    """An op as the cases drive it: ``call(*arrays, **kw)`` and its NumPy ``ref``."""

    name: str
    call: Callable[..., Any]
    ref: Callable[..., Any]
    shapes: Tuple[Tuple[int, ...], ...]  # one valid shape per array argument
    domain: str = "real"
    kw: Dict[str, Any] = dataclasses.field(default_factory=dict)
    axis: bool = False  # takes axis=
    alt_shapes: Tuple[Tuple[Tuple[int, ...], ...], ...] = ()  # more valid shape sets (0-d, size 0)
    incompatible: Tuple[Tuple[Tuple[int, ...], ...], ...] = ()  # shape sets that must raise
    rtol: float = 1e-6
    names: Tuple[str, ...] = ()


def _shift(x, axis):
    """The max along axis, 0 where it is not finite (or the slice is empty), as
    eigengrad shifts: a row of -inf stays -inf instead of becoming NaN."""
    m = np.max(x, axis=axis, keepdims=True) if np.size(x) else np.zeros_like(np.sum(x, axis=axis, keepdims=True))
    return np.where(np.isfinite(m), m, 0)


def _log_softmax(x, axis=-1):
    # NumPy has no softmax: the reference is the shifted formula (shift by the max).
    s = x - _shift(x, axis)
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _softmax(x, axis=-1):
    return np.exp(_log_softmax(x, axis))


def _logsumexp(x, axis=None):
    m = _shift(x, axis)
    return np.squeeze(m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)), axis=axis)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


ELEMENTWISE_ALT = (((), ()), ((0, 3), (0, 3)), ((0,), ()), ((2, 1, 3), (3,)))
ELEMENTWISE_BAD = (((2, 3), (4,)), ((2, 3), (3, 2)), ((0, 3), (2, 3)))


def _unary(name: str, ref: Callable, domain: str = "real") -> Spec:
    return Spec(name, getattr(eg, name), ref, ((2, 3),), domain, alt_shapes=(((),), ((0, 3),), ((2, 0, 1),)))


def _binary(name: str, ref: Callable, domain: str = "real") -> Spec:
    return Spec(name, getattr(eg, name), ref, ((2, 3), (2, 3)), domain,
                alt_shapes=ELEMENTWISE_ALT, incompatible=ELEMENTWISE_BAD)


def _reduction(name: str, ref: Callable, empty_ok: bool) -> Spec:
    return Spec(name, getattr(eg, name), ref, ((2, 3, 4),), axis=True, kw={"axis": 1},
                alt_shapes=(((),), ((0, 3),), ((2, 0),)))


def _linear_ref(x, W, b):
    return x @ W.T + b


def _bce_ref(x, y):
    return np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))))


def _ce_labels(logits: Any) -> np.ndarray:
    """One valid label per row of logits of any shape (row i gets class i mod C)."""
    try:
        shape = np.shape(logits)
    except ValueError:
        shape = (1,)
    if len(shape) < 2:
        return np.array(0)
    return np.arange(shape[0]) % max(shape[-1], 1)


def _ce_call(logits):
    return eg.nn.functional.cross_entropy(logits, _ce_labels(logits))


def _ce_ref(logits):
    labels = _ce_labels(logits)
    m = np.max(logits, axis=-1, keepdims=True)
    lse = np.squeeze(m, -1) + np.log(np.sum(np.exp(logits - m), axis=-1))
    return np.mean(lse - logits[np.arange(logits.shape[0]), labels])


def specs() -> List[Spec]:
    """Every public differentiable op (the names of ``eg._core.op_names()``, sum_to
    and slice included) and the operators, as the cases drive them."""
    return [
        _unary("neg", np.negative), _unary("exp", np.exp), _unary("log", np.log, "positive"),
        _unary("sqrt", np.sqrt, "positive"), _unary("abs", np.abs), _unary("tanh", np.tanh),
        _unary("sigmoid", _sigmoid), _unary("relu", lambda x: np.maximum(x, 0)),
        _unary("sin", np.sin), _unary("cos", np.cos), _unary("log1p", np.log1p, "positive"),
        _unary("expm1", np.expm1), _unary("square", np.square), _unary("sign", np.sign),
        _binary("add", np.add), _binary("sub", np.subtract), _binary("mul", np.multiply),
        _binary("div", np.divide), _binary("pow", np.power, "positive"),
        _binary("maximum", np.maximum), _binary("minimum", np.minimum),
        Spec("where", lambda x, y: eg.where(np.array([True, False, True]), x, y),
             lambda x, y: np.where(np.array([True, False, True]), x, y), ((2, 3), (2, 3)),
             alt_shapes=(((3,), ()), ((1, 3), (2, 1))), incompatible=(((2, 4), (2, 4)), ((2, 3), (4,)))),
        Spec("clip", lambda x: eg.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), ((2, 3),),
             alt_shapes=(((),), ((0, 3),))),
        Spec("astype", lambda x: eg.astype(x, "float32"), lambda x: np.asarray(x, np.float32), ((2, 3),),
             alt_shapes=(((),), ((0, 3),))),
        _reduction("sum", np.sum, True), _reduction("mean", np.mean, True),
        _reduction("max", np.max, False), _reduction("min", np.min, False),
        Spec("logsumexp", eg.logsumexp, _logsumexp, ((2, 3, 4),), axis=True, kw={"axis": 1},
             alt_shapes=(((),), ((2, 0),))),
        Spec("norm", eg.norm, lambda x, axis=None: np.sqrt(np.sum(np.square(np.asarray(x, np.float64)), axis=axis)),
             ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((),), ((2, 0),))),
        Spec("sum_to", lambda x: eg.sum_to(x, (1, 3)), lambda x: np.sum(x, axis=0, keepdims=True), ((2, 3),),
             incompatible=(((2, 4),), ((3,),))),
        Spec("reshape", lambda x: eg.reshape(x, (3, -1)), lambda x: np.reshape(x, (3, -1)), ((2, 3),),
             incompatible=(((2, 2),), ((5,),))),
        Spec("transpose", lambda x: eg.transpose(x, (1, 0)), lambda x: np.transpose(x, (1, 0)), ((2, 3),),
             incompatible=(((2, 3, 4),), ((3,),))),
        Spec("broadcast_to", lambda x: eg.broadcast_to(x, (4, 2, 3)), lambda x: np.broadcast_to(x, (4, 2, 3)),
             ((2, 3),), alt_shapes=(((),), ((1, 3),)), incompatible=(((3, 2),), ((2, 4),))),
        Spec("slice", lambda x: x[1:, ::-2] if isinstance(x, eg.Variable) else eg.Variable(x)[1:, ::-2],
             lambda x: x[1:, ::-2], ((2, 3),), alt_shapes=(((0, 3),), ((5, 1),)),
             incompatible=(((3,),), ((),)), names=("getitem", "index", "Variable")),
        Spec("take", lambda x: eg.take(x, np.array([[0, -1], [1, 0]]), axis=1),
             lambda x: np.take(x, np.array([[0, -1], [1, 0]]), axis=1), ((2, 3),),
             alt_shapes=(((0, 3),),), incompatible=(((2, 0),), ((3,),))),
        Spec("concatenate", lambda x, y: eg.concatenate([x, y], axis=1),
             lambda x, y: np.concatenate([x, y], axis=1), ((2, 3), (2, 1)),
             alt_shapes=(((0, 3), (0, 2)),), incompatible=(((2, 3), (3, 1)), ((2, 3), (2,)), ((), ()))),
        Spec("stack", lambda x, y: eg.stack([x, y], axis=1), lambda x, y: np.stack([x, y], axis=1),
             ((2, 3), (2, 3)), alt_shapes=(((0, 3), (0, 3)), ((1,), (1,))), incompatible=(((2, 3), (3, 2)),)),
        Spec("matmul", eg.matmul, np.matmul, ((2, 3), (3, 4)),
             alt_shapes=(((3,), (3,)), ((3,), (3, 2)), ((2, 2, 3), (3, 1)), ((0, 3), (3, 2)), ((2, 0), (0, 3))),
             incompatible=(((2, 3), (4, 2)), ((), (3,)), ((2, 2, 3), (3, 3, 1)))),
        Spec("softmax", eg.softmax, _softmax, ((2, 3),), axis=True, kw={"axis": -1}, alt_shapes=(((0, 3),),)),
        Spec("log_softmax", eg.log_softmax, _log_softmax, ((2, 3),), axis=True,
             kw={"axis": -1}, alt_shapes=(((0, 3),),)),
        Spec("linear", eg.nn.functional.linear, _linear_ref, ((4, 3), (2, 3), (2,)),
             alt_shapes=(((3,), (2, 3), (2,)), ((0, 3), (2, 3), (2,)), ((5, 4, 3), (2, 3), (2,))),
             incompatible=(((4, 3), (3,), (2,)), ((4, 3), (2, 4), (2,)), ((4, 3), (2, 3), (3,)))),
        Spec("mse_loss", eg.nn.functional.mse_loss, lambda x, y: np.mean((x - y) ** 2), ((2, 3), (2, 3)),
             alt_shapes=(((), ()),), incompatible=(((2, 3), (3,)),)),
        Spec("cross_entropy", _ce_call, _ce_ref, ((4, 3),), incompatible=(((2, 2, 3),), ((),))),
        Spec("binary_cross_entropy_with_logits", eg.nn.functional.binary_cross_entropy_with_logits, _bce_ref,
             ((2, 3), (2, 3)), alt_shapes=(((), ()),), incompatible=(((2, 3), (2,)),)),
    ]


def _compare(got: Any, want: Any, rtol: float) -> Optional[str]:
    got_a = np.asarray(got, dtype=np.float64)
    want_a = np.asarray(want, dtype=np.float64)
    if got_a.shape != want_a.shape:
        return f"shape {got_a.shape}, NumPy {want_a.shape}"
    if not np.allclose(got_a, want_a, rtol=rtol, atol=rtol, equal_nan=True):
        bad = ~np.isclose(got_a, want_a, rtol=rtol, atol=rtol, equal_nan=True)
        i = tuple(np.argwhere(bad)[0])
        return f"value {got_a[i]!r} at {i}, NumPy {want_a[i]!r}"
    return None


def _op_case(spec: Spec, kind: str, label: str, arrays: Sequence[Any], kw: Dict[str, Any],
             ref: bool = True, ref_arrays: Optional[Sequence[Any]] = None, rtol: Optional[float] = None) -> Case:
    arrays = list(arrays)
    ref_in = list(ref_arrays if ref_arrays is not None else arrays) if ref else []
    return Case(
        spec.name, kind, label,
        thunk=lambda: spec.call(*arrays, **kw),
        ref=(lambda: spec.ref(*ref_in, **kw)) if ref else None,
        rtol=spec.rtol if rtol is None else rtol,
        names=spec.names,
    )


def _as_float64(arrays: Sequence[Any]) -> List[np.ndarray]:
    """The values NumPy's reference sees: float64 (float16 and float32 inputs rounded
    first, as eigengrad computes them)."""
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def op_cases() -> List[Case]:
    out: List[Case] = []
    for spec in specs():
        base = [_values(s, spec.domain) for s in spec.shapes]
        kw = dict(spec.kw)
        out.append(_op_case(spec, "valid", "plain float64", base, kw))
        for i in range(len(base)):
            arg = f"argument {i}: "
            for label, mutate in VALUE_PRESERVING.items():
                m = list(base)
                m[i] = mutate(base[i])
                low = label in ("float16", "float32", "big-endian float32")
                # Results round to the input's precision (float32 for float16 input).
                out.append(_op_case(spec, "layout/dtype", arg + label, m, kw, ref_arrays=_as_float64(m),
                                    rtol=1e-2 if label == "float16" else (1e-5 if low else None)))
            for dtype in REAL_DTYPES:
                m = list(base)
                if dtype == "bool":
                    m[i] = base[i] > 0
                elif dtype.startswith("u"):
                    m[i] = np.round(np.abs(base[i])).astype(dtype)
                else:
                    m[i] = np.round(base[i]).astype(dtype)
                out.append(_op_case(spec, "layout/dtype", arg + dtype, m, kw, ref_arrays=_as_float64(m)))
            for label, mutate in REFUSED.items():
                if label == "None" and spec.name == "linear" and i == 2:
                    continue  # no bias: valid
                m = list(base)
                m[i] = mutate(base[i])
                out.append(_op_case(spec, "dtype", arg + label, m, kw, ref=False))
            for label, value in SPECIAL_VALUES.items():
                m = list(base)
                a = base[i].copy()
                a.flat[0] = value
                m[i] = a
                out.append(_op_case(spec, "values", arg + label, m, kw))
            m = list(base)
            m[i] = eg.Variable(base[i], requires_grad=True)
            out.append(_op_case(spec, "valid", arg + "Variable requiring grad", m, kw,
                                ref_arrays=base))
        for shapes in spec.alt_shapes:
            arrays = [_values(s, spec.domain) for s in shapes]
            out.append(_op_case(spec, "shape", f"shapes {shapes}", arrays, kw))
        for shapes in spec.incompatible:
            arrays = [_values(s, spec.domain) for s in shapes]
            out.append(_op_case(spec, "shape", f"incompatible shapes {shapes}", arrays, kw))
        if spec.axis:
            nd = len(spec.shapes[0])
            for axis in [nd, -nd - 1, 2**40, 2**63 - 1, 2**70, -(2**70), (0, 0), (0, -nd), 1.0, "0", True]:
                out.append(_op_case(spec, "axis", f"axis={axis!r}", base, dict(kw, axis=axis)))
    return out


def _memory_cases() -> List[Case]:
    """Allocations that can never fit: refused by the size check before allocating."""
    n = 2**20
    col, row = np.ones((n, 1)), np.ones((1, n))
    x = eg.Variable(np.ones(3))
    return [
        Case("mul", "memory", "outer product 2^20 x 2^20 (8 TiB)", lambda: eg.mul(col, row)),
        Case("matmul", "memory", "(2^20, 1) @ (1, 2^20) (8 TiB)", lambda: eg.matmul(col, row)),
        Case("broadcast_to", "memory", "to (2^40, 2^40)", lambda: eg.broadcast_to(x, (2**40, 2**40, 3))),
        Case("broadcast_to", "memory", "to (2^30, 2^20, 3) (24 PiB)", lambda: eg.broadcast_to(x, (2**30, 2**20, 3))),
        Case("add", "memory", "x + y, 2^35 elements", lambda: eg.add(eg.reshape(eg.Variable(np.ones(2**15)), (2**15, 1, 1)),
                                                                      np.ones((1, 2**10, 2**10)))),
        Case("zeros", "memory", "zeros(2^40)", lambda: eg.zeros(2**40)),
        Case("full", "memory", "full((2^31, 2^31), 1)", lambda: eg.full((2**31, 2**31), 1.0), names=("too big",)),
        Case("reshape", "shape", "size 0 whose other dimensions overflow", lambda: eg.reshape(eg.Variable(np.ones(0)), (0, 2**62, 2**62)),
             names=("too big",)),
        Case("reshape", "shape", "size 0, (0, 2^62)", lambda: eg.reshape(eg.Variable(np.ones(0)), (0, 2**62)),
             names=("too big",)),
        Case("reshape", "shape", "shape entry 2^70", lambda: eg.reshape(x, (2**70,))),
        Case("reshape", "shape", "two unknown dimensions", lambda: eg.reshape(x, (-1, -1))),
        Case("reshape", "shape", "negative dimension", lambda: eg.reshape(x, (-3, -1))),
        Case("broadcast_to", "shape", "negative dimension", lambda: eg.broadcast_to(x, (-1, 3))),
        Case("sum_to", "shape", "shape entry 2^70", lambda: eg.sum_to(x, (2**70,))),
        Case("take", "index", "index out of range", lambda: eg.take(x, [3])),
        Case("take", "index", "index -4", lambda: eg.take(x, [-4])),
        Case("take", "index", "index 2^70", lambda: eg.take(x, [2**70])),
        Case("take", "index", "float indices", lambda: eg.take(x, [0.5])),
        Case("take", "axis", "axis 2^70", lambda: eg.take(x, [0], axis=2**70)),
        Case("slice", "index", "x[2^70]", lambda: x[2**70], names=("getitem",)),
        Case("slice", "index", "x[::2^70]", lambda: x[:: 2**70], ref=lambda: np.ones(3)[:: 2**70], names=("getitem",)),
        Case("slice", "index", "x[::0]", lambda: x[::0], names=("getitem", "slice step")),
        Case("slice", "index", "x[1.5]", lambda: x[1.5], names=("getitem",)),
        Case("slice", "index", "x[0, 0]", lambda: x[0, 0], names=("getitem",)),
        Case("clip", "value", "NaN bound", lambda: eg.clip(x, np.nan, 1.0)),
        Case("clip", "value", "string bound", lambda: eg.clip(x, "a", 1.0)),
        Case("clip", "value", "array bound", lambda: eg.clip(x, np.zeros(3), 1.0)),
        Case("astype", "dtype", "to int64", lambda: eg.astype(x, "int64")),
        Case("astype", "dtype", "to complex", lambda: eg.astype(x, np.complex128)),
        Case("cross_entropy", "value", "label out of range",
             lambda: eg.nn.functional.cross_entropy(np.ones((2, 3)), np.array([0, 3]))),
        Case("cross_entropy", "value", "negative label",
             lambda: eg.nn.functional.cross_entropy(np.ones((2, 3)), np.array([-1, 0]))),
        Case("cross_entropy", "dtype", "float labels",
             lambda: eg.nn.functional.cross_entropy(np.ones((2, 3)), np.array([0.0, 1.0]))),
        Case("cross_entropy", "shape", "labels of the wrong length",
             lambda: eg.nn.functional.cross_entropy(np.ones((2, 3)), np.array([0, 1, 2]))),
        Case("mse_loss", "value", "unknown reduction", lambda: eg.nn.functional.mse_loss(x, x, reduction="max")),
        Case("Variable", "dtype", "dtype=int32", lambda: eg.Variable([1, 2], dtype=np.int32)),
        Case("Variable", "dtype", "dtype='float128'", lambda: eg.Variable([1, 2], dtype="float128")),
        Case("Variable", "dtype", "dtype='nonsense'", lambda: eg.Variable([1, 2], dtype="nonsense")),
    ]


def _transform_cases() -> List[Case]:
    x = eg.Variable(np.linspace(-1.0, 1.0, 6).reshape(2, 3))

    def f(a):
        return (eg.tanh(a) ** 2).sum()

    def vec(a):
        return eg.tanh(a) * 2.0

    def nonleaf_backward():
        w = eg.Variable(np.ones(3), requires_grad=True)
        (w * 2.0).backward()

    def second_backward():
        w = eg.Variable(np.ones(3), requires_grad=True)
        y = (eg.exp(w)).sum()
        y.backward()
        y.backward()

    def backward_wrong_grad(grad):
        def run():
            w = eg.Variable(np.ones(3), requires_grad=True)
            (w * 2.0).backward(grad)
        return run

    return [
        Case("grad", "transform", "f returns a vector", lambda: eg.grad(vec)(x)),
        Case("grad", "transform", "f returns a string", lambda: eg.grad(lambda a: "no")(x)),
        Case("grad", "transform", "argnums out of range", lambda: eg.grad(f, argnums=3)(x)),
        Case("grad", "transform", "argnums a string", lambda: eg.grad(f, argnums="0")(x)),
        Case("grad", "transform", "complex argument", lambda: eg.grad(f)(np.ones(3, complex))),
        Case("grad", "transform", "string argument", lambda: eg.grad(f)("x")),
        Case("value_and_grad", "transform", "f returns a vector", lambda: eg.value_and_grad(vec)(x)),
        Case("vjp", "transform", "cotangent of the wrong shape", lambda: eg.vjp(vec, x)[1](np.ones(4))),
        Case("vjp", "transform", "complex cotangent", lambda: eg.vjp(vec, x)[1](np.ones((2, 3), complex))),
        Case("jvp", "transform", "tangent of the wrong shape", lambda: eg.jvp(vec, (x,), (np.ones(4),)), names=("make_dual",)),
        Case("jvp", "transform", "fewer tangents than primals", lambda: eg.jvp(vec, (x,), ())),
        Case("jvp", "transform", "string tangent", lambda: eg.jvp(vec, (x,), ("t",)), names=("make_dual",)),
        Case("jacobian", "transform", "mode='sideways'", lambda: eg.jacobian(vec, mode="sideways")(x)),
        Case("jacobian", "transform", "chunk_size=0", lambda: eg.jacobian(vec, chunk_size=0)(x)),
        Case("jacobian", "transform", "chunk_size=-1", lambda: eg.jacobian(vec, chunk_size=-1)(x)),
        Case("jacobian", "transform", "chunk_size=1.5", lambda: eg.jacobian(vec, chunk_size=1.5)(x)),
        Case("jacobian", "transform", "f returns a string", lambda: eg.jacobian(lambda a: "no")(x)),
        Case("jacobian", "transform", "argnums out of range", lambda: eg.jacobian(vec, argnums=2)(x)),
        Case("hessian", "transform", "f returns a vector", lambda: eg.hessian(vec)(x), names=("grad",)),
        Case("hvp", "transform", "tangent of the wrong shape", lambda: eg.hvp(f, (x,), (np.ones(4),)), names=("make_dual",)),
        Case("autograd.grad", "transform", "input does not require grad",
             lambda: eg.autograd.grad(f(x), [x]), names=("grad", "backward")),
        Case("autograd.grad", "transform", "input not a Variable",
             lambda: eg.autograd.grad(f(eg.Variable(np.ones(2), requires_grad=True)), [np.ones(2)]), names=("grad",)),
        Case("autograd.grad", "transform", "wrong number of grad_outputs",
             lambda: eg.autograd.grad([f(x)], [x], grad_outputs=[1.0, 2.0]), names=("grad",)),
        Case("backward", "transform", "non-scalar without grad", nonleaf_backward),
        Case("backward", "transform", "second backward without retain_graph", second_backward,
             names=("exp", "sum", "retain_graph")),
        Case("backward", "transform", "grad of the wrong shape", backward_wrong_grad(np.ones(4))),
        Case("backward", "transform", "complex grad", backward_wrong_grad(np.ones(3, complex))),
        Case("backward", "transform", "string grad", backward_wrong_grad("g")),
        Case("backward", "transform", "constant output", lambda: eg.Variable(1.0).backward()),
        Case("gradcheck", "transform", "f returns a string", lambda: eg.gradcheck(lambda a: "no", (np.ones(2),)),
             names=("gradcheck", "Variable", "grad")),
    ]


def cases() -> List[Case]:
    """Every case, in a fixed order (the same values on every call)."""
    global _rng
    _rng = np.random.default_rng(2024)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return op_cases() + _memory_cases() + _transform_cases()


# ---- running ----------------------------------------------------------------------------


def run_case(case: Case) -> Tuple[str, str]:
    """(outcome, detail): outcome is numpy, raised, wrong or untyped (see the module doc)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            got = case.thunk()
        except TYPED as e:
            message = str(e)
            words = (case.op,) + case.names
            if "internal error" in message or "Unable to cast" in message:
                return "untyped", f"{type(e).__name__}: {message[:200]}"
            if any(w.split(".")[-1] in message for w in words):
                return "raised", type(e).__name__
            if isinstance(e, MemoryError) and "shape" in message:
                return "raised", "MemoryError (names the shape)"
            return "untyped", f"{type(e).__name__} not naming {case.op!r}: {message[:200]}"
        except Exception as e:  # noqa: BLE001 - classified, not swallowed
            return "untyped", f"{type(e).__name__}: {str(e)[:200]}"
        if case.ref is None:
            return "wrong", f"returned {type(got).__name__} where an error was expected"
        try:
            want = case.ref()
        except Exception as e:  # noqa: BLE001
            return "wrong", f"returned a value where NumPy raises {type(e).__name__}: {str(e)[:120]}"
        problem = _compare(got, want, case.rtol)
        return ("wrong", problem) if problem else ("numpy", "")


def _worker(start: int, stop: int) -> None:
    """Runs cases [start, stop), printing one JSON line before and after each.

    EIGENGRAD_BADINPUT_SELFTEST=crash:i (or hang:i) makes case i abort the process
    (or sleep): how the tests check that the runner survives both."""
    all_cases = cases()
    mode, _, at = os.environ.get("EIGENGRAD_BADINPUT_SELFTEST", "").partition(":")
    for i in range(start, min(stop, len(all_cases))):
        print(json.dumps({"start": i}), flush=True)
        if at and i == int(at):
            if mode == "crash":
                os.abort()
            time.sleep(3600)
        outcome, detail = run_case(all_cases[i])
        print(json.dumps({"done": i, "outcome": outcome, "detail": detail}), flush=True)


@dataclasses.dataclass
class Summary:
    tried: int
    outcomes: Dict[str, int]
    failures: List[Tuple[str, str, str, str]]  # (op, label, outcome, detail)
    seconds: float

    @property
    def raised(self) -> int:
        return self.outcomes.get("raised", 0)

    @property
    def numpy(self) -> int:
        return self.outcomes.get("numpy", 0)

    @property
    def failed(self) -> int:
        return self.tried - self.raised - self.numpy


def _pythonpath() -> str:
    """The workers' PYTHONPATH: the repository root (where ``tools`` is) first."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return os.pathsep.join([root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


def _run_range(lo: int, hi: int, timeout: float, results: Dict[int, Tuple[str, str]]) -> None:
    """Runs cases [lo, hi) in worker processes, one after the other: a worker that
    dies marks its current case crash, one silent for `timeout` seconds hang, and a
    new worker starts after that case."""
    while lo < hi:
        cmd = [sys.executable, "-c", f"from tools.reliability.badinput import _worker; _worker({lo}, {hi})"]
        with tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                    env=dict(os.environ, PYTHONFAULTHANDLER="1", PYTHONPATH=_pythonpath()))
            lines: "queue.Queue[Optional[str]]" = queue.Queue()

            def read(stream=proc.stdout):
                for line in stream:
                    lines.put(line)
                lines.put(None)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            started, hung = None, False
            while True:
                try:
                    line = lines.get(timeout=timeout)
                except queue.Empty:
                    hung = True
                    proc.kill()
                    break
                if line is None:
                    break
                msg = json.loads(line)
                if "start" in msg:
                    started = msg["start"]
                else:
                    results[msg["done"]] = (msg["outcome"], msg["detail"])
                    started = None
            proc.wait()
            reader.join(timeout=5)
            proc.stdout.close()
            err.seek(0)
            tail = " | ".join(err.read().strip().splitlines()[-3:])
        if proc.returncode == 0 and not hung:
            return
        if started is None:  # died between cases: go on after the last one done
            started = max([i for i in results if lo <= i < hi], default=lo - 1) + 1
            if started >= hi:
                return
        results[started] = ("hang" if hung else "crash", f"exit {proc.returncode}: {tail}")
        lo = started + 1


def run_all(workers: int = 2, timeout: float = 120.0) -> Summary:
    """Runs every case in `workers` parallel chains of subprocesses (see _run_range;
    `timeout` is per case)."""
    all_cases = cases()
    n = len(all_cases)
    results: Dict[int, Tuple[str, str]] = {}
    start_time = time.perf_counter()
    chains = [threading.Thread(target=_run_range, args=(k * n // workers, (k + 1) * n // workers, timeout, results))
              for k in range(workers)]
    for t in chains:
        t.start()
    for t in chains:
        t.join()
    outcomes: Dict[str, int] = {}
    failures = []
    for i, case in enumerate(all_cases):
        outcome, detail = results.get(i, ("crash", "never ran"))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome not in ("numpy", "raised"):
            failures.append((case.op, case.label, outcome, detail))
    return Summary(n, outcomes, failures, time.perf_counter() - start_time)

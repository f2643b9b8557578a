"""Bad input, the inputs and the ops: the unusual arrays (unaligned, read-only,
strided, reversed, broadcast, integer and bool dtypes, special values) and one
``Spec`` per public op with its NumPy reference. ``badinput_cases`` combines them
into cases; ``badinput`` runs them."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Dict, List, Optional, Tuple

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
    if domain == "unit":  # inside (-1, 1): arcsin, arccos, arctanh
        x = x * 0.45
    if domain == "spd" and x.ndim >= 2 and x.shape[-1] == x.shape[-2]:  # symmetric positive definite: cholesky
        x = x @ np.swapaxes(x, -1, -2) + 3.0 * np.eye(x.shape[-1])
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


def _scatter_add_ref(x, values, axis):
    """scatter_add's answer with NumPy's add.at (issue 14)."""
    indices = np.array([[0, 2, 2]])
    out = np.array(x, dtype=np.result_type(x, values, np.float64))
    coords = list(np.indices(indices.shape))
    coords[axis] = indices
    np.add.at(out, tuple(coords), np.broadcast_to(values, indices.shape))
    return out


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
        _unary("arctan", np.arctan), _unary("arcsin", np.arcsin, "unit"), _unary("arccos", np.arccos, "unit"),
        _unary("sinh", np.sinh), _unary("cosh", np.cosh), _unary("arctanh", np.arctanh, "unit"),
        _unary("softplus", lambda x: np.logaddexp(0.0, x)), _unary("log_sigmoid", lambda x: -np.logaddexp(0.0, -x)),
        _binary("logaddexp", np.logaddexp), _binary("arctan2", np.arctan2),
        _unary("erf", np.vectorize(math.erf, otypes=[float])), _unary("erfc", np.vectorize(math.erfc, otypes=[float])),
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
        # ---- issue 14: scans, rearrangements, indexing (one block for merging)
        Spec("cumsum", eg.cumsum, np.cumsum, ((2, 3, 4),), axis=True, kw={"axis": 1},
             alt_shapes=(((0, 3),), ((5,),))),
        Spec("cumprod", eg.cumprod, np.cumprod, ((2, 3, 4),), axis=True, kw={"axis": 1},
             alt_shapes=(((0, 3),), ((5,),))),
        Spec("prod", eg.prod, np.prod, ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((),), ((0, 3),))),
        Spec("var", eg.var, np.var, ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((),), ((2, 0),))),
        Spec("std", eg.std, np.std, ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((),), ((2, 0),))),
        Spec("flip", eg.flip, np.flip, ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((0, 3),),)),
        Spec("roll", lambda x, axis=0: eg.roll(x, 2, axis=axis), lambda x, axis=0: np.roll(x, 2, axis=axis),
             ((2, 3, 4),), axis=True, kw={"axis": 1}, alt_shapes=(((0, 3),), ((5,),))),
        Spec("tril", eg.tril, np.tril, ((2, 3, 4),), alt_shapes=(((0, 3),), ((3, 3),)), incompatible=(((3,),), ((),))),
        Spec("triu", eg.triu, np.triu, ((2, 3, 4),), alt_shapes=(((0, 3),), ((3, 3),)), incompatible=(((3,),), ((),))),
        Spec("diagonal", eg.diagonal, np.diagonal, ((3, 4),), alt_shapes=(((0, 3),), ((2, 3, 4),)),
             incompatible=(((3,),), ((),))),
        Spec("diag", eg.diag, np.diag, ((3, 4),), alt_shapes=(((0, 3),), ((3,),), ((0,),)),
             incompatible=(((2, 3, 4),), ((),))),
        Spec("trace", eg.trace, np.trace, ((3, 4),), alt_shapes=(((0, 3),), ((2, 3, 4),)),
             incompatible=(((3,),), ((),)), names=("diagonal",)),
        Spec("take_along_axis", lambda x, axis=1: eg.take_along_axis(x, np.array([[[0], [2]]]), axis=axis),
             lambda x, axis=1: np.take_along_axis(x, np.array([[[0], [2]]]), axis=axis), ((2, 3, 4),),
             axis=True, kw={"axis": 1}, incompatible=(((2, 1),), ((4, 3, 2),))),
        Spec("scatter_add", lambda x, v: eg.scatter_add(x, np.array([[0, 2, 2]]), v, axis=1),
             lambda x, v: _scatter_add_ref(x, v, 1), ((2, 3), (1, 3)),
             alt_shapes=(((2, 3), ()), ((2, 3), (1, 1))), incompatible=(((2, 3), (2, 3)), ((1, 2), (1, 3)), ((3,), (3,)))),
        Spec("sort", eg.sort, lambda x, axis=-1: np.sort(x, axis=axis, kind="stable"), ((2, 3, 4),), axis=True,
             kw={"axis": 1}, alt_shapes=(((0, 3),), ((5,),))),
        Spec("argsort", eg.argsort, lambda x, axis=-1: np.argsort(x, axis=axis, kind="stable"), ((2, 3, 4),),
             axis=True, kw={"axis": 1}, alt_shapes=(((0, 3),), ((5,),))),
        Spec("argmax", eg.argmax, np.argmax, ((2, 3, 4),), axis=True, kw={"axis": 1},
             alt_shapes=(((),), ((3, 0),)), incompatible=(((0, 3),),)),
        Spec("argmin", eg.argmin, np.argmin, ((2, 3, 4),), axis=True, kw={"axis": 1},
             alt_shapes=(((),), ((3, 0),)), incompatible=(((0, 3),),)),
        Spec("pad", lambda x: eg.pad(x, ((1, 0), (0, 2))), lambda x: np.pad(x, ((1, 0), (0, 2))), ((2, 3),),
             alt_shapes=(((0, 3),), ((1, 1),)), incompatible=(((2, 3, 4),), ((3,),), ((),))),
        Spec("tensordot", eg.tensordot, np.tensordot, ((2, 3, 4), (3, 4, 5)),
             alt_shapes=(((3, 4), (3, 4)), ((0, 3, 4), (3, 4, 2))), incompatible=(((2, 3, 4), (4, 3, 5)), ((4,), (4,)))),
        # ---- end of issue 14 block
    ] + _linalg_specs()


# ---- eg.linalg (issue 14) ------------------------------------------------------------
# Ops with several results are driven through one of them: slogdet's log|det|, qr's R
# (diagonal made non-negative, eigengrad's convention), eigh's eigenvalues, svd's
# singular values. The last three are compared relative to their largest magnitude:
# with a 1e308 entry, backward-stable methods (LAPACK's, Eigen's) agree only to
# rounding of that magnitude, and the small values are rounding.


def _relative(x):
    x = np.asarray(x, dtype=np.float64)
    m = np.max(np.abs(x)) if x.size else 1.0
    return x / m if np.isfinite(m) and m > 0 else x

_SQUARE_ALT = (((2, 3, 3),), ((0, 0),), ((0, 2, 2),), ((1, 1),))
_SQUARE_BAD = (((2, 3),), ((3,),), ((),), ((2, 3, 4),))


def _qr_r(a):
    # NumPy's LAPACK overflows on a 1e308 entry (R[0, 1] = -inf) where eigengrad
    # scales by a power of two first: the reference is NumPy's R of the same exactly
    # scaled matrix, scaled back.
    a = np.asarray(a, dtype=np.float64)
    big = np.max(np.abs(a)) if a.size else 0.0
    scale = 2.0 ** np.floor(np.log2(big)) if np.isfinite(big) and big > 2.0 ** 500 else 1.0
    r = np.linalg.qr(a / scale, mode="r") * scale
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))
    return r * np.where(d == 0, 1.0, d)[..., :, None]


def _linalg_specs() -> List[Spec]:
    la = eg.linalg
    return [
        Spec("solve", la.solve, np.linalg.solve, ((3, 3), (3, 2)),
             alt_shapes=(((3, 3), (3,)), ((2, 3, 3), (3, 1)), ((2, 3, 3), (3,)), ((0, 3, 3), (0, 3, 2)), ((0, 0), (0,))),
             incompatible=(((3, 3), (4,)), ((2, 3), (2,)), ((3,), (3,)), ((2, 3, 3), (4, 3, 1)), ((3, 3), ()))),
        Spec("inv", la.inv, np.linalg.inv, ((3, 3),), alt_shapes=_SQUARE_ALT, incompatible=_SQUARE_BAD),
        Spec("det", la.det, np.linalg.det, ((3, 3),), alt_shapes=_SQUARE_ALT, incompatible=_SQUARE_BAD),
        Spec("slogdet", lambda a: la.slogdet(a).logabsdet, lambda a: np.linalg.slogdet(a).logabsdet, ((3, 3),),
             alt_shapes=_SQUARE_ALT, incompatible=_SQUARE_BAD),
        Spec("cholesky", la.cholesky, np.linalg.cholesky, ((3, 3),), "spd", alt_shapes=_SQUARE_ALT,
             incompatible=_SQUARE_BAD),
        Spec("qr", lambda a: _relative(la.qr(a, mode="r")), lambda a: _relative(_qr_r(a)), ((4, 3),),
             alt_shapes=(((3, 4),), ((2, 3, 3),), ((0, 3),), ((3, 0),)), incompatible=(((3,),), ((),))),
        Spec("eigh", lambda a: _relative(la.eigh(a).eigenvalues), lambda a: _relative(np.linalg.eigh(a).eigenvalues),
             ((3, 3),),
             alt_shapes=_SQUARE_ALT, incompatible=_SQUARE_BAD),
        Spec("svd", lambda a: _relative(la.svd(a, compute_uv=False)),
             lambda a: _relative(np.linalg.svd(a, compute_uv=False)), ((3, 4),),
             alt_shapes=(((4, 3),), ((2, 3, 3),), ((0, 3),), ((1, 1),)), incompatible=(((3,),), ((),))),
    ]



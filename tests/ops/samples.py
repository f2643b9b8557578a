"""The sample table: one OpInfo per public op, driving the generic op tests.

Every name in ``eg._core.op_names()`` has one entry in ``OPS`` giving the eigengrad
callable, a NumPy reference, sample inputs and flags. A sample's ``args`` are the
op's float inputs (the ones that are cast to each dtype and differentiated); its
``kwargs`` are everything else (axes, shapes, conditions, indices, bounds).

Inputs stay away from kinks and ties (``abs``/``relu``/``sign`` at 0, ties in
``max``/``maximum``, ``clip`` at its bounds) so that central differences are
valid; those points have named tests of their own. Samples cover 0-d arrays,
broadcasting, size 0 and non-contiguous arrays (transposed, strided, reversed and
broadcast views). The generator is seeded: the samples are the same on every run.

Longer than 400 lines on purpose: it is one table, an entry per op, so that the
coverage check and a reader see every op and its samples in one place; split it by
op family when an entry no longer fits on a screen.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import eigengrad as eg

rng = np.random.default_rng(1234)


@dataclasses.dataclass(frozen=True)
class Sample:
    args: Tuple[np.ndarray, ...]
    kwargs: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class OpInfo:
    """An op, its NumPy reference and its samples.

    ``op(*args, **kwargs)`` takes Variables, ``ref(*args, **kwargs)`` ndarrays.
    ``domain`` says where the samples are drawn and why. Flags:

    - ``differentiable``: every float input gets a VJP;
    - ``gradgrad``: the VJP is differentiable too (``create_graph=True``);
    - ``takes_arrays``: ``op`` also accepts NumPy arrays in place of Variables;
    - ``broadcasts``: the inputs broadcast element-wise, so a Python scalar may
      stand for any of them.

    ``result_dtype(sample, input_dtype)`` is the output dtype (the input dtype
    unless the op converts); ``gradcheck_eps`` the finite-difference step (larger
    for a float32 output, whose rounding error is divided by it).
    """

    name: str
    op: Callable[..., Any]
    ref: Callable[..., Any]
    samples: List[Sample]
    domain: str = "any real"
    differentiable: bool = True
    gradgrad: bool = True
    takes_arrays: bool = True
    broadcasts: bool = False
    result_dtype: Callable[[Sample, np.dtype], np.dtype] = lambda sample, dtype: dtype
    gradcheck_eps: float = 1e-6


# ---- input generators ---------------------------------------------------------------


def normal(*shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


def uniform(low: float, high: float, *shape: int) -> np.ndarray:
    return rng.uniform(low, high, shape)


def away_from_zero(*shape: int) -> np.ndarray:
    """|x| in [0.2, 2], random signs: clear of the kink at 0."""
    return rng.choice([-1.0, 1.0], shape) * uniform(0.2, 2.0, *shape)


def distinct(*shape: int) -> np.ndarray:
    """Values at least 0.2 apart (no ties in max/min reductions)."""
    size = int(np.prod(shape))
    values = rng.permutation(size) * 0.3 - 0.15 * size + uniform(-0.05, 0.05, size)
    return values.reshape(shape)


def on_grid(offset: float, *shape: int) -> np.ndarray:
    """Values near the grid offset + k/2: two grids with offsets 0.25 apart never tie."""
    return offset + 0.5 * rng.integers(-4, 5, shape) + uniform(-0.05, 0.05, *shape)


def strided(a: np.ndarray) -> np.ndarray:
    """A non-contiguous view holding a's values (every other element of a buffer)."""
    buffer = np.empty(a.shape + (2,), a.dtype)
    buffer[..., 0] = a
    return buffer[..., 0]


def as_dtype(a: np.ndarray, dtype: Any) -> np.ndarray:
    """a cast to dtype in the same memory layout: a transposed, strided, reversed or
    broadcast view stays one (the strides are scaled by the item size)."""
    dtype = np.dtype(dtype)
    if a.size == 0:
        return a.astype(dtype)
    steps = [s // a.itemsize for s in a.strides]
    low = sum(st * (n - 1) for st, n in zip(steps, a.shape) if st < 0)
    high = sum(st * (n - 1) for st, n in zip(steps, a.shape) if st > 0)
    buffer = np.empty(high - low + 1, dtype)
    strides = [st * dtype.itemsize for st in steps]
    out = np.lib.stride_tricks.as_strided(buffer[-low:], a.shape, strides)
    out[...] = a
    if not a.flags.writeable:
        out.flags.writeable = False
    return out


# ---- sample sets shared by op families ----------------------------------------------


def unary_samples(draw: Callable[..., np.ndarray]) -> List[Sample]:
    return [
        Sample((draw(),)),
        Sample((draw(4),)),
        Sample((draw(2, 3),)),
        Sample((draw(0),)),
        Sample((draw(2, 0, 3),)),
        Sample((draw(3, 2).T,)),
        Sample((strided(draw(2, 3)),)),
        Sample((draw(2, 3)[::-1, ::-2],)),
        Sample((np.broadcast_to(draw(3), (2, 3)),)),
        Sample((draw(8, 9),)),  # long enough for full SIMD packets and a tail
    ]


BROADCAST_SHAPES = [
    ((2, 3), (2, 3)),
    ((), ()),
    ((3, 1), (4,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (4, 1)),
    ((0, 3), (3,)),
    ((0,), ()),
]


def binary_samples(draw_x: Callable, draw_y: Callable) -> List[Sample]:
    samples = [Sample((draw_x(*sx), draw_y(*sy))) for sx, sy in BROADCAST_SHAPES]
    samples.append(Sample((draw_x(3, 2).T, strided(draw_y(2, 3)))))
    samples.append(Sample((strided(draw_x(3)), draw_y(2, 1))))
    samples.append(Sample((draw_x(3)[::-1], np.broadcast_to(draw_y(2, 1), (2, 3)))))
    return samples


def reduction_samples(empty_axis_ok: bool) -> List[Sample]:
    """Distinct values, so max/min have no ties; axes None/int/negative/tuple."""
    samples = []
    for axis in [None, 0, -1, (0, 2), (-1, 1)]:
        for keepdims in [False, True]:
            samples.append(Sample((distinct(2, 3, 4),), dict(axis=axis, keepdims=keepdims)))
    samples += [
        Sample((distinct(3),), dict(axis=0)),
        Sample((distinct(2, 3),), dict(axis=())),
        Sample((distinct(3, 1, 4),), dict(axis=1)),
        Sample((distinct(1, 3, 1, 4),), dict(axis=(0, -2), keepdims=True)),
        Sample((distinct(2, 1, 3),), dict(axis=(0, 2))),
        Sample((distinct(5, 7),), dict(axis=0)),
        Sample((np.array(0.7),), dict(axis=None)),
        Sample((np.array(-0.3),), dict(axis=None, keepdims=True)),
        Sample((distinct(4, 3).T,), dict(axis=1)),
        Sample((strided(distinct(3, 2)),), dict(axis=-2, keepdims=True)),
        Sample((distinct(3, 4)[::-1, ::-2],), dict(axis=-1)),
        Sample((distinct(0, 3),), dict(axis=1)),
        Sample((distinct(2, 0, 3),), dict(axis=(0, 2), keepdims=True)),
    ]
    if empty_axis_ok:
        samples += [
            Sample((distinct(0, 3),), dict(axis=0)),
            Sample((distinct(0, 3),), dict(axis=None)),
        ]
    return samples


def slice_sample(x: np.ndarray, *slices: slice) -> Sample:
    """x[slices] as the op's normalised (start, stop, step) per axis."""
    bounds = [s.indices(n) for s, n in zip(slices, x.shape)]
    starts, stops, steps = (list(b) for b in zip(*bounds)) if bounds else ([], [], [])
    return Sample((x,), dict(starts=starts, stops=stops, steps=steps))


# ---- NumPy references that NumPy lacks ------------------------------------------------


def logsumexp_ref(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax_ref(x, axis=-1):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax_ref(x, axis=-1):
    return x - logsumexp_ref(x, axis=axis, keepdims=True)


def sum_to_ref(x, shape):
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1)
    return np.sum(x, axis=axes, keepdims=True).reshape(shape)


def slice_ref(x, starts, stops, steps):
    # Normalised bounds: a negative stop (only with a negative step) runs through 0.
    bounds = zip(starts, stops, steps)
    return x[tuple(slice(a, None if b < 0 else b, c) for a, b, c in bounds)]


def clip_ref(x, a_min=None, a_max=None):
    return np.clip(x, a_min, a_max)


def sigmoid_ref(x):
    return 1 / (1 + np.exp(-x))


def erf_ref(x):  # math.erf: NumPy has none, and scipy is not a test dependency
    return np.vectorize(math.erf, otypes=[np.float64])(x).astype(x.dtype)


def erfc_ref(x):
    return np.vectorize(math.erfc, otypes=[np.float64])(x).astype(x.dtype)


# ---- the table --------------------------------------------------------------------------


def unary(name: str, ref: Callable, draw: Callable = normal, domain: str = "any real") -> OpInfo:
    return OpInfo(name, getattr(eg, name), ref, unary_samples(draw), domain=domain)


def binary(name: str, ref: Callable, draw_x: Callable = normal, draw_y: Callable = normal,
           domain: str = "any real") -> OpInfo:
    samples = binary_samples(draw_x, draw_y)
    return OpInfo(name, getattr(eg, name), ref, samples, domain=domain, broadcasts=True)


def reduction(name: str, ref: Callable, domain: str = "any real",
              empty_axis_ok: bool = False) -> OpInfo:
    samples = reduction_samples(empty_axis_ok)
    return OpInfo(name, getattr(eg, name), ref, samples, domain=domain)


def clip_samples() -> List[Sample]:
    def draw(*shape):  # clear of the bounds -0.5 and 0.5
        return rng.choice([-1.0, 0.0, 1.0], shape) + uniform(-0.4, 0.4, *shape)

    both = dict(a_min=-0.5, a_max=0.5)
    return [
        Sample((draw(),), both),
        Sample((draw(3, 4),), dict(a_min=-0.5)),
        Sample((draw(0, 2),), dict(a_max=0.5)),
        Sample((draw(5),), both),
        Sample((draw(4, 3).T,), both),
        Sample((draw(2, 4)[::-1, ::3],), dict(a_max=0.5)),
    ]


def where_samples() -> List[Sample]:
    def cond(*shape):
        return rng.random(shape) < 0.5

    return [
        Sample((normal(2, 3), normal(2, 3)), dict(condition=cond(2, 3))),
        Sample((normal(), normal()), dict(condition=np.array(True))),
        Sample((normal(3, 1), normal(4)), dict(condition=cond(3, 4))),
        Sample((normal(2, 3), normal()), dict(condition=cond(3))),
        Sample((normal(), normal(2, 1)), dict(condition=cond(2, 3))),
        Sample((normal(3), normal(3)), dict(condition=[1, 0, 2])),
        Sample((normal(0, 3), normal(3)), dict(condition=cond(0, 3))),
        Sample((normal(3, 2).T, strided(normal(2, 3))), dict(condition=cond(3, 2).T)),
    ]


def take_samples() -> List[Sample]:
    return [
        Sample((normal(5),), dict(indices=np.array([4, 0, -1, 2, 0]))),
        Sample((normal(2, 3),), dict(indices=np.array([[5, 1], [1, -6]]), axis=None)),
        Sample((normal(2, 3),), dict(indices=np.array([2, 0, 2]), axis=1)),
        Sample((normal(2, 3, 2),), dict(indices=np.array([[0], [1]]), axis=-3)),
        Sample((normal(3, 2),), dict(indices=np.array(1), axis=0)),
        Sample((normal(),), dict(indices=np.array([0, -1, 0]))),
        Sample((normal(3, 2),), dict(indices=np.array([], dtype=np.int64), axis=0)),
        Sample((normal(0, 2),), dict(indices=np.array([1, 0]), axis=1)),
        Sample((normal(3, 4).T,), dict(indices=[2, 2, 0], axis=1)),
    ]


def slice_samples() -> List[Sample]:
    x = normal(4, 5)
    return [
        slice_sample(x, slice(1, 3), slice(None, None, 2)),
        slice_sample(x, slice(None, None, -1), slice(-2, None)),
        slice_sample(x, slice(3, 0, -2), slice(4, 1, -1)),
        slice_sample(x, slice(2, 2), slice(None)),
        slice_sample(normal(6), slice(-100, 100, 3)),
        slice_sample(normal()),
        slice_sample(normal(0, 3), slice(None), slice(1, None)),
        slice_sample(normal(5, 4).T, slice(1, None), slice(None, None, -2)),
        slice_sample(strided(normal(3, 4)), slice(0, 3, 2), slice(1, 2)),
    ]


def slice_op(x, starts, stops, steps):
    return eg._core._slice(x, starts, stops, steps)


def concatenate_op(*xs, axis=0):
    return eg.concatenate(list(xs), axis=axis)


def concatenate_ref(*xs, axis=0):
    return np.concatenate(xs, axis=axis)


def stack_op(*xs, axis=0):
    return eg.stack(list(xs), axis=axis)


def stack_ref(*xs, axis=0):
    return np.stack(xs, axis=axis)


def matmul_samples() -> List[Sample]:
    shapes = [
        ((3,), (3,)),
        ((2, 3), (3,)),
        ((3,), (3, 2)),
        ((2, 3), (3, 4)),
        ((2, 2, 3), (3, 2)),
        ((3,), (2, 3, 2)),
        ((2, 1, 2, 3), (3, 3, 2)),
        ((2, 0), (0, 3)),
        ((0, 3), (3, 2)),
        ((2, 3), (3, 0)),
    ]
    samples = [Sample((normal(*sx), normal(*sy))) for sx, sy in shapes]
    samples.append(Sample((normal(3, 2).T, strided(normal(3, 4)))))
    samples.append(Sample((normal(2, 3)[:, ::-1], normal(4, 3).T[::-1])))
    samples.append(Sample((normal(2, 2, 3)[::-1, :, ::2], np.broadcast_to(normal(2, 1), (2, 2)))))
    return samples


OPS: List[OpInfo] = [
    # unary
    unary("neg", np.negative),
    unary("exp", np.exp),
    unary("log", np.log, lambda *s: uniform(0.5, 2.0, *s), "x in [0.5, 2]"),
    unary("sqrt", np.sqrt, lambda *s: uniform(0.5, 2.0, *s), "x in [0.5, 2]"),
    unary("abs", np.abs, away_from_zero, "|x| >= 0.2 (kink at 0)"),
    unary("tanh", np.tanh),
    unary("sigmoid", sigmoid_ref),
    unary("relu", lambda x: np.maximum(x, 0), away_from_zero, "|x| >= 0.2 (kink at 0)"),
    unary("sin", np.sin),
    unary("cos", np.cos),
    unary("log1p", np.log1p, lambda *s: uniform(-0.5, 1.0, *s), "x in [-0.5, 1]"),
    unary("expm1", np.expm1),
    unary("square", np.square),
    unary("sign", np.sign, away_from_zero, "|x| >= 0.2 (jump at 0)"),
    # binary, broadcasting
    binary("add", np.add),
    binary("sub", np.subtract),
    binary("mul", np.multiply),
    binary("div", np.divide, normal, away_from_zero, "|y| >= 0.2"),
    binary("pow", np.power, lambda *s: uniform(0.5, 2.0, *s), lambda *s: uniform(-2.0, 2.0, *s),
           "x in [0.5, 2], y in [-2, 2] (x**y real and smooth)"),
    binary("maximum", np.maximum, lambda *s: on_grid(0.0, *s), lambda *s: on_grid(0.25, *s),
           "|x - y| >= 0.15 (no ties)"),
    binary("minimum", np.minimum, lambda *s: on_grid(0.0, *s), lambda *s: on_grid(0.25, *s),
           "|x - y| >= 0.15 (no ties)"),
    OpInfo("where", lambda x, y, condition: eg.where(condition, x, y),
           lambda x, y, condition: np.where(condition, x, y), where_samples(),
           domain="any real; the condition is not differentiated", broadcasts=True),
    OpInfo("clip", eg.clip, clip_ref, clip_samples(),
           domain="x at least 0.1 from the bounds -0.5 and 0.5"),
    OpInfo("astype", eg.astype, lambda x, dtype: x.astype(dtype), [
        Sample((normal(2, 3),), dict(dtype="float64")),
        Sample((normal(2, 3),), dict(dtype="float32")),
        Sample((normal(),), dict(dtype="float64")),
        Sample((normal(0, 2),), dict(dtype="float32")),
        Sample((normal(3, 2).T,), dict(dtype="float64")),
        Sample((strided(normal(3)),), dict(dtype="float32")),
    ], domain="any real; linear, so a large finite-difference step is exact",
        result_dtype=lambda sample, dtype: np.dtype(sample.kwargs["dtype"]), gradcheck_eps=1e-2),
    # reductions
    reduction("sum", np.sum, empty_axis_ok=True),
    reduction("mean", np.mean),
    reduction("max", np.max, "distinct values (no ties)"),
    reduction("min", np.min, "distinct values (no ties)"),
    OpInfo("logsumexp", eg.logsumexp, logsumexp_ref, reduction_samples(empty_axis_ok=False) + [
        Sample((normal(2, 3) + 500,), dict(axis=1)),
        Sample((normal(3) - 500,), dict(axis=0)),
    ], domain="any real, including large offsets (stability)"),
    OpInfo("norm", lambda x, axis=None, keepdims=False: eg.norm(x, axis=axis, keepdims=keepdims),
           lambda x, axis=None, keepdims=False: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
           reduction_samples(empty_axis_ok=True), domain="distinct values, none 0 (the kink: tests/test_conventions.py)"),
    OpInfo("sum_to", eg.sum_to, sum_to_ref, [
        Sample((normal(2, 3),), dict(shape=(3,))),
        Sample((normal(2, 3),), dict(shape=(1, 3))),
        Sample((normal(2, 3),), dict(shape=(2, 1))),
        Sample((normal(2, 3),), dict(shape=())),
        Sample((normal(2, 3),), dict(shape=(2, 3))),
        Sample((normal(4, 2, 3),), dict(shape=(2, 1))),
        Sample((normal(),), dict(shape=())),
        Sample((normal(0, 3),), dict(shape=(3,))),
        Sample((normal(2, 0),), dict(shape=(1, 0))),
        Sample((normal(3, 2).T,), dict(shape=(1, 3))),
    ]),
    # shape
    OpInfo("reshape", eg.reshape, np.reshape, [
        Sample((normal(2, 3),), dict(shape=(3, 2))),
        Sample((normal(2, 3),), dict(shape=(-1,))),
        Sample((normal(2, 3),), dict(shape=(1, -1, 2))),
        Sample((normal(),), dict(shape=(1, 1))),
        Sample((normal(1),), dict(shape=())),
        Sample((normal(0, 3),), dict(shape=(3, 0))),
        Sample((normal(0, 3),), dict(shape=(-1, 2))),
        Sample((normal(3, 2).T,), dict(shape=(6,))),
        Sample((strided(normal(2, 3)),), dict(shape=(3, 2))),
    ]),
    OpInfo("transpose", eg.transpose, np.transpose, [
        Sample((normal(2, 3),), dict(axes=None)),
        Sample((normal(2, 3, 4),), dict(axes=(1, 2, 0))),
        Sample((normal(2, 3, 4),), dict(axes=(-1, 0, -2))),
        Sample((normal(2, 3, 4),), dict(axes=None)),
        Sample((normal(),), dict(axes=None)),
        Sample((normal(3),), dict(axes=(0,))),
        Sample((normal(0, 2),), dict(axes=None)),
        Sample((normal(3, 2).T,), dict(axes=(1, 0))),
        Sample((strided(normal(2, 3)),), dict(axes=None)),
    ]),
    OpInfo("broadcast_to", eg.broadcast_to, np.broadcast_to, [
        Sample((normal(3, 1),), dict(shape=(2, 3, 4))),
        Sample((normal(),), dict(shape=(2, 2))),
        Sample((normal(3),), dict(shape=(2, 3))),
        Sample((normal(2, 3),), dict(shape=(2, 3))),
        Sample((normal(3),), dict(shape=(0, 3))),
        Sample((normal(1),), dict(shape=(2, 1, 3))),
        Sample((strided(normal(2, 1)),), dict(shape=(3, 2, 1))),
    ]),
    OpInfo("slice", slice_op, slice_ref, slice_samples(),
           domain="any real; the op behind indexing, it takes Variables only", takes_arrays=False),
    OpInfo("take", eg.take, np.take, take_samples(),
           domain="any real; indices repeat and wrap (negative)"),
    OpInfo("concatenate", concatenate_op, concatenate_ref, [
        Sample((normal(2, 3), normal(1, 3)), dict(axis=0)),
        Sample((normal(2, 3), normal(2, 1), normal(2, 2)), dict(axis=1)),
        Sample((normal(2, 3), normal(2, 2)), dict(axis=-1)),
        Sample((normal(2, 3), normal(4)), dict(axis=None)),
        Sample((normal(3),), dict(axis=0)),
        Sample((normal(0, 3), normal(2, 3)), dict(axis=0)),
        Sample((normal(3, 2).T, strided(normal(2, 2))), dict(axis=1)),
    ]),
    OpInfo("stack", stack_op, stack_ref, [
        Sample((normal(2, 3), normal(2, 3)), dict(axis=0)),
        Sample((normal(2, 3), normal(2, 3), normal(2, 3)), dict(axis=-1)),
        Sample((normal(2), normal(2)), dict(axis=1)),
        Sample((normal(), normal(), normal()), dict(axis=0)),
        Sample((normal(0, 2), normal(0, 2)), dict(axis=1)),
        Sample((normal(3, 2).T, strided(normal(2, 3))), dict(axis=-2)),
    ]),
    # linalg
    OpInfo("matmul", eg.matmul, np.matmul, matmul_samples()),
    # nn
    OpInfo("softmax", eg.softmax, softmax_ref, [
        Sample((normal(2, 3),), dict()),
        Sample((normal(2, 3),), dict(axis=0)),
        Sample((normal(2, 3, 2),), dict(axis=-2)),
        Sample((normal(4),), dict(axis=0)),
        Sample((normal(2, 3) + 500,), dict(axis=1)),
        Sample((normal(0, 3),), dict(axis=-1)),
        Sample((normal(3, 2).T,), dict(axis=1)),
    ], domain="any real, including large offsets (stability)"),
    OpInfo("log_softmax", eg.log_softmax, log_softmax_ref, [
        Sample((normal(2, 3),), dict()),
        Sample((normal(2, 3),), dict(axis=0)),
        Sample((normal(2, 3, 2),), dict(axis=-2)),
        Sample((normal(4),), dict(axis=0)),
        Sample((normal(2, 3) - 500,), dict(axis=1)),
        Sample((normal(0, 3),), dict(axis=-1)),
        Sample((strided(normal(2, 3)),), dict(axis=1)),
    ], domain="any real, including large offsets (stability)"),
    # more element-wise ops (issue 14; last in the table so that the other ops'
    # samples, drawn before them from the seeded generator, stay as they were)
    unary("arctan", np.arctan, lambda *s: 3.0 * normal(*s), "any real"),
    unary("arcsin", np.arcsin, lambda *s: uniform(-0.9, 0.9, *s), "x in [-0.9, 0.9] (poles of the derivative at +-1)"),
    unary("arccos", np.arccos, lambda *s: uniform(-0.9, 0.9, *s), "x in [-0.9, 0.9] (poles of the derivative at +-1)"),
    unary("sinh", np.sinh),
    unary("cosh", np.cosh),
    unary("arctanh", np.arctanh, lambda *s: uniform(-0.9, 0.9, *s), "x in [-0.9, 0.9] (poles at +-1)"),
    unary("softplus", lambda x: np.logaddexp(0.0, x), lambda *s: 4.0 * normal(*s)),
    unary("log_sigmoid", lambda x: -np.logaddexp(0.0, -x), lambda *s: 4.0 * normal(*s)),
    binary("logaddexp", np.logaddexp, lambda *s: 2.0 * normal(*s), lambda *s: 2.0 * normal(*s)),
    binary("arctan2", np.arctan2, away_from_zero, away_from_zero, "|x|, |y| >= 0.2 (the origin is singular)"),
    unary("erf", erf_ref, lambda *s: 1.5 * normal(*s)),
    unary("erfc", erfc_ref, lambda *s: 1.5 * normal(*s)),
]


# ---- fused nn ops (cpp/src/ops/nn.cpp) ---------------------------------------------


def linear_ref(x, weight, bias=None):
    out = x @ weight.T
    return out if bias is None else out + bias


def reduce_ref(per, reduction):
    if reduction == "none":
        return per
    return np.sum(per) if reduction == "sum" else np.mean(per)


def mse_loss_ref(x, y, reduction="mean"):
    return reduce_ref(np.square(x - y), reduction)


def cross_entropy_ref(logits, labels, reduction="mean"):
    labels = np.asarray(labels)
    picked = np.take_along_axis(logits, labels[..., None], axis=-1)[..., 0]
    return reduce_ref(logsumexp_ref(logits, axis=-1) - picked, reduction)


def bce_with_logits_ref(x, y, reduction="mean"):
    return reduce_ref(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))), reduction)


def labels(n: int, classes: int) -> np.ndarray:
    return rng.integers(0, classes, n)


OPS += [
    OpInfo("linear", eg.nn.functional.linear, linear_ref, [
        Sample((normal(4, 3), normal(2, 3), normal(2))),
        Sample((normal(4, 3), normal(2, 3))),
        Sample((normal(3), normal(2, 3), normal(2))),
        Sample((normal(2, 4, 3), normal(5, 3), normal(5))),
        Sample((normal(0, 3), normal(2, 3), normal(2))),
        Sample((normal(4, 0), normal(2, 0), normal(2))),
        Sample((normal(3, 4).T, strided(normal(2, 3)), normal(2)[::-1])),
    ]),
    OpInfo("mse_loss", eg.nn.functional.mse_loss, mse_loss_ref, [
        Sample((normal(4, 3), normal(4, 3))),
        Sample((normal(5), normal(5)), dict(reduction="sum")),
        Sample((normal(2, 3), normal(2, 3)), dict(reduction="none")),
        Sample((normal(), normal())),
        Sample((normal(0, 3), normal(0, 3)), dict(reduction="sum")),
        Sample((normal(3, 2).T, strided(normal(2, 3)))),
    ]),
    OpInfo("cross_entropy", eg.nn.functional.cross_entropy, cross_entropy_ref, [
        Sample((normal(4, 3),), dict(labels=labels(4, 3))),
        Sample((normal(5, 4),), dict(labels=labels(5, 4), reduction="sum")),
        Sample((normal(3, 4),), dict(labels=labels(3, 4), reduction="none")),
        Sample((normal(4),), dict(labels=np.int64(2))),
        Sample((normal(4),), dict(labels=np.int64(0), reduction="none")),
        Sample((normal(2, 3) * 3 + 500,), dict(labels=labels(2, 3))),
        Sample((normal(0, 3),), dict(labels=labels(0, 3), reduction="sum")),
        Sample((normal(3, 4).T,), dict(labels=labels(4, 3))),
    ], domain="any real, including large offsets (stability); integer labels"),
    OpInfo("binary_cross_entropy_with_logits", eg.nn.functional.binary_cross_entropy_with_logits,
           bce_with_logits_ref, [
               Sample((normal(4, 3), uniform(0, 1, 4, 3))),
               Sample((normal(5), uniform(0, 1, 5)), dict(reduction="sum")),
               Sample((normal(2, 3), uniform(0, 1, 2, 3)), dict(reduction="none")),
               Sample((normal(), uniform(0, 1))),
               Sample((normal(0, 2), uniform(0, 1, 0, 2)), dict(reduction="sum")),
               Sample((normal(3, 2).T, strided(uniform(0, 1, 2, 3))), dict(reduction="none")),
           ], domain="logits any real (the loss is smooth); targets in [0, 1]"),
]


# ---- issue 14: scans, reductions, rearrangements, indexing (scan.cpp, rearrange.cpp,
# index.cpp). One block for merging; its own seeded generator, so that its draws do
# not depend on the entries before it.

_rng14 = np.random.default_rng(14)


def n14(*shape: int) -> np.ndarray:
    return _rng14.standard_normal(shape)


def distinct14(*shape: int) -> np.ndarray:
    """Values at least 0.2 apart, in random order (no ties for sort)."""
    size = int(np.prod(shape))
    values = _rng14.permutation(size) * 0.3 - 0.15 * size + _rng14.uniform(-0.05, 0.05, size)
    return values.reshape(shape)


def spread14(*shape: int) -> np.ndarray:
    """Values with |x| in [0.5, 1.5] and random signs: products neither vanish nor blow up."""
    return _rng14.choice([-1.0, 1.0], shape) * _rng14.uniform(0.5, 1.5, shape)


def with_zeros(*zeros: int) -> np.ndarray:
    """A 6-vector with exact zeros at the positions `zeros` (cumprod and prod at zeros)."""
    x = spread14(6)
    x[list(zeros)] = 0.0
    return x


def flat_ref(fn):
    """A NumPy scan taking axis=None as NumPy does (of the flattened array)."""
    return lambda x, axis=None: fn(x, axis=axis)


def moment_samples() -> List[Sample]:
    return [
        Sample((n14(2, 3, 4),), dict(axis=None)),
        Sample((n14(2, 3, 4),), dict(axis=1)),
        Sample((n14(2, 3, 4),), dict(axis=(0, 2), keepdims=True)),
        Sample((n14(2, 3, 4),), dict(axis=-1, ddof=1)),
        Sample((n14(5),), dict(axis=0, ddof=2)),
        Sample((n14(3, 4),), dict(axis=0, ddof=0.5)),
        Sample((n14(0, 3),), dict(axis=1)),
        Sample((n14(4, 3).T,), dict(axis=1)),
        Sample((strided(n14(3, 4)),), dict(axis=-2, keepdims=True)),
    ]


def scatter_add_op(x, values, indices, axis=-1):
    return eg.scatter_add(x, indices, values, axis=axis)


def scatter_add_ref(x, values, indices, axis=-1):
    out = np.array(x, dtype=np.result_type(x, values))
    indices = np.asarray(indices)
    coords = list(np.indices(indices.shape))
    coords[axis] = indices
    np.add.at(out, tuple(coords), np.broadcast_to(values, indices.shape))
    return out


def take_along_axis_ref(x, indices, axis=-1):
    if axis is None:
        return np.take_along_axis(x.ravel(), np.asarray(indices), axis=0)
    indices = np.asarray(indices)
    shape = [max(a, b) if d != axis % x.ndim else a for d, (a, b) in enumerate(zip(x.shape, indices.shape))]
    shape = [xs if d == axis % x.ndim else s for d, (xs, s) in enumerate(zip(x.shape, shape))]
    return np.take_along_axis(np.broadcast_to(x, shape), indices, axis=axis)


def sort_ref(x, axis=-1):
    return np.sort(x, axis=axis, kind="stable")


OPS += [
    OpInfo("cumsum", eg.cumsum, flat_ref(np.cumsum), [
        Sample((n14(5),), dict(axis=0)),
        Sample((n14(2, 3),), dict(axis=1)),
        Sample((n14(2, 3, 4),), dict(axis=-2)),
        Sample((n14(2, 3),), dict(axis=None)),
        Sample((n14(37, 3),), dict(axis=0)),
        Sample((n14(0, 3),), dict(axis=0)),
        Sample((n14(2, 0),), dict(axis=1)),
        Sample((n14(4, 3).T,), dict(axis=1)),
        Sample((strided(n14(3, 4)),), dict(axis=0)),
    ]),
    OpInfo("cumprod", eg.cumprod, flat_ref(np.cumprod), [
        Sample((spread14(5),), dict(axis=0)),
        Sample((spread14(2, 3),), dict(axis=1)),
        Sample((spread14(2, 3, 4),), dict(axis=-2)),
        Sample((spread14(2, 3),), dict(axis=None)),
        Sample((with_zeros(2),), dict(axis=0)),
        Sample((with_zeros(1, 4),), dict(axis=0)),
        Sample((np.stack([with_zeros(0), with_zeros(3, 5)]),), dict(axis=1)),
        Sample((1.0 + 0.05 * n14(40),), dict(axis=0)),
        Sample((n14(0, 3),), dict(axis=0)),
        Sample((spread14(4, 3).T,), dict(axis=1)),
        Sample((strided(spread14(3, 4)),), dict(axis=0)),
    ], domain="|x| in [0.5, 1.5], and exact zeros (one and two per slice): the gradient has no division by x"),
    OpInfo("prod", eg.prod, np.prod, [
        Sample((spread14(2, 3, 4),), dict(axis=None)),
        Sample((spread14(2, 3, 4),), dict(axis=1)),
        Sample((spread14(2, 3, 4),), dict(axis=(0, 2), keepdims=True)),
        Sample((spread14(2, 3, 4),), dict(axis=-1)),
        Sample((spread14(3),), dict(axis=())),
        Sample((np.array(0.7),), dict(axis=None)),
        Sample((with_zeros(3),), dict(axis=0)),
        Sample((with_zeros(0, 5),), dict(axis=0)),
        Sample((np.stack([with_zeros(1), with_zeros(), with_zeros(2, 4)]),), dict(axis=1, keepdims=True)),
        Sample((n14(0, 3),), dict(axis=0)),
        Sample((n14(0, 3),), dict(axis=1)),
        Sample((spread14(4, 3).T,), dict(axis=1)),
        Sample((strided(spread14(3, 4)),), dict(axis=(0, 1))),
    ], domain="|x| in [0.5, 1.5], and exact zeros (one and two per slice); 1 over an empty slice"),
    OpInfo("var", eg.var, np.var, moment_samples()),
    OpInfo("std", eg.std, np.std, moment_samples(),
           domain="any real, no constant slice (the kink of the norm: tests/test_conventions.py)"),
    OpInfo("flip", eg.flip, np.flip, [
        Sample((n14(2, 3),), dict(axis=None)),
        Sample((n14(2, 3, 4),), dict(axis=1)),
        Sample((n14(2, 3, 4),), dict(axis=(0, -1))),
        Sample((n14(),), dict(axis=None)),
        Sample((n14(0, 3),), dict(axis=0)),
        Sample((n14(4, 3).T,), dict(axis=1)),
        Sample((strided(n14(3, 4)),), dict(axis=None)),
    ]),
    OpInfo("roll", eg.roll, np.roll, [
        Sample((n14(5),), dict(shift=2)),
        Sample((n14(2, 3),), dict(shift=-4)),
        Sample((n14(2, 3),), dict(shift=1, axis=1)),
        Sample((n14(2, 3, 4),), dict(shift=(1, -2), axis=(0, 2))),
        Sample((n14(2, 3),), dict(shift=(1, 2), axis=(1, 1))),
        Sample((n14(3, 4),), dict(shift=7, axis=(0, 1))),
        Sample((n14(0, 3),), dict(shift=1, axis=0)),
        Sample((n14(4, 3).T,), dict(shift=1, axis=0)),
        Sample((strided(n14(3, 4)),), dict(shift=-1, axis=-1)),
    ]),
    OpInfo("tril", eg.tril, np.tril, [
        Sample((n14(3, 3),), dict()),
        Sample((n14(3, 4),), dict(k=1)),
        Sample((n14(4, 3),), dict(k=-2)),
        Sample((n14(2, 3, 3),), dict(k=0)),
        Sample((n14(3, 3),), dict(k=5)),
        Sample((n14(0, 3),), dict()),
        Sample((n14(4, 3).T,), dict(k=1)),
        Sample((strided(n14(3, 4)),), dict(k=-1)),
    ]),
    OpInfo("triu", eg.triu, np.triu, [
        Sample((n14(3, 3),), dict()),
        Sample((n14(3, 4),), dict(k=1)),
        Sample((n14(4, 3),), dict(k=-2)),
        Sample((n14(2, 3, 3),), dict(k=0)),
        Sample((n14(3, 3),), dict(k=-5)),
        Sample((n14(2, 0, 3),), dict()),
        Sample((n14(4, 3).T,), dict(k=1)),
        Sample((strided(n14(3, 4)),), dict(k=-1)),
    ]),
    OpInfo("diagonal", eg.diagonal, np.diagonal, [
        Sample((n14(3, 3),), dict()),
        Sample((n14(3, 4),), dict(offset=1)),
        Sample((n14(4, 3),), dict(offset=-2)),
        Sample((n14(2, 3, 4),), dict(offset=1, axis1=1, axis2=2)),
        Sample((n14(2, 3, 4),), dict(axis1=-1, axis2=0)),
        Sample((n14(3, 3),), dict(offset=7)),
        Sample((n14(0, 3),), dict()),
        Sample((n14(4, 3).T,), dict(offset=-1)),
        Sample((strided(n14(3, 4)),), dict()),
    ]),
    OpInfo("diag", eg.diag, np.diag, [
        Sample((n14(3),), dict()),
        Sample((n14(3),), dict(k=2)),
        Sample((n14(2),), dict(k=-1)),
        Sample((n14(3, 4),), dict()),
        Sample((n14(3, 4),), dict(k=-1)),
        Sample((n14(0),), dict(k=1)),
        Sample((n14(0, 3),), dict()),
        Sample((n14(4, 3).T,), dict(k=1)),
        Sample((strided(n14(4)),), dict(k=-2)),
    ]),
    OpInfo("trace", eg.trace, np.trace, [
        Sample((n14(3, 3),), dict()),
        Sample((n14(3, 4),), dict(offset=1)),
        Sample((n14(4, 3),), dict(offset=-2)),
        Sample((n14(2, 3, 4),), dict(axis1=1, axis2=2)),
        Sample((n14(2, 3, 4),), dict(offset=-1, axis1=-1, axis2=0)),
        Sample((n14(0, 3),), dict()),
        Sample((n14(2, 0, 0),), dict(axis1=1, axis2=2)),
        Sample((n14(4, 3).T,), dict()),
        Sample((strided(n14(3, 4)),), dict(offset=1)),
    ]),
    OpInfo("take_along_axis", eg.take_along_axis, take_along_axis_ref, [
        Sample((n14(2, 3),), dict(indices=np.array([[2, 0, 0, 1], [1, 1, -1, 0]]), axis=1)),
        Sample((n14(3, 2),), dict(indices=np.array([[2, 0]]), axis=0)),
        Sample((n14(2, 3, 4),), dict(indices=np.array([[[0], [3], [-4]]]), axis=-1)),
        Sample((n14(1, 4),), dict(indices=np.array([[3, 0], [1, 1], [2, 2]]), axis=1)),
        Sample((n14(5),), dict(indices=np.array([4, 4, 0]), axis=None)),
        Sample((n14(2, 3),), dict(indices=np.zeros((2, 0), np.int64), axis=1)),
        Sample((n14(0, 3),), dict(indices=np.zeros((0, 2), np.int64), axis=1)),
        Sample((n14(4, 3).T,), dict(indices=np.array([[0, 3], [1, 2], [3, 3]]), axis=1)),
        Sample((strided(n14(3, 4)),), dict(indices=np.array([[2, 0, 1, 1]]), axis=0)),
    ], domain="any real; indices repeat, wrap (negative) and broadcast"),
    OpInfo("scatter_add", scatter_add_op, scatter_add_ref, [
        Sample((n14(2, 3), n14(2, 4)), dict(indices=np.array([[2, 0, 0, 1], [1, 1, -1, 0]]), axis=1)),
        Sample((n14(3, 2), n14(1, 2)), dict(indices=np.array([[2, 0]]), axis=0)),
        Sample((n14(2, 3, 4), n14(1, 3, 1)), dict(indices=np.array([[[0], [3], [-4]]]), axis=-1)),
        Sample((n14(4), n14(6)), dict(indices=np.array([0, 3, 3, 1, 0, 3]), axis=0)),
        Sample((n14(2, 3), n14()), dict(indices=np.array([[1], [2]]), axis=1)),
        Sample((n14(2, 3), n14(2, 0)), dict(indices=np.zeros((2, 0), np.int64), axis=1)),
        Sample((n14(0, 3), n14(0, 2)), dict(indices=np.zeros((0, 2), np.int64), axis=1)),
        Sample((n14(4, 3).T, strided(n14(3, 2))), dict(indices=np.array([[0, 3], [1, 2], [3, 3]]), axis=1)),
    ], domain="any real; indices repeat (their values add up) and wrap; values broadcast to the indices"),
    OpInfo("sort", eg.sort, sort_ref, [
        Sample((distinct14(5),), dict()),
        Sample((distinct14(3, 4),), dict(axis=0)),
        Sample((distinct14(2, 3, 4),), dict(axis=-2)),
        Sample((distinct14(2, 3),), dict(axis=None)),
        Sample((distinct14(0, 3),), dict(axis=1)),
        Sample((distinct14(4, 3).T,), dict(axis=1)),
        Sample((strided(distinct14(3, 4)),), dict()),
    ], domain="distinct values (no ties: there the gradient follows the stable order, tests/test_conventions.py)"),
]

OPS += [
    OpInfo("pad", eg.pad, np.pad, [
        Sample((n14(2, 3),), dict(pad_width=1)),
        Sample((n14(2, 3),), dict(pad_width=((1, 0), (0, 2)), constant_values=1.5)),
        Sample((n14(3),), dict(pad_width=(2, 1))),
        Sample((n14(2, 3, 2),), dict(pad_width=((0, 0), (1, 1), (2, 0)))),
        Sample((n14(),), dict(pad_width=1)),
        Sample((n14(0, 3),), dict(pad_width=((1, 1), (0, 0)))),
        Sample((n14(4, 3).T,), dict(pad_width=((1, 0), (0, 1)))),
        Sample((strided(n14(3, 4)),), dict(pad_width=2)),
    ], domain="any real; mode 'constant' (NumPy's default)"),
    OpInfo("tensordot", eg.tensordot, np.tensordot, [
        Sample((n14(2, 3, 4), n14(3, 4, 5)), dict(axes=2)),
        Sample((n14(2, 3), n14(3, 4)), dict(axes=1)),
        Sample((n14(2, 3), n14(4)), dict(axes=0)),
        Sample((n14(2, 3, 4), n14(4, 3, 2)), dict(axes=([1, 2], [1, 0]))),
        Sample((n14(3, 2), n14(2, 3)), dict(axes=([0, 1], [1, 0]))),
        Sample((n14(0, 3), n14(3, 2)), dict(axes=1)),
        Sample((n14(2, 0), n14(0, 3)), dict(axes=1)),
        Sample((n14(4, 3).T, strided(n14(4, 2))), dict(axes=([1], [0]))),
    ], domain="any real; axes as N or as two sequences"),
]


# ---- eg.linalg (issue 14; cpp/src/ops/decompositions.cpp) ---------------------------
# Drawn from a generator of their own, so that they do not depend on how many
# samples come before them. Ops returning several results are sampled through one
# array holding them all (flattened and joined), so that every result is checked
# and differentiated. Inputs are well conditioned, with distinct eigenvalues and
# singular values (the rules divide by their gaps); the conventions at singular and
# degenerate inputs have named tests in tests/ops/test_decompositions.py.

_lrng = np.random.default_rng(14)


def _lnormal(*shape: int) -> np.ndarray:
    return _lrng.standard_normal(shape)


def invertible(*shape: int) -> np.ndarray:
    """Random matrices plus 3 I: well conditioned."""
    return _lnormal(*shape) + 3.0 * np.eye(shape[-1])


def spd(*shape: int) -> np.ndarray:
    """Symmetric positive definite: B B^T + I."""
    b = _lnormal(*shape)
    return b @ np.swapaxes(b, -1, -2) + np.eye(shape[-1])


def symmetric(*shape: int) -> np.ndarray:
    b = _lnormal(*shape)
    return b + np.swapaxes(b, -1, -2)


def _flat_cat(*parts):
    """The results of one call as one array: each flattened over its matrix axes."""
    lib = np if isinstance(parts[0], np.ndarray) else eg  # eg also for eg.vmap's batched values
    batch = parts[0].shape[:-2] if parts[0].ndim >= 2 else parts[0].shape[:-1]
    flat = [lib.reshape(p, batch + (int(np.prod(p.shape[len(batch):])),)) for p in parts]
    return lib.concatenate(flat, axis=-1)


def column_signs(v: np.ndarray) -> np.ndarray:
    """+-1 per column making each column's entry of largest magnitude (the first
    such) positive: eigengrad's sign convention for eigenvectors and singular vectors."""
    if v.shape[-2] == 0:
        return np.ones(v.shape[:-2] + (1, v.shape[-1]))
    idx = np.argmax(np.abs(v), axis=-2)[..., None, :]
    s = np.sign(np.take_along_axis(v, idx, axis=-2))
    return np.where(s == 0, 1.0, s)


def qr_ref(a, mode="reduced"):
    q, r = np.linalg.qr(a)
    k = min(a.shape[-2:])
    d = np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :k] if k else np.ones(a.shape[:-2] + (1, 0))
    d = np.where(d == 0, 1.0, d)
    q, r = q * d, r * np.swapaxes(d, -1, -2)
    return r if mode == "r" else _flat_cat(q, r)


def qr_op(a, mode="reduced"):
    out = eg.linalg.qr(a, mode=mode)
    return out if mode == "r" else _flat_cat(*out)


def eigh_ref(a, UPLO="L"):
    w, v = np.linalg.eigh(a, UPLO=UPLO)
    return _flat_cat(v * column_signs(v), w)


def eigh_op(a, UPLO="L"):
    w, v = eg.linalg.eigh(a, UPLO=UPLO)
    return _flat_cat(v, w)


def svd_ref(a, full_matrices=False):
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    signs = column_signs(u)
    return _flat_cat(u * signs, s, vh * np.swapaxes(signs, -1, -2))


def svd_op(a, full_matrices=False):
    return _flat_cat(*eg.linalg.svd(a, full_matrices=full_matrices))


def slogdet_ref(a):
    return np.stack(np.linalg.slogdet(a), axis=-1)


def slogdet_op(a):
    return eg.stack(list(eg.linalg.slogdet(a)), axis=-1)


def cholesky_ref(a, upper=False):
    return np.linalg.cholesky(a, upper=upper)


def square_samples(draw: Callable[..., np.ndarray]) -> List[Sample]:
    return [
        Sample((draw(3, 3),)),
        Sample((draw(2, 4, 4),)),
        Sample((draw(1, 1),)),
        Sample((draw(2, 1, 2, 2),)),
        Sample((draw(0, 3, 3),)),
        Sample((draw(0, 0),)),
        Sample((np.swapaxes(draw(3, 3), 0, 1),)),
        Sample((strided(draw(2, 3, 3)),)),
    ]


OPS += [
    OpInfo("solve", eg.linalg.solve, np.linalg.solve, [
        Sample((invertible(3, 3), _lnormal(3))),
        Sample((invertible(3, 3), _lnormal(3, 2))),
        Sample((invertible(2, 3, 3), _lnormal(2, 3, 1))),
        Sample((invertible(3, 3), _lnormal(2, 3, 2))),
        Sample((invertible(2, 1, 3, 3), _lnormal(4, 3, 2))),
        Sample((invertible(2, 3, 3), _lnormal(3))),
        Sample((invertible(3, 3), invertible(3, 3))),
        Sample((invertible(0, 3, 3), _lnormal(0, 3, 2))),
        Sample((invertible(0, 0), _lnormal(0))),
        Sample((invertible(3, 3), _lnormal(3, 0))),
        Sample((invertible(3, 3).T, strided(_lnormal(3, 2)))),
    ], domain="a invertible (random + 3 I)"),
    OpInfo("inv", eg.linalg.inv, np.linalg.inv, square_samples(invertible), domain="invertible (random + 3 I)"),
    OpInfo("det", eg.linalg.det, np.linalg.det, square_samples(invertible) + [Sample((_lnormal(4, 4),))],
           domain="any square (singular: tests/ops/test_decompositions.py)"),
    OpInfo("slogdet", slogdet_op, slogdet_ref, square_samples(invertible) + [Sample((-invertible(3, 3),))],
           domain="invertible; sign is a constant"),
    OpInfo("cholesky", eg.linalg.cholesky, cholesky_ref, square_samples(spd) + [
        Sample((spd(3, 3) + np.triu(_lnormal(3, 3), 1),)),
        Sample((spd(2, 3, 3),), dict(upper=True)),
    ], domain="symmetric positive definite (only the lower triangle is read)"),
    OpInfo("qr", qr_op, qr_ref, [
        Sample((_lnormal(4, 3),)),
        Sample((_lnormal(3, 3),)),
        Sample((_lnormal(2, 4, 3),)),
        Sample((_lnormal(3, 5),)),
        Sample((_lnormal(2, 2, 3),)),
        Sample((_lnormal(4, 3),), dict(mode="r")),
        Sample((_lnormal(3, 3),), dict(mode="complete")),
        Sample((_lnormal(0, 3),)),
        Sample((_lnormal(3, 0),)),
        Sample((_lnormal(0, 4, 3),)),
        Sample((_lnormal(3, 4).T,)),
        Sample((strided(_lnormal(2, 3, 3)),)),
    ], domain="full column rank (the first min(m, n) columns independent)"),
    OpInfo("eigh", eigh_op, eigh_ref, square_samples(symmetric) + [
        Sample((_lnormal(3, 3),)),
        Sample((symmetric(2, 3, 3),), dict(UPLO="U")),
    ], domain="symmetric, distinct eigenvalues (only the lower triangle is read)"),
    OpInfo("svd", svd_op, svd_ref, [
        Sample((_lnormal(4, 3),)),
        Sample((_lnormal(3, 4),)),
        Sample((_lnormal(3, 3),)),
        Sample((_lnormal(3, 3),), dict(full_matrices=True)),
        Sample((_lnormal(2, 4, 2),)),
        Sample((_lnormal(1, 3),)),
        Sample((_lnormal(0, 3),)),
        Sample((_lnormal(2, 0, 0),)),
        Sample((_lnormal(4, 3).T,)),
        Sample((strided(_lnormal(2, 3, 2)),)),
    ], domain="distinct, non-zero singular values"),
]

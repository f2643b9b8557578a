"""Bad input, the cases: every op of ``badinput_specs`` with every unusual input,
the memory cases (sizes that can never fit) and the transforms' cases, in a fixed
order. ``badinput`` runs them."""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import eigengrad as eg

from tools.reliability.badinput_specs import (
    Case,
    REAL_DTYPES,
    REFUSED,
    Spec,
    SPECIAL_VALUES,
    specs,
    VALUE_PRESERVING,
    _values,
)


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



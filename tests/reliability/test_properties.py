"""Property-based tests (hypothesis): random broadcastable shapes, memory layouts,
dtypes and bounded values through random short op sequences, checked against NumPy
(forward) and eg.gradcheck (reverse and forward mode against finite differences);
inputs and the ``grad`` argument of backward are never mutated, and no gradient
aliases another gradient, an input or the ``grad`` argument.

Derandomized, with a fixed example budget: the same examples on every run, in a few
seconds.
"""

from __future__ import annotations

from typing import Callable, List, Tuple

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import eigengrad as eg

PROFILE = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- the op vocabulary: (name, arity, eigengrad function, NumPy function) ---------------
# Smooth on bounded inputs (no kinks, ties or poles), so finite differences hold.


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def _np_logsumexp(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))


UNARY = [
    ("tanh", eg.tanh, np.tanh),
    ("sin", eg.sin, np.sin),
    ("exp", lambda x: eg.exp(x * 0.5), lambda x: np.exp(x * 0.5)),
    ("sigmoid", eg.sigmoid, _np_sigmoid),
    ("square", eg.square, np.square),
    ("neg", eg.neg, np.negative),
    ("log1p(x^2)", lambda x: eg.log1p(x * x), lambda x: np.log1p(x * x)),
    ("sqrt(1+x^2)", lambda x: eg.sqrt(x * x + 1.0), lambda x: np.sqrt(x * x + 1.0)),
    ("T", lambda x: x.T, lambda x: x.T),
    ("reshape", lambda x: eg.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,))),
    ("sum_keep", lambda x: eg.sum(x, axis=-1, keepdims=True) if x.ndim else x,
     lambda x: np.sum(x, axis=-1, keepdims=True) if x.ndim else x),
    ("mean0", lambda x: eg.mean(x, axis=0) if x.ndim else x, lambda x: np.mean(x, axis=0) if x.ndim else x),
    ("softmax", lambda x: eg.softmax(x, axis=-1) if x.ndim else x,
     lambda x: _np_softmax(x, -1) if x.ndim else x),
    ("logsumexp", lambda x: eg.logsumexp(x, axis=-1, keepdims=True) if x.ndim else x,
     lambda x: _np_logsumexp(x, -1) if x.ndim else x),
]

BINARY = [
    ("add", lambda a, b: a + b, np.add),
    ("sub", lambda a, b: a - b, np.subtract),
    ("mul", lambda a, b: a * b, np.multiply),
    ("div", lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    ("maximum(soft)", lambda a, b: eg.log(eg.exp(a) + eg.exp(b)), lambda a, b: np.log(np.exp(a) + np.exp(b))),
    ("pow", lambda a, b: (a * a + 1.0) ** b, lambda a, b: (a * a + 1.0) ** b),
]

Program = List[Tuple[str, int]]  # (op name, index of the second operand for binary ops)


def run(program: Program, xs, lib: str):
    """Applies the program: a running value starts at xs[0]; unary ops map it, binary
    ops combine it with xs[k] (broadcasting; with the sum of xs[k] when a reshape or
    a reduction made the shapes incompatible); the result is returned."""
    ops = {name: (f_eg, f_np) for name, f_eg, f_np in UNARY}
    ops.update({name: (f_eg, f_np) for name, f_eg, f_np in BINARY})
    value = xs[0]
    for name, k in program:
        f_eg, f_np = ops[name]
        f = f_eg if lib == "eg" else f_np
        if name in dict((n, 0) for n, _, _ in BINARY):
            other = xs[k % len(xs)]
            try:
                np.broadcast_shapes(np.shape(value), np.shape(other))
            except ValueError:  # a reshape or reduction changed the shape: use other's sum
                other = eg.sum(other) if lib == "eg" else np.sum(other)
            value = f(value, other)
        else:
            value = f(value)
    return value


# ---- strategies ---------------------------------------------------------------------------

LAYOUTS = ["contiguous", "fortran", "strided", "reversed", "broadcast", "unaligned", "readonly"]


def lay_out(a: np.ndarray, layout: str) -> np.ndarray:
    """a's values in another memory layout (a view or a copy of it)."""
    if a.ndim == 0 or a.size == 0:
        return a
    if layout == "fortran":
        return np.asfortranarray(a)
    if layout == "strided":
        buffer = np.zeros(a.shape + (2,), a.dtype)
        buffer[..., 0] = a
        return buffer[..., 0]
    if layout == "reversed":
        rev = (slice(None, None, -1),) * a.ndim
        return np.ascontiguousarray(a[rev])[rev]
    if layout == "broadcast":
        return np.broadcast_to(a[:1], a.shape) if a.shape[0] == 1 else a
    if layout == "unaligned":
        raw = np.zeros(a.nbytes + 1, np.uint8)
        out = np.frombuffer(raw.data, a.dtype, a.size, 1).reshape(a.shape)
        out[...] = a
        return out
    if layout == "readonly":
        out = a.copy()
        out.flags.writeable = False
        return out
    return a


@st.composite
def problems(draw, max_inputs: int = 3):
    n = draw(st.integers(1, max_inputs))
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, min_dims=0, max_dims=3, min_side=1, max_side=4))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    xs = []
    for shape in shapes.input_shapes:
        a = draw(hnp.arrays(np.float64, shape, elements=st.floats(-2, 2, allow_nan=False, allow_subnormal=False)))
        xs.append(lay_out(a.astype(dtype), draw(st.sampled_from(LAYOUTS))))
    names = [name for name, _, _ in UNARY] + [name for name, _, _ in BINARY]
    program = draw(st.lists(st.tuples(st.sampled_from(names), st.integers(0, max_inputs - 1)), min_size=1,
                            max_size=4))
    return xs, program


def moderate(program: Program, xs, bound: float) -> np.ndarray:
    """NumPy's result of the program, the example skipped unless it is finite and
    below `bound` (four squarings of 2 reach 65536, exp of that overflows)."""
    with np.errstate(all="ignore"):
        want = run(program, [np.asarray(x, np.float64) for x in xs], "np")
    assume(np.all(np.isfinite(want)) and np.max(np.abs(want), initial=0.0) < bound)
    return want


def _snapshot(arrays):
    return [np.array(a, copy=True) for a in arrays]


# ---- properties ----------------------------------------------------------------------------


@PROFILE
@given(problems())
def test_forward_matches_numpy_and_leaves_inputs_alone(problem):
    xs, program = problem
    before = _snapshot(xs)
    want = moderate(program, xs, 1e6)
    got = run(program, xs, "eg")
    float32 = all(x.dtype == np.float32 for x in xs)
    scale = max(1.0, float(np.max(np.abs(want), initial=0.0)))
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-4 if float32 else 1e-10,
                               atol=(2e-5 if float32 else 1e-12) * scale)
    assert np.asarray(got).dtype == (np.float32 if float32 else np.float64)
    for a, b in zip(xs, before):
        np.testing.assert_array_equal(a, b)


@PROFILE
@given(problems(max_inputs=2))
def test_gradients_pass_gradcheck(problem):
    xs, program = problem
    xs64 = [np.asarray(x, np.float64) for x in xs]
    moderate(program, xs64, 100.0)

    def f(*vs):
        return run(program, list(vs), "eg")

    assert eg.gradcheck(f, xs64, atol=1e-5, rtol=1e-4)


@PROFILE
@given(problems(), st.sampled_from(["ones", "random", "broadcast", "readonly"]))
def test_backward_never_mutates_inputs_or_grad_and_gradients_never_alias(problem, seed_kind):
    xs, program = problem
    moderate(program, xs, 1e6)
    leaves = [eg.Variable(x, requires_grad=True) for x in xs]
    before = _snapshot(xs)
    out = run(program, leaves, "eg")
    if seed_kind == "ones":
        seed = np.ones(out.shape, dtype=out.dtype)
    else:
        seed = np.asarray(np.random.default_rng(0).standard_normal(out.shape), dtype=out.dtype)
        seed = lay_out(seed, seed_kind if seed_kind != "random" else "contiguous")
    seed_before = np.array(seed, copy=True)
    out.backward(seed)
    np.testing.assert_array_equal(seed, seed_before)
    for a, b in zip(xs, before):
        np.testing.assert_array_equal(a, b)
    pairs = [(v, v.grad) for v in leaves if v.grad is not None]
    grads = [g for _, g in pairs]
    for i, (v, g) in enumerate(pairs):
        assert g.shape == v.shape and g.dtype == v.dtype  # denominator layout
        assert not np.shares_memory(g.numpy(), seed)
        for x in xs:
            assert not np.shares_memory(g.numpy(), x)
        for h in grads[i + 1:]:
            assert not np.shares_memory(g.numpy(), h.numpy())
    # autograd.grad hands out separate buffers too, also for one leaf given twice.
    out2 = run(program, leaves, "eg")
    g1, g2 = eg.autograd.grad(out2, [leaves[0], leaves[0]], np.ones(out2.shape), allow_unused=True)
    if g1 is not None:
        assert not np.shares_memory(g1.numpy(), g2.numpy())


@PROFILE
@given(problems(max_inputs=2))
def test_second_derivatives_pass_gradcheck(problem):
    xs, program = problem
    xs64 = [np.asarray(x, np.float64) for x in xs]
    moderate(program, xs64, 100.0)

    def f(*vs):  # the gradient of sum(program) with respect to the first input
        return eg.grad(lambda *v: run(program, list(v), "eg").sum())(*vs)

    assert eg.gradcheck(f, xs64, atol=1e-4, rtol=1e-3)

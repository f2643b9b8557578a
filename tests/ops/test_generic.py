"""Generic op tests, one case per sample of samples.OPS (ids like ``exp-0``).

- forward against the NumPy reference, in float64 (tight) and float32 (loose),
  on Variables and on NumPy arrays;
- the VJP and the JVP against central finite differences and against each other
  (the adjoint identity), all by ``eg.gradcheck``, also with one Variable passed
  as every input;
- the VJP of the VJP (reverse over reverse) and its JVP (forward over reverse)
  against finite differences; likewise the VJP of the JVP (reverse over forward, as
  eg.hvp runs) and its JVP;
- denominator layout: the gradient of a scalar has the input's shape and dtype,
  also when float32 and float64 inputs mix or a Python float (weak) is an operand.
"""

import numpy as np
import pytest

import eigengrad as eg
from samples import OPS, as_dtype

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]

# Forward (rtol, atol) against a float64 reference computed from the same (cast)
# inputs; atol scales with the inputs' magnitude (softmax(x + 500) may lose an ulp
# of 500).
FORWARD_TOL = {np.float64: (1e-12, 1e-13), np.float32: (1e-5, 1e-7)}


def cases(keep=lambda info, sample: True):
    """pytest params (info, sample) for the samples that ``keep`` accepts."""
    return [
        pytest.param(info, sample, id=f"{info.name}-{i}")
        for info in OPS
        for i, sample in enumerate(info.samples)
        if keep(info, sample)
    ]


def differentiable(info, sample):
    return info.differentiable


def gradgrad(info, sample):
    return info.gradgrad


def takes_arrays(info, sample):
    return info.takes_arrays


def multi_input(info, sample):
    return info.differentiable and len(sample.args) > 1


def same_shape_inputs(info, sample):
    return multi_input(info, sample) and len({a.shape for a in sample.args}) == 1


def scalar_operand(info, sample):
    return info.broadcasts and all(a.size for a in sample.args)


def cotangent(info, sample):
    """A fixed random float64 array shaped like the op's output."""
    shape = np.shape(info.ref(*sample.args, **sample.kwargs))
    return np.random.default_rng(7).standard_normal(shape)


def check_forward(info, sample, args, out, dtype):
    expected = np.asarray(info.ref(*[a.astype(np.float64) for a in args], **sample.kwargs))
    assert isinstance(out, eg.Variable)
    assert out.shape == expected.shape
    assert out.dtype == info.result_dtype(sample, np.dtype(dtype))
    rtol, atol = FORWARD_TOL[dtype]
    scale = max([1.0] + [np.abs(a).max() for a in args if a.size])
    actual = np.asarray(out, dtype=np.float64)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info, sample", cases())
def test_forward(info, sample, dtype):
    args = [as_dtype(a, dtype) for a in sample.args]
    out = info.op(*[eg.Variable(a) for a in args], **sample.kwargs)
    check_forward(info, sample, args, out, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("info, sample", cases(takes_arrays))
def test_forward_on_arrays(info, sample, dtype):
    args = [as_dtype(a, dtype) for a in sample.args]
    copies = [a.copy() for a in args]
    out = info.op(*args, **sample.kwargs)
    check_forward(info, sample, args, out, dtype)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("info, sample", cases(differentiable))
def test_vjp(info, sample):
    def f(*xs):
        return info.op(*xs, **sample.kwargs)

    assert eg.gradcheck(f, sample.args, eps=info.gradcheck_eps)


@pytest.mark.parametrize("info, sample", cases(same_shape_inputs))
def test_vjp_repeated_input(info, sample):
    """op(x, x, ...): the engine sums the cotangents of every use of x."""
    def f(x):
        return info.op(*[x] * len(sample.args), **sample.kwargs)

    assert eg.gradcheck(f, sample.args[0], eps=info.gradcheck_eps)


@pytest.mark.parametrize("info, sample", cases(gradgrad))
def test_vjp_of_vjp(info, sample):
    seed = cotangent(info, sample)

    def vjp(*xs):
        # eg.vjp keeps the inputs differentiable for the outer reverse pass and their
        # tangents for the outer forward pass (forward over reverse).
        _, vjp_fn = eg.vjp(lambda *a: info.op(*a, **sample.kwargs), *xs)
        return vjp_fn(seed)

    assert eg.gradcheck(vjp, sample.args, eps=info.gradcheck_eps)


@pytest.mark.parametrize("info, sample", cases(gradgrad))
def test_jvp_of_jvp(info, sample):
    rng = np.random.default_rng(11)
    tangents = [rng.standard_normal(np.shape(a)) for a in sample.args]

    def jvp(*xs):
        # The output tangent stays differentiable in the primals: its VJP is reverse
        # over forward (eg.hvp), its JVP forward over forward.
        return eg.jvp(lambda *a: info.op(*a, **sample.kwargs), xs, tangents)[1]

    assert eg.gradcheck(jvp, sample.args, eps=info.gradcheck_eps)


@pytest.mark.parametrize("info, sample", cases(differentiable))
def test_grad_layout(info, sample):
    weights = cotangent(info, sample)
    grads = {}
    for dtype in (np.float64, np.float32):
        args = [as_dtype(a, dtype) for a in sample.args]
        copies = [a.copy() for a in args]
        xs = [eg.Variable(a, requires_grad=True) for a in args]
        out = info.op(*xs, **sample.kwargs)
        eg.sum(out * weights.astype(out.dtype)).backward()
        for x in xs:
            assert x.grad is not None
            assert x.grad.shape == x.shape
            assert x.grad.dtype == dtype
        for a, c in zip(args, copies):
            np.testing.assert_array_equal(a, c)
        grads[dtype] = [np.asarray(x.grad) for x in xs]
    for g64, g32 in zip(grads[np.float64], grads[np.float32]):
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("info, sample", cases(multi_input))
def test_mixed_dtypes(info, sample):
    """float32 with float64 inputs: NumPy's promoted output, each gradient in its input's dtype."""
    dtypes = [(np.float32, np.float64)[i % 2] for i in range(len(sample.args))]
    args = [as_dtype(a, dt) for a, dt in zip(sample.args, dtypes)]
    expected = np.asarray(info.ref(*args, **sample.kwargs))
    xs = [eg.Variable(a, requires_grad=True) for a in args]
    out = info.op(*xs, **sample.kwargs)
    assert out.dtype == expected.dtype
    np.testing.assert_allclose(np.asarray(out), expected, rtol=1e-5, atol=1e-6)
    eg.sum(out * cotangent(info, sample)).backward()
    for x, dt in zip(xs, dtypes):
        assert x.grad.shape == x.shape
        assert x.grad.dtype == dt


@pytest.mark.parametrize("position", [0, 1], ids=["scalar_x", "scalar_y"])
@pytest.mark.parametrize("info, sample", cases(scalar_operand))
def test_weak_python_scalar(info, sample, position):
    """A Python float operand does not promote: float32 in, float32 out and grad."""
    x = eg.Variable(as_dtype(sample.args[1 - position], np.float32), requires_grad=True)
    scalar = float(sample.args[position].flat[0])
    operands = [scalar, x] if position == 0 else [x, scalar]
    out = info.op(*operands, **sample.kwargs)
    assert out.dtype == np.float32
    as_f64 = [o if o is scalar else np.asarray(o, np.float64) for o in operands]
    reference = info.ref(*as_f64, **sample.kwargs)
    np.testing.assert_allclose(np.asarray(out), reference, rtol=1e-5, atol=1e-6)
    eg.sum(out).backward()
    assert x.grad.dtype == np.float32
    assert x.grad.shape == x.shape

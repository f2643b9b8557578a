"""eg.vmap against a Python loop, for every sample of samples.OPS (ids like ``exp-0``).

Each op's batching rule (eigengrad/batching_rules.py) must give, for a batch of
inputs, exactly what the op gives for each element in turn:

- every float input batched along axis 0;
- only the first input batched, along its last axis (the others shared);
- the gradient of the batch's sum, through vmap, against the loop's gradients;
- every public op has a batching rule.
"""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import batching
from samples import OPS

B = 3


def cases(keep=lambda info, sample: True):
    return [pytest.param(info, sample, id=f"{info.name}-{i}")
            for info in OPS for i, sample in enumerate(info.samples) if keep(info, sample)]


# Ops whose samples have structure (symmetric, positive definite) that rotating the
# values would break: their elements are the sample scaled instead.
STRUCTURED = {"cholesky", "eigh", "qr", "svd", "solve", "inv", "det", "slogdet"}


def element(a, i, name=""):
    """The i-th batch element made from a sample input: its own values, rotated by i
    (so they stay in the op's domain and away from its kinks), or scaled."""
    a = np.array(a, dtype=np.float64)  # a C-contiguous copy (0-d stays 0-d)
    if name in STRUCTURED or a.size <= 1:
        return a * (1.0 + 0.25 * i)
    return np.roll(a.ravel(), i).reshape(a.shape)


def as_arrays(out):
    if isinstance(out, tuple):
        return [np.asarray(o) for o in out]
    return [np.asarray(out)]


def assert_same(got, expected, dtype_ok=True):
    got, expected = as_arrays(got), [as_arrays(e) for e in expected]
    assert len(got) == len(expected[0])
    for k, g in enumerate(got):
        want = np.stack([e[k] for e in expected])
        assert g.shape == want.shape, (g.shape, want.shape)
        if want.dtype.kind in "iub":
            np.testing.assert_array_equal(g, want)
        else:
            np.testing.assert_allclose(g, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("info,sample", cases())
def test_vmap_matches_a_loop(info, sample):
    f = lambda *xs: info.op(*xs, **sample.kwargs)
    batches = [np.stack([element(a, i, info.name) for i in range(B)]) for a in sample.args]
    expected = [f(*[eg.Variable(b[i]) for b in batches]) for i in range(B)]
    got = eg.vmap(f)(*[eg.Variable(b) for b in batches])
    assert_same(got, expected)


@pytest.mark.parametrize("info,sample", cases(lambda info, sample: sample.args and sample.args[0].ndim >= 0))
def test_vmap_first_input_only_along_its_last_axis(info, sample):
    f = lambda *xs: info.op(*xs, **sample.kwargs)
    first = np.stack([element(sample.args[0], i, info.name) for i in range(B)], axis=-1)  # batch last
    rest = [eg.Variable(np.asarray(a, dtype=np.float64)) for a in sample.args[1:]]
    expected = [f(eg.Variable(np.array(first[..., i])), *rest) for i in range(B)]
    in_axes = (-1,) + (None,) * len(rest)
    got = eg.vmap(f, in_axes=in_axes)(eg.Variable(first), *rest)
    assert_same(got, expected)


def first_sample_differentiable(info, sample):
    return info.differentiable and sample is info.samples[0] and all(a.size for a in sample.args)


@pytest.mark.parametrize("info,sample", cases(first_sample_differentiable))
def test_gradient_through_vmap_matches_the_loop(info, sample):
    f = lambda *xs: info.op(*xs, **sample.kwargs)
    batches = [np.stack([element(a, i, info.name) for i in range(B)]) for a in sample.args]
    weights = [np.random.default_rng(0).normal(size=np.shape(o)) for o in as_arrays(f(*[eg.Variable(a) for a in sample.args]))]

    def total(outs):
        outs = outs if isinstance(outs, tuple) else (outs,)
        return sum((o * w).sum() for o, w in zip(outs, weights))

    inputs = [eg.Variable(b, requires_grad=True) for b in batches]
    outs = eg.vmap(f)(*inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    sum(total(tuple(o[i] for o in outs)) for i in range(B)).backward()
    for k, x in enumerate(inputs):
        loop = [eg.grad(lambda *xs: total(f(*xs)), argnums=k)(*[eg.Variable(b[i]) for b in batches])
                for i in range(B)]
        np.testing.assert_allclose(np.asarray(x.grad), np.stack([np.asarray(g) for g in loop]),
                                   rtol=1e-10, atol=1e-12)


def test_every_public_op_has_a_batching_rule():
    ops = set(eg._core.op_names()) - {"slice"}  # indexing: the "getitem" rule
    missing = sorted(ops - set(batching.rule_names()))
    assert not missing, f"ops without a batching rule: {missing}"

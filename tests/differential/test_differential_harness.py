"""The differential harness can fail: a derivative off by 1e-9 relative, a stale
gradient after an undetected in-place write, a wrong shape or dtype are reported,
with the seed and the program text."""

import numpy as np
import pytest

pytest.importorskip("torch", reason="the differential tests compare with PyTorch: pip install torch==2.13.0")

import eigengrad as eg  # noqa: E402
from diffbackends import eg_backend  # noqa: E402
from diffchecks import Case, compare  # noqa: E402
from diffprog import handmade  # noqa: E402
from diffrun import run  # noqa: E402
from diffstate import _raise_or_right  # noqa: E402


def test_compare_flags_small_errors_shapes_and_dtypes():
    want = np.array([1.0, -2.0, 3.0])
    assert compare(eg.Variable(want.copy()), want) is None
    assert compare(want * (1 + 1e-12), want) is None
    assert "max error" in compare(want * (1 + 1e-9), want)
    assert "shape" in compare(want[:2], want)
    assert "dtype" in compare(want.astype(np.float32), want)
    assert "non-finite" in compare(np.array([1.0, np.nan, 3.0]), want)
    assert compare(None, want) is not None


class WrongSin(eg.Function):
    """sin with a derivative 1e-9 too large, in both modes and twice differentiable."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return eg.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * eg.cos(x) * (1 + 1e-9)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * eg.cos(x) * (1 + 1e-9)


PROGRAM = ["v0 = (x0 * x1)", "v1 = B.sin(v0)", "v2 = B.tanh(v1 * x0)", "v3 = B.square(v2)", "v3"]


def patched_run(program=PROGRAM, names=None, **ops):
    p = handmade(program, [np.array([0.3, -1.1, 0.7]), np.array([1.2, 0.4, -0.5])], (3,), seed=5)
    p.aux["k"] = 1

    def case(p):
        B = eg_backend(p)
        for name, fn in ops.items():
            setattr(B, name, fn)
        return Case(p, eg_B=B)

    return run(None, names, program=p, case_factory=case)


def failed_checks(result):
    return {f[1:f.index("]")] for f in result.failures}


def test_the_unpatched_program_passes():
    result = patched_run()
    assert result.compared > 100 and not result.failures, result.report()


def test_a_derivative_off_by_1e_9_fails_every_derivative_check():
    result = patched_run(sin=WrongSin.apply)
    failed = failed_checks(result)
    assert "forward" not in failed  # the values are right
    for name in ["grad", "autograd_grad", "vjp", "jvp", "jacobian", "hessian", "hvp", "grad_of_grad",
                 "jacobian_of_grad", "forward_over_forward", "reverse_over_forward", "vjp_of_vjp",
                 "backward_into_leaves", "double_backward", "penalty_argument", "penalty_closed_over",
                 "transforms_differentiable_in_leaf_arguments", "nested_grads_differentiable_in_leaves",
                 "aliased_arguments", "views_of_one_array", "tuple_outputs"]:
        assert name in failed, name
    report = result.report()
    assert "seed 5" in report and "def program(B, x0, x1):" in report and "v1 = B.sin(v0)" in report


def test_an_undetected_update_fails_the_raise_or_right_check():
    # Writes through np.asarray(v) are not seen (README: only the array passed in is
    # protected): the check must then find the stale gradient.
    p = handmade(["v0 = B.square(x1)", "v1 = (v0 * x0)", "v1"], [np.array([0.3, -1.1]), np.array([1.2, 0.4])], (2,))
    p.aux["k"] = 1

    def raw_write(xe, bases, passed):
        np.asarray(xe[1])[...] += 0.5
        return p.inputs[1] + 0.5

    triples = _raise_or_right(Case(p), "raw NumPy write", raw_write)
    assert triples and any(compare(got, want) for _, got, want in triples)

"""flip, roll, tril, triu, diagonal, diag, trace and pad (cpp/src/ops/rearrange.cpp)
against PyTorch: values, both modes and second order. NumPy and finite differences:
the generic tests (samples.py)."""

import numpy as np
import pytest

import eigengrad as eg
from torch_oracle import check_against_torch

torch = pytest.importorskip("torch")

rng = np.random.default_rng(12)
X = rng.standard_normal((3, 4))
B = rng.standard_normal((2, 3, 4))

CASES = {
    "flip": (lambda v: eg.flip(v, axis=(0, 2)), lambda t: torch.flip(t, dims=(0, 2)), B),
    "flip all": (lambda v: eg.flip(v), lambda t: torch.flip(t, dims=(0, 1)), X),
    "roll": (lambda v: eg.roll(v, (1, -5), axis=(0, 2)), lambda t: torch.roll(t, (1, -5), dims=(0, 2)), B),
    "roll flat": (lambda v: eg.roll(v, 5), lambda t: torch.roll(t, 5), X),
    "tril": (lambda v: eg.tril(v, k=1), lambda t: torch.tril(t, 1), B),
    "triu": (lambda v: eg.triu(v, k=-1), lambda t: torch.triu(t, -1), B),
    "diagonal": (lambda v: eg.diagonal(v, 1, 1, 2), lambda t: torch.diagonal(t, 1, 1, 2), B),
    "diag of a matrix": (lambda v: eg.diag(v, -1), lambda t: torch.diag(t, -1), X),
    "diag of a vector": (lambda v: eg.diag(v, 2), lambda t: torch.diag(t, 2), X[0]),
    "trace": (lambda v: eg.trace(v), lambda t: torch.trace(t), X),
    "trace offset": (lambda v: eg.trace(v, 1), lambda t: torch.diagonal(t, 1).sum(), X),
    "pad": (lambda v: eg.pad(v, ((0, 1), (2, 0), (1, 1)), constant_values=0.5),
            lambda t: torch.nn.functional.pad(t, (1, 1, 2, 0, 0, 1), value=0.5), B),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_torch(name):
    eg_fn, torch_fn, x = CASES[name]
    check_against_torch(eg_fn, torch_fn, [x])


def test_errors_name_the_op_and_shape():
    with pytest.raises(ValueError, match=r"tril: input must be at least 2-d, got shape \(3,\)"):
        eg.tril(np.ones(3))
    with pytest.raises(ValueError, match=r"diag: input must be 1-d or 2-d, got shape \(2, 3, 4\)"):
        eg.diag(B)
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 cannot be the same"):
        eg.trace(B, axis1=1, axis2=-2)
    with pytest.raises(np.exceptions.AxisError, match="flip: axis 3"):
        eg.flip(B, axis=3)
    with pytest.raises(ValueError, match="roll: shift and axis must have the same length"):
        eg.roll(B, (1, 2), axis=(0, 1, 2))


def test_tensordot_matches_torch():  # cpp/src/ops/contract.cpp
    y = rng.standard_normal((4, 3, 2))
    check_against_torch(lambda a, b: eg.tensordot(a, b, ([1, 2], [1, 0])),
                        lambda a, b: torch.tensordot(a, b, dims=([1, 2], [1, 0])), [B, y])
    check_against_torch(lambda a, b: eg.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, dims=1), [B, y])
    with pytest.raises(ValueError, match=r"tensordot: shape-mismatch for sum: axis 2 of x of shape \(2, 3, 4\)"):
        eg.tensordot(B, y, ([2], [1]))
    with pytest.raises(ValueError, match="pad: negative pad width"):
        eg.pad(X, ((0, -1), (0, 0)))
    with pytest.raises(ValueError, match="pad: only mode='constant'"):
        eg.pad(X, 1, mode="reflect")

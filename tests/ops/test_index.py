"""take_along_axis, scatter_add, sort, argsort, argmax and argmin (cpp/src/ops/index.cpp)
against PyTorch (take_along_dim, scatter_add, sort(stable=True), argmax) and NumPy, and
their errors. Finite differences: the generic tests (samples.py); ties and NaN:
test_conventions.py."""

import numpy as np
import pytest

import eigengrad as eg
from torch_oracle import check_against_torch

torch = pytest.importorskip("torch")

rng = np.random.default_rng(13)
X = rng.standard_normal((3, 4))
IDX = np.array([[3, 0, 0], [1, 1, 2], [0, 3, 3]])


def test_take_along_axis_matches_torch():
    check_against_torch(lambda v: eg.take_along_axis(v, IDX, axis=1),
                        lambda t: torch.take_along_dim(t, torch.tensor(IDX), dim=1), [X])
    idx0 = np.array([[2, 0, 1, 1]])
    check_against_torch(lambda v: eg.take_along_axis(v, idx0, axis=0),
                        lambda t: torch.take_along_dim(t, torch.tensor(idx0), dim=0), [X])


def test_scatter_add_matches_torch():
    values = rng.standard_normal(IDX.shape)
    check_against_torch(lambda v, w: eg.scatter_add(v, IDX, w, axis=1),
                        lambda t, s: torch.scatter_add(t, 1, torch.tensor(IDX), s), [X, values])
    rows = np.array([[2, 0, 2, 1]])
    check_against_torch(lambda v, w: eg.scatter_add(v, rows, w, axis=0),
                        lambda t, s: torch.scatter_add(t, 0, torch.tensor(rows), s), [X, values[:1, :3].repeat(2)[None, :4]])


@pytest.mark.parametrize("axis", [0, 1])
def test_sort_matches_torch(axis):
    check_against_torch(lambda v: eg.sort(v, axis=axis), lambda t: torch.sort(t, dim=axis, stable=True).values, [X])
    ties = np.array([[1.0, 0.5, 1.0, 0.5], [2.0, 2.0, 2.0, -1.0], [0.0, -0.0, 3.0, 0.0]])
    check_against_torch(lambda v: eg.sort(v, axis=axis), lambda t: torch.sort(t, dim=axis, stable=True).values, [ties])
    np.testing.assert_array_equal(eg.argsort(ties, axis=axis), torch.argsort(torch.tensor(ties), dim=axis, stable=True))


def test_arg_reductions_match_numpy_and_torch():
    x = np.round(rng.standard_normal((4, 5, 3)), 1)  # rounded: ties
    for axis in (None, 0, 1, -1):
        for keepdims in (False, True):
            np.testing.assert_array_equal(eg.argmax(x, axis=axis, keepdims=keepdims),
                                          np.argmax(x, axis=axis, keepdims=keepdims))
            np.testing.assert_array_equal(eg.argmin(x, axis=axis, keepdims=keepdims),
                                          np.argmin(x, axis=axis, keepdims=keepdims))
        np.testing.assert_array_equal(eg.argmax(x, axis=axis), torch.argmax(torch.tensor(x), dim=axis))
        np.testing.assert_array_equal(eg.argsort(x, axis=axis), np.argsort(x, axis=axis, kind="stable"))
    np.testing.assert_array_equal(eg.sort(x, axis=None).numpy(), np.sort(x, axis=None))


def test_bad_indices_raise_naming_the_op():
    with pytest.raises(IndexError, match="take_along_axis: index 4 is out of bounds for axis 1 with size 4"):
        eg.take_along_axis(X, np.array([[4]]), axis=1)
    with pytest.raises(TypeError, match="scatter_add: indices must be integers, got dtype float64"):
        eg.scatter_add(X, np.array([[1.0]]), 1.0, axis=1)
    with pytest.raises(ValueError, match=r"scatter_add: indices of shape \(4, 1\) are larger than the array of "
                                         r"shape \(3, 4\) on axis 0"):
        eg.scatter_add(X, np.zeros((4, 1), np.int64), 1.0, axis=1)
    with pytest.raises(ValueError, match=r"scatter_add: values of shape \(2,\) do not broadcast"):
        eg.scatter_add(X, np.zeros((3, 1), np.int64), np.ones(2), axis=1)
    with pytest.raises(ValueError, match="take_along_axis: indices of shape \\(3,\\) must have as many dimensions"):
        eg.take_along_axis(X, np.array([0, 1, 2]), axis=1)
    with pytest.raises(IndexError, match="take_along_axis: index"):
        eg.take_along_axis(X, np.array([[2**63 + 5]], dtype=np.uint64), axis=1)
    with pytest.raises(ValueError, match="argmax: attempt to get argmax of an empty sequence"):
        eg.argmax(np.zeros((0, 3)), axis=0)
    with pytest.raises(np.exceptions.AxisError, match="argsort: axis 2"):
        eg.argsort(X, axis=2)

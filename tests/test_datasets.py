"""The bundled digits and the generated 2-D data sets."""

import numpy as np
import pytest

import eigengrad as eg


def test_load_digits():
    X, y = eg.datasets.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and y.dtype == np.int64
    assert X.min() == 0 and X.max() == 16
    assert np.array_equal(np.unique(y), np.arange(10))
    assert np.array_equal(y[:10], np.arange(10))
    np.testing.assert_array_equal(X[0].reshape(8, 8)[1], [0, 0, 13, 15, 10, 15, 5, 0])


def test_train_test_split_is_seeded_and_stratified():
    X, y = eg.datasets.load_digits()
    a = eg.datasets.train_test_split(X, y, 0.2, seed=0)
    b = eg.datasets.train_test_split(X, y, 0.2, seed=0)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    X_train, X_test, y_train, y_test = a
    assert len(y_train) + len(y_test) == 1797 and abs(len(y_test) - 360) <= 5
    assert np.all(np.abs(np.bincount(y_test) / np.bincount(y) - 0.2) < 0.01)
    # Every image once: the split is a partition of the rows (compared as multisets).
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(y))
    assert np.isclose(np.concatenate([X_train, X_test]).sum(), X.sum())
    with pytest.raises(ValueError, match="test_fraction"):
        eg.datasets.train_test_split(X, y, 1.5)


@pytest.mark.parametrize("make", [eg.datasets.make_moons, eg.datasets.make_spirals])
def test_2d_data_sets(make):
    X, y = make(seed=1)
    X2, y2 = make(seed=1)
    np.testing.assert_array_equal(X, X2)
    assert X.shape == (len(y), 2) and y.dtype == np.int64

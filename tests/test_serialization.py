"""eg.save / eg.load: portable .npz, names, order and dtypes kept."""

import numpy as np
import pytest

import eigengrad as eg


def test_round_trip_keeps_names_order_dtypes(tmp_path):
    state = {"b.weight": eg.Variable(np.arange(6.0).reshape(2, 3)),
             "a.bias": eg.Variable(np.ones(2, np.float32)), "scalar": np.float64(2.5)}
    path = tmp_path / "state.npz"
    eg.save(state, path)
    loaded = eg.load(path)
    assert list(loaded) == list(state)
    for name, value in state.items():
        assert isinstance(loaded[name], eg.Variable)
        assert loaded[name].dtype == np.asarray(value).dtype
        np.testing.assert_array_equal(np.asarray(loaded[name]), np.asarray(value))
    with np.load(path) as plain:  # readable with NumPy alone
        np.testing.assert_array_equal(plain["b.weight"], np.arange(6.0).reshape(2, 3))


def test_saves_at_the_exact_path(tmp_path):
    path = tmp_path / "weights.bin"
    eg.save({"w": np.zeros(1)}, path)
    assert path.exists() and not (tmp_path / "weights.bin.npz").exists()


def test_errors(tmp_path):
    with pytest.raises(TypeError, match="expected a mapping"):
        eg.save([np.zeros(1)], tmp_path / "x.npz")
    with pytest.raises(TypeError, match="names must be strings"):
        eg.save({1: np.zeros(1)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="only numeric arrays"):
        eg.save({"s": np.array(["a"])}, tmp_path / "x.npz")

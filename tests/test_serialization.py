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


# ---- nothing lost (issue 10, class 7) ---------------------------------------------------


def test_names_that_are_numpy_savez_keywords_are_kept(tmp_path):
    state = {"file": np.ones(1), "allow_pickle": np.zeros(2), "arr_0": np.full(3, 7.0), "a/b.npy": np.ones(1)}
    eg.save(state, tmp_path / "s.npz")
    loaded = eg.load(tmp_path / "s.npz")
    assert list(loaded) == list(state)
    for name, value in state.items():
        np.testing.assert_array_equal(loaded[name].numpy(), value)


def test_a_failed_save_leaves_the_old_file(tmp_path):
    path = tmp_path / "s.npz"
    eg.save({"w": np.ones(2)}, path)
    with pytest.raises(TypeError):
        eg.save({"w": np.ones(2), "bad": np.array(["text"])}, path)
    np.testing.assert_array_equal(eg.load(path)["w"].numpy(), np.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]


def test_loading_a_damaged_file_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "s.npz"
    eg.save({"w": np.arange(1000.0)}, path)
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.npz.*damaged"):
        eg.load(tmp_path / "truncated.npz")
    (tmp_path / "noise.npz").write_bytes(b"not an archive at all")
    with pytest.raises(ValueError, match="noise.npz"):
        eg.load(tmp_path / "noise.npz")


def test_loading_a_single_npy_array_says_so(tmp_path):
    np.save(tmp_path / "one.npy", np.ones(3))
    with pytest.raises(ValueError, match=r"one.npy.*single array"):
        eg.load(tmp_path / "one.npy")


def test_loading_pickled_objects_refuses_and_says_so(tmp_path):
    np.savez(tmp_path / "objects.npz", obj=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"objects.npz.*'obj'.*pickled"):
        eg.load(tmp_path / "objects.npz")
    import pickle

    (tmp_path / "state.pkl").write_bytes(pickle.dumps({"w": np.ones(2)}))
    with pytest.raises(ValueError, match=r"state.pkl.*pickled"):
        eg.load(tmp_path / "state.pkl")

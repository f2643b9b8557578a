"""Embedding and functional.embedding (python/eigengrad/nn/embedding.py) against
torch.nn.Embedding: integer indices (NumPy arrays, lists), the padding row without
gradient, finite differences in both modes, state_dict, errors."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Embedding
from eigengrad.nn import functional as F
from torch_modules import compare_with_torch, gradcheck_module, state_dict_round_trip

rng = np.random.default_rng(22)

# (indices, padding_idx): several shapes, repeats, batch size 1, size 0.
CASES = [
    (np.array([1, 4, 4, 0, 9]), None),
    (np.array([[1, 2, 0], [4, 0, 0]]), 0),
    (np.array([[3]]), None),
    (np.array([7]), -1),
    (np.zeros((0,), np.int64), None),
    (np.zeros((2, 0), np.int32), 2),
    (np.array([[9, 9], [9, 1]], np.uint8), 9),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("indices, padding_idx", CASES)
def test_matches_torch(indices, padding_idx, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of Embedding")
    module = Embedding(10, 3, padding_idx=padding_idx, dtype=dtype)
    reference = torch.nn.Embedding(10, 3, padding_idx=padding_idx)
    compare_with_torch(module, reference, [indices], dtype, differentiable=[False])


def test_indices_as_lists_and_the_padding_row():
    module = Embedding(5, 2, padding_idx=1, generator=0)
    np.testing.assert_array_equal(module.weight.numpy()[1], 0)  # initialised to zeros
    weight = module.weight.numpy()
    out = module([[0, 1], [1, 4]])
    assert out.shape == (2, 2, 2)
    np.testing.assert_array_equal(out.numpy(), weight[[[0, 1], [1, 4]]])
    out.sum().backward()
    np.testing.assert_array_equal(module.weight.grad.numpy(), [[1, 1], [0, 0], [0, 0], [0, 0], [1, 1]])
    # the padding row's value is read even when not zero; still no gradient
    with eg.no_grad():
        module.weight.copy_(eg.Variable(np.full((5, 2), 2.0)))
    module.zero_grad()
    out = F.embedding([1, 1, 3], module.weight, padding_idx=1)
    np.testing.assert_array_equal(out.numpy(), 2.0)
    (out * out).sum().backward()
    np.testing.assert_array_equal(module.weight.grad.numpy(), [[0, 0], [0, 0], [0, 0], [4, 4], [0, 0]])


def test_gradcheck():
    # (The padding row is left out: by design its gradient is not the derivative.)
    module = Embedding(6, 3, generator=1)
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    assert gradcheck_module(module, [], call=lambda m: m(idx))
    padded = Embedding(6, 3, padding_idx=3, generator=1)
    assert gradcheck_module(padded, [], call=lambda m: m(idx))
    w = rng.standard_normal((4, 2))
    assert eg.gradcheck(lambda w: F.embedding(np.array([3, 0, 3]), w), [w])


def test_initialisation_dtype_and_state_dict():
    module = Embedding(400, 50, generator=3)
    assert [(n, p.shape) for n, p in module.named_parameters()] == [("weight", (400, 50))]
    w = module.weight.numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01  # N(0, 1), as torch
    np.testing.assert_array_equal(Embedding(4, 2, generator=3).weight.numpy(), Embedding(4, 2, generator=3).weight.numpy())
    small = Embedding(4, 2, dtype="float32")
    assert small.weight.dtype == np.float32 and small([0, 3]).dtype == np.float32
    state_dict_round_trip(module, lambda: Embedding(400, 50))
    assert repr(Embedding(4, 2, padding_idx=-1)) == "Embedding(4, 2, padding_idx=3)"


def test_bad_indices():
    module = Embedding(4, 2)
    with pytest.raises(IndexError, match=r"Embedding: index 4 is out of range for 4 embeddings \(indices must be in \[0, 4\)\)"):
        module([0, 4])
    with pytest.raises(IndexError, match=r"Embedding: index -1 is out of range for 4 embeddings"):
        module(np.array([[0], [-1]]))
    with pytest.raises(IndexError, match=r"embedding: index 7 is out of range for 3 embeddings"):
        F.embedding([7], np.ones((3, 2)))
    with pytest.raises(TypeError, match="Embedding: indices must be integers, got dtype float64"):
        module(np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="Embedding: indices must be integers .* got a Variable"):
        module(eg.Variable([0.0]))
    with pytest.raises(ValueError, match=r"Embedding: padding_idx 4 is out of range for 4 embeddings"):
        Embedding(4, 2, padding_idx=4)
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-d \(num_embeddings, embedding_dim\), got shape \(3,\)"):
        F.embedding([0], np.ones(3))
    assert module([]).shape == (0, 2)

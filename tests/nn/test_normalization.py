"""LayerNorm and functional.layer_norm (python/eigengrad/nn/normalization.py)
against torch.nn.LayerNorm, finite differences in both modes, state_dict, errors."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import LayerNorm
from eigengrad.nn import functional as F
from torch_modules import compare_with_torch, gradcheck_module, state_dict_round_trip

rng = np.random.default_rng(21)

# (input shape, normalized_shape, keyword arguments)
CASES = [
    ((2, 3, 4), (4,), {}),
    ((2, 3, 4), (3, 4), {}),
    ((1, 5), 5, {}),
    ((0, 4), (4,), {}),
    ((6,), 6, {}),
    ((3, 4), (4,), {"elementwise_affine": False}),
    ((3, 4), (4,), {"bias": False}),
    ((2, 4), (4,), {"eps": 0.1}),
]


def randomise(torch_module):
    """Non-trivial affine parameters (torch starts from ones and zeros)."""
    import torch

    with torch.no_grad():
        for p in torch_module.parameters():
            p.copy_(torch.tensor(rng.standard_normal(tuple(p.shape))))
    return torch_module


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, normalized_shape, kwargs", CASES)
def test_matches_torch(shape, normalized_shape, kwargs, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of LayerNorm")
    module = LayerNorm(normalized_shape, dtype=dtype, **kwargs)
    reference = randomise(torch.nn.LayerNorm(normalized_shape, dtype=torch.float64, **kwargs))
    compare_with_torch(module, reference, [rng.standard_normal(shape) * 3 + 1], dtype)


@pytest.mark.parametrize("shape, normalized_shape, kwargs", [c for c in CASES if 0 not in c[0]])
def test_gradcheck(shape, normalized_shape, kwargs):
    module = LayerNorm(normalized_shape, **kwargs)
    with eg.no_grad():
        for p in module.parameters():
            p.copy_(eg.Variable(rng.standard_normal(p.shape)))
    assert gradcheck_module(module, [rng.standard_normal(shape)])


def test_functional_matches_module():
    x, w, b = rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal(5)
    module = LayerNorm(5)
    module.load_state_dict({"weight": w, "bias": b})
    np.testing.assert_allclose(F.layer_norm(x, 5, w, b).numpy(), module(x).numpy(), rtol=1e-15)
    y = F.layer_norm(x, (5,)).numpy()
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1 / (1 + 1e-5 / x.var(-1)), rtol=1e-12)
    assert eg.gradcheck(lambda x, w, b: F.layer_norm(x, 5, w, b, eps=1e-3), [x, w, b])


def test_parameters_dtype_and_state_dict():
    module = LayerNorm((2, 3), dtype="float32")
    assert [(n, p.shape, p.dtype) for n, p in module.named_parameters()] == [
        ("weight", (2, 3), np.float32), ("bias", (2, 3), np.float32)]
    np.testing.assert_array_equal(module.weight.numpy(), 1)
    np.testing.assert_array_equal(module.bias.numpy(), 0)
    assert module(np.ones((4, 2, 3), np.float32)).dtype == np.float32
    assert [n for n, _ in LayerNorm(3, bias=False).named_parameters()] == ["weight"]
    assert list(LayerNorm(3, elementwise_affine=False).parameters()) == []
    with eg.no_grad():
        module.weight.copy_(eg.Variable(rng.standard_normal((2, 3)), dtype="float32"))
    state_dict_round_trip(module, lambda: LayerNorm((2, 3), dtype="float32"))
    assert repr(LayerNorm(4)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True)"


def test_bad_input_names_the_module_and_shapes():
    with pytest.raises(ValueError, match=r"LayerNorm: input of shape \(3, 5\) does not end in normalized_shape \(4,\)"):
        LayerNorm(4)(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"LayerNorm: input of shape \(4,\) does not end in normalized_shape \(3, 4\)"):
        LayerNorm((3, 4))(np.ones(4))
    with pytest.raises(ValueError, match=r"layer_norm: weight has shape \(3,\), normalized_shape is \(4,\)"):
        F.layer_norm(np.ones((2, 4)), 4, np.ones(3))
    with pytest.raises(ValueError, match="LayerNorm: normalized_shape must be one or more sizes >= 0, got -1"):
        LayerNorm(-1)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape must be one or more sizes >= 0, got \(\)"):
        F.layer_norm(np.ones(3), ())

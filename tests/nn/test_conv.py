"""Conv1d and functional.conv1d (python/eigengrad/nn/conv.py) against
torch.nn.Conv1d: stride, padding (int, 'valid', 'same'), dilation, no bias, batch
sizes 1 and 0, one sample; finite differences in both modes; errors."""

import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Conv1d
from eigengrad.nn import functional as F
from torch_modules import compare_with_torch, gradcheck_module, state_dict_round_trip

rng = np.random.default_rng(24)

# (input shape, out_channels, kernel_size, keyword arguments)
CASES = [
    ((2, 3, 10), 4, 3, {}),
    ((2, 3, 10), 4, 3, {"stride": 2, "padding": 1}),
    ((2, 3, 11), 2, 3, {"dilation": 2, "padding": 2, "stride": 3}),
    ((1, 2, 5), 3, 5, {}),
    ((0, 2, 6), 3, 2, {}),
    ((3, 7), 2, 3, {"padding": 1}),
    ((2, 2, 8), 3, 4, {"padding": "same", "dilation": 3}),
    ((2, 2, 8), 3, 4, {"padding": "valid", "bias": False}),
    ((2, 1, 4), 1, 1, {}),
    ((1, 2, 9), 2, (3,), {"stride": (2,), "padding": (1,), "dilation": (2,)}),
]


# torch warns that its 'same' padding with an even kernel copies the input
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, out_channels, kernel_size, kwargs", CASES)
def test_matches_torch(shape, out_channels, kernel_size, kwargs, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of Conv1d")
    module = Conv1d(shape[-2], out_channels, kernel_size, dtype=dtype, **kwargs)
    reference = torch.nn.Conv1d(shape[-2], out_channels, kernel_size, **kwargs)
    compare_with_torch(module, reference, [rng.standard_normal(shape)], dtype)


@pytest.mark.parametrize("shape, out_channels, kernel_size, kwargs", [CASES[1], CASES[2], CASES[5], CASES[7]])
def test_gradcheck(shape, out_channels, kernel_size, kwargs):
    module = Conv1d(shape[-2], out_channels, kernel_size, generator=2, **kwargs)
    assert gradcheck_module(module, [rng.standard_normal(shape)])


def test_functional_against_a_direct_sum():
    x, w, b = rng.standard_normal((2, 3, 9)), rng.standard_normal((4, 3, 2)), rng.standard_normal(4)
    out = F.conv1d(x, w, b, stride=2, dilation=3).numpy()
    length = (9 - 3 * 1 - 1) // 2 + 1
    want = np.stack([b + np.einsum("ock,nck->no", w, x[:, :, [2 * l, 2 * l + 3]]) for l in range(length)], axis=-1)
    np.testing.assert_allclose(out, want, rtol=1e-13)
    assert eg.gradcheck(lambda x, w, b: F.conv1d(x, w, b, padding=1), [x[:1, :, :5], w, b])


def test_parameters_initialisation_and_state_dict():
    module = Conv1d(10, 20, 5, generator=0)
    assert [(n, p.shape) for n, p in module.named_parameters()] == [("weight", (20, 10, 5)), ("bias", (20,))]
    bound = 1 / math.sqrt(10 * 5)
    for p in module.parameters():
        a = p.numpy()
        assert a.min() >= -bound and a.max() <= bound and a.max() > 0.8 * bound
    assert [n for n, _ in Conv1d(2, 2, 3, bias=False).named_parameters()] == ["weight"]
    small = Conv1d(2, 3, 3, dtype="float32")
    assert small(np.ones((1, 2, 5), np.float32)).dtype == np.float32
    state_dict_round_trip(module, lambda: Conv1d(10, 20, 5))
    assert repr(Conv1d(2, 3, 4, padding="same")) == (
        "Conv1d(2, 3, kernel_size=4, stride=1, padding='same', dilation=1, bias=True)")


def test_bad_input_names_the_module_and_shapes():
    conv = Conv1d(3, 2, 4)
    with pytest.raises(ValueError, match=r"Conv1d: expected input of shape \(N, 3, L\) or \(3, L\) for weight of "
                                         r"shape \(2, 3, 4\), got \(2, 5, 8\)"):
        conv(np.ones((2, 5, 8)))
    with pytest.raises(ValueError, match=r"Conv1d: expected input of shape .* got \(8,\)"):
        conv(np.ones(8))
    with pytest.raises(ValueError, match=r"Conv1d: the padded input has length 3 .* shorter than the kernel's span 4"):
        conv(np.ones((1, 3, 3)))
    with pytest.raises(ValueError, match="conv1d: padding='same' needs stride 1, got stride 2"):
        F.conv1d(np.ones((1, 3, 8)), np.ones((2, 3, 4)), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"conv1d: bias has shape \(3,\), expected \(2,\)"):
        F.conv1d(np.ones((1, 3, 8)), np.ones((2, 3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="Conv1d: padding must be an int >= 0, 'valid' or 'same', got 'full'"):
        Conv1d(3, 2, 4, padding="full")
    with pytest.raises(ValueError, match="Conv1d: dilation must be an int >= 1, got 0"):
        Conv1d(3, 2, 4, dilation=0)
    with pytest.raises(ValueError, match="Conv1d: padding='same' needs stride 1, got stride 2"):
        Conv1d(3, 2, 4, stride=2, padding="same")
    with pytest.raises(ValueError, match="conv1d: stride must be an int >= 1, got 0"):
        F.conv1d(np.ones((1, 3, 8)), np.ones((2, 3, 4)), stride=0)

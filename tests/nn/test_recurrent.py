"""LSTMCell (python/eigengrad/nn/recurrent.py) against torch.nn.LSTMCell: gate
order i, f, g, o, parameter names and shapes, initialisation, None state, batch
sizes 1 and 0, one sample; finite differences in both modes; errors."""

import math

import numpy as np
import pytest

from eigengrad.nn import LSTMCell
from torch_modules import compare_with_torch, gradcheck_module, state_dict_round_trip

rng = np.random.default_rng(23)


def with_state(m, x, h, c):
    return m(x, (h, c))


# (input shape, hidden size, bias, with a state)
CASES = [
    ((4, 3), 5, True, True),
    ((4, 3), 5, True, False),
    ((1, 3), 2, True, True),
    ((0, 3), 2, True, True),
    ((3,), 4, True, True),
    ((3,), 4, False, False),
    ((2, 6), 3, False, True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, hidden, bias, stateful", CASES)
def test_matches_torch(shape, hidden, bias, stateful, dtype):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of LSTMCell")
    module = LSTMCell(shape[-1], hidden, bias=bias, dtype=dtype)
    reference = torch.nn.LSTMCell(shape[-1], hidden, bias=bias)
    x = rng.standard_normal(shape)
    if stateful:
        state_shape = shape[:-1] + (hidden,)
        compare_with_torch(module, reference, [x, rng.standard_normal(state_shape), rng.standard_normal(state_shape)],
                           dtype, call=with_state)
    else:
        compare_with_torch(module, reference, [x], dtype)


def test_two_steps_match_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of LSTMCell")
    module, reference = LSTMCell(3, 4), torch.nn.LSTMCell(3, 4).double()
    xs = rng.standard_normal((2, 5, 3))

    def unroll(m, x):
        state = None
        for t in range(x.shape[0]):
            state = m(x[t], state)
        return state

    compare_with_torch(module, reference, [xs], "float64", call=unroll)


@pytest.mark.parametrize("shape, hidden, bias", [((2, 3), 2, True), ((3,), 2, False)])
def test_gradcheck(shape, hidden, bias):
    module = LSTMCell(shape[-1], hidden, bias=bias, generator=4)
    state_shape = shape[:-1] + (hidden,)
    inputs = [rng.standard_normal(shape), rng.standard_normal(state_shape), rng.standard_normal(state_shape)]
    assert gradcheck_module(module, inputs, call=with_state)


def test_parameters_initialisation_and_state_dict():
    module = LSTMCell(3, 100, generator=0)
    assert [(n, p.shape) for n, p in module.named_parameters()] == [
        ("weight_ih", (400, 3)), ("weight_hh", (400, 100)), ("bias_ih", (400,)), ("bias_hh", (400,))]
    bound = 1 / math.sqrt(100)
    for p in module.parameters():
        a = p.numpy()
        assert a.min() >= -bound and a.max() <= bound and a.max() > 0.9 * bound
    assert [n for n, _ in LSTMCell(3, 2, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]
    small = LSTMCell(2, 3, dtype="float32", generator=0)
    h, c = small(np.ones((1, 2), np.float32))
    assert h.dtype == c.dtype == np.float32
    state_dict_round_trip(module, lambda: LSTMCell(3, 100))
    assert repr(LSTMCell(3, 2)) == "LSTMCell(3, 2, bias=True)"


def test_bad_input_names_the_module_and_shapes():
    cell = LSTMCell(3, 2)
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(N, 3\) or \(3,\), got \(4, 5\)"):
        cell(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"LSTMCell: expected input of shape \(N, 3\) or \(3,\), got \(1, 4, 3\)"):
        cell(np.ones((1, 4, 3)))
    with pytest.raises(ValueError, match=r"LSTMCell: c has shape \(4, 3\), expected \(4, 2\) for input of shape \(4, 3\)"):
        cell(np.ones((4, 3)), (np.ones((4, 2)), np.ones((4, 3))))
    with pytest.raises(ValueError, match=r"LSTMCell: state must be a pair \(h, c\) or None"):
        cell(np.ones((4, 3)), np.ones((4, 2)))

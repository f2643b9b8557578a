"""``LSTMCell``: one step of a long short-term memory network."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad._core import Variable
from eigengrad.nn import functional as F
from eigengrad.nn.layers import GeneratorLike, _generator
from eigengrad.nn.module import Module, Parameter


class LSTMCell(Module):
    """One LSTM step, as ``torch.nn.LSTMCell``: ``(h, c) = cell(x, (h, c))``.

    With the gates stacked in PyTorch's order ``i, f, g, o``::

        i, f, g, o = split(x @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh, 4)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)
        h' = sigmoid(o) * tanh(c')

    Parameters
    ----------
    input_size : int
        Features of ``x``.
    hidden_size : int
        Features of ``h`` and ``c``.
    bias : bool
        With False, no ``bias_ih`` and ``bias_hh``.
    dtype : str or numpy.dtype, optional
        Of the parameters; float64 by default.
    generator : int, eg.random.Generator or None
        Source of the initial parameters, all drawn from
        ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))`` as PyTorch does.

    Notes
    -----
    Parameters: ``weight_ih`` ``(4 * hidden_size, input_size)``, ``weight_hh``
    ``(4 * hidden_size, hidden_size)``, ``bias_ih`` and ``bias_hh``
    ``(4 * hidden_size,)``: the names and shapes of PyTorch's, so a converted torch
    state_dict loads. ``x`` is ``(N, input_size)`` or ``(input_size,)`` (one sample);
    the state is ``(h, c)``, each ``(N, hidden_size)`` (or ``(hidden_size,)``), or
    None for zeros. A wrong shape raises ValueError naming LSTMCell and the shapes.

    Examples
    --------
    >>> import numpy as np, eigengrad as eg
    >>> cell = eg.nn.LSTMCell(3, 5, generator=0)
    >>> h, c = cell(np.ones((2, 3)))
    >>> h, c = cell(np.ones((2, 3)), (h, c))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = None,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        if input_size < 0 or hidden_size < 0:
            raise ValueError(f"LSTMCell: sizes must be >= 0, got ({input_size}, {hidden_size})")
        self.input_size = input_size
        self.hidden_size = hidden_size
        gen = _generator(generator)
        dtype = "float64" if dtype is None else dtype
        bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
        gates = 4 * hidden_size
        self.weight_ih = Parameter(gen.uniform(-bound, bound, (gates, input_size), dtype=dtype))
        self.weight_hh = Parameter(gen.uniform(-bound, bound, (gates, hidden_size), dtype=dtype))
        if bias:
            self.bias_ih = Parameter(gen.uniform(-bound, bound, (gates,), dtype=dtype))
            self.bias_hh = Parameter(gen.uniform(-bound, bound, (gates,), dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)

    def _check(self, x: Variable, state: Optional[Tuple[Any, Any]]) -> Tuple[Variable, Variable]:
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"LSTMCell: expected input of shape (N, {self.input_size}) or ({self.input_size},), "
                f"got {tuple(x.shape)}"
            )
        want = tuple(x.shape[:-1]) + (self.hidden_size,)
        if state is None:
            zeros = Variable(np.zeros(want, dtype=np.result_type(x.dtype, self.weight_hh.dtype)))
            return zeros, zeros
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("LSTMCell: state must be a pair (h, c) or None")
        h, c = (s if isinstance(s, Variable) else _core._to_variable(s, "LSTMCell") for s in state)
        for name, s in (("h", h), ("c", c)):
            if tuple(s.shape) != want:
                raise ValueError(
                    f"LSTMCell: {name} has shape {tuple(s.shape)}, expected {want} for input of shape "
                    f"{tuple(x.shape)}"
                )
        return h, c

    def forward(self, x: Any, state: Optional[Tuple[Any, Any]] = None) -> Tuple[Variable, Variable]:
        """One step: ``x`` and the state ``(h, c)`` (None: zeros) to the new ``(h, c)``."""
        x = x if isinstance(x, Variable) else _core._to_variable(x, "LSTMCell")
        h, c = self._check(x, state)
        n = self.hidden_size
        gates = F.linear(x, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i = _core.sigmoid(gates[..., :n])
        f = _core.sigmoid(gates[..., n:2 * n])
        g = _core.tanh(gates[..., 2 * n:3 * n])
        o = _core.sigmoid(gates[..., 3 * n:])
        c = f * c + i * g
        return o * _core.tanh(c), c

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"

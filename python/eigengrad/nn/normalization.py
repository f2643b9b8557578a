"""``LayerNorm``: normalisation over each sample's trailing axes."""

from __future__ import annotations

from typing import Any, Sequence, Union

import numpy as np

from eigengrad._core import Variable
from eigengrad.nn import functional as F
from eigengrad.nn.module import Module, Parameter


class LayerNorm(Module):
    """Layer normalisation, as ``torch.nn.LayerNorm``.

    ``y = (x - mean) / sqrt(var + eps) * weight + bias``, with the mean and the
    biased variance over the trailing ``normalized_shape`` axes of each sample.

    Parameters
    ----------
    normalized_shape : int or sequence of int
        The trailing shape of the inputs, normalised as one group.
    eps : float
        Added to the variance before the square root.
    elementwise_affine : bool
        With True, the learnable ``weight`` (ones) and ``bias`` (zeros), of shape
        ``normalized_shape``; with False, neither.
    bias : bool
        With False (and ``elementwise_affine``), ``weight`` only.
    dtype : str or numpy.dtype, optional
        Of the parameters; float64 by default.

    Raises
    ------
    ValueError
        On calling, when the input's shape does not end in ``normalized_shape``
        (the message names LayerNorm and both shapes).

    Examples
    --------
    >>> import numpy as np, eigengrad as eg
    >>> norm = eg.nn.LayerNorm(4)
    >>> y = norm(np.arange(8.0).reshape(2, 4))
    >>> np.round(y.numpy().mean(axis=-1), 12)
    array([0., 0.])
    """

    def __init__(
        self, normalized_shape: Union[int, Sequence[int]], eps: float = 1e-5, elementwise_affine: bool = True,
        bias: bool = True, dtype: Any = None,
    ) -> None:
        super().__init__()
        self.normalized_shape = F._normalized_shape(normalized_shape, "LayerNorm")
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        dtype = "float64" if dtype is None else dtype
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape), dtype=dtype)
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape), dtype=dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Variable:
        return F._layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps, "LayerNorm")

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"

"""``Conv1d``: 1-d convolution over the last axis, as im2col and one GEMM."""

from __future__ import annotations

import math
from typing import Any, Union

from eigengrad._core import Variable
from eigengrad.nn import functional as F
from eigengrad.nn.layers import GeneratorLike, _generator
from eigengrad.nn.module import Module, Parameter


class Conv1d(Module):
    """1-d convolution, as ``torch.nn.Conv1d`` (with ``groups=1`` and zero padding).

    ``out[n, o, l] = bias[o] + sum_{c, k} weight[o, c, k] x[n, c, l * stride + k * dilation]``
    on the zero-padded input; see :func:`eigengrad.nn.functional.conv1d`.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the input and of the output.
    kernel_size : int
        Taps of the kernel.
    stride, dilation : int
        Step between output positions; spacing between taps. (PyTorch's
        one-element tuples, ``kernel_size=(3,)``, are accepted for these four.)
    padding : int or {'valid', 'same'}
        Zeros added at both ends (``'same'``: as many as keep the length, stride 1).
    bias : bool
        With False, no ``bias``.
    dtype : str or numpy.dtype, optional
        Of the parameters; float64 by default.
    generator : int, eg.random.Generator or None
        Source of the initial parameters, drawn from
        ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = in_channels * kernel_size``
        (PyTorch's ``kaiming_uniform_(a=sqrt(5))`` and its bias rule).

    Notes
    -----
    ``weight`` has shape ``(out_channels, in_channels, kernel_size)`` and ``bias``
    ``(out_channels,)``, as in PyTorch. Inputs are ``(N, in_channels, L)`` or
    ``(in_channels, L)``; a wrong rank or channel count raises ValueError naming
    Conv1d and the shapes.

    Examples
    --------
    >>> import numpy as np, eigengrad as eg
    >>> conv = eg.nn.Conv1d(2, 4, kernel_size=3, padding=1, generator=0)
    >>> conv(np.ones((8, 2, 16))).shape
    (8, 4, 16)
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
        padding: Union[int, str] = 0, dilation: int = 1, bias: bool = True, dtype: Any = None,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        kernel_size, stride, padding, dilation = (F._single(v) for v in (kernel_size, stride, padding, dilation))
        if in_channels < 0 or out_channels < 0 or kernel_size < 1:
            raise ValueError(
                f"Conv1d: channels must be >= 0 and kernel_size >= 1, got "
                f"({in_channels}, {out_channels}, {kernel_size})"
            )
        F._check_conv_steps(stride, padding, dilation, "Conv1d")
        F._conv_padding(padding, kernel_size, dilation, "Conv1d")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        gen = _generator(generator)
        dtype = "float64" if dtype is None else dtype
        fan_in = in_channels * kernel_size
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        self.weight = Parameter(gen.uniform(-bound, bound, (out_channels, in_channels, kernel_size), dtype=dtype))
        if bias:
            self.bias = Parameter(gen.uniform(-bound, bound, (out_channels,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Variable:
        return F._conv1d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, "Conv1d")

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding!r}, dilation={self.dilation}, bias={self.bias is not None}"
        )

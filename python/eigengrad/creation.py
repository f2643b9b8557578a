"""Constructors mirroring NumPy's. The default dtype is float64."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from eigengrad._core import Variable

Shape = Union[int, Sequence[int]]


def _make(array: np.ndarray, dtype: Any, requires_grad: bool) -> Variable:
    return Variable(array, requires_grad=requires_grad, dtype=dtype)


def _float_dtype(dtype: Any) -> Any:
    # Validated by Variable; here only the default.
    return np.float64 if dtype is None else dtype


def zeros(shape: Shape, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable of zeros."""
    return _make(np.zeros(shape, dtype=np.float64), _float_dtype(dtype), requires_grad)


def ones(shape: Shape, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable of ones."""
    return _make(np.ones(shape, dtype=np.float64), _float_dtype(dtype), requires_grad)


def full(shape: Shape, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """A Variable filled with ``fill_value``."""
    return _make(np.full(shape, fill_value, dtype=np.float64), _float_dtype(dtype), requires_grad)


def zeros_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Zeros with the shape (and, by default, the dtype) of ``x``."""
    a = np.asarray(x)
    return zeros(a.shape, dtype or (a.dtype if a.dtype.kind == "f" else None), requires_grad)


def ones_like(x: Any, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Ones with the shape (and, by default, the dtype) of ``x``."""
    a = np.asarray(x)
    return ones(a.shape, dtype or (a.dtype if a.dtype.kind == "f" else None), requires_grad)


def full_like(x: Any, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """``fill_value`` with the shape (and, by default, the dtype) of ``x``."""
    a = np.asarray(x)
    return full(a.shape, fill_value, dtype or (a.dtype if a.dtype.kind == "f" else None), requires_grad)


def arange(
    start: float,
    stop: Optional[float] = None,
    step: float = 1,
    dtype: Any = None,
    requires_grad: bool = False,
) -> Variable:
    """Evenly spaced values in [start, stop), as numpy.arange (but always float)."""
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    return _make(values.astype(np.float64), _float_dtype(dtype), requires_grad)


def eye(
    N: int, M: Optional[int] = None, k: int = 0, dtype: Any = None, requires_grad: bool = False
) -> Variable:
    """The identity matrix (ones on the k-th diagonal)."""
    return _make(np.eye(N, M, k, dtype=np.float64), _float_dtype(dtype), requires_grad)

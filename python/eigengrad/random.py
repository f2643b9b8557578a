"""Random Variables from a seedable generator (NumPy's PCG64 underneath).

``eg.random.seed(0)`` makes every draw that follows reproducible; a
:class:`Generator` gives an independent stream.
"""

from __future__ import annotations

import weakref
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from eigengrad._core import Variable

Size = Union[None, int, Sequence[int]]


def _shape(shape: Tuple[Any, ...]) -> Any:
    if len(shape) == 1 and not isinstance(shape[0], int):
        return tuple(shape[0])
    return shape


class Generator:
    """An independent random stream; the module-level functions share one."""

    def __init__(self, seed: Optional[int] = None) -> None:
        self._rng = np.random.default_rng(seed)
        _live.add(self)

    def __reduce__(self) -> Any:
        # The shared generator pickles and copies as a reference to itself, so that
        # a copied model's Dropout keeps drawing from eg.random's stream; any other
        # generator as its own stream, in its current state.
        if self is _default:
            return "_default"
        return _restore_generator, (self._rng.bit_generator.state,)

    def seed(self, seed: Optional[int]) -> None:
        """Restarts the stream from ``seed``."""
        self._rng = np.random.default_rng(seed)

    def randn(self, *shape: int, dtype: Any = None, requires_grad: bool = False) -> Variable:
        """Standard normal draws of the given shape."""
        return Variable(self._rng.standard_normal(_shape(shape)), requires_grad=requires_grad, dtype=dtype)

    def rand(self, *shape: int, dtype: Any = None, requires_grad: bool = False) -> Variable:
        """Uniform draws in [0, 1) of the given shape."""
        return Variable(self._rng.random(_shape(shape)), requires_grad=requires_grad, dtype=dtype)

    def normal(
        self, loc: float = 0.0, scale: float = 1.0, size: Size = None, dtype: Any = None,
        requires_grad: bool = False,
    ) -> Variable:
        """Normal draws with mean ``loc`` and standard deviation ``scale``."""
        return Variable(self._rng.normal(loc, scale, size), requires_grad=requires_grad, dtype=dtype)

    def uniform(
        self, low: float = 0.0, high: float = 1.0, size: Size = None, dtype: Any = None,
        requires_grad: bool = False,
    ) -> Variable:
        """Uniform draws in [low, high)."""
        return Variable(self._rng.uniform(low, high, size), requires_grad=requires_grad, dtype=dtype)

    def integers(self, low: int, high: Optional[int] = None, size: Size = None) -> np.ndarray:
        """Integers in [low, high) as a NumPy array (for labels and indices)."""
        return self._rng.integers(low, high, size)

    def permutation(self, n: int) -> np.ndarray:
        """A random permutation of range(n) as a NumPy array (for shuffling)."""
        return self._rng.permutation(n)


def _restore_generator(state: Mapping[str, Any]) -> Generator:
    gen = Generator()
    gen._rng.bit_generator.state = state
    return gen


# Every live Generator, for eg.checkpoint: a recomputed forward draws the same
# numbers as the first one (states() before it, set_states() around the recompute).
_live: "weakref.WeakSet[Generator]" = weakref.WeakSet()


def _states() -> List[Tuple[Generator, Mapping[str, Any]]]:
    """The state of every live generator."""
    return [(gen, gen._rng.bit_generator.state) for gen in list(_live)]


def _set_states(states: List[Tuple[Generator, Mapping[str, Any]]]) -> None:
    """Puts generators back into states taken by _states()."""
    for gen, state in states:
        gen._rng.bit_generator.state = state


_default = Generator()


def seed(value: Optional[int]) -> None:
    """Seeds the shared generator behind the module-level functions."""
    _default.seed(value)


def randn(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Standard normal draws of the given shape."""
    return _default.randn(*shape, dtype=dtype, requires_grad=requires_grad)


def rand(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Variable:
    """Uniform draws in [0, 1) of the given shape."""
    return _default.rand(*shape, dtype=dtype, requires_grad=requires_grad)


def normal(loc: float = 0.0, scale: float = 1.0, size: Size = None, dtype: Any = None,
           requires_grad: bool = False) -> Variable:
    """Normal draws with mean ``loc`` and standard deviation ``scale``."""
    return _default.normal(loc, scale, size, dtype=dtype, requires_grad=requires_grad)


def uniform(low: float = 0.0, high: float = 1.0, size: Size = None, dtype: Any = None,
            requires_grad: bool = False) -> Variable:
    """Uniform draws in [low, high)."""
    return _default.uniform(low, high, size, dtype=dtype, requires_grad=requires_grad)


def integers(low: int, high: Optional[int] = None, size: Size = None) -> np.ndarray:
    """Integers in [low, high) as a NumPy array."""
    return _default.integers(low, high, size)


def permutation(n: int) -> np.ndarray:
    """A random permutation of range(n) as a NumPy array."""
    return _default.permutation(n)

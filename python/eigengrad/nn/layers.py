"""Layers: ``Linear``, ``Sequential``, ``MLP``, activations, ``Dropout`` and the
loss modules."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator, List, Sequence, Union

from eigengrad import random as _random
from eigengrad._core import Variable
from eigengrad.nn import functional as F
from eigengrad.nn.module import Module, Parameter

GeneratorLike = Union[None, int, _random.Generator]


def _generator(generator: GeneratorLike) -> _random.Generator:
    """An eg.random.Generator for a seed, a Generator, or None (the shared one)."""
    if generator is None:
        return _random._default
    if isinstance(generator, _random.Generator):
        return generator
    if isinstance(generator, int) and not isinstance(generator, bool):
        return _random.Generator(generator)
    raise TypeError(f"generator must be None, an int seed or an eg.random.Generator, got {type(generator).__name__}")


class Linear(Module):
    """``y = x @ weight.T + bias``: the source text's ``y = W x + b`` on each row.

    ``weight`` has shape ``(out_features, in_features)``, ``bias`` ``(out_features,)``.
    Initialised as PyTorch does (``kaiming_uniform_(a=sqrt(5))``): both drawn from
    ``U(-1/sqrt(in_features), 1/sqrt(in_features))``, from ``generator`` (an int
    seed, an ``eg.random.Generator``, or None for the shared ``eg.random`` stream).
    ``dtype`` defaults to float64, as the rest of eigengrad.
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None,
        generator: GeneratorLike = None,
    ) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature counts must be >= 0, got ({in_features}, {out_features})")
        self.in_features = in_features
        self.out_features = out_features
        gen = _generator(generator)
        dtype = "float64" if dtype is None else dtype
        bound = 1 / math.sqrt(in_features) if in_features > 0 else 0.0
        self.weight = Parameter(gen.uniform(-bound, bound, (out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(gen.uniform(-bound, bound, (out_features,), dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x: Any) -> Variable:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Sequential(Module):
    """Modules applied in order; the children are named ``"0"``, ``"1"``, ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self.children():
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return self.children()

    def __getitem__(self, index: int) -> Module:
        return list(self.children())[index]

    def append(self, module: Module) -> "Sequential":
        """Adds ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self


class _Activation(Module):
    fn: Callable[[Any], Variable]

    def forward(self, x: Any) -> Variable:
        return type(self).fn(x)


class ReLU(_Activation):
    """``max(x, 0)`` element-wise."""

    fn = staticmethod(F.relu)


class Tanh(_Activation):
    """``tanh(x)`` element-wise."""

    fn = staticmethod(F.tanh)


class Sigmoid(_Activation):
    """``1 / (1 + exp(-x))`` element-wise."""

    fn = staticmethod(F.sigmoid)


class GELU(Module):
    """GELU, ``x Phi(x)``: exact (``approximate="none"``, the default, as PyTorch's)
    or its tanh approximation (``approximate="tanh"``); see
    :func:`eigengrad.nn.functional.gelu`."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x: Any) -> Variable:
        return F.gelu(x, approximate=self.approximate)


class Identity(Module):
    """Returns its input."""

    def forward(self, x: Any) -> Any:
        return x


class Dropout(Module):
    """Zeroes elements with probability ``p`` in training mode (scaling the rest by
    ``1/(1-p)``); the identity in eval mode. ``generator``: an int seed, an
    ``eg.random.Generator`` or None (the shared ``eg.random`` stream)."""

    def __init__(self, p: float = 0.5, generator: GeneratorLike = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = _generator(generator)

    def forward(self, x: Any) -> Variable:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


ACTIVATIONS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "gelu": GELU, "identity": Identity}


class MLP(Sequential):
    """A multilayer perceptron: ``Linear`` layers of the given ``sizes`` with an
    activation between them (none after the last).

    ``MLP([64, 32, 10])`` is ``Linear(64, 32), ReLU(), Linear(32, 10)``.
    ``activation``: a name (``"relu"``, ``"tanh"``, ``"sigmoid"``, ``"gelu"``) or a
    Module class. ``dropout > 0`` adds a ``Dropout`` after each activation.
    ``generator`` seeds every layer's initialisation (one stream for all layers).
    """

    def __init__(
        self, sizes: Sequence[int], activation: Union[str, type] = "relu", dropout: float = 0.0,
        bias: bool = True, dtype: Any = None, generator: GeneratorLike = None,
    ) -> None:
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least an input and an output size, got {list(sizes)}")
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"MLP: unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
            make_activation = ACTIVATIONS[activation]
        elif isinstance(activation, type) and issubclass(activation, Module):
            make_activation = activation
        else:
            raise TypeError(f"MLP: activation must be a name or a Module class, got {activation!r}")
        gen = _generator(generator)
        layers: List[Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(n_in, n_out, bias=bias, dtype=dtype, generator=gen))
            if i < len(sizes) - 2:
                layers.append(make_activation())
                if dropout > 0:
                    layers.append(Dropout(dropout, generator=gen))
        super().__init__(*layers)
        self.sizes = list(sizes)


# ---- losses as modules ---------------------------------------------------------------


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = F._check_reduction(reduction, type(self).__name__)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """:func:`eigengrad.nn.functional.mse_loss` as a module."""

    def forward(self, input: Any, target: Any) -> Variable:
        return F.mse_loss(input, target, self.reduction)


class CrossEntropyLoss(_Loss):
    """:func:`eigengrad.nn.functional.cross_entropy` as a module."""

    def forward(self, logits: Any, labels: Any) -> Variable:
        return F.cross_entropy(logits, labels, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """:func:`eigengrad.nn.functional.binary_cross_entropy_with_logits` as a module."""

    def forward(self, logits: Any, target: Any) -> Variable:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)

"""Reverse mode: ``grad``, ``backward``, the grad-mode switches and the strong zero.

The graph is recorded and traversed in C++; these functions only convert arguments.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import eigengrad._core as _core
from eigengrad._core import Variable

Variables = Union[Variable, Sequence[Variable]]


def _as_list(xs: Any) -> List[Any]:
    return [xs] if isinstance(xs, Variable) or xs is None else list(xs)


def _seeds(outputs: Any, outs: List[Variable], grad_outputs: Any) -> List[Any]:
    """One seed per output (None: the default 1)."""
    if grad_outputs is None:
        return [None] * len(outs)
    if isinstance(outputs, Variable):
        return [grad_outputs]
    seeds = list(grad_outputs)
    if len(seeds) != len(outs):
        raise ValueError(f"grad: {len(seeds)} grad_outputs for {len(outs)} outputs")
    return seeds


def grad(
    outputs: Variables,
    inputs: Variables,
    grad_outputs: Any = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
    allow_unused: bool = False,
    is_grads_batched: bool = False,
) -> Tuple[Optional[Variable], ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, one per input.

    ``grad_outputs`` seeds each output (default 1, allowed only for single-element
    outputs); the result is the vector-Jacobian product, shaped like each input.
    ``.grad`` fields are not touched. With ``is_grads_batched=True`` each seed has
    one leading batch dimension and so does each gradient: a batch of
    vector-Jacobian products in a single backward pass. With ``create_graph=True`` the gradients are
    themselves differentiable (for Hessians and higher derivatives);
    ``retain_graph`` defaults to ``create_graph``. An input that the outputs do not
    depend on raises ``RuntimeError`` unless ``allow_unused=True`` (then ``None``).
    """
    return _grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, is_grads_batched)


def _grad(outputs: Variables, inputs: Variables, grad_outputs: Any = None, retain_graph: Optional[bool] = None,
          create_graph: bool = False, allow_unused: bool = False, is_grads_batched: bool = False,
          create_graph_if_outer: bool = False) -> Tuple[Optional[Variable], ...]:
    """:func:`grad`, plus what the function transforms need: with
    ``create_graph_if_outer`` the pass is recorded when the graph reads a Variable
    that requires grad besides ``inputs`` (a closed-over parameter, an argument not
    differentiated), so the result stays differentiable in it."""
    outs = _as_list(outputs)
    ins = _as_list(inputs)
    gos = _seeds(outputs, outs, grad_outputs)
    grads: Tuple[Optional[Variable], ...] = _core._grad(outs, ins, gos, retain_graph, create_graph, allow_unused,
                                                        is_grads_batched, create_graph_if_outer)
    return grads


def backward(
    outputs: Variables,
    grad_outputs: Any = None,
    retain_graph: Optional[bool] = None,
    create_graph: bool = False,
) -> None:
    """Accumulates the gradients of ``outputs`` into the ``.grad`` of every leaf.

    ``retain_graph`` defaults to ``create_graph``."""
    outs = _as_list(outputs)
    gos = _seeds(outputs, outs, grad_outputs)
    _core._backward(outs, gos, retain_graph, create_graph)


is_grad_enabled = _core.is_grad_enabled


class set_grad_enabled:
    """Sets grad mode on this thread; as a context manager, restores it on exit."""

    def __init__(self, mode: bool) -> None:
        self._previous = _core.is_grad_enabled()
        _core.set_grad_enabled(bool(mode))

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        _core.set_grad_enabled(self._previous)


class _GradModeContext:
    _mode = True

    def __enter__(self) -> None:
        self._previous = _core.is_grad_enabled()
        _core.set_grad_enabled(self._mode)

    def __exit__(self, *exc: object) -> None:
        _core.set_grad_enabled(self._previous)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager (or decorator): ops inside record no graph."""

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager (or decorator): ops inside record the graph."""

    _mode = True


# ---- strong zero ------------------------------------------------------------------


def is_strong_zero_enabled() -> bool:
    """Whether derivative rules keep a zero cotangent or tangent zero (see
    :func:`set_strong_zero`)."""
    return _core.is_strong_zero_enabled()


def set_strong_zero(enabled: bool) -> None:
    """Turns the strong zero on (the default) or off, for the whole process.

    On: in every derivative rule, reverse and forward mode and at any order, a zero
    cotangent or tangent times an infinite or NaN local derivative gives 0, not NaN.
    So ``eg.grad(lambda x: eg.where(x > 0, eg.sqrt(x), 0.0).sum())([-1.0, 4.0])`` is
    ``[0, 0.25]``: the branch not taken contributes nothing. A nonzero cotangent
    times inf stays inf and a NaN cotangent stays NaN; values computed by the ops
    never change. Matrix products (``matmul``, ``nn.functional.linear``) are plain
    products either way.

    Off: PyTorch's (and JAX's) behaviour, ``0 * inf = nan`` (the example gives
    ``[nan, 0.25]``).

    The setting is read when a rule runs (during ``backward``, ``eg.grad``, or as a
    forward-mode op computes its tangent), not when the forward is recorded."""
    _core.set_strong_zero(bool(enabled))


class strong_zero:
    """Context manager (or decorator): strong zero on or off inside, restored on exit
    (see :func:`set_strong_zero`). ``with eg.strong_zero(False): g = eg.grad(f)(x)``
    computes ``g`` with PyTorch's ``0 * inf = nan`` in the rules.

    The setting is process-wide: other threads see it while the block runs."""

    def __init__(self, enabled: bool = True) -> None:
        self._enabled = bool(enabled)

    def __enter__(self) -> None:
        self._previous = _core.is_strong_zero_enabled()
        _core.set_strong_zero(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _core.set_strong_zero(self._previous)

    def __call__(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with strong_zero(self._enabled):
                return fn(*args, **kwargs)

        return wrapper

"""Differentiable functions with rules written in Python.

Subclass :class:`Function` and give it ``forward(ctx, *args)``, ``backward(ctx,
gout)`` and, for forward mode, ``jvp(ctx, *tangents)``; call it with
``MyFunction.apply(*args)``. Or decorate a function with :func:`custom_vjp` and
give it its VJP with ``defvjp``. The C++ engine calls the rules (with the GIL held)
exactly as it calls its own; an exception raised in one propagates with its type
and message.

>>> class Cube(eg.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...     @staticmethod
...     def backward(ctx, gout):
...         (x,) = ctx.saved_tensors
...         return gout * 3 * x * x
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Optional, Tuple

import numpy as np

from eigengrad import _core, autograd
from eigengrad._core import Variable


class FunctionCtx:
    """Carries values from ``forward`` to the rules: ``save_for_backward(*xs)``
    and ``saved_tensors``, plus any attribute you set."""

    def save_for_backward(self, *values: Variable) -> None:
        self._saved = tuple(values)

    @property
    def saved_tensors(self) -> Tuple[Variable, ...]:
        return getattr(self, "_saved", ())


class Function:
    """Base class of custom differentiable functions (see the module docstring).

    ``forward`` sees the inputs detached from any graph (and without tangents) and
    runs without recording. ``backward`` returns one gradient per argument of
    ``forward`` (``None`` for non-tensor ones) or one per tensor argument. Inputs saved with ``ctx.save_for_backward`` come back
    in the rules as the caller's Variables (so a rule using them is differentiable
    again); anything else saved, the output included, is a constant to the rules. ``backward(ctx, gout)`` returns one gradient per
    Variable/array argument of ``forward`` (``None`` for none), each shaped like its
    input; it is written with eigengrad ops, so it is differentiable again. The
    optional ``jvp(ctx, *tangents)`` gets one tangent per such argument (``None``
    for a zero tangent) and returns the output's tangent. A gradient or tangent may
    carry leading batch dimensions (in whole-Jacobian passes): rules written with
    broadcasting ops handle them as they are.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        raise NotImplementedError("Function subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, gout: Variable) -> Any:
        raise NotImplementedError("Function subclasses must define backward(ctx, gout)")

    jvp: Optional[Callable[..., Any]] = None

    @classmethod
    def apply(cls, *args: Any) -> Variable:
        """Runs ``forward`` and records the result with this class's rules."""
        is_tensor = [isinstance(a, (Variable, np.ndarray)) for a in args]
        inputs = [a if isinstance(a, Variable) else Variable(a) for a, t in zip(args, is_tensor) if t]
        detached = [x.detach() for x in inputs]
        ctx = FunctionCtx()
        with autograd.no_grad():
            feed = iter(detached)
            out = cls.forward(ctx, *[next(feed) if t else a for a, t in zip(args, is_tensor)])
        if not isinstance(out, Variable):
            out = Variable(out)
        # Saved inputs come back as the caller's Variables, with their graph and
        # tangents, so that rules using them differentiate again correctly.
        originals = {id(d): x for d, x in zip(detached, inputs)}
        ctx._saved = tuple(originals.get(id(v), v) for v in ctx.saved_tensors)

        def backward(gout: Variable) -> Any:
            grads = cls.backward(ctx, gout)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            if len(grads) == len(args) != len(inputs):  # one per argument: keep the tensors'
                grads = tuple(g for g, t in zip(grads, is_tensor) if t)
            return grads

        jvp = None
        if cls.jvp is not None:

            def jvp(*tangents: Any) -> Any:
                return cls.jvp(ctx, *tangents)

        return _core._record_custom(cls.__name__, out, inputs, backward, jvp)


def custom_vjp(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Gives ``fun`` a hand-written VJP, as JAX's ``custom_vjp``.

    ``fun.defvjp(fwd, bwd)``: ``fwd(*args)`` returns ``(out, residuals)``;
    ``bwd(residuals, gout)`` returns a tuple with one gradient per argument.
    Until ``defvjp`` is called, ``fun`` is differentiated through its ops.
    """
    rules: dict = {}

    class _CustomVJP(Function):
        @staticmethod
        def forward(ctx, *args):
            out, ctx.residuals = rules["fwd"](*args)
            return out

        @staticmethod
        def backward(ctx, gout):
            grads = rules["bwd"](ctx.residuals, gout)
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

    _CustomVJP.__name__ = getattr(fun, "__name__", "custom_vjp")

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        if "fwd" not in rules:
            return fun(*args)
        return _CustomVJP.apply(*args)

    def defvjp(fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        rules["fwd"], rules["bwd"] = fwd, bwd

    wrapped.defvjp = defvjp
    return wrapped

"""In-place operators on Variables: ``x += y``, ``-=``, ``*=``, ``/=``, ``**=``.

An in-place operator writes into ``x``'s buffer (and so into every view of it) when
nothing has to be recorded: grad mode is off, or neither operand requires grad, and
no forward-mode tangent is involved. The write bumps the buffer's version, so a
backward that saved the old values raises instead of returning a wrong gradient.

When the result must be recorded (``loss += term`` on Variables in a graph), the
operator computes a new Variable and Python rebinds the name, as ``x = x + y``.
A leaf that requires grad cannot be updated in place with grad mode on: that is
almost always a training step written outside ``eg.no_grad()``, and it raises.
"""

from __future__ import annotations

from typing import Any, Callable

import eigengrad._core as _core
from eigengrad._core import Variable


def _records(x: Variable, y: Any) -> bool:
    """Whether ``x op y`` has to be recorded (reverse or forward mode)."""
    y_var = isinstance(y, Variable)
    if _core.is_grad_enabled() and (x.requires_grad or (y_var and y.requires_grad)):
        return True
    return _core._has_tangents(x) or (y_var and _core._has_tangents(y))


def _inplace(name: str, op: Callable[[Any, Any], Variable]) -> Callable[[Variable, Any], Variable]:
    def method(self: Variable, other: Any) -> Variable:
        if not _records(self, other):
            result = op(self, other)
            if result.shape != self.shape:
                raise ValueError(
                    f"{name}: non-broadcastable output operand with shape {self.shape} doesn't match "
                    f"the broadcast shape {result.shape}"
                )
            return self.copy_(result)
        if self.is_leaf and self.requires_grad and _core.is_grad_enabled():
            raise RuntimeError(
                f"{name}: a leaf Variable that requires grad cannot be updated in place while grad "
                "mode is on (the update would not be part of the graph); write it inside "
                "`with eg.no_grad():`, or use an optimizer"
            )
        return op(self, other)

    method.__name__ = f"__i{name}__"
    return method


# The stub of the native module (eigengrad/_core.pyi) declares these on Variable.
for _dunder, _name, _op in (("__iadd__", "add", _core.add), ("__isub__", "sub", _core.sub),
                            ("__imul__", "mul", _core.mul), ("__itruediv__", "div", _core.div),
                            ("__ipow__", "pow", _core.pow)):
    setattr(Variable, _dunder, _inplace(_name, _op))
del _dunder, _name, _op

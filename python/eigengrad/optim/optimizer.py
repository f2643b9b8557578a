"""SGD, Adam and AdamW with PyTorch's update rules and defaults.

Each optimizer keeps PyTorch's ``param_groups`` (a list of dicts holding the
parameters and their hyperparameters, which learning-rate schedules edit) and, per
group, a C++ object that holds the state (momentum, moments) and runs the update
in place on the parameters' buffers, recording no graph. Parameters whose
``grad`` is None are skipped (and, for Adam, do not count a step).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

import eigengrad._core as _core
from eigengrad._core import Variable
from eigengrad.autograd import enable_grad

Params = Union[Iterable[Variable], Iterable[Dict[str, Any]]]


class Optimizer:
    """Base class: parameter groups, ``step`` and ``zero_grad``.

    ``params``: an iterable of Variables (leaves), or of dicts ``{"params": [...],
    **hyperparameters}`` to give groups their own settings (missing settings take
    the optimizer's defaults).
    """

    def __init__(self, params: Params, defaults: Dict[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: List[Dict[str, Any]] = []
        self._cores: List[Any] = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Dict[str, Any]) -> None:
        """Adds a group of parameters with its own hyperparameters."""
        name = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{name}: a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if isinstance(params, Variable) else list(params)
        for p in params:
            if not isinstance(p, Variable):
                raise TypeError(f"{name}: parameters must be Variables, got {type(p).__name__}")
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{name}: unknown hyperparameters {sorted(unknown)}")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        full = {**self.defaults, **group, "params": params}
        self._cores.append(self._make_core(full))
        self.param_groups.append(full)

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """Updates every parameter that has a gradient. ``closure``, if given, is
        called first (with grad mode on) to recompute the loss, which is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group, core in zip(self.param_groups, self._cores):
            core.set_options(*self._options(group))
            core.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's gradient: to None (the default), or to zeros."""
        if set_to_none:
            for core in self._cores:
                core.zero_grad()
            return
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.grad = np.zeros(p.shape, p.dtype)

    @property
    def state(self) -> Dict[Variable, Dict[str, Any]]:
        """Per-parameter state (NumPy views of the C++ buffers), keyed by parameter."""
        out = {}
        for group, core in zip(self.param_groups, self._cores):
            for i, p in enumerate(group["params"]):
                out[p] = self._state(core, i)
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"

    # Subclasses: the C++ object for a group, its options in order, one state.
    def _make_core(self, group: Dict[str, Any]) -> Any:
        raise NotImplementedError

    def _options(self, group: Dict[str, Any]) -> Tuple[Any, ...]:
        raise NotImplementedError

    def _state(self, core: Any, i: int) -> Dict[str, Any]:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent (torch.optim.SGD). Per parameter ``p``, ``g`` its
    gradient (negated with ``maximize``)::

        g = g + weight_decay * p                  # if weight_decay != 0
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b   # if momentum != 0
        p = p - lr * g
    """

    def __init__(
        self, params: Params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
        weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _options(self, g: Dict[str, Any]) -> Tuple[Any, ...]:
        return (float(g["lr"]), float(g["momentum"]), float(g["dampening"]), float(g["weight_decay"]),
                bool(g["nesterov"]), bool(g["maximize"]))

    def _make_core(self, group: Dict[str, Any]) -> Any:
        return _core._SGD(group["params"], *self._options(group))

    def _state(self, core: Any, i: int) -> Dict[str, Any]:
        return {"momentum_buffer": core.momentum_buffer(i)}


class Adam(Optimizer):
    """Adam (torch.optim.Adam). Per parameter ``p`` with gradient ``g`` and its own
    step count ``t``::

        g = g + weight_decay * p                   # L2 penalty, if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = max(v_hat, v) if amsgrad else v
        p = p - lr / (1 - beta1**t) * m / (sqrt(v_hat) / sqrt(1 - beta2**t) + eps)
    """

    _decoupled = False

    def __init__(
        self, params: Params, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _options(self, g: Dict[str, Any]) -> Tuple[Any, ...]:
        betas = g["betas"]
        if len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair, got {betas!r}")
        return (float(g["lr"]), float(betas[0]), float(betas[1]), float(g["eps"]), float(g["weight_decay"]),
                bool(g["amsgrad"]), bool(g["maximize"]), self._decoupled)

    def _make_core(self, group: Dict[str, Any]) -> Any:
        return _core._Adam(group["params"], *self._options(group))

    def _state(self, core: Any, i: int) -> Dict[str, Any]:
        return core.state(i)


class AdamW(Adam):
    """AdamW (torch.optim.AdamW): Adam with decoupled weight decay. Instead of
    adding ``weight_decay * p`` to the gradient, each step first shrinks the
    parameter: ``p = p * (1 - lr * weight_decay)``. Default weight_decay 1e-2."""

    _decoupled = True

    def __init__(
        self, params: Params, lr: float = 1e-3, betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)

"""SGD, Adam and AdamW with PyTorch's update rules and defaults.

Each optimizer keeps PyTorch's ``param_groups`` (a list of dicts holding the
parameters and their hyperparameters, which learning-rate schedules edit) and, per
group, a C++ object that holds the state (momentum, moments) and runs the update
in place on the parameters' buffers, recording no graph. Parameters whose
``grad`` is None are skipped (and, for Adam, do not count a step).

``state_dict()`` / ``load_state_dict()`` save and restore the hyperparameters and
that state (copies, as NumPy arrays) in PyTorch's layout, so that a run resumed
from them continues bit for bit as if it had not stopped.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

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
        given: List[Any] = list(params)  # Variables, or dicts (add_param_group checks each)
        if not given:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        groups = given if isinstance(given[0], dict) else [{"params": given}]
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

    def state_dict(self) -> Dict[str, Any]:
        """The optimizer's state, in PyTorch's layout, as copies (later steps do not
        change it)::

            {"optimizer": "Adam",                     # the class, checked on load
             "state": {0: {"step": 3, "exp_avg": array, "exp_avg_sq": array}, ...},
             "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), ..., "params": [0, 1]}]}

        Parameters are numbered in the order of the groups; a parameter that has no
        state yet (never updated) has no entry in ``"state"``. The per-parameter
        entries are ``momentum_buffer`` (SGD) and ``step`` (an int), ``exp_avg``,
        ``exp_avg_sq`` and, with amsgrad, ``max_exp_avg_sq`` (Adam, AdamW). Plain
        dicts, ints, floats and NumPy arrays: ``pickle`` saves it.
        """
        state: Dict[int, Dict[str, Any]] = {}
        groups = []
        index = 0
        for group, core in zip(self.param_groups, self._cores):
            numbers = []
            for i in range(len(group["params"])):
                entry = self._state_entry(core, i)
                if entry:
                    state[index] = entry
                numbers.append(index)
                index += 1
            groups.append({**copy.deepcopy({k: v for k, v in group.items() if k != "params"}), "params": numbers})
        return {"optimizer": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restores hyperparameters and per-parameter state from :meth:`state_dict`
        (this optimizer's own or another's over parameters of the same shapes).

        Everything is checked before anything changes: a state of another kind of
        optimizer, another number of parameter groups or of parameters in a group,
        unknown hyperparameters or entries, or an array whose shape or dtype is not
        its parameter's raise ``ValueError`` naming the mismatch (``TypeError`` for a
        value that is not a mapping), and the optimizer is left as it was. The
        arrays are copied in.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or "state" not in state_dict or "param_groups" not in state_dict:
            raise TypeError(f"{name}: expected a mapping with 'state' and 'param_groups' (from state_dict()), "
                            f"got {type(state_dict).__name__}")
        kind = state_dict.get("optimizer", type(self).__name__)
        if kind != type(self).__name__:
            raise ValueError(f"{name}: the state is from {kind}, this optimizer is {type(self).__name__}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: the state has {len(saved_groups)} parameter groups, "
                             f"the optimizer {len(self.param_groups)}")
        params = [p for group in self.param_groups for p in group["params"]]
        new_groups = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            n_saved, n_own = len(saved.get("params", ())), len(group["params"])
            if n_saved != n_own:
                raise ValueError(f"{name}: parameter group {g} has {n_saved} parameters in the state, "
                                 f"{n_own} in the optimizer")
            keys = set(saved) - {"params"}
            missing, unknown = set(self.defaults) - keys, keys - set(self.defaults) - {"initial_lr"}
            if missing or unknown:
                raise ValueError(f"{name}: parameter group {g} lacks hyperparameters {sorted(missing)} and has "
                                 f"unknown ones {sorted(unknown)} (the state of another kind of optimizer?)")
            new_groups.append({**copy.deepcopy({k: v for k, v in saved.items() if k != "params"}),
                               "params": group["params"]})
        entries: Dict[int, Dict[str, Any]] = {}
        for key, entry in dict(state_dict["state"]).items():
            try:
                index = int(key)
            except (TypeError, ValueError):
                raise ValueError(f"{name}: state keys are parameter numbers, got {key!r}") from None
            if not 0 <= index < len(params):
                raise ValueError(f"{name}: state for parameter {index}, but there are {len(params)} parameters")
            if not isinstance(entry, Mapping):
                raise TypeError(f"{name}: the state of parameter {index} must be a mapping, "
                                f"got {type(entry).__name__}")
            entries[index] = self._check_entry(dict(entry), params[index], index, name)
        # New C++ objects take the options and state (they validate both); the
        # optimizer switches to them only when every one has succeeded.
        cores = [self._make_core(group) for group in new_groups]
        index = 0
        for group, core in zip(new_groups, cores):
            for i in range(len(group["params"])):
                self._load_entry(core, i, entries.get(index, {}))
                index += 1
        self._cores = cores
        for group, new in zip(self.param_groups, new_groups):  # in place: schedulers hold these dicts
            group.clear()
            group.update(new)

    def _check_array(self, value: Any, p: Variable, index: int, entry: str, name: str) -> Optional[np.ndarray]:
        """An entry's array, checked against its parameter (None stays None)."""
        if value is None:
            return None
        array = np.asarray(value)
        if array.shape != p.shape or array.dtype != p.dtype:
            raise ValueError(f"{name}: {entry} of parameter {index} has shape {array.shape} ({array.dtype}); "
                             f"the parameter has shape {p.shape} ({p.dtype})")
        return array

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

    # ... and the state of one parameter for state_dict (copies; empty: no state),
    # checked against its parameter, and put into a core.
    def _state_entry(self, core: Any, i: int) -> Dict[str, Any]:
        raise NotImplementedError

    def _check_entry(self, entry: Dict[str, Any], p: Variable, index: int, name: str) -> Dict[str, Any]:
        raise NotImplementedError

    def _load_entry(self, core: Any, i: int, entry: Dict[str, Any]) -> None:
        raise NotImplementedError


def _unknown_entries(entry: Dict[str, Any], known: Tuple[str, ...], index: int, name: str) -> None:
    unknown = set(entry) - set(known)
    if unknown:
        raise ValueError(f"{name}: the state of parameter {index} has unknown entries {sorted(unknown)} "
                         f"(expected {', '.join(known)}; the state of another kind of optimizer?)")


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

    def _state_entry(self, core: Any, i: int) -> Dict[str, Any]:
        buffer = core.momentum_buffer(i)
        return {} if buffer is None else {"momentum_buffer": buffer.copy()}

    def _check_entry(self, entry: Dict[str, Any], p: Variable, index: int, name: str) -> Dict[str, Any]:
        _unknown_entries(entry, ("momentum_buffer",), index, name)
        return {"momentum_buffer": self._check_array(entry.get("momentum_buffer"), p, index, "momentum_buffer", name)}

    def _load_entry(self, core: Any, i: int, entry: Dict[str, Any]) -> None:
        core.set_momentum_buffer(i, entry.get("momentum_buffer"))


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

    def _state(self, core: _core._Adam, i: int) -> Dict[str, Any]:
        return core.state(i)

    _entries = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def _state_entry(self, core: Any, i: int) -> Dict[str, Any]:
        state = core.state(i)
        if state["step"] == 0:
            return {}
        return {"step": int(state["step"]), **{k: state[k].copy() for k in self._entries[1:] if state[k] is not None}}

    def _check_entry(self, entry: Dict[str, Any], p: Variable, index: int, name: str) -> Dict[str, Any]:
        _unknown_entries(entry, self._entries, index, name)
        step = entry.get("step", 0)
        try:
            step_value = float(np.asarray(step)) if np.ndim(step) == 0 else None
        except (TypeError, ValueError):
            step_value = None
        if step_value is None or not step_value.is_integer() or step_value < 0:
            raise ValueError(f"{name}: the step of parameter {index} must be an integer >= 0, got {step!r}")
        out: Dict[str, Any] = {"step": int(step_value)}
        for key in self._entries[1:]:
            out[key] = self._check_array(entry.get(key), p, index, key, name)
        if out["step"] > 0 and (out["exp_avg"] is None or out["exp_avg_sq"] is None):
            raise ValueError(f"{name}: parameter {index} has step {out['step']} but no exp_avg and exp_avg_sq")
        return out

    def _load_entry(self, core: Any, i: int, entry: Dict[str, Any]) -> None:
        core.set_state(i, entry.get("step", 0), *(entry.get(k) for k in self._entries[1:]))


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

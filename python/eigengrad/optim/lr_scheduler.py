"""Learning-rate schedules: they set ``lr`` in an optimizer's parameter groups.

Call ``scheduler.step()`` once per epoch, after ``optimizer.step()``. The rates
are closed forms of the epoch count, from each group's initial ``lr``.
``state_dict()`` / ``load_state_dict()`` save and restore a schedule (save the
optimizer's too: it holds the current rates).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, List, Mapping

from eigengrad.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: ``step()`` advances the epoch and sets each group's ``lr`` to
    ``get_lr()``; ``get_last_lr()`` returns the rates set last."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an eigengrad optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs: List[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = list(self.base_lrs)

    def get_lr(self) -> List[float]:
        """The rates for epoch ``self.last_epoch``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advances one epoch and sets the new rates."""
        self.last_epoch += 1
        self._last_lr = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, self._last_lr):
            group["lr"] = lr

    def get_last_lr(self) -> List[float]:
        """The rates set by the last step (the initial rates before any)."""
        return list(self._last_lr)

    def state_dict(self) -> Dict[str, Any]:
        """The schedule's settings and position (everything but the optimizer), as
        PyTorch's: ``{"last_epoch": 3, "base_lrs": [...], "_last_lr": [...], ...}``."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restores a state from :meth:`state_dict` of the same kind of schedule.
        ``ValueError`` names missing or unexpected entries, or a number of rates that
        is not the optimizer's number of parameter groups; nothing changes then."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{name}: expected a mapping (from state_dict()), got {type(state_dict).__name__}")
        own = set(self.__dict__) - {"optimizer"}
        missing, unexpected = sorted(own - set(state_dict)), sorted(set(state_dict) - own)
        if missing or unexpected:
            raise ValueError(f"{name}: missing entries {missing}, unexpected entries {unexpected} "
                             "(the state of another kind of schedule?)")
        groups = len(self.optimizer.param_groups)
        for key in ("base_lrs", "_last_lr"):
            if len(state_dict[key]) != groups:
                raise ValueError(f"{name}: {key} has {len(state_dict[key])} rates for {groups} parameter groups")
        self.__dict__.update(copy.deepcopy(dict(state_dict)))


class StepLR(LRScheduler):
    """``lr = initial_lr * gamma ** (epoch // step_size)``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be >= 1, got {step_size}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> List[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """``lr = initial_lr * gamma ** epoch``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        if not gamma > 0:
            raise ValueError(f"ExponentialLR: gamma must be > 0, got {gamma}")
        self.gamma = gamma
        super().__init__(optimizer)

    def get_lr(self) -> List[float]:
        return [base * self.gamma ** self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (initial_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2``:
    from the initial rate down to ``eta_min`` at epoch ``T_max`` (and back up after,
    as PyTorch's closed form)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be >= 1, got {T_max}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer)

    def get_lr(self) -> List[float]:
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [self.eta_min + (base - self.eta_min) * cosine for base in self.base_lrs]

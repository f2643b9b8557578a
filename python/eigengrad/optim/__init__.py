"""Optimizers (updates run in C++, in place) and learning-rate schedules.

Examples
--------
>>> import numpy as np, eigengrad as eg
>>> w = eg.nn.Parameter(np.array([1.0, -2.0]))
>>> opt = eg.optim.SGD([w], lr=0.1, momentum=0.9)
>>> (w * w).sum().backward()
>>> opt.step()
>>> np.asarray(w)
array([ 0.8, -1.6])
"""

from eigengrad.optim import lr_scheduler
from eigengrad.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, StepLR
from eigengrad.optim.optimizer import SGD, Adam, AdamW, Optimizer

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler", "LRScheduler", "StepLR", "ExponentialLR",
           "CosineAnnealingLR"]

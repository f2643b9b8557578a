"""Learning-rate schedules: closed forms, and their effect on the optimizer."""

import math

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Parameter


def optimizer(lr=1.0):
    return eg.optim.SGD([Parameter(np.ones(1))], lr=lr)


def test_step_lr():
    opt = optimizer(1.0)
    schedule = eg.optim.StepLR(opt, step_size=2, gamma=0.5)
    rates = []
    for _ in range(6):
        schedule.step()
        rates.append(opt.param_groups[0]["lr"])
    assert rates == [1.0, 0.5, 0.5, 0.25, 0.25, 0.125]
    assert schedule.get_last_lr() == [0.125]


def test_cosine_annealing():
    opt = optimizer(0.1)
    schedule = eg.optim.CosineAnnealingLR(opt, T_max=4, eta_min=0.01)
    assert schedule.get_last_lr() == [0.1]
    rates = []
    for _ in range(4):
        schedule.step()
        rates.append(opt.param_groups[0]["lr"])
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(1, 5)]
    np.testing.assert_allclose(rates, expected, rtol=1e-15)
    assert rates[-1] == pytest.approx(0.01)


def test_schedule_changes_the_update():
    p = Parameter(np.zeros(1))
    opt = eg.optim.SGD([p], lr=1.0)
    schedule = eg.optim.StepLR(opt, step_size=1, gamma=0.1)
    for _ in range(3):
        p.grad = np.ones(1)
        opt.step()
        schedule.step()
    np.testing.assert_allclose(np.asarray(p), [-1.11])


def test_errors():
    with pytest.raises(ValueError, match="step_size must be >= 1"):
        eg.optim.StepLR(optimizer(), step_size=0)
    with pytest.raises(ValueError, match="T_max must be >= 1"):
        eg.optim.CosineAnnealingLR(optimizer(), T_max=0)
    with pytest.raises(TypeError, match="expected an eigengrad optimizer"):
        eg.optim.StepLR(object(), step_size=1)

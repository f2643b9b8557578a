"""An ODE integrated by fixed-step RK4, differentiated end to end: eigengrad beside
PyTorch (GradBench "ode", from cmpad's an_ode).

For parameters x (n,) the ODE on y (n,), y(0) = 0, is the one GradBench's
reference code integrates:

    y_0' = x_0,    y_i' = x_i y_{i-1}  (i > 0)

i.e. y' = x * concatenate([1], y[:-1]), integrated over [0, 2] with s classic
Runge-Kutta steps (h = 2 / s; four evaluations of y' a step). GradBench's result
is the gradient of the last component y_{n-1}(2) with respect to x, by reverse
mode through all s steps (the graph, or tape, of 4s evaluations is kept). Each
stage moves information one component down, so y_{n-1}(2) and its gradient are 0
when n > 4s (and underflow to 0 for n beyond ~150 anyway): GradBench's sizes
differentiate a zero, with the full cost. So that the agreement check checks
something, the result here is (y(2), the gradient), both libraries compute y(2)
as the auxiliary output of the same pass, and the smallest quick size (n = 10,
s = 4) has a gradient that is not zero.

Run:
    python3 bench/workloads/ode.py [--quick] [--check-only]
"""

import sys

import numpy as np

import common
from common import eg

NAME = "ode"
SIZES = [dict(n=1000, s=10), dict(n=1000, s=100), dict(n=10000, s=100), dict(n=100000, s=100)]
QUICK = [dict(n=10, s=4), dict(n=1000, s=10)]
T_FINAL = 2.0


def label(size):
    return f"n={size['n']} s={size['s']}"


def inputs(size):
    return {"x": np.random.default_rng(0).random(size["n"]), "s": size["s"]}


def eigengrad(data):
    s = data["s"]
    h = T_FINAL / s
    one = eg.ones(1)

    def last(x):
        def rate(y):
            return x * eg.concatenate([one, y[:-1]])

        y = eg.zeros(x.shape[0])
        for _ in range(s):
            k1 = rate(y)
            k2 = rate(y + (h / 2) * k1)
            k3 = rate(y + (h / 2) * k2)
            k4 = rate(y + h * k3)
            y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        return y[-1], y

    grad = eg.grad(last, has_aux=True)
    x = eg.Variable(data["x"])

    def run():
        g, y = grad(x)
        return y, g

    return {"eg.grad": run}


def torch(data):
    t = common.torch
    s = data["s"]
    h = T_FINAL / s
    one = t.ones(1, dtype=t.float64)

    def last(x):
        def rate(y):
            return x * t.cat([one, y[:-1]])

        y = t.zeros_like(x)
        for _ in range(s):
            k1 = rate(y)
            k2 = rate(y + (h / 2) * k1)
            k3 = rate(y + (h / 2) * k2)
            k4 = rate(y + h * k3)
            y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        return y[-1], y

    x = t.from_numpy(data["x"])
    grad = t.func.grad(last, has_aux=True)

    def func():
        g, y = grad(x)
        return y, g

    def autograd():
        leaf = x.detach().requires_grad_()
        value, y = last(leaf)
        return y.detach(), t.autograd.grad(value, leaf)[0]

    return {"torch.autograd.grad": autograd, "torch.func.grad": func}


if __name__ == "__main__":
    common.main(sys.modules[__name__])

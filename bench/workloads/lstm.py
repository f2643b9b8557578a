"""LSTM loss gradient over a character sequence: eigengrad beside PyTorch
(GradBench/ADBench "lstm").

ADBench's model: l layers of an LSTM cell whose weights are vectors (each gate
multiplies its input element-wise, b = 14 characters wide), an input scaling, an
output affine map and a log-softmax-like normalisation:

    per layer, input x, state (h, c), weights W (4, b), biases B (4, b):
        forget = sigmoid(x W0 + B0)     ingate = sigmoid(h W1 + B1)
        outgate = sigmoid(x W2 + B2)    change = tanh(h W3 + B3)
        c = c forget + ingate change;   h = outgate tanh(c);  x <- h (next layer)
    step t: x = seq[t] E0 through the layers, y = x E1 + E2,
            loss -= sum(seq[t+1] (y - log(sum(exp(y)) + 2)))
    loss /= (c - 1) b

main_params (l, 2, 4, b) (weights and biases per layer), extra_params (3, b),
state (l, 2, b), sequence (c, b): the result is (loss, d loss/d main_params,
d loss/d extra_params). Sequential over c - 1 steps, about 20 small ops a layer per
step: the per-op cost of a library decides this workload. ADBench also has c = 4096
(left out of SIZES: a minute a size on this machine; --size does not reach it).

Run:
    python3 bench/workloads/lstm.py [--quick] [--check-only]
"""

import sys

import numpy as np

import common
from common import eg

NAME = "lstm"
SIZES = [dict(l=2, c=256, b=14), dict(l=2, c=1024, b=14)]
QUICK = [dict(l=2, c=16, b=14), dict(l=2, c=64, b=14)]


def label(size):
    return f"l={size['l']} c={size['c']} b={size['b']}"


def inputs(size):
    l, c, b = size["l"], size["c"], size["b"]
    rng = np.random.default_rng(0)
    seq = np.zeros((c, b))
    seq[np.arange(c), rng.integers(0, b, c)] = 1.0  # one-hot characters
    return {"main": rng.normal(0, 0.5, (l, 2, 4, b)), "extra": rng.normal(0, 0.5, (3, b)),
            "state": rng.normal(0, 0.5, (l, 2, b)), "seq": seq}


def eigengrad(data):
    l, c = data["main"].shape[0], data["seq"].shape[0]
    b = data["seq"].shape[1]
    seq = [eg.Variable(row) for row in data["seq"]]
    state0 = [(eg.Variable(s[0]), eg.Variable(s[1])) for s in data["state"]]

    def objective(main, extra):
        layers = [tuple(main[i, 0, g] for g in range(4)) + tuple(main[i, 1, g] for g in range(4))
                  for i in range(l)]
        e0, e1, e2 = extra[0], extra[1], extra[2]
        state = list(state0)
        total = 0.0
        for t in range(c - 1):
            x = seq[t] * e0
            for i, (w0, w1, w2, w3, b0, b1, b2, b3) in enumerate(layers):
                h, cell = state[i]
                forget = eg.sigmoid(x * w0 + b0)
                ingate = eg.sigmoid(h * w1 + b1)
                outgate = eg.sigmoid(x * w2 + b2)
                change = eg.tanh(h * w3 + b3)
                cell = cell * forget + ingate * change
                h = outgate * eg.tanh(cell)
                state[i] = (h, cell)
                x = h
            y = x * e1 + e2
            total = total + eg.sum(seq[t + 1] * (y - eg.log(eg.sum(eg.exp(y)) + 2)))
        return -total / ((c - 1) * b)

    value_and_grad = eg.value_and_grad(objective, argnums=(0, 1))
    main, extra = eg.Variable(data["main"]), eg.Variable(data["extra"])

    def run():
        value, grads = value_and_grad(main, extra)
        return (value,) + tuple(grads)

    return {"eg.value_and_grad": run}


def torch(data):
    t = common.torch
    l, c = data["main"].shape[0], data["seq"].shape[0]
    b = data["seq"].shape[1]
    seq = t.from_numpy(data["seq"]).unbind(0)
    state0 = [(t.from_numpy(s[0]), t.from_numpy(s[1])) for s in data["state"]]

    def objective(main, extra):
        layers = [tuple(main[i, 0].unbind(0)) + tuple(main[i, 1].unbind(0)) for i in range(l)]
        e0, e1, e2 = extra.unbind(0)
        state = list(state0)
        total = 0.0
        for t_ in range(c - 1):
            x = seq[t_] * e0
            for i, (w0, w1, w2, w3, b0, b1, b2, b3) in enumerate(layers):
                h, cell = state[i]
                forget = t.sigmoid(x * w0 + b0)
                ingate = t.sigmoid(h * w1 + b1)
                outgate = t.sigmoid(x * w2 + b2)
                change = t.tanh(h * w3 + b3)
                cell = cell * forget + ingate * change
                h = outgate * t.tanh(cell)
                state[i] = (h, cell)
                x = h
            y = x * e1 + e2
            total = total + (seq[t_ + 1] * (y - t.log(t.exp(y).sum() + 2))).sum()
        return -total / ((c - 1) * b)

    main, extra = t.from_numpy(data["main"]), t.from_numpy(data["extra"])

    def autograd():
        leaves = [main.detach().requires_grad_(), extra.detach().requires_grad_()]
        value = objective(*leaves)
        return (value.detach(),) + t.autograd.grad(value, leaves)

    grad_and_value = t.func.grad_and_value(objective, argnums=(0, 1))

    def func():
        grads, value = grad_and_value(main, extra)
        return (value,) + tuple(grads)

    return {"torch.autograd.grad": autograd, "torch.func.grad_and_value": func}


if __name__ == "__main__":
    common.main(sys.modules[__name__])

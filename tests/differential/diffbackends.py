"""The two backends a program's text runs on: ``eg_backend(p)`` (eigengrad, its
functions as they are) and ``torch_backend(p)`` (PyTorch, with NumPy's argument
names mapped onto torch's: ``axis``/``keepdims`` to ``dim``/``keepdim``, ``clip`` to
``clamp``, ``take`` along an axis to ``index_select``, ...). Only the mapping lives
here; no maths is re-implemented. ``B.iop(x, "+", y)`` is ``z = x * 1.0; z += y`` in
eigengrad (its in-place operators, inside every transform) and ``x + y`` in torch
(whose in-place ops are not allowed on every tensor under torch.func)."""

from __future__ import annotations

import types

import numpy as np

UNARY_NAMES = ["exp", "log", "log1p", "expm1", "tanh", "sigmoid", "sin", "cos", "abs", "square", "sqrt", "relu"]


def _eg_iop(x, op, y):
    """x op= y on a fresh copy of x: eigengrad's in-place operators (written in
    place when nothing records, a new Variable when something does)."""
    z = x * 1.0
    if op == "+":
        z += y
    elif op == "-":
        z -= y
    elif op == "*":
        z *= y
    else:
        z /= y
    return z


def eg_backend(p):
    import eigengrad as eg

    B = types.SimpleNamespace(**{n: getattr(eg, n) for n in UNARY_NAMES})
    for n in ["sum", "mean", "max", "min", "logsumexp", "softmax", "log_softmax", "reshape", "transpose",
              "maximum", "minimum", "where", "clip", "concatenate", "stack", "take", "matmul", "broadcast_to"]:
        setattr(B, n, getattr(eg, n))
    B.iop = _eg_iop
    B.c = [eg.Variable(c) for c in p.consts]
    B.a = list(p.arrays)
    B.m = list(p.masks)
    B.w = eg.Variable(p.aux["w"])
    return B


def torch_backend(p):
    import torch

    def dims(x, axis):
        return tuple(range(x.ndim)) if axis is None else axis

    def reduce(fn):
        def r(x, axis=None, keepdims=False):
            if isinstance(x, (list, tuple)):  # a list of tensors: eigengrad stacks it
                x = torch.stack(list(x))
            if axis is None:  # over everything, also for 0-d x
                y = fn(x.reshape(-1), 0)
                return y.reshape((1,) * x.ndim) if keepdims else y
            return fn(x, dims(x, axis), keepdim=keepdims)
        return r

    def take(x, idx, axis=None):
        idx = torch.as_tensor(np.asarray(idx))
        if axis is None:
            return torch.take(x, idx)
        axis %= x.ndim
        picked = torch.index_select(x, axis, idx.reshape(-1))
        return picked.reshape(x.shape[:axis] + idx.shape + x.shape[axis + 1:])

    B = types.SimpleNamespace(**{n: getattr(torch, n) for n in UNARY_NAMES})
    B.sum = reduce(lambda x, d, keepdim=False: torch.sum(x, d, keepdim=keepdim))
    B.mean = reduce(lambda x, d, keepdim=False: torch.mean(x, d, keepdim=keepdim))
    B.max = reduce(lambda x, d, keepdim=False: torch.amax(x, d, keepdim=keepdim))
    B.min = reduce(lambda x, d, keepdim=False: torch.amin(x, d, keepdim=keepdim))
    B.logsumexp = reduce(lambda x, d, keepdim=False: torch.logsumexp(x, d, keepdim=keepdim))
    B.softmax = lambda x, axis=-1: torch.softmax(x, axis)
    B.log_softmax = lambda x, axis=-1: torch.log_softmax(x, axis)
    B.reshape = lambda x, shape: torch.reshape(x, tuple(shape))
    B.transpose = lambda x, axes=None: x.permute(tuple(reversed(range(x.ndim))) if axes is None else tuple(axes))
    tensor = lambda v: v if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=torch.float64)  # noqa: E731
    B.maximum = lambda x, y: torch.maximum(tensor(x), tensor(y))
    B.minimum = lambda x, y: torch.minimum(tensor(x), tensor(y))
    B.matmul = torch.matmul
    B.where = lambda m, x, y: torch.where(m, x, y)
    B.clip = lambda x, lo=None, hi=None: torch.clamp(x, lo, hi)
    B.concatenate = lambda xs, axis=0: torch.cat(list(xs), axis)
    B.stack = lambda xs, axis=0: torch.stack(list(xs), axis)
    B.take = take
    B.iop = lambda x, op, y: {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div}[op](x, y)
    B.broadcast_to = lambda x, shape: torch.broadcast_to(x, tuple(shape))
    B.c = [torch.tensor(c) for c in p.consts]
    B.a = [torch.tensor(c) for c in p.arrays]
    B.m = [torch.tensor(m) for m in p.masks]
    B.w = torch.tensor(p.aux["w"])
    return B

"""PyTorch as an oracle for one op at one point, in float64: the value, the VJP,
the JVP and the second-order VJP (the gradient of <vjp(u), w>). Used by the tests
of the issue-14 ops (test_scan.py, test_rearrange.py, test_index.py); finite
differences are the generic tests' job (test_generic.py)."""

import warnings
from typing import Callable, Sequence

import numpy as np

import eigengrad as eg


def check_against_torch(eg_fn: Callable, torch_fn: Callable, arrays: Sequence[np.ndarray],
                        rtol: float = 1e-12, atol: float = 1e-12) -> None:
    import torch

    def close(got, want, what):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol, err_msg=what)

    rng = np.random.default_rng(3)
    arrays = [np.asarray(a, np.float64) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    t_out = torch_fn(*ts)
    out, vjp_fn = eg.vjp(eg_fn, *arrays)
    close(out.numpy(), t_out.detach().numpy(), "value")
    u = rng.standard_normal(out.shape)
    t_grads = torch.autograd.grad(t_out, ts, torch.tensor(u), create_graph=True, allow_unused=True)
    grads = vjp_fn(u)
    for i, (g, tg) in enumerate(zip(grads, t_grads)):
        close(g.numpy(), np.zeros(arrays[i].shape) if tg is None else tg.detach().numpy(), f"vjp of input {i}")

    vs = [rng.standard_normal(a.shape) for a in arrays]
    _, tangent = eg.jvp(eg_fn, tuple(arrays), tuple(vs))
    import torch.autograd.forward_ad as fwad

    with fwad.dual_level(), warnings.catch_warnings():
        # torch's first make_dual loads decompositions through torch.jit, which warns.
        warnings.simplefilter("ignore", DeprecationWarning)
        duals = [fwad.make_dual(torch.tensor(a), torch.tensor(v)) for a, v in zip(arrays, vs)]
        t_tangent = fwad.unpack_dual(torch_fn(*duals)).tangent
    close(tangent.numpy(), t_tangent.numpy(), "jvp")

    ws = [rng.standard_normal(a.shape) for a in arrays]
    pairs = [(g * torch.tensor(w)).sum() for g, w in zip(t_grads, ws) if g is not None and g.requires_grad]
    t_second = torch.autograd.grad(sum(pairs), ts, allow_unused=True) if pairs else [None] * len(ts)

    def inner(*xs):
        gs = eg.vjp(eg_fn, *xs)[1](u)
        return sum(eg.sum(g * w) for g, w in zip(gs, ws))

    second = eg.grad(inner, argnums=tuple(range(len(arrays))))(*arrays)
    for i, (s, ts_i) in enumerate(zip(second, t_second)):
        close(s.numpy(), np.zeros(arrays[i].shape) if ts_i is None else ts_i.numpy(), f"second order, input {i}")

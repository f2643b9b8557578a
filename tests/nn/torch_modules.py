"""PyTorch as the oracle of a layer: the same parameters copied in (through a torch
state_dict converted to NumPy, as a user would load one), then the outputs and the
gradients of the inputs and of every parameter compared. Used by the tests of
LayerNorm, Embedding, LSTMCell and Conv1d."""

import copy
from typing import Callable, Optional, Sequence

import numpy as np

import eigengrad as eg

TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-12), "float32": dict(rtol=2e-5, atol=2e-5)}


def load_from_torch(module, torch_module) -> None:
    """Copies torch's parameters into ``module`` by name, through NumPy."""
    state = {name: value.detach().cpu().numpy() for name, value in torch_module.state_dict().items()}
    module.load_state_dict(state)


def compare_with_torch(module, torch_module, inputs: Sequence[np.ndarray], dtype: str,
                       call: Optional[Callable] = None, differentiable: Optional[Sequence[bool]] = None) -> None:
    """``call(module, *inputs)`` in eigengrad and in torch (default: ``module(*inputs)``):
    the outputs, the input gradients (for the float inputs, or those flagged in
    ``differentiable``) and the parameter gradients of ``sum(out * u)`` must agree."""
    import torch

    call = call or (lambda m, *xs: m(*xs))
    tol = TOLERANCE[dtype]
    torch_dtype = getattr(torch, dtype)
    torch_module = torch_module.to(torch_dtype)
    load_from_torch(module, torch_module)
    if differentiable is None:
        differentiable = [np.asarray(x).dtype.kind == "f" for x in inputs]
    xs, ts = [], []
    for x, d in zip(inputs, differentiable):
        if d:
            x = np.asarray(x, dtype)
            xs.append(eg.Variable(x, requires_grad=True))
            ts.append(torch.tensor(x, requires_grad=True))
        else:
            xs.append(x)  # integer data: torch takes it as int64
            a = np.asarray(x)
            ts.append(torch.as_tensor(a.astype(np.int64) if a.dtype.kind in "iu" else a))
    out = call(module, *xs)
    t_out = call(torch_module, *ts)
    outs = out if isinstance(out, tuple) else (out,)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    assert len(outs) == len(t_outs)
    rng = np.random.default_rng(5)
    us = [rng.standard_normal(tuple(o.shape)).astype(dtype) for o in t_outs]
    for k, (o, t) in enumerate(zip(outs, t_outs)):
        assert o.shape == tuple(t.shape) and o.dtype == np.dtype(dtype), (k, o.shape, tuple(t.shape), o.dtype)
        np.testing.assert_allclose(o.numpy(), t.detach().numpy(), err_msg=f"output {k}", **tol)
    eg.sum(eg.stack([eg.sum(o * u) for o, u in zip(outs, us)])).backward()
    sum((t * torch.tensor(u)).sum() for t, u in zip(t_outs, us)).backward()
    for k, (x, t) in enumerate(zip(xs, ts)):
        if isinstance(x, eg.Variable):
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), err_msg=f"gradient of input {k}", **tol)
    t_params = dict(torch_module.named_parameters())
    names = [name for name, _ in module.named_parameters()]
    assert sorted(names) == sorted(t_params), (names, list(t_params))
    for name, p in module.named_parameters():
        want = t_params[name].grad
        want = np.zeros(p.shape) if want is None else want.numpy()
        assert p.grad is not None, name
        assert p.grad.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.grad.numpy(), want, err_msg=f"gradient of {name}", **tol)


def with_parameters(module, values):
    """A shallow copy of ``module`` whose parameters (in ``named_parameters`` order,
    direct children of the module only) are the given Variables: for gradcheck."""
    clone = copy.copy(module)
    for (name, _), value in zip(module.named_parameters(), values):
        clone._parameters[name] = value
    return clone


def gradcheck_module(module, inputs: Sequence[np.ndarray], call: Optional[Callable] = None, **kwargs) -> bool:
    """eg.gradcheck (finite differences, both modes) in the inputs and the parameters."""
    call = call or (lambda m, *xs: m(*xs))
    params = [np.array(p, dtype=np.float64) for p in module.parameters()]
    n = len(inputs)
    return eg.gradcheck(lambda *vs: call(with_parameters(module, vs[n:]), *vs[:n]), [*inputs, *params], **kwargs)


def state_dict_round_trip(module, make) -> None:
    """state_dict into a freshly made module gives the same parameters and outputs."""
    other = make()
    with eg.no_grad():  # differ first, so the load is seen
        for p in other.parameters():
            p.copy_(eg.Variable(np.asarray(p) + 1.0))
    missing, unexpected = other.load_state_dict(module.state_dict())
    assert missing == [] and unexpected == []
    for (name, p), (other_name, q) in zip(module.named_parameters(), other.named_parameters()):
        assert name == other_name
        np.testing.assert_array_equal(np.asarray(p), np.asarray(q))

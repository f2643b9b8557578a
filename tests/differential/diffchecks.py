"""Checks of one random program against torch: values, reverse and forward mode,
every transform, and transforms nested two deep.

A check is a function ``check(c)`` registered with ``@check``; it returns (or yields)
``(label, eigengrad_result, torch_result)`` triples that the runner compares, and
may raise ``Discrepancy`` for non-numeric failures. ``c`` is a ``Case``: the program,
its eigengrad and torch functions, the inputs and the random cotangents/tangents.
Torch is computed inside ``oracle()`` so that a failure of the oracle (a harness bug)
is told apart from a failure of eigengrad.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Dict

import numpy as np

import eigengrad as eg
from diffbackends import eg_backend, torch_backend

CHECKS: Dict[str, Callable] = {}
RTOL, ATOL = 1e-10, 1e-10  # max|got - want| <= RTOL * max|want| + ATOL, over each array (float64):
# norm-wise, since an entry that cancels to ~0 carries the rounding of its terms; ATOL
# for results that are exactly 0 (x / x, third derivatives of it) where each library
# keeps its own rounding of terms up to ~1e4.
MAX_HESSIAN_SIZE = 24  # Hessians and Jacobians of gradients only for inputs this small


class Discrepancy(AssertionError):
    pass


class OracleError(RuntimeError):
    pass


def check(fn):
    CHECKS[fn.__name__] = fn
    return fn


@contextlib.contextmanager
def oracle():
    """Runs torch: its exceptions become OracleError, its warnings are ignored
    (torch.func warns about create_graph cycles, deprecations, vmap fallbacks)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except Exception as e:  # noqa: BLE001
        raise OracleError(f"torch raised {type(e).__name__}: {e}") from e


def to_numpy(v):
    if v is None:
        return None
    if isinstance(v, eg.Variable):
        return np.array(v.numpy(), copy=True)
    if hasattr(v, "detach"):  # torch.func may return a ZeroTensor, whose .numpy() crashes torch 2.13
        return np.zeros(tuple(v.shape)) if v._is_zerotensor() else v.detach().numpy(force=True).copy()
    return np.array(v, copy=True)


def compare(got, want, rtol=RTOL, atol=ATOL):
    """None if `got` (eigengrad) matches `want` (torch), else what is wrong."""
    got, want = to_numpy(got), to_numpy(want)
    if got is None or want is None:
        return None if got is None and want is None else f"got {got!r}, want {want!r}"
    if got.shape != want.shape:
        return f"shape {got.shape}, want {want.shape}"
    if got.dtype != np.float64:
        return f"dtype {got.dtype}, want float64"
    if not np.array_equal(np.isfinite(got), np.isfinite(want)):
        return f"non-finite entries differ:\n  got  {got!r}\n  want {want!r}"
    fin = np.isfinite(want)
    err = np.abs(got[fin] - want[fin]).max(initial=0.0)
    scale = np.abs(want[fin]).max(initial=0.0)
    if not err <= rtol * scale + atol:
        return f"max error {err:.3g} (relative {err / max(scale, 1e-300):.3g})\n  got  {got!r}\n  want {want!r}"
    return None


class Case:
    """One program ready to run: eigengrad (F, L) and torch (tF, tL) functions of the
    inputs, the inputs as NumPy arrays (X) and torch tensors (T), and helpers."""

    def __init__(self, p, eg_B=None):
        import torch

        self.torch, self.p, self.n = torch, p, p.n
        self.F, self.L = p.functions(eg_B or eg_backend(p))
        with oracle():
            self.tF, self.tL = p.functions(torch_backend(p))
        self.X = [x.copy() for x in p.inputs]
        self.all = tuple(range(self.n))
        self.k = p.aux["k"]

    def T(self, arrays=None, requires_grad=False):
        return [self.torch.tensor(a, requires_grad=requires_grad) for a in (self.X if arrays is None else arrays)]

    def V(self, arrays=None, requires_grad=False):
        return [eg.Variable(np.array(a, copy=True), requires_grad=requires_grad)
                for a in (self.X if arrays is None else arrays)]

    def small(self, i):
        return self.X[i].size <= MAX_HESSIAN_SIZE

    def others(self):
        """Input indices other than k (k itself when there is one input)."""
        return [i for i in self.all if i != self.k] or [self.k]


def pairs(label, got, want):
    """Triples for (nested) tuples of results, one per array."""
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            raise Discrepancy(f"{label}: got {type(got).__name__} of {len(got) if hasattr(got, '__len__') else '?'}"
                              f" results, want {len(want)}")
        return [t for i, (g, w) in enumerate(zip(got, want)) for t in pairs(f"{label}[{i}]", g, w)]
    return [(label, got, want)]


# ---- first order ---------------------------------------------------------------------


@check
def forward(c):
    with oracle():
        want = c.tF(*c.T())
    return pairs("value", c.F(*c.V()), want) + pairs("value of numpy inputs via eg.vjp", eg.vjp(c.F, *c.X)[0], want)


@check
def grad(c):
    tf = c.torch.func
    with oracle():
        want = tf.grad_and_value(c.tL, argnums=c.all)(*c.T())
        want_k = tf.grad(c.tL, argnums=c.k)(*c.T())
    value, got = eg.value_and_grad(c.L, argnums=c.all)(*c.X)
    return (pairs("value", value, want[1]) + pairs("grad", got, want[0])
            + pairs(f"grad argnums={c.k}", eg.grad(c.L, argnums=c.k)(*c.V()), want_k))


@check
def autograd_grad(c):
    with oracle():
        xt = c.T(requires_grad=True)
        want = c.torch.autograd.grad(c.tL(*xt), xt)
    xe = c.V(requires_grad=True)
    got = eg.autograd.grad(c.L(*xe), xe)
    if any(x.grad is not None for x in xe):
        raise Discrepancy("eg.autograd.grad filled .grad")
    U = np.stack([c.p.aux["u"], c.p.aux["w"]])  # two cotangents: (2,) + out.shape
    with oracle():
        xt = c.T(requires_grad=True)
        want_b = c.torch.autograd.grad(c.tF(*xt), xt, c.torch.tensor(U), is_grads_batched=True, allow_unused=True,
                                       materialize_grads=True)
    xe = c.V(requires_grad=True)
    got_b = eg.autograd.grad(c.F(*xe), xe, U, is_grads_batched=True, allow_unused=True)
    got_b = [np.zeros((2,) + x.shape) if g is None else g for g, x in zip(got_b, xe)]
    return pairs("autograd.grad", got, want) + pairs("autograd.grad is_grads_batched", got_b, want_b)


@check
def vjp(c):
    tf, u = c.torch.func, c.p.aux["u"]
    with oracle():
        _, fn = tf.vjp(c.tF, *c.T())
        want = fn(c.torch.tensor(u))
    _, vjp_fn = eg.vjp(c.F, *c.X)
    first = vjp_fn(u)
    return pairs("vjp", first, want) + pairs("vjp called again", vjp_fn(u), want)


@check
def jvp(c):
    tf, torch = c.torch.func, c.torch
    t, tb = c.p.aux["t"], c.p.aux["tb"]
    with oracle():
        want = tf.jvp(c.tF, tuple(c.T()), tuple(c.T(t)))
        want_b = tf.vmap(lambda *ts: tf.jvp(c.tF, tuple(c.T()), ts)[1])(*[torch.tensor(x) for x in tb])
    out, got = eg.jvp(c.F, c.X, t)
    return (pairs("value", out, want[0]) + pairs("jvp", got, want[1])
            + pairs("batched jvp", eg.jvp(c.F, c.X, tb)[1], want_b))


@check
def jacobian(c):
    tf = c.torch.func
    with oracle():
        want = tf.jacrev(c.tF, argnums=c.all)(*c.T())
    out = []
    for mode, chunk in (("rev", None), ("fwd", None), ("auto", None), ("rev", 2), ("fwd", 3)):
        got = eg.jacobian(c.F, argnums=c.all, mode=mode, chunk_size=chunk)(*c.X)
        out += pairs(f"jacobian mode={mode} chunk_size={chunk}", got, want)
    with oracle():
        want_fwd = tf.jacfwd(c.tF, argnums=c.k)(*c.T())
    return out + pairs(f"jacobian argnums={c.k} vs jacfwd", eg.jacobian(c.F, argnums=c.k)(*c.V()), want_fwd)


# ---- second order and nesting --------------------------------------------------------


@check
def hessian(c):
    if not c.small(c.k):
        return []
    with oracle():
        want = c.torch.func.hessian(c.tL, argnums=c.k)(*c.T())
    return pairs(f"hessian argnums={c.k}", eg.hessian(c.L, argnums=c.k)(*c.V()), want)


@check
def hvp(c):
    tf, t = c.torch.func, c.p.aux["t"]
    with oracle():
        want = tf.jvp(tf.grad(c.tL, argnums=c.all), tuple(c.T()), tuple(c.T(t)))[1]
        want_value = c.tL(*c.T())
    got_value, got = eg.hvp(c.L, c.X, t)
    return pairs("value", got_value, want_value) + pairs("hvp", got, want)


@check
def grad_of_grad(c):
    tf, k, v = c.torch.func, c.k, c.p.aux["s"][c.k]
    with oracle():
        tv = c.torch.tensor(v)
        want = tf.grad(lambda *x: (tf.grad(c.tL, argnums=k)(*x) * tv).sum(), argnums=c.all)(*c.T())
    got = eg.grad(lambda *x: (eg.grad(c.L, argnums=k)(*x) * v).sum(), argnums=c.all)(*c.X)
    return pairs("grad of grad", got, want)


@check
def jacobian_of_grad(c):
    if not c.small(c.k):
        return []
    tf, out = c.torch.func, []
    for mode, tjac in (("rev", tf.jacrev), ("fwd", tf.jacfwd)):
        with oracle():
            want = tjac(tf.grad(c.tL, argnums=c.k), argnums=c.all)(*c.T())
        got = eg.jacobian(eg.grad(c.L, argnums=c.k), argnums=c.all, mode=mode)(*c.X)
        out += pairs(f"jacobian(mode={mode}) of grad", got, want)
    return out


@check
def grad_of_inner_grad_over_closure(c):
    """Outer grad in x_j of |inner grad in x_k|^2, the inner function closing over the
    outer argument x_j (x_j = x_k for one input)."""
    tf, k, j = c.torch.func, c.k, c.others()[0]

    def outer(F, grad, X):
        def inner_norm(xj):
            def f(xk):
                args = list(X)
                args[j] = xj
                args[k] = xk  # j == k: the inner input is the outer one
                return F(*args)
            g = grad(f)(xj if j == k else X[k])
            return (g * g).sum()
        return inner_norm

    with oracle():
        T = c.T()
        want = tf.grad(outer(c.tL, tf.grad, T))(T[j])
    return pairs("grad of a function calling eg.grad", eg.grad(outer(c.L, eg.grad, c.V()))(c.X[j]), want)


@check
def forward_over_forward(c):
    tf, t, s = c.torch.func, c.p.aux["t"], c.p.aux["s"]
    with oracle():
        tt, ts = tuple(c.T(t)), tuple(c.T(s))
        want = tf.jvp(lambda *x: tf.jvp(c.tF, x, tt)[1], tuple(c.T()), ts)
    got = eg.jvp(lambda *x: eg.jvp(c.F, x, t)[1], c.X, s)
    return pairs("jvp of jvp: value", got[0], want[0]) + pairs("jvp of jvp", got[1], want[1])


@check
def reverse_over_forward(c):
    tf, t, u = c.torch.func, c.p.aux["t"], c.p.aux["u"]
    with oracle():
        tt, tu = tuple(c.T(t)), c.torch.tensor(u)
        want = tf.grad(lambda *x: (tf.jvp(c.tF, x, tt)[1] * tu).sum(), argnums=c.all)(*c.T())
    got = eg.grad(lambda *x: (eg.jvp(c.F, x, t)[1] * u).sum(), argnums=c.all)(*c.X)
    return pairs("grad of jvp", got, want)


@check
def vjp_of_vjp(c):
    """Reverse over reverse without eg.grad: the VJP of u -> VJP(u), in x and u."""
    tf, u, s = c.torch.func, c.p.aux["u"], c.p.aux["s"]

    def g(vjp, F):
        return lambda u_, *x: vjp(F, *x)[1](u_)

    with oracle():
        _, fn = tf.vjp(g(tf.vjp, c.tF), c.torch.tensor(u), *c.T())
        want = fn(tuple(c.T(s)))
    _, fn = eg.vjp(g(eg.vjp, c.F), u, *c.X)
    return pairs("vjp of vjp", fn(tuple(s)), want)


@check
def tuple_outputs(c):
    """f(x) = (F(x), L(x)): Jacobians per output and input, VJP with a tuple of
    cotangents, JVP giving a tuple of tangents, value_and_grad with has_aux."""
    tf, torch, u, t = c.torch.func, c.torch, c.p.aux["u"], c.p.aux["t"]
    G, tG = (lambda *x: (c.F(*x), c.L(*x))), (lambda *x: (c.tF(*x), c.tL(*x)))
    out = []
    with oracle():
        want_j = tf.jacrev(tG, argnums=c.all)(*c.T())
        want_v = tf.vjp(tG, *c.T())[1]((torch.tensor(u), torch.tensor(0.5)))
        want_t = tf.jvp(tG, tuple(c.T()), tuple(c.T(t)))[1]
        want_a = tf.grad_and_value(lambda *x: (c.tL(*x), c.tF(*x)), argnums=c.all, has_aux=True)(*c.T())
    for mode in ("rev", "fwd"):
        out += pairs(f"jacobian {mode}", eg.jacobian(G, argnums=c.all, mode=mode)(*c.X), want_j)
    out += pairs("vjp", eg.vjp(G, *c.X)[1]((u, np.array(0.5))), want_v)
    out += pairs("jvp", eg.jvp(G, c.X, t)[1], want_t)
    (value, aux), grads = eg.value_and_grad(lambda *x: (c.L(*x), c.F(*x)), argnums=c.all, has_aux=True)(*c.X)
    return out + pairs("value_and_grad has_aux", (grads, (value, aux)), want_a)

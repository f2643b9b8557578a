"""Transforms whose results stay differentiable in outer Variables (issue 10): a
transform's result is differentiable in every Variable that requires grad and that
the function read, closed over or passed as an argument, as in torch.func and JAX.

For each transform (grad, value_and_grad, vjp, jvp, jacobian rev/fwd, hvp, hessian)
the result R is computed with the program's inputs as leaves that require grad, then
``(R * r).sum().backward()`` (r random) or the gradient penalty ``(g * g).sum()``
must give every leaf the .grad that torch.func gives.
"""

from __future__ import annotations

import numpy as np

import eigengrad as eg
from diffchecks import check, oracle, pairs
from diffstate import backward_or_zeros


def _close(c, F, W):
    """F as a function of x_k alone, the other inputs taken from W (closed over)."""
    return lambda xk: F(*[xk if i == c.k else W[i] for i in c.all])


@check
def penalty_closed_over(c):
    """g = eg.grad(x_k -> L)(x_k) with the other inputs closed-over leaves;
    (g * g).sum().backward() fills their .grad as torch.func does."""
    if c.n == 1:
        return []
    tf, k = c.torch.func, c.k
    with oracle():
        W = c.T(requires_grad=True)
        g = tf.grad(_close(c, c.tL, W))(c.T()[k])
        want = backward_or_zeros((g * g).sum(), W)
    We = c.V(requires_grad=True)
    g = eg.grad(_close(c, c.L, We))(c.X[k])
    got = backward_or_zeros((g * g).sum(), We)
    return [(f"closed-over x{i}.grad", got[i], want[i]) for i in c.all if i != k]


@check
def penalty_argument(c):
    """g = eg.grad(L, argnums=k)(*leaves): differentiable in every leaf (the
    arguments not differentiated and x_k itself), as torch.func.grad."""
    tf, k = c.torch.func, c.k
    with oracle():
        xt = c.T(requires_grad=True)
        g = tf.grad(c.tL, argnums=k)(*xt)
        want = backward_or_zeros((g * g).sum(), xt)
    xe = c.V(requires_grad=True)
    g = eg.grad(c.L, argnums=k)(*xe)
    return pairs("penalty .grad", backward_or_zeros((g * g).sum(), xe), want)


def _transforms(c, closure):
    """name -> (eigengrad, torch) maps from (F, L, x) to a result: x is x_k
    (closure) or the tuple of all inputs (arguments)."""
    tf, torch, k = c.torch.func, c.torch, c.k
    u, t = c.p.aux["u"], c.p.aux["t"]
    tu, tt = torch.tensor(u), tuple(torch.tensor(a) for a in t)
    if closure:
        table = {
            "grad": (lambda F, L, x: eg.grad(L)(x), lambda F, L, x: tf.grad(L)(x)),
            "value_and_grad": (lambda F, L, x: eg.value_and_grad(L)(x)[0],
                               lambda F, L, x: tf.grad_and_value(L)(x)[1]),
            "vjp": (lambda F, L, x: eg.vjp(F, x)[1](u)[0], lambda F, L, x: tf.vjp(F, x)[1](tu)[0]),
            "jvp": (lambda F, L, x: eg.jvp(F, (x,), (t[k],))[1], lambda F, L, x: tf.jvp(F, (x,), (tt[k],))[1]),
            "jacobian rev": (lambda F, L, x: eg.jacobian(F, mode="rev")(x), lambda F, L, x: tf.jacrev(F)(x)),
            "jacobian fwd": (lambda F, L, x: eg.jacobian(F, mode="fwd")(x), lambda F, L, x: tf.jacfwd(F)(x)),
            "hvp": (lambda F, L, x: eg.hvp(L, (x,), (t[k],))[1][0],
                    lambda F, L, x: tf.jvp(tf.grad(L), (x,), (tt[k],))[1]),
        }
        if c.small(k):
            table["hessian"] = (lambda F, L, x: eg.hessian(L)(x), lambda F, L, x: tf.hessian(L)(x))
        return table
    table = {
        "grad": (lambda F, L, x: eg.grad(L, argnums=k)(*x), lambda F, L, x: tf.grad(L, argnums=k)(*x)),
        "vjp": (lambda F, L, x: eg.vjp(F, *x)[1](u)[k], lambda F, L, x: tf.vjp(F, *x)[1](tu)[k]),
        "jvp": (lambda F, L, x: eg.jvp(F, x, t)[1], lambda F, L, x: tf.jvp(F, tuple(x), tt)[1]),
        "jacobian rev": (lambda F, L, x: eg.jacobian(F, argnums=k, mode="rev")(*x),
                         lambda F, L, x: tf.jacrev(F, argnums=k)(*x)),
        "jacobian fwd": (lambda F, L, x: eg.jacobian(F, argnums=k, mode="fwd")(*x),
                         lambda F, L, x: tf.jacfwd(F, argnums=k)(*x)),
        "hvp": (lambda F, L, x: eg.hvp(L, x, t)[1][k],
                lambda F, L, x: tf.jvp(tf.grad(L, argnums=c.all), tuple(x), tt)[1][k]),
    }
    if c.small(k):
        table["hessian"] = (lambda F, L, x: eg.hessian(L, argnums=k)(*x),
                            lambda F, L, x: tf.hessian(L, argnums=k)(*x))
    return table


def _outer_grads(c, closure):
    out = []
    for idx, (name, (eg_t, torch_t)) in enumerate(_transforms(c, closure).items()):
        with oracle():
            W = c.T(requires_grad=True)
            R = torch_t(_close(c, c.tF, W), _close(c, c.tL, W), c.T()[c.k]) if closure else torch_t(c.tF, c.tL, W)
            r = np.random.default_rng([abs(c.p.seed), idx]).standard_normal(tuple(R.shape))
            want = backward_or_zeros((R * c.torch.tensor(r)).sum(), W)
        We = c.V(requires_grad=True)
        Re = eg_t(_close(c, c.F, We), _close(c, c.L, We), c.X[c.k]) if closure else eg_t(c.F, c.L, We)
        out.append((f"{name}: value", Re, R))
        got = backward_or_zeros((Re * r).sum(), We)
        out += [(f"{name}: x{i}.grad", got[i], want[i]) for i in c.all if not closure or i != c.k]
    return out


@check
def transforms_differentiable_in_closed_over_leaves(c):
    return [] if c.n == 1 else _outer_grads(c, closure=True)


@check
def transforms_differentiable_in_leaf_arguments(c):
    return _outer_grads(c, closure=False)


@check
def nested_grads_differentiable_in_leaves(c):
    """R = grad over x_k of |grad over x_k of L|^2 (= 2 H g), the functions closing
    over the other inputs, all inputs leaves that require grad:
    (R * r).sum().backward() fills every leaf's .grad (third order)."""
    tf, k = c.torch.func, c.k

    def outer(L, W, grad):
        def h(xk):
            g = grad(lambda x: L(*[x if i == k else W[i] for i in c.all]))(xk)
            return (g * g).sum()
        return h

    with oracle():
        W = c.T(requires_grad=True)
        R = tf.grad(outer(c.tL, W, tf.grad))(W[k])
        r = np.random.default_rng(abs(c.p.seed)).standard_normal(tuple(R.shape))
        want = backward_or_zeros((R * c.torch.tensor(r)).sum(), W)
    We = c.V(requires_grad=True)
    Re = eg.grad(outer(c.L, We, eg.grad))(We[k])
    got = backward_or_zeros((Re * r).sum(), We)
    return [("value", Re, R)] + [(f"x{i}.grad", got[i], want[i]) for i in c.all]

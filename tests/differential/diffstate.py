"""Stateful checks of one random program: backward into leaves (and what .grad may
alias), retain_graph, backward(create_graph=True) then a second backward, in-place
updates before and between forward and backward, aliased inputs (one Variable
passed twice, Variables over views of one NumPy array).

The rule for an in-place update between forward and backward is "raise or be
right": eigengrad's backward must either raise RuntimeError or return the gradient
of the forward that was recorded (torch's gradient at the original inputs). Which
one depends on whether a rule reads the changed memory (README, "In-place updates
are checked"), so torch, whose rules save other values, is not asked to raise
alike. Updates before the forward must be seen: the gradient is torch's at the
updated inputs.
"""

from __future__ import annotations

import collections

import numpy as np

import eigengrad as eg
from diffchecks import Discrepancy, check, oracle, pairs, to_numpy

OUTCOMES: collections.Counter = collections.Counter()  # (update, "raised" | "not raised")


def grads_or_zeros(leaves):
    return [np.zeros(x.shape) if x.grad is None else x.grad for x in leaves]


def backward_or_zeros(scalar, leaves):
    """Backward of `scalar` into `leaves`; zeros when nothing requires grad."""
    if scalar.requires_grad:
        scalar.backward()
    return grads_or_zeros(leaves)


def assert_no_aliasing(grads, *others):
    """No two leaves' .grad share memory, nor a .grad and the seed or an input."""
    arrays = [g.numpy() for g in grads if g is not None]
    named = [(f".grad of input {i}", a) for i, a in enumerate(arrays)] + [("the seed or an input", np.asarray(o))
                                                                         for o in others]
    for i, a in enumerate(arrays):
        for name, b in named[i + 1:]:
            if np.shares_memory(a, b):
                raise Discrepancy(f".grad of input {i} shares memory with {name}")


def torch_grads(c, inputs=None, seed=None, run=None):
    """torch's .grad of every input after backward of loss (or of run(*leaves))."""
    with oracle():
        xt = c.T(inputs, requires_grad=True)
        (run or c.tL)(*xt).backward(None if seed is None else c.torch.tensor(seed))
        return [c.torch.zeros(x.shape, dtype=x.dtype) if x.grad is None else x.grad for x in xt]


@check
def backward_into_leaves(c):
    """F(x).backward(seed), also with create_graph: .grad as torch's; the leaves'
    .grad alias neither each other nor the seed nor the inputs (x0.grad += 1 changes
    nothing else)."""
    w = c.p.aux["w"]
    want = torch_grads(c, seed=w, run=c.tF)
    out = []
    for create_graph in (False, True):
        xe, seed = c.V(requires_grad=True), w.copy()
        c.F(*xe).backward(seed, create_graph=create_graph)
        before = [to_numpy(g) for g in grads_or_zeros(xe)]
        out += pairs(f"backward(seed, create_graph={create_graph}) .grad", before, want)
        assert_no_aliasing([x.grad for x in xe], seed, *[x.numpy() for x in xe])
        with eg.no_grad():
            xe[0].grad += 1.0
        for i, x in enumerate(xe[1:], 1):
            if not np.array_equal(np.asarray(x.grad), before[i]):
                raise Discrepancy(f"create_graph={create_graph}: x0.grad += 1 changed the .grad of input {i}")
        if not np.array_equal(seed, w):
            raise Discrepancy(f"create_graph={create_graph}: backward(seed) or x0.grad += 1 changed the seed")
        for x in xe:  # a .grad with a graph refers back to its leaf (as in PyTorch): free the cycle
            x.grad = None
    return out


def _torch_grad(c, y, xs, **kw):
    with oracle():
        gs = c.torch.autograd.grad(y, xs, allow_unused=True, **kw)
        return [c.torch.zeros(x.shape, dtype=x.dtype) if g is None else g for g, x in zip(gs, xs)]


@check
def retain_graph(c):
    """backward(retain_graph=True) twice accumulates 2 g into .grad. (The torch
    reference is 2 * autograd.grad: torch's own .grad accumulation is wrong when two
    leaves' .grad share storage, e.g. after x1.reshape(2) + x0.reshape(-1): x0.grad
    becomes 3 g.)"""
    with oracle():
        xt = c.T(requires_grad=True)
        want = [2 * g for g in _torch_grad(c, c.tL(*xt), xt)]
    xe = c.V(requires_grad=True)
    L = c.L(*xe)
    L.backward(retain_graph=True)
    L.backward()
    return pairs("two backwards .grad", grads_or_zeros(xe), want)


@check
def double_backward(c):
    """L.backward(create_graph=True), then backward of sum(x.grad * s): .grad = g + H s
    (the torch reference by autograd.grad, see retain_graph)."""
    s, torch = c.p.aux["s"], c.torch
    with oracle():
        xt = c.T(requires_grad=True)
        first = _torch_grad(c, c.tL(*xt), xt, create_graph=True)
        second = sum((g * torch.tensor(si)).sum() for g, si in zip(first, s))
        hs = _torch_grad(c, second, xt) if second.requires_grad else [0.0] * c.n
        want = [g + h for g, h in zip(first, hs)]
    xe = c.V(requires_grad=True)
    c.L(*xe).backward(create_graph=True)
    out = pairs("first .grad", [np.array(x.grad, copy=True) for x in xe], first)
    second = sum((x.grad * si).sum() for x, si in zip(xe, s))
    if second.requires_grad:
        second.backward()
    assert_no_aliasing([x.grad for x in xe], *[x.numpy() for x in xe])
    return out + pairs(".grad after the second backward", [x.grad for x in xe], want)


@check
def inplace_on_leaf_in_grad_mode_raises(c):
    k, want = c.k, torch_grads(c)
    with oracle():
        xt = c.T(requires_grad=True)
        try:
            xt[k] += 1.0
            raise RuntimeError("harness: torch accepted += on a leaf that requires grad")
        except RuntimeError as e:
            if "harness" in str(e):
                raise
    xe = c.V(requires_grad=True)
    L = c.L(*xe)
    for op in ("+=", "*="):
        x = xe[k]
        try:
            if op == "+=":
                x += 1.0
            else:
                x *= 2.0
        except RuntimeError:
            pass
        else:
            raise Discrepancy(f"x{k} {op} on a leaf that requires grad did not raise RuntimeError")
        if not np.array_equal(xe[k].numpy(), c.X[k]):
            raise Discrepancy(f"the failed x{k} {op} changed x{k}")
    L.backward()
    return pairs("backward after the refused update", grads_or_zeros(xe), want)


def _raise_or_right(c, label, update, requires=None):
    """Forward, update(xe, bases, passed) (an in-place write), backward: RuntimeError
    or torch's gradient at the original inputs. Each Variable is made over `passed[i]`,
    a NumPy view of `bases[i]` (only the object passed in is protected, README)."""
    want = torch_grads(c)
    bases = [x.copy() for x in c.X]
    passed = [b.view() for b in bases]
    requires = requires or [True] * c.n
    xe = [eg.Variable(a, requires_grad=r) for a, r in zip(passed, requires)]
    L, leaf = c.L(*xe), xe[c.k]
    moved = update(xe, bases, passed)
    if xe[c.k] is not leaf:
        raise Discrepancy(f"{label}: the update rebound x{c.k} to a new Variable instead of writing in place")
    if moved is not None and not np.array_equal(bases[c.k], moved):
        raise Discrepancy(f"{label}: the update did not reach x{c.k}'s memory")
    try:
        L.backward()
    except RuntimeError:
        OUTCOMES[label, "raised"] += 1
        return []
    OUTCOMES[label, "not raised"] += 1
    return [(f"{label}: gradient after an undetected update (x{i}.grad)", g, want[i])
            for i, g in enumerate(grads_or_zeros(xe)) if requires[i]]


@check
def inplace_between_forward_and_backward(c):
    k, d = c.k, c.p.aux["d"][c.k]

    def leaf_add(xe, bases, passed):  # each update returns x_k's values expected after it
        with eg.no_grad():
            xe[k] += d
        return c.X[k] + d

    def leaf_mul(xe, bases, passed):
        with eg.no_grad():
            xe[k] *= 1.0 + d
        return c.X[k] * (1.0 + d)

    def other_variable(xe, bases, passed):  # a second Variable over x_k's memory
        alias = eg.Variable(bases[k])
        alias += d
        return c.X[k] + d

    def numpy_array(xe, bases, passed):  # the array passed in: read-only while saved
        try:
            passed[k] += d
        except ValueError:
            OUTCOMES["NumPy array +=", "refused (read-only)"] += 1
            return c.X[k]
        return c.X[k] + d

    def constant_add(xe, bases, passed):  # nothing recorded: += writes in place
        xe[k] += d
        return c.X[k] + d

    def view_of_leaf(xe, bases, passed):  # an eigengrad view (reshape) of the leaf
        with eg.no_grad():
            v = eg.reshape(xe[k], (-1,))
            v += d.ravel()

    out = []
    for name, fn in [("leaf +=", leaf_add), ("leaf *=", leaf_mul), ("second Variable +=", other_variable),
                     ("NumPy array +=", numpy_array), ("reshaped leaf +=", view_of_leaf)]:
        out += _raise_or_right(c, name, fn)
    if c.n > 1:  # x_k a constant input, the others leaves
        out += _raise_or_right(c, "constant input +=", constant_add, [i != k for i in c.all])
    return out


@check
def inplace_on_the_output(c):
    """out = F(x); L = sum(out * out * w); out += d under no_grad: raise or be right."""
    w, d = c.p.aux["w"], 1e-4 * c.p.aux["u"]
    want = torch_grads(c, run=lambda *x: (c.tF(*x) ** 2 * c.torch.tensor(w)).sum())
    xe = c.V(requires_grad=True)
    out = c.F(*xe)
    L = (out * out * w).sum()
    with eg.no_grad():
        out += d
    try:
        L.backward()
    except RuntimeError:
        OUTCOMES["output +=", "raised"] += 1
        return []
    OUTCOMES["output +=", "not raised"] += 1
    return pairs("gradient after an undetected update of the output", grads_or_zeros(xe), want)


@check
def inplace_before_forward_is_seen(c):
    k, d = c.k, c.p.aux["d"][c.k]
    moved = [x.copy() for x in c.X]
    moved[k] = (moved[k] + d) * (1.0 + d)
    want = torch_grads(c, moved)
    xe = c.V(requires_grad=True)
    with eg.no_grad():
        xe[k] += d
        xe[k] *= 1.0 + d
    if not (xe[k].is_leaf and xe[k].requires_grad):
        raise Discrepancy("an update under no_grad changed the leaf's is_leaf/requires_grad")
    c.L(*xe).backward()
    out = pairs("leaf updated under no_grad", grads_or_zeros(xe), want)
    arrays = [x.copy() for x in c.X]
    xe = [eg.Variable(a, requires_grad=True) for a in arrays]
    alias = eg.Variable(arrays[k])  # one memory: an update through it is an update of x_k
    alias += d
    alias *= 1.0 + d
    c.L(*xe).backward()
    return out + pairs("update through a second Variable over the array", grads_or_zeros(xe), want)


def _pair(L, X, k):
    """f(a, b) = L(..., a at k, ...) * L(..., b at k, ...), the rest from X."""
    def put(v):
        args = list(X)
        args[k] = v
        return args
    return lambda a, b: L(*put(a)) * L(*put(b))


@check
def aliased_arguments(c):
    """One Variable passed as several arguments."""
    tf, k, t = c.torch.func, c.k, c.p.aux["t"]
    with oracle():
        Tk = c.T()[k]
        want = tf.grad(_pair(c.tL, c.T(), k), argnums=(0, 1))(Tk, Tk)
        want_leaf = torch_grads(c, run=lambda *x: _pair(c.tL, c.T(), k)(x[k], x[k]))[k]
    v = c.V(requires_grad=True)[k]
    f = _pair(c.L, c.V(), k)
    out = pairs("grad of f(x, x)", eg.grad(f, argnums=(0, 1))(v, v), want)
    f(v, v).backward()
    out += [("x.grad of f(x, x)", v.grad, want_leaf)]
    if c.n < 2 or any(x.shape != c.X[0].shape for x in c.X) or not c.p.valid_at([c.X[0]] * c.n):
        return out  # (x0 - x1 is 0 at x0 = x1: a program may leave its domain there)
    with oracle():
        T0 = c.T()[0]
        want = tf.grad(c.tL, argnums=c.all)(*[T0] * c.n)
        want_j = tf.jacrev(c.tF, argnums=c.all)(*[T0] * c.n)
        want_t = tf.jvp(c.tF, (T0,) * c.n, tuple(c.T(t)))[1]
        want_leaf = torch_grads(c, run=lambda *x: c.tL(*[x[0]] * c.n))[0]
    v = eg.Variable(c.X[0].copy(), requires_grad=True)
    out += pairs("grad of L(x, x, ...)", eg.grad(c.L, argnums=c.all)(*[v] * c.n), want)
    for mode in ("rev", "fwd"):
        out += pairs(f"jacobian {mode} of F(x, x, ...)", eg.jacobian(c.F, argnums=c.all, mode=mode)(*[v] * c.n),
                     want_j)
    out += pairs("jvp of F(x, x, ...)", eg.jvp(c.F, [v] * c.n, t)[1], want_t)
    c.L(*[v] * c.n).backward()
    return out + [("x.grad of L(x, x, ...)", v.grad, want_leaf)]


@check
def views_of_one_array(c):
    """The inputs as Variables over views of one NumPy array: gradients as for
    separate arrays; an update through a Variable over another view between forward
    and backward is raise-or-right (one memory, one version counter)."""
    ends = np.cumsum([0] + [x.size for x in c.X])
    j, d = c.others()[0], c.p.aux["d"][c.others()[0]]

    def views():
        a = np.concatenate([x.ravel() for x in c.X])
        return a, [a[ends[i]:ends[i + 1]].reshape(x.shape) for i, x in enumerate(c.X)]

    want = torch_grads(c)
    a, vs = views()
    xe = [eg.Variable(v, requires_grad=True) for v in vs]
    c.L(*xe).backward()
    assert_no_aliasing([x.grad for x in xe], a)
    out = pairs("views: .grad", grads_or_zeros(xe), want)
    a, vs = views()
    xe = [eg.Variable(v, requires_grad=True) for v in vs]
    L = c.L(*xe)
    alias = eg.Variable(a[ends[j]:ends[j + 1]].reshape(c.X[j].shape))  # a new view, not the one passed
    alias += d
    try:
        L.backward()
    except RuntimeError:
        OUTCOMES["another view +=", "raised"] += 1
        return out
    OUTCOMES["another view +=", "not raised"] += 1
    return out + pairs("views: gradient after an undetected update through another view", grads_or_zeros(xe), want)

"""Optimizers against NumPy transcriptions of PyTorch's update rules (the
algorithms in torch.optim's documentation), over several steps with known
gradients; plus bookkeeping, in-place updates and errors."""

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.nn import Parameter

STEPS = 6


def grads_for(shape, steps, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) for _ in range(steps)]


# ---- NumPy transcriptions --------------------------------------------------------------


def sgd_reference(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    p, buf = p.copy(), None
    for g in grads:
        g = -g if maximize else g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p, buf


def adam_reference(p, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   maximize=False, decoupled=False):
    p = p.copy()
    m, v, v_max = np.zeros_like(p), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        g = -g if maximize else g
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g * g
        bias1, bias2 = 1 - betas[0] ** t, 1 - betas[1] ** t
        if amsgrad:
            v_max = np.maximum(v_max, v)
            denom = np.sqrt(v_max) / np.sqrt(bias2) + eps
        else:
            denom = np.sqrt(v) / np.sqrt(bias2) + eps
        p = p - lr / bias1 * m / denom
    return p, m, v


def run(optimizer_class, p0, grads, dtype=np.float64, **options):
    p = Parameter(p0.astype(dtype))
    opt = optimizer_class([p], **options)
    for g in grads:
        p.grad = g.astype(dtype)
        opt.step()
    return p, opt


SGD_CASES = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, dampening=0.3),
    dict(lr=0.05, momentum=0.8, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9, weight_decay=0.05, nesterov=True),
    dict(lr=0.1, momentum=0.5, maximize=True),
]

ADAM_CASES = [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, amsgrad=True),
    dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True),
]


@pytest.mark.parametrize("options", SGD_CASES, ids=str)
def test_sgd_matches_pytorch_rule(options):
    p0 = np.random.default_rng(1).standard_normal((3, 4))
    grads = grads_for((3, 4), STEPS)
    p, opt = run(eg.optim.SGD, p0, grads, **options)
    expected, buf = sgd_reference(p0, grads, **options)
    np.testing.assert_allclose(np.asarray(p), expected, rtol=1e-13, atol=1e-14)
    state = opt.state[p]["momentum_buffer"]
    if buf is None:
        assert state is None
    else:
        np.testing.assert_allclose(state, buf, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("options", ADAM_CASES, ids=str)
def test_adam_matches_pytorch_rule(options):
    p0 = np.random.default_rng(1).standard_normal(5)
    grads = grads_for(5, STEPS)
    p, opt = run(eg.optim.Adam, p0, grads, **options)
    expected, m, v = adam_reference(p0, grads, **options)
    np.testing.assert_allclose(np.asarray(p), expected, rtol=1e-13, atol=1e-14)
    state = opt.state[p]
    assert state["step"] == STEPS
    np.testing.assert_allclose(state["exp_avg"], m, rtol=1e-13)
    np.testing.assert_allclose(state["exp_avg_sq"], v, rtol=1e-13)


@pytest.mark.parametrize("options", [dict(), dict(lr=0.01, weight_decay=0.5), dict(lr=0.01, amsgrad=True)], ids=str)
def test_adamw_matches_pytorch_rule(options):
    p0 = np.random.default_rng(2).standard_normal((2, 3))
    grads = grads_for((2, 3), STEPS, seed=3)
    p, _ = run(eg.optim.AdamW, p0, grads, **options)
    expected, _, _ = adam_reference(p0, grads, decoupled=True, **{"weight_decay": 1e-2, **options})
    np.testing.assert_allclose(np.asarray(p), expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("make, reference", [
    (lambda ps: eg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
     lambda p, gs: sgd_reference(p, gs, lr=0.1, momentum=0.9, nesterov=True)[0]),
    (lambda ps: eg.optim.Adam(ps, lr=0.01, weight_decay=0.1), lambda p, gs: adam_reference(p, gs, 0.01, weight_decay=0.1)[0]),
], ids=["sgd", "adam"])
def test_float32_updates_stay_float32_and_close(make, reference):
    p0 = np.random.default_rng(1).standard_normal(64)
    grads = grads_for(64, STEPS)
    p = Parameter(p0.astype(np.float32))
    opt = make([p])
    for g in grads:
        p.grad = g.astype(np.float32)
        opt.step()
    assert p.dtype == np.float32
    np.testing.assert_allclose(np.asarray(p), reference(p0, grads), rtol=1e-5, atol=1e-6)


def test_against_torch_when_installed():
    torch = pytest.importorskip("torch")
    p0 = np.random.default_rng(4).standard_normal((3, 2))
    grads = grads_for((3, 2), STEPS, seed=5)
    for ours, theirs, options in [
        (eg.optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
        (eg.optim.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
        (eg.optim.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    ]:
        p, _ = run(ours, p0, grads, **options)
        t = torch.tensor(p0, requires_grad=True)
        opt = theirs([t], **options)
        for g in grads:
            t.grad = torch.tensor(g)
            opt.step()
        np.testing.assert_allclose(np.asarray(p), t.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", [{}, dict(weight_decay=0.1), dict(amsgrad=True)], ids=["plain", "l2", "amsgrad"])
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_float32_adam_is_as_accurate_as_torch_over_1000_steps(cls, options):
    """Issue 10, class 10: the float32 error against a float64 run of the same
    optimizer, ours against PyTorch's, on a least-squares problem."""
    torch = pytest.importorskip("torch", reason="torch not installed: pip install torch==2.13.0")
    rng = np.random.default_rng(0)
    A, b, w0 = rng.standard_normal((50, 20)), rng.standard_normal(50), rng.standard_normal(20)

    def ours(dtype):
        w = eg.nn.Parameter(w0.astype(dtype))
        opt = getattr(eg.optim, cls)([w], lr=1e-2, **options)
        Ad, bd = eg.Variable(A.astype(dtype)), eg.Variable(b.astype(dtype))
        for _ in range(1000):
            opt.zero_grad()
            ((Ad @ w - bd) ** 2).mean().backward()
            opt.step()
        return np.asarray(w, dtype=np.float64)

    def theirs(dtype):
        w = torch.tensor(w0.astype(dtype), requires_grad=True)
        opt = getattr(torch.optim, cls)([w], lr=1e-2, **options)
        At, bt = torch.tensor(A.astype(dtype)), torch.tensor(b.astype(dtype))
        for _ in range(1000):
            opt.zero_grad()
            ((At @ w - bt) ** 2).mean().backward()
            opt.step()
        return w.detach().double().numpy()

    reference = theirs(np.float64)
    np.testing.assert_allclose(ours(np.float64), reference, rtol=1e-12, atol=1e-13)
    error_ours = np.abs(ours(np.float32) - reference).max()
    error_torch = np.abs(theirs(np.float32) - reference).max()
    assert error_ours <= 1.5 * error_torch, (error_ours, error_torch)


# ---- behaviour -------------------------------------------------------------------------


def test_step_is_in_place_and_records_no_graph():
    array = np.array([1.0, 2.0])
    p = Parameter(array)  # shares the array's memory
    opt = eg.optim.SGD([p], lr=0.5)
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(array, [0.0, 0.0])  # the NumPy array saw the update
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_parameters_without_grad_are_skipped():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = eg.optim.Adam([a, b], lr=0.1)
    a.grad = np.ones(2)
    opt.step()
    np.testing.assert_array_equal(np.asarray(b), [1.0, 1.0])
    assert opt.state[b]["step"] == 0 and opt.state[b]["exp_avg"] is None
    assert opt.state[a]["step"] == 1
    assert not np.array_equal(np.asarray(a), [1.0, 1.0])


def test_zero_grad():
    p = Parameter(np.ones(3))
    opt = eg.optim.SGD([p], lr=0.1)
    p.grad = np.ones(3)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(np.asarray(p.grad), np.zeros(3))
    opt.zero_grad()
    assert p.grad is None


def test_param_groups_have_their_own_settings():
    a, b = Parameter(np.ones(2)), Parameter(np.ones(2))
    opt = eg.optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = np.ones(2), np.ones(2)
    opt.step()
    np.testing.assert_allclose(np.asarray(a), [0.9, 0.9])
    np.testing.assert_allclose(np.asarray(b), [0.0, 0.0])
    opt.param_groups[0]["lr"] = 0.5  # how schedules act
    opt.step()
    np.testing.assert_allclose(np.asarray(a), [0.4, 0.4])
    assert "lr: 1.0" in repr(opt)


def test_closure_recomputes_the_loss():
    p = Parameter(np.array([3.0]))
    opt = eg.optim.SGD([p], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 9.0
    np.testing.assert_allclose(np.asarray(p), [1.5])


def test_errors_name_the_optimizer():
    p = Parameter(np.ones(2))
    with pytest.raises(ValueError, match="SGD: lr must be a finite number >= 0, got -0.1"):
        eg.optim.SGD([p], lr=-0.1)
    with pytest.raises(ValueError, match="SGD: nesterov momentum requires a momentum > 0"):
        eg.optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"Adam: betas must be in \[0, 1\)"):
        eg.optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: eps must be"):
        eg.optim.AdamW([p], eps=-1.0)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        eg.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="SGD: parameters must be Variables, got ndarray"):
        eg.optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="SGD: parameter 0 is not a leaf"):
        eg.optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="SGD: parameter 1 appears more than once"):
        eg.optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        eg.optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="unknown hyperparameters \\['betas'\\]"):
        eg.optim.SGD([{"params": [p], "betas": (0.9, 0.9)}], lr=0.1)
    opt = eg.optim.SGD([p], lr=0.1)
    opt.param_groups[0]["lr"] = -1.0
    p.grad = np.ones(2)
    with pytest.raises(ValueError, match="SGD: lr must be"):
        opt.step()
    np.testing.assert_array_equal(np.asarray(p), [1.0, 1.0])


@pytest.mark.parametrize("make", [
    lambda ps: eg.optim.Adam(ps, lr=0.01, amsgrad=True),
    lambda ps: eg.optim.AdamW(ps, lr=0.01),
    lambda ps: eg.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
], ids=["adam", "adamw", "sgd"])
def test_updates_do_not_depend_on_buffer_alignment(make):
    """The same step on the same values gives the same bits wherever the buffers
    sit in memory (see Note [Exact square roots] in cpp/src/optim.cpp)."""
    p0 = np.random.default_rng(0).standard_normal(67).astype(np.float32)
    grads = grads_for(67, 3)
    results = []
    for offset in range(8):
        buffer = np.empty(p0.size + 8, np.float32)
        view = buffer[offset:offset + p0.size]
        view[...] = p0
        p = Parameter(view)  # shares the (differently aligned) buffer
        opt = make([p])
        for g in grads:
            gb = np.empty(g.size + 8, np.float32)[offset:offset + g.size]
            gb[...] = g
            p.grad = gb
            opt.step()
        results.append(np.asarray(p).copy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


# A large parameter's update is split over the threads (cpp/src/optim.cpp): every
# element is computed the same way at any thread count.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [
    lambda ps: eg.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True),
    lambda ps: eg.optim.SGD(ps, lr=0.1),
    lambda ps: eg.optim.Adam(ps, lr=0.01, weight_decay=0.01, amsgrad=True),
    lambda ps: eg.optim.AdamW(ps, lr=0.01, weight_decay=0.1),
], ids=["sgd-nesterov", "sgd", "adam-amsgrad", "adamw"])
def test_large_updates_are_the_same_at_any_thread_count(make, dtype):
    n = 200_003  # above the threshold for threads, not a multiple of the chunk
    grads = [g.astype(dtype) for g in grads_for((n,), 3, seed=1)]
    start = np.random.default_rng(2).standard_normal(n).astype(dtype)
    results = []
    previous = eg.get_num_threads()
    try:
        for threads in (1, 2, 3):
            eg.set_num_threads(threads)
            p = Parameter(start.copy())
            opt = make([p])
            for g in grads:
                p.grad = eg.Variable(g)
                opt.step()
            results.append(p.numpy().copy())
    finally:
        eg.set_num_threads(previous)
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])

"""Variable.register_post_accumulate_grad_hook: called on a leaf once its .grad is complete."""

import gc

import numpy as np
import pytest

import eigengrad as eg


def leaf(values):
    return eg.Variable(np.array(values, dtype=np.float64), requires_grad=True)


def test_the_hook_sees_the_whole_gradient_while_backward_goes_on():
    w, x = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    events = []
    w.register_post_accumulate_grad_hook(
        lambda p: events.append(("w", p.grad.numpy().copy(), x.grad is None)))
    x.register_post_accumulate_grad_hook(lambda p: events.append(("x", p.grad.numpy().copy(), None)))
    # dL/dw = x + 2w sums two paths; x is reached later, through exp(log(x)).
    (eg.exp(eg.log(x)) * w + w * w).sum().backward()
    assert [e[0] for e in events] == ["w", "x"]
    np.testing.assert_allclose(events[0][1], [5.0, 8.0])
    assert events[0][2] is True  # x's gradient was still to come: the hook ran during backward
    np.testing.assert_allclose(events[1][1], [1.0, 2.0])


def test_the_hook_gets_the_leaf_and_runs_once_per_backward_after_accumulation():
    w = leaf([1.0, -1.0])
    seen = []
    handle = w.register_post_accumulate_grad_hook(lambda p: seen.append(p.grad.numpy().copy()))
    (w * 3.0).sum().backward()
    (w * 3.0).sum().backward()  # accumulates: the hook sees the running sum
    assert [s.tolist() for s in seen] == [[3.0, 3.0], [6.0, 6.0]]
    assert handle.remove() is True and handle.remove() is False
    (w * 3.0).sum().backward()
    assert len(seen) == 2


def test_transforms_accumulate_nothing_and_run_no_hook():
    w = leaf([1.0, 2.0])
    calls = []
    w.register_post_accumulate_grad_hook(lambda p: calls.append(1))
    eg.autograd.grad((w * w).sum(), [w])
    eg.grad(lambda v: (v * w).sum())(np.ones(2))
    assert calls == []


def test_the_hook_must_return_none():
    w = leaf([1.0])
    w.register_post_accumulate_grad_hook(lambda p: p.grad * 2)
    with pytest.raises(TypeError, match="post-accumulate-grad hook: the hook must return None"):
        (w * 2.0).sum().backward()


def test_only_leaves_that_require_grad_take_the_hook():
    w = leaf([1.0])
    with pytest.raises(RuntimeError, match="this Variable is the result of an op"):
        (w * 2.0).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="a leaf that does not require grad"):
        eg.Variable(np.ones(1)).register_post_accumulate_grad_hook(lambda p: None)


def test_an_exception_in_the_hook_propagates_out_of_backward():
    w = leaf([1.0])

    def fail(p):
        raise KeyError("from the hook")

    w.register_post_accumulate_grad_hook(fail)
    with pytest.raises(KeyError, match="from the hook"):
        (w * 2.0).sum().backward()


def test_a_hook_that_refers_to_its_own_leaf_is_collected():
    live = eg._core._testing.live_nodes
    gc.collect()
    base = live()

    def make():
        w = leaf([1.0, 2.0])

        def hook(p):
            assert w.shape == p.shape  # refers to w: a cycle through the hook

        w.register_post_accumulate_grad_hook(hook)
        (w * 2.0).sum().backward()

    make()
    gc.collect()
    assert live() == base

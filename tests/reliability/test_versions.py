"""Nothing silently wrong after an in-place update (Note [Version counter] and Note
[Saved values] in cpp/src/node.cpp).

- In-place writes that eigengrad makes (``+=`` and friends, ``copy_``, optimizer
  steps, ``load_state_dict``) bump the buffer's version; a backward whose rule reads
  a value updated since the forward raises RuntimeError naming the op, the input and
  both versions. Views share the counter. Updating a value the gradient does not
  read is not an error.
- A NumPy array given to eigengrad is shared (zero copy); while a backward rule keeps
  its values the array is read-only, so a write raises in NumPy instead of changing
  the gradient (detected, not copied); it is writeable again after the backward, or
  when the graph is dropped.
"""

import gc

import numpy as np
import pytest

import eigengrad as eg


def leaf(*values):
    return eg.Variable(np.array(values, dtype=float), requires_grad=True)


# ---- version counter ------------------------------------------------------------------


@pytest.mark.parametrize("update", ["+=", "-=", "*=", "/=", "**=", "copy_"])
def test_an_in_place_update_of_a_saved_input_raises_at_backward(update):
    w = leaf(1.0, 2.0, 3.0)
    x = eg.Variable(np.array([4.0, 5.0, 6.0]))
    y = (w * x).sum()  # the gradient of w reads x
    with eg.no_grad():
        if update == "copy_":
            x.copy_(np.zeros(3))
        else:
            exec(f"x {update} 2.0", {"x": x})
    assert x._version == 1
    with pytest.raises(RuntimeError, match=r"mul: input 1, saved for backward, was modified in place.*version is 1.*"
                                           r"expects version 0"):
        y.backward()
    assert w.grad is None  # nothing accumulated


def test_updating_a_value_the_gradient_does_not_read_is_fine():
    w = leaf(1.0, 2.0)
    y = (w * 3.0).sum()  # the gradient of w reads 3.0, not w
    with eg.no_grad():
        w += 10.0
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    z = leaf(1.0, 2.0)
    s = (z + eg.Variable(np.ones(2))).sum()  # add reads no input
    with eg.no_grad():
        z *= 5.0
    s.backward()
    np.testing.assert_array_equal(z.grad.numpy(), [1.0, 1.0])


def test_the_saved_output_is_checked_too():
    w = leaf(0.5, 1.0)
    e = eg.exp(w)  # exp's rule reads its output
    s = e.sum()
    with eg.no_grad():
        e += 1.0
    with pytest.raises(RuntimeError, match=r"exp: its output, saved for backward, was modified in place"):
        s.backward()


def test_views_share_the_version_counter():
    w = leaf(1.0, 2.0, 3.0, 4.0)
    x = eg.Variable(np.arange(4.0))
    y = (w * x).sum()
    view = x.reshape(2, 2)  # shares the buffer
    with eg.no_grad():
        view += 1.0
    assert x._version == view._version == 1
    np.testing.assert_array_equal(x.numpy(), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(RuntimeError, match="mul: input 1"):
        y.backward()
    # A Variable made again from a NumPy view of a Variable shares the buffer too.
    a = eg.Variable(np.arange(3.0))
    b = eg.Variable(np.asarray(a))
    assert np.shares_memory(a.numpy(), b.numpy())
    with eg.no_grad():
        b += 1.0
    assert a._version == 1


def test_an_optimizer_step_between_forward_and_backward_raises():
    model = eg.nn.Linear(3, 2, generator=0)
    opt = eg.optim.SGD(model.parameters(), lr=0.1)
    (model(np.ones((4, 3))) ** 2).sum().backward()
    squares = (model.weight * model.weight).sum()  # mul reads the weight
    through_tanh = eg.tanh(model.weight).sum()  # tanh reads its output, not the weight
    opt.step()  # in place: bumps the weight's version
    through_tanh.backward()
    with pytest.raises(RuntimeError, match=r"mul: input [01], saved for backward.*version is 1.*expects version 0"):
        squares.backward()


def test_adam_and_sgd_bump_the_version():
    for make in [lambda ps: eg.optim.SGD(ps, lr=0.1), lambda ps: eg.optim.Adam(ps), lambda ps: eg.optim.AdamW(ps)]:
        p = leaf(1.0, 2.0)
        opt = make([p])
        p.grad = np.ones(2)
        v = p._version
        opt.step()
        assert p._version == v + 1
        opt.zero_grad()
        opt.step()  # no gradient: no write
        assert p._version == v + 1


def test_load_state_dict_bumps_the_version():
    model = eg.nn.Linear(2, 2, generator=0)
    loss = (model.weight * model.weight).sum()
    model.load_state_dict({k: np.zeros(v.shape) for k, v in model.state_dict().items()})
    with pytest.raises(RuntimeError, match="mul"):
        loss.backward()


def test_retained_graph_checks_again_on_every_backward():
    w = leaf(1.0, 2.0)
    x = eg.Variable(np.array([3.0, 4.0]))
    y = (w * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 8.0])
    with eg.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError, match="mul: input 1"):
        y.backward()


def test_autograd_grad_checks_only_what_the_requested_gradients_read():
    a, b = leaf(1.0, 2.0), leaf(3.0, 4.0)
    y = (a * b).sum()
    with eg.no_grad():
        b.copy_(np.zeros(2))  # b is read by the gradient of a, not by that of b
    (gb,) = eg.autograd.grad(y, [b], retain_graph=True)
    np.testing.assert_array_equal(gb.numpy(), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="mul: input 1"):
        eg.autograd.grad(y, [a])


def test_where_keeps_its_own_copy_of_a_variable_condition():
    c = eg.Variable(np.array([1.0, 0.0]))
    x = leaf(2.0, 3.0)
    y = eg.where(c, x * 10.0, x).sum()
    with eg.no_grad():
        c.copy_(np.array([0.0, 1.0]))
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [10.0, 1.0])  # the condition of the forward


def test_custom_functions_check_every_input():
    class Twice(eg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2.0

        @staticmethod
        def backward(ctx, gout):
            return gout * 2.0

    w = leaf(1.0)
    y = Twice.apply(w).sum()
    with eg.no_grad():
        w += 1.0
    with pytest.raises(RuntimeError, match="Twice: input 0"):
        y.backward()


# ---- in-place operators ------------------------------------------------------------------


def test_in_place_operators_write_into_the_buffer_when_nothing_is_recorded():
    a = np.arange(3.0)
    x = eg.Variable(a)
    x_id = id(x)
    x += 1.0
    x *= np.array([1.0, 2.0, 3.0])
    x -= eg.Variable(np.ones(3))
    x /= 2.0
    x **= 2.0
    assert id(x) == x_id
    np.testing.assert_allclose(a, (((np.arange(3.0) + 1) * [1, 2, 3] - 1) / 2) ** 2)  # zero copy: a sees it
    assert x._version == 5


def test_in_place_operators_follow_numpy_casting_and_broadcasting():
    x = eg.Variable(np.ones(3, dtype=np.float32))
    x += np.ones(3)  # float64 into float32: same kind, as NumPy
    assert x.dtype == np.float32 and x.numpy()[0] == 2.0
    with pytest.raises(ValueError, match=r"add: non-broadcastable output operand with shape \(3,\)"):
        x += np.ones((2, 3))


def test_in_place_on_a_graph_value_is_recorded_out_of_place():
    w = leaf(1.0, 2.0)
    total = eg.zeros(())
    for _ in range(3):
        total += (w * w).sum()  # total needs the graph: a new Variable each time
    total.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 12.0])
    y = w * 2.0
    y_before = y
    y += 1.0  # a non-leaf: recorded, y is rebound
    assert y is not y_before and y.grad_fn is not None


def test_in_place_on_a_leaf_that_requires_grad_needs_no_grad():
    w = leaf(1.0, 2.0)
    with pytest.raises(RuntimeError, match=r"add: a leaf Variable that requires grad cannot be updated in place"):
        w += 1.0
    with pytest.raises(RuntimeError, match="copy_"):
        w.copy_(np.zeros(2))
    with eg.no_grad():
        w -= 0.5
        w.copy_(w * 2.0)
    np.testing.assert_array_equal(w.numpy(), [1.0, 3.0])
    assert w.is_leaf and w.requires_grad


def test_in_place_with_forward_mode_tangents_stays_out_of_place():
    def f(x):
        y = x * 1.0
        y += x  # y carries a tangent: recorded, not written over
        return y

    _, t = eg.jvp(f, (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(t.numpy(), [2.0, 2.0])


# ---- NumPy arrays kept by a backward rule ---------------------------------------------------


def test_a_numpy_array_kept_for_backward_is_read_only_until_backward():
    a = np.array([1.0, 2.0, 3.0])
    w = leaf(1.0, 1.0, 1.0)
    y = (w * a).sum()  # zero copy: the rule reads a itself
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0, 3.0])  # a's values at the forward
    a[0] = 100.0  # writeable again
    assert a.flags.writeable


def test_a_numpy_array_is_writeable_again_when_the_graph_is_dropped():
    a = np.ones(3)
    w = leaf(1.0, 1.0, 1.0)
    y = (w * a).sum()
    assert not a.flags.writeable
    del y
    assert a.flags.writeable  # by reference counting alone


def test_nested_holds_on_one_array():
    a = np.ones(2)
    w = leaf(1.0, 1.0)
    v1, v2 = eg.Variable(a), eg.Variable(a)  # two Variables borrowing one array
    y1 = (w * v1).sum()
    y2 = (w * v2).sum()
    y1.backward()
    assert not a.flags.writeable  # y2 still keeps it
    y2.backward()
    assert a.flags.writeable


def test_arrays_that_no_rule_reads_stay_writeable():
    a = np.ones(3)
    w = leaf(1.0, 1.0, 1.0)
    y = (w + a).sum()  # add reads no input
    assert a.flags.writeable
    z = (eg.exp(w) * 2.0).sum()
    assert a.flags.writeable
    del y, z


def test_retain_graph_keeps_the_array_read_only_until_the_graph_goes():
    a = np.ones(2)
    w = leaf(1.0, 1.0)
    y = (w * a).sum()
    y.backward(retain_graph=True)
    assert not a.flags.writeable
    del y
    gc.collect()
    assert a.flags.writeable


def test_a_read_only_array_is_copied_so_it_is_never_locked():
    a = np.ones(2)
    w = leaf(1.0, 1.0)
    y1 = (w * a).sum()  # a is now read-only...
    y2 = (w * a).sum()  # ...so this op converts a copy of it
    y1.backward()
    assert a.flags.writeable
    a[0] = 5.0
    y2.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 2.0])


def test_copies_are_not_locked():
    a = np.arange(6.0).reshape(2, 3).T  # not contiguous: eigengrad copies it
    w = leaf(*[1.0] * 6)
    y = (w.reshape(3, 2) * a).sum()
    a[0, 0] = 7.0  # eigengrad has its own copy: the gradient is not affected
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.arange(6.0).reshape(2, 3).T.ravel())


# ---- the saved-reads table ------------------------------------------------------------------


def test_the_saved_reads_table_matches_what_every_rule_captures():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ops"))
    from samples import OPS

    eg._core._testing.check_saved_reads(True)
    try:
        checked = 0
        for info in OPS:
            for sample in info.samples:
                xs = [eg.Variable(np.array(a, dtype=np.float64), requires_grad=True) for a in sample.args]
                out = info.op(*xs, **sample.kwargs)
                if info.differentiable and out.requires_grad:
                    eg.autograd.grad(out, xs, np.ones(out.shape), create_graph=True, allow_unused=True)
                checked += 1
        assert checked > 300
    finally:
        eg._core._testing.check_saved_reads(False)


def test_custom_functions_are_not_checked_against_the_op_table():
    # The table describes the built-in ops; a custom function named like one (here
    # "mul", whose rule captures nothing) is a different op, and every input it was
    # given is version-checked instead (test_shared_memory.py). The check catching a
    # drifted table entry is a C++ test (Versions.TheSavedReadsCheckCatchesADriftedTable).
    class mul(eg.Function):  # noqa: N801 - named like a table entry, captures nothing
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, gout):
            return gout, gout

    eg._core._testing.check_saved_reads(True)
    try:
        out = mul.apply(leaf(1.0), leaf(2.0))
        assert out.grad_fn.name() == "mul"
    finally:
        eg._core._testing.check_saved_reads(False)

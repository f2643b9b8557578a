"""One memory, one version counter, and custom functions' saved values checked
(issue 10, classes 2 and 3; Note [Borrowed memory] in python/src/borrow.cpp, Note
[Version counter] in cpp/src/node.cpp): an in-place write through any Variable over
a memory is seen by every graph that read it, and what an eg.Function keeps on ctx
is version-checked like a built-in op's saved values.
"""

import numpy as np
import pytest

import eigengrad as eg


def leaf(*values):
    return eg.Variable(np.array(values, dtype=float), requires_grad=True)


# ---- one memory, one version counter (issue 10, class 2; Note [Borrowed memory]) ------


def stale_after(update, read_by_graph, trained):
    """Builds sum(read * trained) (its gradient reads `read`), runs `update`, then
    expects backward to raise the version error."""
    L = (read_by_graph * trained).sum()
    with eg.no_grad():
        update()
    with pytest.raises(RuntimeError, match="modified in place"):
        L.backward()


def test_two_conversions_of_one_array_share_a_version_counter():
    a = np.ones(3)
    w = eg.Variable(a, requires_grad=True)
    other = eg.Variable(a)
    t = eg.Variable(np.ones(3), requires_grad=True)
    stale_after(lambda: w.__iadd__(1.0), other, t)


def test_views_of_one_array_share_a_version_counter():
    a = np.ones(6)
    w = eg.Variable(a[:3], requires_grad=True)  # an offset view and a reshaped one
    other = eg.Variable(a.reshape(2, 3)[1])
    t = eg.Variable(np.ones(3), requires_grad=True)
    stale_after(lambda: w.copy_(np.zeros(3)), other, t)


def test_numpy_view_of_a_variable_passed_back_shares_its_counter():
    v = eg.Variable(np.ones(4), requires_grad=True)
    tail = eg.Variable(np.asarray(v)[1:])  # starts past the buffer's first byte
    t = eg.Variable(np.ones(3), requires_grad=True)
    stale_after(lambda: v.__iadd__(1.0), tail, t)


def test_an_optimizer_step_through_one_conversion_is_seen_by_the_other():
    a = np.ones(3)
    p = eg.nn.Parameter(a)
    reader = eg.Variable(a)
    t = eg.Variable(np.ones(3), requires_grad=True)
    p.grad = np.ones(3)
    opt = eg.optim.SGD([p], lr=0.1)
    stale_after(opt.step, reader, t)


def test_copies_have_counters_of_their_own():
    a = np.ones(3)
    w = eg.Variable(a, dtype="float32", requires_grad=True)  # converted: a copy
    other = eg.Variable(a)
    t = eg.Variable(np.ones(3), requires_grad=True)
    L = (other * t).sum()
    with eg.no_grad():
        w += 1.0
    L.backward()
    np.testing.assert_array_equal(t.grad.numpy(), np.ones(3))


def test_holding_many_arrays_costs_the_same_per_array():
    import time

    def cost(n_held):
        keep = [np.ones(2) for _ in range(n_held)]
        w = eg.Variable(np.ones(2), requires_grad=True)
        graphs = [(eg.Variable(a) * w).sum() for a in keep]  # each holds its array
        start = time.perf_counter()
        for _ in range(2000):
            (eg.Variable(keep[0]) * w).sum()
        return time.perf_counter() - start, graphs

    # O(1) bookkeeping per held array: the cost of one more conversion and hold does
    # not grow with how many are held (a scan of a global list made it ~15x slower
    # at 1e5). A complexity check, with a wide margin for a noisy machine.
    small, _ = cost(10)
    large, _ = cost(100_000)
    assert large < 4 * small + 0.02, (small, large)


# ---- custom functions: what they keep is version-checked (issue 10, class 3) ----------


class KeepsOutput(eg.Function):
    @staticmethod
    def forward(ctx, x):
        y = eg.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gout):
        (y,) = ctx.saved_tensors
        return gout * y


class KeepsIntermediate(eg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.twice = x * 2.0
        return x * 1.0

    @staticmethod
    def backward(ctx, gout):
        return gout * ctx.twice


def test_custom_function_output_changed_in_place_raises_naming_the_function():
    x = eg.Variable(np.ones(3), requires_grad=True)
    y = KeepsOutput.apply(x)
    with eg.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="KeepsOutput: its output, saved for backward, was modified in place"):
        y.sum().backward()


def test_custom_function_input_changed_in_place_raises():
    x = eg.Variable(np.ones(3), requires_grad=True)

    class Square(eg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, gout):
            (x,) = ctx.saved_tensors
            return gout * 2.0 * x

    L = Square.apply(x).sum()
    with eg.no_grad():
        x += 1.0
    with pytest.raises(RuntimeError, match="Square: input 0"):
        L.backward()


@pytest.mark.parametrize("name", ["mean", "stack", "exp", "add", "sum"])
def test_a_custom_function_named_like_a_builtin_op_still_checks_its_inputs(name):
    # The op table says what a built-in op's rule reads; a custom function of the
    # same name is not that op, and every input it was given is checked.
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    def backward(ctx, gout):
        (x,) = ctx.saved_tensors
        return gout * 2.0 * x

    Fn = type(name, (eg.Function,), {"forward": staticmethod(forward), "backward": staticmethod(backward)})
    x = eg.Variable(np.array([1.0, 2.0]), requires_grad=True)
    L = Fn.apply(x).sum()
    with eg.no_grad():
        x.copy_(np.array([10.0, 20.0]))
    with pytest.raises(RuntimeError, match=f"{name}: input 0"):
        L.backward()


def test_custom_function_intermediate_changed_in_place_raises():
    x = eg.Variable(np.ones(3), requires_grad=True)
    captured = {}

    class Spy(KeepsIntermediate):
        @staticmethod
        def forward(ctx, x):
            out = KeepsIntermediate.forward(ctx, x)
            captured["twice"] = ctx.twice
            return out

    L = Spy.apply(x).sum()
    with eg.no_grad():
        captured["twice"] += 1.0
    with pytest.raises(RuntimeError, match="Spy: value 0 it saved"):
        L.backward()

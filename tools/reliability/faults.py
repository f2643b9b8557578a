"""Faults injected and survived.

A fault survived when it surfaces as the right Python exception, the next normal
computation gives the right answer (bitwise equal to an undisturbed run), and no
graph node or buffer is left behind.

Two families:

- ``allocation_faults``: a MemoryError injected at each buffer allocation, one after
  the other, of a training step (forward, backward, optimizer step) and of a
  Hessian, so that every allocation site on those paths fails once;
- ``callback_faults``: exceptions from Python code that the C++ engine calls (custom
  functions, hooks) and misuse of the graph (backward of a non-scalar without grad,
  a second backward, an in-place update of a saved value, KeyboardInterrupt in a
  hook, a hook returning the wrong shape).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, List, Optional, Tuple, Type

import numpy as np

import eigengrad as eg
from eigengrad import _core
from tools.reliability.memory import live


@dataclasses.dataclass
class FaultResult:
    name: str
    expected: str
    got: str  # the exception type raised ("" when none)
    recovered: bool  # the next computation gave the undisturbed answer
    leaked: int  # graph nodes + owned buffers left behind

    @property
    def survived(self) -> bool:
        return self.got == self.expected and self.recovered and self.leaked == 0


# ---- allocation faults ------------------------------------------------------------------


def _training_step() -> Tuple[Callable[[], None], Callable[[], List[np.ndarray]]]:
    """A fresh seeded model and a function running one step; the second function
    returns the parameters (copies)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 12))
    y = rng.integers(0, 4, 16)
    model = eg.nn.MLP([12, 16, 4], generator=0)
    opt = eg.optim.Adam(model.parameters(), lr=1e-2)

    def step():
        loss = eg.nn.cross_entropy(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step, lambda: [np.array(p) for p in model.parameters()]


def _hessian() -> Tuple[Callable[[], None], Callable[[], List[np.ndarray]]]:
    W = np.random.default_rng(3).standard_normal((4, 4))
    x = np.linspace(-1.0, 1.0, 4)
    out: List[np.ndarray] = []

    def step():
        out[:] = [np.array(eg.hessian(lambda v: (eg.tanh(W @ v) ** 2).sum())(x))]

    return step, lambda: list(out)


def allocation_faults(limit: Optional[int] = None) -> List[FaultResult]:
    """For each workload and each k below its allocation count (at most `limit` of
    them, spread evenly), the k-th allocation of one run fails: MemoryError; once the
    workload is dropped nothing of it is left; a fresh run then is exact."""
    results = []
    for name, make in [("training step", _training_step), ("hessian", _hessian)]:
        step, state = make()
        before = _core._testing.allocation_count()
        step()
        count = _core._testing.allocation_count() - before
        want = state()
        del step, state
        ks = range(count) if limit is None else np.unique(np.linspace(0, count - 1, min(limit, count)).astype(int))
        for k in ks:
            baseline = live()
            step, state = make()
            got = ""
            _core._testing.fail_allocations_after(int(k))
            try:
                step()
            except MemoryError:
                got = "MemoryError"
            except Exception as e:  # noqa: BLE001 - recorded as the wrong type
                got = type(e).__name__
            finally:
                _core._testing.fail_allocations_after(-1)
            del step, state
            leaked = _leak(baseline)
            step, state = make()
            step()
            recovered = all(np.array_equal(a, b) for a, b in zip(state(), want))
            del step, state
            results.append(FaultResult(f"{name}: allocation {k + 1} of {count} fails", "MemoryError", got,
                                       recovered, leaked))
    return results


def _leak(baseline: dict) -> int:
    now = live()
    return max(0, now["nodes"] - baseline["nodes"]) + max(0, now["buffers"] - baseline["buffers"])


# ---- exceptions from Python callbacks and graph misuse -------------------------------------


class _Boom(Exception):
    pass


def _reference_grad() -> np.ndarray:
    x = eg.Variable(np.linspace(-1.0, 1.0, 5), requires_grad=True)
    (eg.tanh(x) * x).sum().backward()
    return np.array(x.grad)


def _fault(name: str, expected: Type[BaseException], action: Callable[[], None]) -> FaultResult:
    want = _reference_grad()
    baseline = live()
    got = ""
    try:
        action()
    except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt is one of the faults
        got = type(e).__name__ if not isinstance(e, expected) else expected.__name__
    leaked = _leak(baseline)
    recovered = np.array_equal(_reference_grad(), want)
    return FaultResult(name, expected.__name__, got, recovered, leaked)


def _custom(forward_raises=False, backward_raises=None, jvp_raises=False, backward_result=None):
    class Custom(eg.Function):
        @staticmethod
        def forward(ctx, x):
            if forward_raises:
                raise _Boom("forward")
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, gout):
            if backward_raises is not None:
                raise backward_raises()
            if backward_result is not None:
                return backward_result
            (x,) = ctx.saved_tensors
            return gout * 2 * x

        @staticmethod
        def jvp(ctx, tx):
            if jvp_raises:
                raise _Boom("jvp")
            return tx

    return Custom


def callback_faults() -> List[FaultResult]:
    def leaf():
        return eg.Variable(np.linspace(-1.0, 1.0, 5), requires_grad=True)

    # Exceptions are made when raised (factories): an instance kept in a closure
    # would keep its traceback, and with it the graph, alive after the fault.
    def custom_backward(exc):
        def run():
            x = leaf()
            (_custom(backward_raises=exc).apply(eg.tanh(x)) * 3.0).sum().backward()
        return run

    def hook_raises(exc):
        def run():
            x = leaf()
            y = eg.tanh(x)

            def hook(g):
                raise exc()

            y.register_hook(hook)
            (y * y).sum().backward()
        return run

    def hook_result(value):
        def run():
            x = leaf()
            x.register_hook(lambda g: value)
            (x * 2.0).sum().backward()
        return run

    def inplace_saved():
        x = leaf()
        w = eg.Variable(np.ones(5))
        y = (x * w).sum()
        with eg.no_grad():
            w += 1.0
        y.backward()

    def optimizer_between():
        x = leaf()
        loss = (eg.exp(x) * x).sum()
        opt = eg.optim.SGD([x], lr=0.1)
        x.grad = np.ones(5)
        opt.step()
        loss.backward()

    def second_backward():
        x = leaf()
        y = (eg.exp(x)).sum()
        y.backward()
        y.backward()

    def custom_jvp():
        eg.jvp(lambda v: _custom(jvp_raises=True).apply(v), (np.ones(3),), (np.ones(3),))

    def grad_unused():
        x, z = leaf(), leaf()
        eg.autograd.grad((x * 2.0).sum(), [x, z])

    def custom_wrong_shape():
        x = leaf()
        _custom(backward_result=np.ones(3)).apply(x).sum().backward()

    def custom_wrong_count():
        x = leaf()
        _custom(backward_result=(np.ones(5), np.ones(5))).apply(x).sum().backward()

    def backward_in_thread_hook_raises():
        import threading
        errors: List[BaseException] = []

        def run():
            try:
                hook_raises(lambda: _Boom("in thread"))()
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        t = threading.Thread(target=run)
        t.start()
        t.join()
        if errors:
            raise errors[0]

    return [
        _fault("custom function: forward raises", _Boom,
               lambda: _custom(forward_raises=True).apply(leaf())),
        _fault("custom function: backward raises", _Boom, custom_backward(lambda: _Boom("backward"))),
        _fault("custom function: MemoryError in backward", MemoryError,
               custom_backward(lambda: MemoryError("injected"))),
        _fault("custom function: KeyboardInterrupt in backward", KeyboardInterrupt,
               custom_backward(KeyboardInterrupt)),
        _fault("custom function: jvp raises", _Boom, custom_jvp),
        _fault("custom function: backward returns the wrong shape", ValueError, custom_wrong_shape),
        _fault("custom function: backward returns too many gradients", ValueError, custom_wrong_count),
        _fault("hook raises", _Boom, hook_raises(lambda: _Boom("hook"))),
        _fault("hook raises KeyboardInterrupt", KeyboardInterrupt, hook_raises(KeyboardInterrupt)),
        _fault("hook raises in a backward on another thread", _Boom, backward_in_thread_hook_raises),
        _fault("hook returns the wrong shape", ValueError, hook_result(np.ones(3))),
        _fault("hook returns a string", TypeError, hook_result("g")),
        _fault("backward of a non-scalar without grad", RuntimeError, lambda: (leaf() * 2.0).backward()),
        _fault("second backward without retain_graph", RuntimeError, second_backward),
        _fault("grad of an unused input", RuntimeError, grad_unused),
        _fault("in-place update of a saved input", RuntimeError, inplace_saved),
        _fault("optimizer step between forward and backward", RuntimeError, optimizer_between),
    ]

"""Threads (Note [Threads] in cpp/src/lock_stripes.h) and interrupts
(tools.reliability.threads)."""

import threading

import numpy as np
import pytest

import eigengrad as eg
from tools.reliability import MAX_CTRL_C_MS, memory, threads


def test_backward_releases_the_gil(scale):
    seconds, counts = threads.gil_released(memory.scaled(300_000, scale))
    assert counts > 1000, (seconds, counts)


@pytest.mark.skipif(not hasattr(eg, "set_num_threads"),
                    reason="ops on large arrays release the GIL with the threaded kernels of issue 5")
def test_heavy_kernels_release_the_gil():
    a = np.random.default_rng(0).standard_normal((1500, 1500))
    count = [0]
    stop = threading.Event()

    def counter():
        while not stop.is_set():
            count[0] += 1

    t = threading.Thread(target=counter)
    t.start()
    before = count[0]
    for _ in range(3):
        eg.matmul(a, a)
    during = count[0] - before
    stop.set()
    t.join()
    assert during > 1000


def test_eight_threads_give_results_bitwise_equal_to_a_serial_run():
    assert threads.parallel_vs_serial(threads=8, steps=10)


def test_concurrent_backward_into_one_leaf_accumulates_exactly():
    got, want = threads.shared_leaf(threads=8, passes=50)
    assert got == want


def test_a_shared_graph_backwarded_by_eight_threads_runs_once():
    for _ in range(5):
        ran, raised, one_pass = threads.shared_graph(threads=8)
        assert (ran, raised, one_pass) == (1, 7, True)


def test_a_shared_graph_with_retain_graph_runs_in_every_thread():
    x = eg.Variable(np.linspace(-1.0, 1.0, 32), requires_grad=True)
    y = (eg.tanh(x) * eg.exp(x)).sum()
    barrier = threading.Barrier(8)

    def run():
        barrier.wait()
        for _ in range(10):
            y.backward(retain_graph=True)

    ts = [threading.Thread(target=run) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    xv = np.linspace(-1.0, 1.0, 32)
    one = (1 - np.tanh(xv) ** 2) * np.exp(xv) + np.tanh(xv) * np.exp(xv)
    np.testing.assert_allclose(x.grad.numpy(), 80 * one, rtol=1e-12)


def test_threads_reading_and_resetting_grad_while_others_accumulate():
    w = eg.Variable(np.ones(64), requires_grad=True)
    stop = threading.Event()
    errors = []

    def reader():
        while not stop.is_set():
            g = w.grad
            if g is not None and g.shape != (64,):
                errors.append(g.shape)

    def writer():
        for _ in range(200):
            (w * 2.0).sum().backward()
            if np.random.default_rng().random() < 0.1:
                w.grad = None

    r = threading.Thread(target=reader)
    r.start()
    ws = [threading.Thread(target=writer) for _ in range(4)]
    for t in ws:
        t.start()
    for t in ws:
        t.join()
    stop.set()
    r.join()
    assert not errors
    (w * 2.0).sum().backward()  # the last writer may have reset the gradient
    assert set(np.unique(w.grad.numpy())) <= {2.0 * k for k in range(1, 802)}


def test_a_python_custom_function_called_from_a_cpp_backward_holds_the_gil():
    assert threads.custom_rule_holds_gil()


def test_hooks_run_with_the_gil_on_any_thread():
    held = []
    x = eg.Variable(np.ones(3), requires_grad=True)
    x.register_hook(lambda g: held.append(eg._core._testing.gil_held()))

    t = threading.Thread(target=lambda: (x * 2.0).sum().backward())
    t.start()
    t.join()
    (x * 2.0).sum().backward()
    assert held == [True, True]


def test_ctrl_c_interrupts_a_long_backward(scale):
    # At least 200,000 ops (a backward of a few hundred ms even at small scales), so
    # that the signal comes while it runs.
    n = memory.scaled(1_000_000, max(scale, 0.2))
    result = threads.ctrl_c_delay(n, after=0.05)
    assert result.get("interrupted"), result
    assert result["delay_ms"] < MAX_CTRL_C_MS, result
    assert result["after_ok"], result


@pytest.mark.parametrize("n", [0, -1, 100000, 2**40, 2**80])
def test_set_num_threads_rejects_counts_out_of_range(n):
    before = eg.get_num_threads()
    with pytest.raises(ValueError, match="set_num_threads"):
        eg.set_num_threads(n)
    assert eg.get_num_threads() == before


@pytest.mark.parametrize("n", [1.5, True, "2", None])
def test_set_num_threads_rejects_non_integers(n):
    with pytest.raises(TypeError, match="set_num_threads"):
        eg.set_num_threads(n)


def test_set_num_threads_accepts_its_whole_range():
    before = eg.get_num_threads()
    try:
        for n in (1, 64):
            eg.set_num_threads(n)
            assert eg.get_num_threads() == n
            np.testing.assert_array_equal(eg.exp(np.zeros(1 << 17)).numpy(), np.ones(1 << 17))
    finally:
        eg.set_num_threads(before)

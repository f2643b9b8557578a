"""The buffer allocator (cpp/src/allocator.cpp, Note [Caching allocator]): its
statistics, the cache of large blocks and its bound, failures, threads."""

import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import eigengrad as eg

MiB = 1 << 20
LARGE = 1 << 18  # float64 elements: 2 MiB, a cached size
SMALL = 1 << 10  # 8 KiB: straight to malloc


@pytest.fixture(autouse=True)
def cache_on():
    """Each test starts with an empty cache of the default bound (also under
    .ci/sanitize, which turns the cache off for the rest of the suite)."""
    before = eg.get_memory_cache_limit()
    eg.set_memory_cache_limit(256 * MiB)
    eg.empty_cache()
    yield
    eg.set_memory_cache_limit(before)
    eg.empty_cache()


def owned(n, dtype=np.float64):
    """A Variable over a buffer eigengrad allocated (exp of a borrowed array)."""
    return eg.exp(eg.Variable(np.zeros(n, dtype)))


def stats():
    return eg.memory_stats()


def test_the_stats_dict_has_every_counter():
    s = stats()
    for key in ["bytes_in_use", "bytes_cached", "peak_bytes_in_use", "allocations", "cache_hits",
                "cache_misses", "cached_blocks", "cache_limit", "borrowed_buffers"]:
        assert isinstance(s[key], int) and s[key] >= 0, key
    assert s["cache_limit"] == 256 * MiB


@pytest.mark.parametrize("n", [1, 8, 9, SMALL, LARGE])  # 1 and 8 float64 live in their Storage
def test_bytes_in_use_go_up_and_back_down(n):
    before = stats()
    x = owned(n)
    during = stats()
    assert during["bytes_in_use"] - before["bytes_in_use"] == n * 8
    assert during["allocations"] - before["allocations"] == 1
    del x
    assert stats()["bytes_in_use"] == before["bytes_in_use"]


def test_peak_and_its_reset():
    eg.reset_peak_memory_stats()
    base = stats()["bytes_in_use"]
    assert stats()["peak_bytes_in_use"] == base
    x = owned(4 * LARGE)
    del x
    s = stats()
    assert s["bytes_in_use"] == base and s["peak_bytes_in_use"] >= base + 8 * MiB
    eg.reset_peak_memory_stats()
    assert stats()["peak_bytes_in_use"] == base


def test_repeated_same_size_allocations_hit_the_cache():
    before = stats()
    for _ in range(5):
        owned(LARGE)
    s = stats()
    assert s["cache_misses"] - before["cache_misses"] == 1
    assert s["cache_hits"] - before["cache_hits"] == 4
    assert s["cached_blocks"] == 1 and s["bytes_cached"] == 2 * MiB


def test_nearby_sizes_share_a_size_class_and_small_ones_are_not_cached():
    owned(int(2.1 * MiB) // 8)  # class 2.5 MiB
    before = stats()
    owned(int(2.4 * MiB) // 8)
    owned(SMALL)
    s = stats()
    assert s["cache_hits"] - before["cache_hits"] == 1
    assert s["cache_misses"] == before["cache_misses"]
    assert s["bytes_cached"] == int(2.5 * MiB)


def test_empty_cache_drops_every_cached_block():
    xs = [owned(LARGE * k) for k in (1, 2, 3)]
    del xs
    assert stats()["cached_blocks"] == 3
    eg.empty_cache()
    s = stats()
    assert s["bytes_cached"] == 0 and s["cached_blocks"] == 0


def test_a_zero_limit_turns_caching_off_and_a_negative_one_is_refused():
    owned(LARGE)
    assert stats()["bytes_cached"] > 0
    eg.set_memory_cache_limit(0)
    assert stats()["bytes_cached"] == 0
    before = stats()
    for _ in range(3):
        owned(LARGE)
    assert stats()["cache_hits"] == before["cache_hits"] and stats()["bytes_cached"] == 0
    with pytest.raises(ValueError, match="set_memory_cache_limit"):
        eg.set_memory_cache_limit(-1)


def test_the_bound_holds_under_churn_of_many_sizes():
    limit = 8 * MiB
    eg.set_memory_cache_limit(limit)
    rng = np.random.default_rng(0)
    alive = []
    for _ in range(400):
        alive.append(owned(int(rng.integers(LARGE // 8, 3 * LARGE // 2))))
        if len(alive) > 4 or rng.random() < 0.5:
            alive.pop(int(rng.integers(len(alive))))
        s = stats()
        assert s["bytes_cached"] <= limit
    s = stats()
    assert s["cache_hits"] > 0 and s["cached_blocks"] > 0
    eg.set_memory_cache_limit(3 * MiB)  # lowering the bound trims the cache
    assert stats()["bytes_cached"] <= 3 * MiB
    # A block larger than the whole bound is not kept.
    eg.empty_cache()
    owned(4 * LARGE)
    assert stats()["bytes_cached"] == 0


def test_borrowed_numpy_memory_is_not_counted_as_in_use():
    before = stats()
    a = np.ones(LARGE)
    v = eg.Variable(a)
    s = stats()
    assert s["bytes_in_use"] == before["bytes_in_use"]
    assert s["borrowed_buffers"] == before["borrowed_buffers"] + 1
    assert s["allocations"] == before["allocations"]
    del v


def test_threads_churning_keep_the_counters_exact():
    # Ops on 2**16 elements release the GIL: these threads allocate and free at once.
    eg.set_memory_cache_limit(4 * MiB)
    before = stats()
    per_thread, threads = 200, 4
    errors = []

    def churn(seed):
        try:
            rng = np.random.default_rng(seed)
            x = eg.Variable(rng.standard_normal(1 << 16))
            for k in range(per_thread):
                y = eg.exp(x) if k % 2 else eg.tanh(x)  # 512 KiB outputs, cached
                assert y.shape == x.shape
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    workers = [threading.Thread(target=churn, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    s = stats()
    assert s["bytes_in_use"] == before["bytes_in_use"]
    assert s["allocations"] - before["allocations"] == per_thread * threads
    hits = s["cache_hits"] - before["cache_hits"]
    misses = s["cache_misses"] - before["cache_misses"]
    assert hits + misses == per_thread * threads and hits > 0
    assert s["bytes_cached"] <= 4 * MiB
    assert s["bytes_cached"] == s["cached_blocks"] * 512 * 1024


def test_a_training_step_gives_the_same_bits_with_and_without_the_cache():
    def step():
        eg.random.seed(0)
        model = eg.nn.MLP([784, 256, 10])
        opt = eg.optim.SGD(model.parameters(), lr=0.1)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((64, 784)).astype(np.float32)
        labels = rng.integers(0, 10, 64)
        for _ in range(3):
            opt.zero_grad()
            loss = eg.nn.cross_entropy(model(eg.Variable(x)), labels)
            loss.backward()
            opt.step()
        return [p.numpy().copy() for p in model.parameters()]

    cached = step()
    assert stats()["cache_hits"] > 0
    eg.set_memory_cache_limit(0)
    for a, b in zip(cached, step()):
        np.testing.assert_array_equal(a, b)


def test_memory_errors_name_the_op_the_shape_and_the_dtype():
    x = eg.Variable(np.ones(4, np.float32), requires_grad=True)
    y = (eg.exp(x) * x).sum()
    # after: allocations that succeed first (backward: the seed, then sum's rule).
    for call, after, op in [(lambda: eg.exp(x), 0, "exp: "), (lambda: x @ x, 0, "matmul: "),
                            (lambda: eg.sum(x), 0, "sum: "),
                            (lambda: y.backward(retain_graph=True), 0, "backward: "),
                            (lambda: y.backward(retain_graph=True), 1, r"sum \(backward\): ")]:
        eg._core._testing.fail_allocations_after(after)
        try:
            with pytest.raises(MemoryError, match=rf"^{op}out of memory .*injected.* float32 tensor of shape"):
                call()
        finally:
            eg._core._testing.fail_allocations_after(-1)


def run_python(code, env=None):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS")
@pytest.mark.skipif("ASAN_OPTIONS" in os.environ, reason="ASan reserves address space of its own")
def test_a_failed_allocation_empties_the_cache_and_retries_then_raises():
    # Address space capped just above what the process uses plus 150 MiB: 200 MiB of
    # cached blocks must be given back for a new 120 MiB buffer; 400 MiB never fits.
    result = run_python("""
        import resource, numpy as np, eigengrad as eg
        eg.set_memory_cache_limit(1 << 30)
        blocks = [eg.exp(eg.Variable(np.zeros(25 << 17))) for _ in range(8)]  # 8 x 25 MiB
        del blocks
        assert eg.memory_stats()["bytes_cached"] >= 200 << 20
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + (150 << 20), resource.RLIM_INFINITY))
        y = eg.exp(eg.Variable(np.zeros(15 << 20)))  # 120 MiB
        assert eg.memory_stats()["bytes_cached"] == 0
        assert float(y.numpy()[-1]) == 1.0
        del y
        try:
            eg.exp(eg.Variable(np.zeros(50 << 20, np.float32)))
        except MemoryError as e:
            print(e)
    """)
    assert result.returncode == 0, result.stderr
    assert "exp: out of memory allocating 200.0 MiB for a float32 tensor of shape (52428800,)" in result.stdout


@pytest.mark.parametrize("value, limit", [("0", 0), ("512M", 512 * MiB), ("64MB", 64 * MiB),
                                          ("1048576", MiB), ("lots", None), ("12Q", None)])
def test_the_environment_variable_sets_the_bound(value, limit):
    result = run_python("import eigengrad as eg; print(eg.get_memory_cache_limit())",
                        {"EIGENGRAD_ALLOC_CACHE": value})
    assert result.returncode == 0, result.stderr
    default = run_python("import eigengrad as eg; print(eg.get_memory_cache_limit())",
                         {"EIGENGRAD_ALLOC_CACHE": ""})
    assert int(result.stdout) == (int(default.stdout) if limit is None else limit)


# Note [Inline buffers]: up to 64 bytes live inside their Storage; they are
# 64-byte aligned and computed on like any buffer, whatever their size.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 8, 15, 16, 17, 40])
def test_small_buffers_are_aligned_and_compute_as_large_ones(dtype, n):
    values = np.linspace(-2.0, 3.0, n).astype(dtype)
    large = np.concatenate([values, np.zeros(1000, dtype)])
    expected = (eg.exp(eg.Variable(large)) * 1.5).numpy()[:n]
    y = eg.exp(eg.Variable(values)) * 1.5
    data = np.asarray(y)
    assert data.ctypes.data % 64 == 0
    np.testing.assert_array_equal(data, expected)
    np.testing.assert_allclose(data, np.exp(values) * 1.5, rtol=4 * np.finfo(dtype).eps)
    # A view of the buffer keeps it alive after the Variable is gone.
    del y
    np.testing.assert_array_equal(data, expected)


def test_small_buffers_take_injected_failures():
    x = eg.Variable(np.ones(2))
    eg._core._testing.fail_allocations_after(0)
    try:
        with pytest.raises(MemoryError, match="exp"):
            eg.exp(x)
    finally:
        eg._core._testing.fail_allocations_after(-1)

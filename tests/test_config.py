"""eg.show_config and the GEMM backends (Eigen, and the optional BLAS library)."""

import importlib.util
import os

import numpy as np
import pytest

import eigengrad as eg

HAVE_BLAS = importlib.util.find_spec("scipy_openblas32") is not None
needs_blas = pytest.mark.skipif(not HAVE_BLAS, reason='needs the BLAS extra: pip install ".[blas]"')


@pytest.fixture
def backend():
    """Restores the backend and thresholds after the test."""
    saved = eg.get_gemm_backend(), eg.get_blas_threshold("float32"), eg.get_blas_threshold("float64")
    yield
    eg.set_gemm_backend(saved[0])
    eg.set_blas_threshold("float32", saved[1])
    eg.set_blas_threshold("float64", saved[2])


def test_show_config_prints_the_build_threads_and_backends(capsys):
    assert eg.show_config() is None
    out = capsys.readouterr().out
    simd = eg.show_config(mode="dicts")["build"]["simd"]
    assert f"SIMD {simd}" in out and "threads:" in out and "backend auto" in out and "Eigen 3.4" in out
    assert simd in ("AVX-512", "AVX2+FMA", "AVX2", "AVX", "SSE4.2", "SSE2", "NEON", "none")
    if HAVE_BLAS:
        assert "OpenBLAS" in out and "libscipy_openblas" in out
    else:
        assert 'pip install "eigengrad[blas]"' in out


def test_show_config_reports_the_instruction_set_the_build_uses():
    # .ci/isa-matrix builds for each -march level and says which level it built.
    expected = os.environ.get("EIGENGRAD_EXPECT_SIMD")
    if expected is None:
        pytest.skip("EIGENGRAD_EXPECT_SIMD is set by .ci/isa-matrix for the level it builds")
    assert eg.show_config(mode="dicts")["build"]["simd"] == expected


def test_show_config_dicts_and_bad_mode():
    data = eg.show_config(mode="dicts")
    assert set(data) == {"eigengrad", "build", "threads", "gemm", "blas", "memory"}
    assert data["threads"]["eigengrad"] == eg.get_num_threads()
    with pytest.raises(ValueError, match="mode must be 'stdout' or 'dicts'"):
        eg.show_config(mode="json")


def test_backend_settings_are_checked(backend):
    with pytest.raises(ValueError, match='expected "auto", "eigen" or "blas", got "mkl"'):
        eg.set_gemm_backend("mkl")
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got int64"):
        eg.set_blas_threshold("int64", 1e6)
    with pytest.raises(ValueError, match="must be >= 0"):
        eg.set_blas_threshold("float32", -1.0)
    eg.set_blas_threshold(np.float64, 123.0)
    assert eg.get_blas_threshold("float64") == 123.0


def test_load_blas_errors_name_the_library(tmp_path):
    with pytest.raises(RuntimeError, match=r"load_blas: cannot load .*nowhere\.so"):
        eg.load_blas(str(tmp_path / "nowhere.so"))
    with pytest.raises(RuntimeError, match="defines neither scipy_cblas_sgemm/dgemm nor cblas_sgemm/dgemm"):
        eg.load_blas("libm.so.6")


# Every transpose the backward rules use, batched and broadcast products, the stacked
# (..., m, k) @ (k, n) path, and the Jacobian path (x @ columns).
PRODUCTS = [((64, 48), (48, 80)), ((3, 64, 48), (48, 80)), ((2, 3, 40, 50), (3, 50, 30)),
            ((70, 60), (60,)), ((5, 130), (130, 7)), ((0, 40), (40, 9)), ((33, 0), (0, 17))]


@needs_blas
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("xs, ys", PRODUCTS)
def test_blas_and_eigen_give_the_same_products_and_gradients(backend, dtype, xs, ys):
    rng = np.random.default_rng(0)
    x0, y0 = rng.normal(size=xs).astype(dtype), rng.normal(size=ys).astype(dtype)
    results = {}
    for name in ("eigen", "blas"):
        eg.set_gemm_backend(name)
        x, y = eg.Variable(x0, requires_grad=True), eg.Variable(y0, requires_grad=True)
        out = x @ y
        (out * out).sum().backward()
        results[name] = [np.asarray(out), np.asarray(x.grad), np.asarray(y.grad)]
    tol = dict(rtol=2e-5, atol=1e-4) if dtype == "float32" else dict(rtol=1e-12, atol=1e-11)
    expected = np.matmul(x0.astype(np.float64), y0.astype(np.float64))
    np.testing.assert_allclose(results["blas"][0], expected, **tol)
    for a, b in zip(results["eigen"], results["blas"]):
        np.testing.assert_allclose(a, b, **tol)


@needs_blas
def test_blas_results_are_the_same_bits_every_time_for_a_thread_count(backend):
    eg.set_gemm_backend("blas")
    rng = np.random.default_rng(1)
    # 400 x 300 x 300: large enough to run on every thread (2^24 multiply-adds on).
    a, b = rng.normal(size=(400, 300)).astype("float32"), rng.normal(size=(300, 300)).astype("float32")
    previous = eg.get_num_threads()
    try:
        for threads in (1, 2):
            eg.set_num_threads(threads)
            first = np.asarray(eg.matmul(a, b))
            for _ in range(3):
                assert np.array_equal(np.asarray(eg.matmul(a, b)), first)
    finally:
        eg.set_num_threads(previous)


@needs_blas
def test_blas_runs_on_one_thread_whatever_set_num_threads_says(backend):
    """Note [One thread pool] (kernels/blas.cpp): the library's own pool stays at one
    thread, so it never competes with eigengrad's OpenMP threads; large products are
    split by rows over those instead. A count changed behind our back (threadpoolctl)
    is set back at the next product."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="needs threadpoolctl (the test extra)")
    eg.set_gemm_backend("blas")
    previous = eg.get_num_threads()

    def ours():
        infos = [i for i in threadpoolctl.threadpool_info() if "scipy_openblas32" in i["filepath"]]
        assert len(infos) == 1, threadpoolctl.threadpool_info()
        return infos[0]["num_threads"]

    rng = np.random.default_rng(0)
    big, small = rng.standard_normal((300, 300)), rng.standard_normal((64, 64))  # 2.7e7, 2.6e5 madds
    try:
        for threads in (1, 2):
            eg.set_num_threads(threads)
            with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
                product = eg.matmul(big, big).numpy()
                assert ours() == 1
            np.testing.assert_allclose(product, big @ big, rtol=1e-12, atol=1e-12)
            # Split over 2 threads or not, the same bits every run.
            assert np.array_equal(eg.matmul(big, big).numpy(), product)
            eg.matmul(small, small)
            assert ours() == 1
    finally:
        eg.set_num_threads(previous)


@needs_blas
def test_auto_uses_blas_from_the_threshold_on(backend):
    """The threshold decides. Seen through the library's thread pool: eigengrad sets it
    to one thread only when it calls the library. (The bits cannot tell: on some
    builds Eigen and OpenBLAS sum in the same order.)"""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="needs threadpoolctl (the test extra)")

    def ours():
        return next(i["num_threads"] for i in threadpoolctl.threadpool_info() if "scipy_openblas32" in i["filepath"])

    big = np.ones((300, 300))
    previous = eg.get_num_threads()
    try:
        eg.set_num_threads(2)
        eg.set_gemm_backend("auto")
        with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
            eg.set_blas_threshold("float64", 300.0**3 + 1)
            eg.matmul(big, big)
            assert ours() == 2  # Eigen computed it: the library was not called
            eg.set_blas_threshold("float64", 300.0**3)
            eg.matmul(big, big)
            assert ours() == 1  # the library computed it
    finally:
        eg.set_num_threads(previous)


@needs_blas
def test_auto_keeps_narrow_products_with_eigen(backend):
    """A matrix times a few vectors stays with Eigen in "auto" whatever its size (the
    library leaves its pool as it was): OpenBLAS packs the whole matrix first."""
    threadpoolctl = pytest.importorskip("threadpoolctl", reason="needs threadpoolctl (the test extra)")

    def ours():
        return next(i["num_threads"] for i in threadpoolctl.threadpool_info() if "scipy_openblas32" in i["filepath"])

    big, narrow = np.ones((600, 600)), np.ones((600, 4))
    eg.set_gemm_backend("auto")
    eg.set_blas_threshold("float64", 1.0)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        np.testing.assert_array_equal(eg.matmul(big, narrow).numpy(), big @ narrow)
        np.testing.assert_array_equal(eg.matmul(narrow.T, big).numpy(), narrow.T @ big)
        assert ours() == 2  # not called
        eg.matmul(big, big)
        assert ours() == 1  # called


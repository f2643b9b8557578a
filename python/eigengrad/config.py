"""How this eigengrad computes: the build, the threads and the matrix-product backends.

``eg.show_config()`` prints it (as ``numpy.show_config()`` does); the optional BLAS
backend is the scipy-openblas32 wheel (``pip install "eigengrad[blas]"``), loaded at
import when installed unless ``EIGENGRAD_BLAS=0`` (Note [GEMM backends] in
cpp/src/kernels/blas.cpp).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
from typing import Any, Dict, Optional

import eigengrad._core as _core

BLAS_HINT = 'pip install "eigengrad[blas]" (from a source checkout: pip install ".[blas]")'


def _openblas_wheel_library() -> Optional[str]:
    """The shared library of the installed scipy-openblas32 wheel, or None."""
    if importlib.util.find_spec("scipy_openblas32") is None:
        return None
    import scipy_openblas32

    path = os.path.join(scipy_openblas32.get_lib_dir(), f"lib{scipy_openblas32.get_library()}.so")
    return path if os.path.exists(path) else None


def load_blas(path: Optional[str] = None) -> Dict[str, Any]:
    """Loads a CBLAS library for the matrix products where it beats Eigen.

    Parameters
    ----------
    path : str, optional
        A shared library with ``cblas_sgemm``/``cblas_dgemm`` (32-bit integers) or
        the scipy-openblas32 wheel's ``scipy_``-prefixed names. By default, the
        installed scipy-openblas32 wheel's library.

    Returns
    -------
    dict
        What ``eg.show_config(mode="dicts")["blas"]`` reports.

    Raises
    ------
    ImportError
        No path given and the wheel is not installed (names the extra to install).
    RuntimeError
        The library cannot be loaded or lacks the GEMM functions.
    """
    if path is None:
        path = _openblas_wheel_library()
        if path is None:
            raise ImportError(f"load_blas: no BLAS library given and scipy-openblas32 is not installed: {BLAS_HINT}")
    _core._load_blas(str(path))
    return _core._blas_info()


def _load_blas_at_import() -> None:
    if os.environ.get("EIGENGRAD_BLAS", "1") == "0":
        return
    path = _openblas_wheel_library()
    if path is not None:
        _core._load_blas(path)


def config() -> Dict[str, Any]:
    """The configuration as nested dicts (what ``show_config(mode="dicts")`` returns)."""
    try:
        version = importlib.metadata.version("eigengrad")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        version = "unknown"
    build = _core._build_info()
    blas = _core._blas_info()
    return {
        "eigengrad": {"version": version, "python": platform.python_version(), "machine": platform.machine()},
        "build": {"simd": build["simd"], "compiler": build["compiler"], "openmp": build["openmp"]},
        "threads": {"eigengrad": _core.get_num_threads()},
        "gemm": {
            "backend": _core.get_gemm_backend(),
            "eigen": build["eigen"],
            "blas_threshold_multiply_adds": {dtype: _core.get_blas_threshold(dtype) for dtype in ("float32", "float64")},
        },
        "blas": {**blas, "hint": "" if blas["loaded"] else BLAS_HINT},
        "memory": {"cache_limit_bytes": _core.get_memory_cache_limit()},
    }


def show_config(mode: str = "stdout") -> Optional[Dict[str, Any]]:
    """Prints (``mode="stdout"``) or returns (``mode="dicts"``) how eigengrad computes:
    the version, the SIMD level the C++ core was compiled for, the compiler, OpenMP
    and the thread count, the matrix-product backends (Eigen, and the BLAS library
    when one is loaded, with its own description and the sizes from which it is
    used), and the memory cache bound."""
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    data = config()
    if mode == "dicts":
        return data
    blas = data["blas"]
    lines = [
        f"eigengrad {data['eigengrad']['version']} (Python {data['eigengrad']['python']}, {data['eigengrad']['machine']})",
        f"build:    SIMD {data['build']['simd']}, {data['build']['compiler']}, "
        f"OpenMP {'on' if data['build']['openmp'] else 'off'}",
        f"threads:  {data['threads']['eigengrad']} (eg.set_num_threads; large products are split over them, BLAS itself on one thread)",
        f"gemm:     backend {data['gemm']['backend']}; Eigen {data['gemm']['eigen']}",
    ]
    if blas["loaded"]:
        limits = data["gemm"]["blas_threshold_multiply_adds"]
        lines += [f"blas:     {blas['path']}",
                  f"          {blas['config'] or '(no description)'}" + (f", core {blas['corename']}" if blas['corename'] else ""),
                  f"          used from {limits['float32']:.3g} (float32) and {limits['float64']:.3g} (float64) "
                  "multiply-adds in backend auto"]
    else:
        lines.append(f"blas:     none loaded (Eigen computes every product); {BLAS_HINT}")
    lines.append(f"memory:   cache bound {data['memory']['cache_limit_bytes'] / 2**20:.0f} MiB")
    print("\n".join(lines))
    return None

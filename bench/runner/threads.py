"""The thread settings of a pass, made before NumPy, PyTorch or JAX load.

NumPy's BLAS reads its thread count from the environment once, at import, which is
why every pass is a process of its own (see bench/run.py).
"""

import os

BLAS_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
# The long-standing recipe for single-threaded XLA on CPU (JAX issue 743); its second
# word has no leading dashes, as the recipe writes it, and XLA accepts it (an unknown
# --flag aborts). Not enough for jaxlib 0.10 on its own: see set_threads.
XLA_ONE_THREAD = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"


def thread_env(threads):
    """The environment a pass runs in: every thread knob set before anything loads."""
    env = {var: str(threads) for var in BLAS_VARS}
    env["XLA_FLAGS"] = XLA_ONE_THREAD if threads == 1 else None
    return env


def set_threads(threads):
    """Set this process's thread environment (and, for one thread, pin it to one CPU);
    call it before NumPy, torch or jax is imported. Returns the pinned CPU, or None."""
    for var, value in thread_env(threads).items():  # before NumPy, torch, jax load
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    pinned = None
    if threads == 1 and hasattr(os, "sched_setaffinity"):
        # XLA_FLAGS alone no longer keeps jaxlib's CPU runtime on one thread (0.10 ran a
        # 2048 GEMM on both cores with them), and its pool is sized from the affinity
        # mask: so the one-thread pass runs on one CPU, set before any library starts
        # a thread.
        pinned = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {pinned})
    return pinned

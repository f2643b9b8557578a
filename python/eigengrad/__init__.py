"""eigengrad: tensor automatic differentiation with a C++ (Eigen) engine.

Write NumPy-style code on :class:`Variable` objects and get gradients by reverse
mode. Gradients follow denominator layout: the gradient of a scalar with respect to
``X`` has exactly ``X.shape``.

Examples
--------
>>> import numpy as np, eigengrad as eg
>>> W = eg.Variable(np.ones((3, 4)), requires_grad=True)
>>> x = eg.Variable(np.arange(4.0))
>>> L = eg.sigmoid(W @ x).sum()
>>> L.backward()
>>> W.grad.shape
(3, 4)
"""


def _load_core_with_short_openmp_spin() -> None:
    """Imports the native module with libgomp's spin shortened (Note [OpenMP spin]).

    Note [OpenMP spin]: after a parallel region libgomp's idle threads spin,
    300,000 turns by default, before they sleep. On a machine with as many cores as
    threads that spin takes the cores from the next thing to run: the main thread's
    serial work and BLAS's own threads. libgomp reads GOMP_SPINCOUNT once, when it
    loads (with eigengrad._core), so it is set for that moment only, unless the user
    chose a spin or wait policy. 10,000 turns keep back-to-back element-wise kernels
    from sleeping between them. Measured on 2 cores, 784-1024-1024-10 MLP step on 2
    threads: see bench/python/mlp.py --threads 2."""
    import os

    chosen = any(k in os.environ for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY"))
    if not chosen:
        os.environ["GOMP_SPINCOUNT"] = "10000"
    try:
        import eigengrad._core  # noqa: F401
    finally:
        if not chosen:
            del os.environ["GOMP_SPINCOUNT"]


_load_core_with_short_openmp_spin()
del _load_core_with_short_openmp_spin

from eigengrad._core import (  # noqa: E402
    Node,
    Variable,
    abs,
    add,
    arccos,
    arcsin,
    arctan,
    arctan2,
    arctanh,
    astype,
    broadcast_to,
    clip,
    concatenate,
    cos,
    cosh,
    div,
    erf,
    erfc,
    empty_cache,
    exp,
    expm1,
    get_blas_threshold,
    get_gemm_backend,
    get_memory_cache_limit,
    get_num_threads,
    log,
    log1p,
    log_sigmoid,
    log_softmax,
    logaddexp,
    logsumexp,
    matmul,
    max,
    maximum,
    memory_stats,
    mean,
    min,
    minimum,
    mul,
    neg,
    pow,
    relu,
    reset_peak_memory_stats,
    reshape,
    set_blas_threshold,
    set_gemm_backend,
    set_memory_cache_limit,
    set_num_threads,
    sigmoid,
    sign,
    sin,
    sinh,
    softmax,
    softplus,
    sqrt,
    square,
    stack,
    sub,
    sum,
    sum_to,
    take,
    tanh,
    transpose,
    where,
)
# issue 14: scans, reductions, rearrangements and indexing (one block for merging)
from eigengrad._core import (  # noqa: E402
    argmax,
    argmin,
    argsort,
    cumprod,
    cumsum,
    diag,
    diagonal,
    flip,
    pad,
    prod,
    roll,
    scatter_add,
    sort,
    std,
    take_along_axis,
    tensordot,
    trace,
    tril,
    triu,
    var,
)

atan2 = arctan2  # NumPy's name is arctan2; C's and PyTorch's atan2

from eigengrad import _variable  # noqa: F401  (adds indexing, repr, comparisons)
from eigengrad import _inplace  # noqa: F401  (adds +=, -=, *=, /=, **=)
from eigengrad import autograd, random
from eigengrad.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from eigengrad.autograd import is_strong_zero_enabled, set_strong_zero, strong_zero
from eigengrad.function import Function, FunctionCtx, custom_vjp
from eigengrad.checkpointing import checkpoint
from eigengrad.explain import Explanation, explain
from eigengrad.monitor import GradMonitor, grad_monitor
from eigengrad.functional import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
from eigengrad.vmap import vmap
from eigengrad.jacobian_plan import JacobianPlan, jacobian_plan
from eigengrad.sparse_jacobian import jacobian_sparsity
from eigengrad.creation import arange, eye, full, full_like, ones, ones_like, zeros, zeros_like
from eigengrad.gradcheck import GradcheckError, gradcheck
from eigengrad.norms import norm
from eigengrad.einsum import einsum
from eigengrad.config import load_blas, show_config
from eigengrad.dlpack import from_dlpack
# eg.linalg (issue 14)
from eigengrad import linalg
from eigengrad import config as _config

_config._load_blas_at_import()

float32 = "float32"
float64 = "float64"

__version__ = "0.1.0"

from eigengrad import datasets, nn, optim  # noqa: E402
from eigengrad.serialization import load, save  # noqa: E402

# What `from eigengrad import *` gives and what type checkers see as exported; a name
# imported above for users goes here too (tests/test_typing.py checks it).
__all__ = [
    "abs", "add", "arange", "arccos", "arcsin", "arctan", "arctan2", "arctanh", "argmax", "argmin",
    "argsort", "astype", "atan2", "autograd", "broadcast_to", "checkpoint", "clip", "concatenate", "cos",
    "cosh", "cumprod", "cumsum", "custom_vjp", "datasets", "diag", "diagonal", "div", "einsum",
    "empty_cache", "enable_grad", "erf", "erfc", "exp", "explain", "Explanation", "expm1", "eye", "flip",
    "float32", "float64", "from_dlpack", "full", "full_like", "Function", "FunctionCtx",
    "get_blas_threshold", "get_gemm_backend", "get_memory_cache_limit", "get_num_threads", "grad",
    "grad_monitor", "gradcheck", "GradcheckError", "GradMonitor", "hessian", "hvp", "is_grad_enabled",
    "is_strong_zero_enabled", "jacobian", "jacobian_plan", "jacobian_sparsity", "JacobianPlan", "jvp",
    "linalg", "load", "load_blas", "log", "log1p", "log_sigmoid", "log_softmax", "logaddexp", "logsumexp",
    "matmul", "max", "maximum", "mean", "memory_stats", "min", "minimum", "mul", "neg", "nn", "no_grad",
    "Node", "norm", "ones", "ones_like", "optim", "pad", "pow", "prod", "random", "relu",
    "reset_peak_memory_stats", "reshape", "roll", "save", "scatter_add", "set_blas_threshold",
    "set_gemm_backend", "set_grad_enabled", "set_memory_cache_limit", "set_num_threads", "set_strong_zero",
    "show_config", "sigmoid", "sign", "sin", "sinh", "softmax", "softplus", "sort", "sqrt", "square",
    "stack", "std", "strong_zero", "sub", "sum", "sum_to", "take", "take_along_axis", "tanh", "tensordot",
    "trace", "transpose", "tril", "triu", "value_and_grad", "var", "Variable", "vjp", "vmap", "where", "zeros",
    "zeros_like",
]

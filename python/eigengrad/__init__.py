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

from eigengrad._core import (
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
from eigengrad.creation import arange, eye, full, full_like, ones, ones_like, zeros, zeros_like
from eigengrad.gradcheck import GradcheckError, gradcheck
from eigengrad.norms import norm
from eigengrad.config import load_blas, show_config
from eigengrad.dlpack import from_dlpack
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
    "cosh", "cumprod", "cumsum", "custom_vjp", "datasets", "diag", "diagonal", "div", "empty_cache",
    "enable_grad", "erf", "erfc", "exp", "explain", "Explanation", "expm1", "eye", "flip", "float32",
    "float64", "from_dlpack", "full", "full_like", "Function", "FunctionCtx", "get_blas_threshold",
    "get_gemm_backend", "get_memory_cache_limit", "get_num_threads", "grad", "grad_monitor", "gradcheck",
    "GradcheckError", "GradMonitor", "hessian", "hvp", "is_grad_enabled", "is_strong_zero_enabled",
    "jacobian", "jvp", "load", "load_blas", "log", "log1p", "log_sigmoid", "log_softmax", "logaddexp",
    "logsumexp", "matmul", "max", "maximum", "mean", "memory_stats", "min", "minimum", "mul", "neg", "nn",
    "no_grad", "Node", "norm", "ones", "ones_like", "optim", "pad", "pow", "prod", "random", "relu",
    "reset_peak_memory_stats", "reshape", "roll", "save", "scatter_add", "set_blas_threshold",
    "set_gemm_backend", "set_grad_enabled", "set_memory_cache_limit", "set_num_threads", "set_strong_zero",
    "show_config", "sigmoid", "sign", "sin", "sinh", "softmax", "softplus", "sort", "sqrt", "square",
    "stack", "std", "strong_zero", "sub", "sum", "sum_to", "take", "take_along_axis", "tanh", "tensordot",
    "trace", "transpose", "tril", "triu", "value_and_grad", "var", "Variable", "vjp", "where", "zeros",
    "zeros_like",
]

# The type stub of eigengrad._core, written by tools/gen_stubs.py (pybind11-stubgen
# and a clean-up). Do not edit it by hand: change the bindings, rebuild, and run
# `python tools/gen_stubs.py`.
"""
eigengrad's C++ engine (tensors, ops, reverse mode). Use the eigengrad package.
"""
from __future__ import annotations
import collections.abc
import typing
import numpy as _np
import numpy.typing as _npt
import types
_testing: types.ModuleType
linalg: types.ModuleType

class Variable:
    """
    An n-d array of float32 or float64 that records the ops applied to it.
    
    Variable(data, requires_grad=False, dtype=None): `data` is any array-like. A
    C-contiguous float32/float64 NumPy array is shared, not copied; integer and bool data
    become float64 (or `dtype`, which must be float32 or float64).
    """
    __array_ufunc__ = None
    def __bool__(self) -> bool:
        ...
    def __copy__(self) -> Variable:
        ...
    def __deepcopy__(self, memo: dict[int, typing.Any]) -> Variable:
        ...
    def __float__(self) -> float:
        ...
    def __getitem__(self, key: typing.Any) -> Variable:
        ...
    def __iter__(self) -> typing.Iterator[Variable]:
        ...
    def __reduce_ex__(self, protocol: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __str__(self) -> str:
        ...
    def __add__(self, arg0: typing.Any) -> Variable:
        ...
    def __array__(self, dtype: typing.Any = None, copy: typing.Any = None) -> typing.Any:
        ...
    def __dlpack__(self, *, stream: typing.Any = None, max_version: tuple[int, int] | None = None, dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> typing.Any:
        """
        Exports the Variable's values as a DLPack capsule (Python array API standard).
        
            A versioned DLPack 1.x capsule when ``max_version`` allows it (NumPy 2 and
            PyTorch ask for one), else a legacy capsule (JAX). Zero-copy unless ``copy=True``;
            the capsule keeps the buffer alive. CPU only: ``stream`` must be None and
            ``dl_device`` the CPU. The graph is not exported (as ``np.asarray(v)``).
            
        """
    def __dlpack_device__(self) -> tuple[int, int]:
        """
        ``(1, 0)``: DLPack's CPU device type and device 0.
        """
    def __eq__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:  # type: ignore[override]
        ...
    def __ge__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:
        ...
    def __gt__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:
        ...
    def __hash__(self) -> int:
        """
        Return hash(self).
        """
    def __iadd__(self, other: typing.Any) -> Variable:
        ...
    def __imul__(self, other: typing.Any) -> Variable:
        ...
    def __init__(self, data: typing.Any, requires_grad: bool = False, dtype: typing.Any = None) -> None:
        ...
    def __ipow__(self, other: typing.Any) -> Variable:
        ...
    def __isub__(self, other: typing.Any) -> Variable:
        ...
    def __itruediv__(self, other: typing.Any) -> Variable:
        ...
    def __le__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:
        ...
    def __len__(self) -> int:
        ...
    def __lt__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:
        ...
    def __matmul__(self, arg0: typing.Any) -> Variable:
        ...
    def __mul__(self, arg0: typing.Any) -> Variable:
        ...
    def __ne__(self, other: typing.Any) -> _npt.NDArray[_np.bool_]:  # type: ignore[override]
        ...
    def __neg__(self) -> Variable:
        ...
    def __pos__(self) -> Variable:
        ...
    def __pow__(self, arg0: typing.Any) -> Variable:
        ...
    def __radd__(self, arg0: typing.Any) -> Variable:
        ...
    def __rmatmul__(self, arg0: typing.Any) -> Variable:
        ...
    def __rmul__(self, arg0: typing.Any) -> Variable:
        ...
    def __rpow__(self, arg0: typing.Any) -> Variable:
        ...
    def __rsub__(self, arg0: typing.Any) -> Variable:
        ...
    def __rtruediv__(self, arg0: typing.Any) -> Variable:
        ...
    def __sub__(self, arg0: typing.Any) -> Variable:
        ...
    def __truediv__(self, arg0: typing.Any) -> Variable:
        ...
    def abs(self) -> Variable:
        """
        |x|; the gradient at 0 is 0.
        """
    def arccos(self) -> Variable:
        """
        Inverse cosine; NaN for |x| > 1; the gradient at +-1 is -inf.
        """
    def arcsin(self) -> Variable:
        """
        Inverse sine; NaN for |x| > 1; the gradient at +-1 is +inf.
        """
    def arctan(self) -> Variable:
        """
        Inverse tangent.
        """
    def arctanh(self) -> Variable:
        """
        Inverse hyperbolic tangent; +-inf at +-1; the gradient there is +inf.
        """
    def argmax(self, axis: typing.Any = None, keepdims: bool = False) -> typing.Any:
        """
        eigengrad.argmax of this Variable (int64 NumPy array).
        """
    def argmin(self, axis: typing.Any = None, keepdims: bool = False) -> typing.Any:
        """
        eigengrad.argmin of this Variable (int64 NumPy array).
        """
    def argsort(self, axis: typing.Any = -1) -> typing.Any:
        """
        eigengrad.argsort of this Variable (int64 NumPy array).
        """
    def astype(self, dtype: typing.Any) -> Variable:
        """
        A copy converted to dtype (float32 or float64); the gradient converts back.
        """
    def backward(self, grad: typing.Any = None, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """
        Accumulates d(self)/d(leaf), contracted with `grad` (default 1 for one element), into leaf.grad.
        retain_graph defaults to create_graph.
        """
    def clip(self, a_min: typing.Any = None, a_max: typing.Any = None) -> Variable:
        """
        eigengrad.clip of this Variable.
        """
    def copy_(self, value: typing.Any) -> Variable:
        """
        Writes `value` (broadcast, converted to this dtype) into this Variable's buffer in place and
        bumps its version; every view of the buffer sees it, and a backward that saved the old values
        raises. Needs grad mode off when the Variable requires grad. Returns self.
        """
    def cos(self) -> Variable:
        """
        Cosine.
        """
    def cosh(self) -> Variable:
        """
        Hyperbolic cosine.
        """
    def cumprod(self, axis: typing.Any = None) -> Variable:
        """
        eigengrad.cumprod of this Variable.
        """
    def cumsum(self, axis: typing.Any = None) -> Variable:
        """
        eigengrad.cumsum of this Variable.
        """
    def detach(self) -> Variable:
        """
        A leaf sharing this value, cut from the graph.
        """
    def diagonal(self, offset: typing.Any = 0, axis1: typing.Any = 0, axis2: typing.Any = 1) -> Variable:
        """
        eigengrad.diagonal of this Variable.
        """
    def erf(self) -> Variable:
        """
        The error function.
        """
    def erfc(self) -> Variable:
        """
        1 - erf(x), accurate for large x.
        """
    def exp(self) -> Variable:
        """
        e ** x
        """
    def expm1(self) -> Variable:
        """
        exp(x) - 1, accurate near 0.
        """
    def item(self) -> float:
        """
        The only element as a Python float.
        """
    def log(self) -> Variable:
        """
        Natural logarithm.
        """
    def log1p(self) -> Variable:
        """
        log(1 + x), accurate near 0.
        """
    def log_sigmoid(self) -> Variable:
        """
        log(sigmoid(x)) = -softplus(-x), without overflow.
        """
    def logsumexp(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        log(sum(exp(x))) over axis, stable; over all -inf: value -inf, gradient 0.
        """
    def max(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        Maximum over axis; ties share the gradient evenly.
        """
    def mean(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        Mean over axis (None: all, int or tuple).
        """
    def min(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        Minimum over axis; ties share the gradient evenly.
        """
    def neg(self) -> Variable:
        """
        -x
        """
    def numpy(self) -> _npt.NDArray[typing.Any]:
        """
        A NumPy array viewing the same memory (no copy).
        """
    def prod(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        eigengrad.prod of this Variable.
        """
    def register_hook(self, hook: collections.abc.Callable[..., typing.Any]) -> HookHandle:
        """
        Calls hook(grad) with this Variable's gradient in every backward that computes it (for a leaf,
        before accumulating into .grad); a returned Variable or array replaces the gradient, None keeps
        it. Returns a handle whose remove() takes the hook off.
        """
    def register_post_accumulate_grad_hook(self, hook: collections.abc.Callable[..., typing.Any]) -> HookHandle:
        """
        Calls hook(variable) on this leaf in every backward() once its .grad holds the pass's whole
        gradient, while the rest of the backward is still to run (data-parallel training starts its
        gradient reduction here). The hook must return None. Not called by eg.grad and other
        transforms, which do not accumulate. Returns a handle whose remove() takes the hook off.
        """
    def relu(self) -> Variable:
        """
        max(x, 0); the gradient at 0 is 0.
        """
    def reshape(self, *args: typing.Any) -> Variable:
        """
        numpy.ndarray.reshape: the shape as a tuple or as separate ints, one -1 inferred.
        """
    def sigmoid(self) -> Variable:
        """
        1 / (1 + exp(-x)), finite for any x.
        """
    def sign(self) -> Variable:
        """
        -1, 0 or 1 (NaN stays NaN); its gradient is 0.
        """
    def sin(self) -> Variable:
        """
        Sine.
        """
    def sinh(self) -> Variable:
        """
        Hyperbolic sine.
        """
    def softplus(self) -> Variable:
        """
        log(1 + exp(x)), without overflow (PyTorch's softplus, beta=1).
        """
    def sqrt(self) -> Variable:
        """
        Square root.
        """
    def square(self) -> Variable:
        """
        x ** 2
        """
    def std(self, axis: typing.Any = None, ddof: typing.Any = 0, keepdims: bool = False) -> Variable:
        """
        numpy.std = sqrt(var); over a constant slice the gradient is 0.
        """
    def sum(self, axis: typing.Any = None, keepdims: bool = False) -> Variable:
        """
        Sum over axis (None: all, int or tuple).
        """
    def tanh(self) -> Variable:
        """
        Hyperbolic tangent.
        """
    def trace(self, offset: typing.Any = 0, axis1: typing.Any = 0, axis2: typing.Any = 1) -> Variable:
        """
        eigengrad.trace of this Variable.
        """
    def transpose(self, *args: typing.Any) -> Variable:
        """
        numpy.ndarray.transpose: axes permuted, as a tuple or separate ints (none: reversed).
        """
    def var(self, axis: typing.Any = None, ddof: typing.Any = 0, keepdims: bool = False) -> Variable:
        """
        numpy.var: mean squared deviation over axis, divisor n - ddof.
        """
    @property
    def T(self) -> Variable:
        """
        The axes reversed (numpy's .T).
        """
    @property
    def _gradient_edge(self) -> typing.Any:
        """
        The node this Variable's cotangent goes to: grad_fn, or a leaf's gradient accumulator (None when
        it does not require grad).
        """
    @property
    def _version(self) -> int:
        """
        How many in-place writes eigengrad has made to this Variable's buffer.
        """
    @property
    def dtype(self) -> _np.dtype[typing.Any]:
        """
        numpy.float32 or numpy.float64, as a NumPy dtype.
        """
    @property
    def grad(self) -> Variable | None:
        """
        The gradient accumulated by backward (None before), shaped like the Variable.
        """
    @grad.setter
    def grad(self, arg1: typing.Any) -> None:
        ...
    @property
    def grad_fn(self) -> Node | None:
        """
        The recorded op that computed this Variable (a Node), or None for a leaf.
        """
    @property
    def is_leaf(self) -> bool:
        """
        True unless the Variable was computed by a recorded op (then it has a grad_fn).
        """
    @property
    def ndim(self) -> int:
        """
        The number of axes.
        """
    @property
    def requires_grad(self) -> bool:
        """
        Whether ops on this Variable are recorded for reverse mode (settable on a leaf).
        """
    @requires_grad.setter
    def requires_grad(self, arg1: bool) -> None:
        ...
    @property
    def shape(self) -> tuple[int, ...]:
        """
        The sizes of the axes, a tuple of ints (() for a scalar).
        """
    @property
    def size(self) -> int:
        """
        The number of elements.
        """
class Node:
    """
    A recorded op application (a Variable's grad_fn).
    """
    def __eq__(self, arg0: typing.Any) -> bool:
        ...
    def __hash__(self) -> int:
        ...
    def __repr__(self) -> str:
        ...
    def _vjp(self, gout: Variable, needs: collections.abc.Sequence[bool]) -> tuple[typing.Any, ...]:
        """
        This op's backward rule applied to `gout` (the output's shape, or leading batch dimensions
        first), one cotangent per input where `needs` (None elsewhere). Read-only: grad mode off,
        saved values kept, hooks not run, no leaf's .grad touched (eg.explain).
        """
    def name(self) -> str:
        """
        The op's name.
        """
    @property
    def next_functions(self) -> tuple[typing.Any, ...]:
        """
        The nodes receiving each input's cotangent (None where no gradient flows).
        """
class ForwardLevel:
    """
    A level of forward-mode tangents, open until close() (or the end of a with block).
    """
    def __enter__(self) -> ForwardLevel:
        ...
    def __exit__(self, *args: typing.Any) -> None:
        ...
    def __init__(self) -> None:
        ...
    def close(self) -> None:
        ...
class _SGD:
    """
    The C++ SGD state and step behind eigengrad.optim.SGD.
    """
    def __init__(self, params: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, momentum: typing.SupportsFloat | typing.SupportsIndex, dampening: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, nesterov: bool, maximize: bool) -> None:
        ...
    def momentum_buffer(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    def set_momentum_buffer(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.Any) -> None:
        ...
    def set_options(self, arg0: typing.SupportsFloat | typing.SupportsIndex, arg1: typing.SupportsFloat | typing.SupportsIndex, arg2: typing.SupportsFloat | typing.SupportsIndex, arg3: typing.SupportsFloat | typing.SupportsIndex, arg4: bool, arg5: bool) -> None:
        ...
    def step(self) -> None:
        ...
    def zero_grad(self) -> None:
        ...
class _Adam:
    """
    The C++ Adam/AdamW state and step behind eigengrad.optim.
    """
    def __init__(self, params: typing.Any, lr: typing.SupportsFloat | typing.SupportsIndex, beta1: typing.SupportsFloat | typing.SupportsIndex, beta2: typing.SupportsFloat | typing.SupportsIndex, eps: typing.SupportsFloat | typing.SupportsIndex, weight_decay: typing.SupportsFloat | typing.SupportsIndex, amsgrad: bool, maximize: bool, decoupled: bool) -> None:
        ...
    def set_options(self, arg0: typing.SupportsFloat | typing.SupportsIndex, arg1: typing.SupportsFloat | typing.SupportsIndex, arg2: typing.SupportsFloat | typing.SupportsIndex, arg3: typing.SupportsFloat | typing.SupportsIndex, arg4: typing.SupportsFloat | typing.SupportsIndex, arg5: bool, arg6: bool, arg7: bool) -> None:
        ...
    def set_state(self, arg0: typing.SupportsInt | typing.SupportsIndex, arg1: typing.SupportsInt | typing.SupportsIndex, arg2: typing.Any, arg3: typing.Any, arg4: typing.Any) -> None:
        ...
    def state(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> dict[str, typing.Any]:
        ...
    def step(self) -> None:
        ...
    def zero_grad(self) -> None:
        ...
class _GradMonitor:
    @staticmethod
    def _key(arg0: Variable) -> int:
        """
        What _parameters() gives as a row's key for the leaf `v`.
        """
    @staticmethod
    def set_library_files(skip_prefix: str, keep_prefixes: collections.abc.Sequence[str]) -> None:
        """
        Files under skip_prefix, except those under one of keep_prefixes, are library code: the line a monitor reports is the innermost frame outside them.
        """
    def __enter__(self) -> typing.Any:
        """
        Starts recording on this thread (RuntimeError when a monitor is active on it).
        """
    def __exit__(self, exc_type: typing.Any, exc: typing.Any, traceback: typing.Any) -> None:
        """
        Stops recording.
        """
    def __init__(self, model: typing.Any = None) -> None:
        """
        A monitor; model (an eg.nn.Module, or None) names the parameters.
        """
    def _activations(self) -> list[typing.Any]:
        ...
    def _backward_nonfinite(self) -> typing.Any:
        ...
    def _forward_nonfinite(self) -> typing.Any:
        ...
    def _parameters(self) -> list[typing.Any]:
        ...
    @property
    def _model(self) -> typing.Any:
        ...
    @property
    def passes(self) -> int:
        """
        How many backward (or grad) passes ran while the monitor was active.
        """
class HookHandle:
    """
    Returned by Variable.register_hook; remove() takes the hook off.
    """
    def remove(self) -> bool:
        """
        Removes the hook; False if it was already removed.
        """
def _backward(arg0: typing.Any, arg1: typing.Any, arg2: bool | None, arg3: bool) -> None:
    ...
def _blas_info() -> dict[str, typing.Any]:
    """
    The BLAS library loaded for matrix products, if any.
    """
def _build_info() -> dict[str, typing.Any]:
    """
    What the C++ core was compiled for (see eg.show_config).
    """
def _forward_levels_open() -> bool:
    """
    Whether tangents may flow (a forward level is open).
    """
def _grad(arg0: typing.Any, arg1: typing.Any, arg2: typing.Any, arg3: bool | None, arg4: bool, arg5: bool, arg6: bool, arg7: bool) -> tuple[typing.Any, ...]:
    ...
def _grad_input(arg0: Variable) -> Variable:
    """
    x as an input to differentiate: a leaf if x does not require grad, else a connected alias; tangents kept.
    """
def _has_tangents(arg0: Variable) -> bool:
    """
    Whether v carries forward-mode tangents.
    """
def _load_blas(path: str) -> None:
    """
    Loads a CBLAS shared library for the matrix products where it is faster (RuntimeError if it cannot).
    """
def _norm2(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    The Euclidean norm over axis (eg.norm's ord=2); its gradient at 0 is 0.
    """
def _record_custom(arg0: str, arg1: Variable, arg2: collections.abc.Sequence[Variable], arg3: typing.Any, arg4: typing.Any, arg5: bool, arg6: collections.abc.Sequence[Variable]) -> Variable:
    """
    Records `out` as computed from `inputs` by a custom function with Python rules; `watched` are the other values its rules keep (their in-place changes are checked like the inputs').
    """
def _record_reads(fn: collections.abc.Callable[..., typing.Any]) -> tuple[typing.Any, list[typing.Any]]:
    """
    (fn(), reads): reads are the Variables that require grad which ops read while fn ran with grad mode
    off, and those fn returned (alone or in a tuple), each once, in the order first read (see
    ReadRecorder, eigengrad/ops.h).
    """
def _set_batched_type(cls: typing.Any, dispatch: typing.Any) -> None:
    """
    Sets the class of eg.vmap's batched values and the function applying their batching rules (Note [vmap dispatch]).
    """
def _slice(arg0: typing.Any, arg1: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], arg2: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], arg3: collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex]) -> Variable:
    """
    x[start:stop:step] per axis, bounds normalised as slice.indices.
    """
def _to_variable(x: typing.Any, op: str) -> Variable:
    """
    x as a Variable (conversion errors name `op`; a batched value of eg.vmap as it is).
    """
def abs(x: typing.Any) -> Variable:
    """
    |x|; the gradient at 0 is 0.
    """
def add(x: typing.Any, y: typing.Any) -> Variable:
    """
    x + y with broadcasting.
    """
def arccos(x: typing.Any) -> Variable:
    """
    Inverse cosine; NaN for |x| > 1; the gradient at +-1 is -inf.
    """
def arcsin(x: typing.Any) -> Variable:
    """
    Inverse sine; NaN for |x| > 1; the gradient at +-1 is +inf.
    """
def arctan(x: typing.Any) -> Variable:
    """
    Inverse tangent.
    """
def arctan2(x: typing.Any, y: typing.Any) -> Variable:
    """
    numpy.arctan2(x, y): the angle of the point (y, x); the gradient at (0, 0) is 0.
    """
def arctanh(x: typing.Any) -> Variable:
    """
    Inverse hyperbolic tangent; +-inf at +-1; the gradient there is +inf.
    """
def argmax(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> typing.Any:
    """
    numpy.argmax: int64 position of the first maximum (or first NaN); not differentiable.
    """
def argmin(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> typing.Any:
    """
    numpy.argmin: int64 position of the first minimum (or first NaN); not differentiable.
    """
def argsort(x: typing.Any, axis: typing.Any = -1) -> typing.Any:
    """
    numpy.argsort(kind='stable'): int64 positions, ties in order, NaN last; not differentiable.
    """
def astype(x: typing.Any, dtype: typing.Any) -> Variable:
    """
    x converted to dtype (float32 or float64); the gradient converts back.
    """
def binary_cross_entropy_with_logits(logits: typing.Any, target: typing.Any, reduction: str = 'mean') -> Variable:
    ...
def broadcast_to(x: typing.Any, shape: typing.Any) -> Variable:
    """
    numpy.broadcast_to; the gradient sums the broadcast axes away.
    """
def clip(x: typing.Any, a_min: typing.Any = None, a_max: typing.Any = None) -> Variable:
    """
    x limited to [a_min, a_max]; the gradient passes inside the bounds (inclusive).
    """
def concatenate(arrays: typing.Any, axis: typing.Any = 0) -> Variable:
    """
    numpy.concatenate: joined along an existing axis (None: flattened first).
    """
def cos(x: typing.Any) -> Variable:
    """
    Cosine.
    """
def cosh(x: typing.Any) -> Variable:
    """
    Hyperbolic cosine.
    """
def cross_entropy(logits: typing.Any, labels: typing.Any, reduction: str = 'mean') -> Variable:
    ...
def cumprod(x: typing.Any, axis: typing.Any = None) -> Variable:
    """
    numpy.cumprod along axis (None: of the flattened x); the gradient is exact at zeros.
    """
def cumsum(x: typing.Any, axis: typing.Any = None) -> Variable:
    """
    numpy.cumsum along axis (None: of the flattened x), added in order.
    """
def diag(x: typing.Any, k: typing.Any = 0) -> Variable:
    """
    numpy.diag: 1-d x -> the matrix with x on the k-th diagonal; 2-d x -> its k-th diagonal.
    """
def diagonal(x: typing.Any, offset: typing.Any = 0, axis1: typing.Any = 0, axis2: typing.Any = 1) -> Variable:
    """
    numpy.diagonal: the offset-th diagonal of axes (axis1, axis2), as the last axis.
    """
def div(x: typing.Any, y: typing.Any) -> Variable:
    """
    x / y with broadcasting.
    """
def empty_cache() -> None:
    """
    Returns every cached block to the system (buffers in use stay).
    """
def erf(x: typing.Any) -> Variable:
    """
    The error function.
    """
def erfc(x: typing.Any) -> Variable:
    """
    1 - erf(x), accurate for large x.
    """
def exp(x: typing.Any) -> Variable:
    """
    e ** x
    """
def expm1(x: typing.Any) -> Variable:
    """
    exp(x) - 1, accurate near 0.
    """
def flip(x: typing.Any, axis: typing.Any = None) -> Variable:
    """
    numpy.flip: the order reversed along axis (None: all).
    """
def get_blas_threshold(dtype: typing.Any) -> float:
    """
    The threshold of set_blas_threshold for this dtype.
    """
def get_gemm_backend() -> str:
    """
    The setting of set_gemm_backend.
    """
def get_memory_cache_limit() -> int:
    """
    The bound set by set_memory_cache_limit.
    """
def get_num_threads() -> int:
    """
    The thread count set by set_num_threads.
    """
def is_grad_enabled() -> bool:
    """
    Whether ops record the graph on this thread.
    """
def is_strong_zero_enabled() -> bool:
    """
    Whether derivative rules keep a zero cotangent or tangent zero (process-wide).
    """
def linear(x: typing.Any, weight: typing.Any, bias: typing.Any = None) -> Variable:
    """
    x @ weight.T + bias, weight of shape (out, in); fused, differentiable.
    """
def log(x: typing.Any) -> Variable:
    """
    Natural logarithm.
    """
def log1p(x: typing.Any) -> Variable:
    """
    log(1 + x), accurate near 0.
    """
def log_sigmoid(x: typing.Any) -> Variable:
    """
    log(sigmoid(x)) = -softplus(-x), without overflow.
    """
def log_softmax(x: typing.Any, axis: typing.Any = -1) -> Variable:
    """
    x - logsumexp(x, axis), stable for large |x|.
    """
def logaddexp(x: typing.Any, y: typing.Any) -> Variable:
    """
    log(exp(x) + exp(y)) as NumPy's; at x == y == +-inf each gradient is 1/2.
    """
def logsumexp(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    log(sum(exp(x))) over axis, stable; over all -inf: value -inf, gradient 0.
    """
def make_dual(primal: typing.Any, tangent: typing.Any, level: ForwardLevel) -> Variable:
    """
    primal carrying `tangent` at `level` (a new Variable; the tangent may have leading batch dimensions).
    """
def matmul(x: typing.Any, y: typing.Any) -> Variable:
    """
    numpy.matmul: 1-D, 2-D and batched (broadcast) operands.
    """
def max(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    Maximum over axis; ties share the gradient evenly.
    """
def maximum(x: typing.Any, y: typing.Any) -> Variable:
    """
    Element-wise max; NaN propagates; ties split the gradient.
    """
def mean(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    Mean over axis (None: all, int or tuple).
    """
def memory_stats() -> dict[str, typing.Any]:
    """
    The buffer allocator's counters, a dict of ints:
    bytes_in_use and peak_bytes_in_use (owned buffers, the sizes asked for), bytes_cached
    and cached_blocks (freed blocks of 256 KiB and more kept for reuse), cache_limit,
    allocations (buffers asked for), cache_hits and cache_misses (of requests of 256 KiB
    and more) and borrowed_buffers (live buffers over NumPy memory, whose bytes are not
    eigengrad's and are in no byte count).
    """
def min(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    Minimum over axis; ties share the gradient evenly.
    """
def minimum(x: typing.Any, y: typing.Any) -> Variable:
    """
    Element-wise min; NaN propagates; ties split the gradient.
    """
def mse_loss(input: typing.Any, target: typing.Any, reduction: str = 'mean') -> Variable:
    ...
def mul(x: typing.Any, y: typing.Any) -> Variable:
    """
    x * y with broadcasting.
    """
def neg(x: typing.Any) -> Variable:
    """
    -x
    """
def op_names() -> list[str]:
    """
    Every public differentiable op of the C++ core.
    """
def pad(x: typing.Any, pad_width: typing.Any, mode: typing.Any = 'constant', constant_values: typing.Any = 0) -> Variable:
    """
    numpy.pad(mode='constant'): constant_values around each axis; the gradient is gout's middle.
    """
def pow(x: typing.Any, y: typing.Any) -> Variable:
    """
    x ** y; d/dx is 0 where y == 0 and d/dy is 0 where x == 0.
    """
def prod(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    numpy.prod over axis (None: all, int or tuple); 1 over an empty slice; the gradient is exact at zeros.
    """
def relu(x: typing.Any) -> Variable:
    """
    max(x, 0); the gradient at 0 is 0.
    """
def reset_peak_memory_stats() -> None:
    """
    Sets peak_bytes_in_use of memory_stats() to the current bytes_in_use.
    """
def reshape(x: typing.Any, shape: typing.Any) -> Variable:
    """
    numpy.reshape: the same elements in row-major order, one -1 inferred.
    """
def roll(x: typing.Any, shift: typing.Any, axis: typing.Any = None) -> Variable:
    """
    numpy.roll: elements shifted along axis, wrapping around (None: of the flattened x, shape kept).
    """
def scatter_add(x: typing.Any, indices: typing.Any, values: typing.Any, axis: typing.Any = -1) -> Variable:
    """
    x with values added at the positions take_along_axis(x, indices, axis) reads (repeats add up).
    """
def set_blas_threshold(dtype: typing.Any, multiply_adds: typing.SupportsFloat | typing.SupportsIndex) -> None:
    """
    In the "auto" backend, the number of multiply-adds m*n*k from which a matrix product of this
    dtype goes to the loaded BLAS library (bench/python/gemm_backends.py measures the crossover).
    """
def set_gemm_backend(backend: str) -> None:
    """
    Which library computes matrix products: "auto" (a loaded BLAS from the size where it wins,
    Eigen below; the default), "eigen" (always Eigen) or "blas" (BLAS whenever one is loaded).
    """
def set_grad_enabled(enabled: bool) -> None:
    ...
def set_memory_cache_limit(nbytes: typing.Any) -> None:
    """
    Bounds the bytes the allocator caches (0: no caching; default 256 MiB or EIGENGRAD_ALLOC_CACHE); trims the cache to it. A negative bound is a ValueError.
    """
def set_num_threads(n: typing.Any) -> None:
    """
    Threads for matrix products and large element-wise kernels (default: all cores); 1 <= n <= 4 per core (at least 64, at most 1024), else ValueError.
    """
def set_strong_zero(enabled: bool) -> None:
    ...
def sigmoid(x: typing.Any) -> Variable:
    """
    1 / (1 + exp(-x)), finite for any x.
    """
def sign(x: typing.Any) -> Variable:
    """
    -1, 0 or 1 (NaN stays NaN); its gradient is 0.
    """
def sin(x: typing.Any) -> Variable:
    """
    Sine.
    """
def sinh(x: typing.Any) -> Variable:
    """
    Hyperbolic sine.
    """
def softmax(x: typing.Any, axis: typing.Any = -1) -> Variable:
    """
    exp(x - logsumexp(x, axis)), stable for large |x|.
    """
def softplus(x: typing.Any) -> Variable:
    """
    log(1 + exp(x)), without overflow (PyTorch's softplus, beta=1).
    """
def sort(x: typing.Any, axis: typing.Any = -1) -> Variable:
    """
    numpy.sort (stable, NaN last) along axis (None: of the flattened x); differentiable.
    """
def sqrt(x: typing.Any) -> Variable:
    """
    Square root.
    """
def square(x: typing.Any) -> Variable:
    """
    x ** 2
    """
def stack(arrays: typing.Any, axis: typing.Any = 0) -> Variable:
    """
    numpy.stack: joined along a new axis.
    """
def std(x: typing.Any, axis: typing.Any = None, ddof: typing.Any = 0, keepdims: bool = False) -> Variable:
    """
    numpy.std = sqrt(var); over a constant slice the gradient is 0.
    """
def sub(x: typing.Any, y: typing.Any) -> Variable:
    """
    x - y with broadcasting.
    """
def sum(x: typing.Any, axis: typing.Any = None, keepdims: bool = False) -> Variable:
    """
    Sum over axis (None: all, int or tuple).
    """
def sum_to(x: typing.Any, shape: typing.Any) -> Variable:
    """
    Sums broadcast dimensions away so x has `shape`.
    """
def take(x: typing.Any, indices: typing.Any, axis: typing.Any = None) -> Variable:
    """
    numpy.take: elements at integer `indices` along `axis` (None: of the flattened x).
    """
def take_along_axis(x: typing.Any, indices: typing.Any, axis: typing.Any = -1) -> Variable:
    """
    numpy.take_along_axis: x[..., indices[..., j, ...], ...] along axis (None: of the flattened x).
    """
def tangent(x: Variable, level: ForwardLevel) -> Variable | None:
    """
    The tangent of x at `level`, or None (zero).
    """
def tanh(x: typing.Any) -> Variable:
    """
    Hyperbolic tangent.
    """
def tensordot(x: typing.Any, y: typing.Any, axes: typing.Any = 2) -> Variable:
    """
    numpy.tensordot: sum over paired axes (N: the last N of x with the first N of y).
    """
def trace(x: typing.Any, offset: typing.Any = 0, axis1: typing.Any = 0, axis2: typing.Any = 1) -> Variable:
    """
    numpy.trace: the sum along the offset-th diagonal of axes (axis1, axis2).
    """
def transpose(x: typing.Any, axes: typing.Any = None) -> Variable:
    """
    numpy.transpose: axes permuted (None: reversed).
    """
def tril(x: typing.Any, k: typing.Any = 0) -> Variable:
    """
    numpy.tril: zeros above the k-th diagonal of the last two axes.
    """
def triu(x: typing.Any, k: typing.Any = 0) -> Variable:
    """
    numpy.triu: zeros below the k-th diagonal of the last two axes.
    """
def var(x: typing.Any, axis: typing.Any = None, ddof: typing.Any = 0, keepdims: bool = False) -> Variable:
    """
    numpy.var: mean squared deviation over axis, divisor n - ddof.
    """
def where(condition: typing.Any, x: typing.Any, y: typing.Any) -> Variable:
    """
    x where condition is true (nonzero), else y; broadcasting; condition is not differentiated.
    """

"""Function transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

Each takes a function of Variables (or arrays) and returns a function (or values).
They compose: an outer transform sees through an inner one, because reverse mode
records differentiable backward passes and forward mode carries tangents through
every op, including the ops of a backward pass. So ``jacobian(grad(f))`` is the
Hessian and ``jvp(grad(f), ...)`` a Hessian-vector product.

Shapes follow the source text's conventions: a gradient has its argument's shape
(denominator layout) and ``jacobian(f)(x)`` has shape ``out.shape + x.shape`` with
``J[i, j] = d out_i / d x_j``.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

import eigengrad._core as _core
from eigengrad import autograd
from eigengrad._core import Variable
from eigengrad.batching import BatchedVariable, Lift as _Lift, moveaxis

ArgNums = Union[int, Sequence[int]]


def _variable(x: Any, who: str = "Variable") -> Variable:
    """x as a Variable; conversion errors name the transform `who`."""
    return x if isinstance(x, Variable) else _core._to_variable(x, who)


def _argnums(argnums: ArgNums, n_args: int, who: str) -> Tuple[Tuple[int, ...], bool]:
    if type(argnums) is int and -n_args <= argnums < n_args:  # the common case, checked fast
        return (argnums % n_args,), True
    single = isinstance(argnums, int) and not isinstance(argnums, bool)
    nums: Tuple[Any, ...] = tuple(argnums) if isinstance(argnums, Iterable) else (argnums,)
    if not nums or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) for i in nums):
        raise TypeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got {argnums!r}")
    for i in nums:
        if not -n_args <= i < n_args:
            raise ValueError(f"{who}: argnums {i} is out of range for {n_args} positional arguments")
    return tuple(i % n_args for i in nums), single


def _outputs(out: Any, who: str) -> Tuple[List[Variable], bool]:
    if isinstance(out, (tuple, list)):
        return [_variable(o, who) for o in out], False
    return [_variable(out, who)], True


def _grad(*args: Any, **kwargs: Any) -> Tuple[Optional[Variable], ...]:
    """eg.autograd.grad as the transforms use it: the result stays differentiable
    in every Variable that requires grad and that the function read (arguments not
    differentiated and closed-over values alike), as in torch.func and JAX."""
    kwargs["create_graph_if_outer"] = True
    return autograd._grad(*args, **kwargs)


def _zeros_like(x: Variable) -> Variable:
    return Variable(np.zeros(x.shape, dtype=x.dtype))


_nesting = threading.local()


class _inside_transform:
    """Marks the call of a transformed function: a transform that runs inside one
    makes its derivatives differentiable, since the outer transform may
    differentiate them (also with respect to values the inner function closes
    over, which no argument reveals).

    (A class, not a contextlib generator: entering and leaving costs 0.3 us
    instead of 1.1 us, on every transform call.)"""

    __slots__ = ()

    def __enter__(self) -> None:
        _nesting.depth = getattr(_nesting, "depth", 0) + 1

    def __exit__(self, *exc: object) -> None:
        _nesting.depth -= 1


def _differentiable_inputs(args: Sequence[Any], nums: Sequence[int], who: str) -> Tuple[List[Any], List[Variable], bool]:
    """The arguments with those in `nums` replaced by inputs to differentiate, those
    inputs, and whether an outer transform or reverse pass is watching (then
    create_graph)."""
    call = list(args)
    xs = []
    nested = getattr(_nesting, "depth", 0) > 0
    for i in nums:
        v = _variable(call[i], who)
        nested = nested or v.requires_grad
        call[i] = _core._grad_input(v)
        xs.append(call[i])
    return call, xs, nested


# Note [Transforms inside vmap]
# A transform given batched values of eg.vmap (as arguments, or only through what f
# closes over) runs on the physical values: it differentiates the physical function
# g = unwrap . f . wrap at the physical arguments. The batch elements never interact,
# so g's derivative is block-diagonal, and each transform takes the blocks with
# seeds repeated along the batch: grad differentiates the sum over the batch, vjp
# and jvp repeat an unbatched cotangent or tangent along it, jacobian pushes a basis
# of one element's output (or input) repeated along it. The arguments it
# differentiates are repeated along the batch first, so that each element gets its
# own derivative (per-sample gradients). Results are batched values again.


def _lift_of(tree: Any) -> Optional[_Lift]:
    """The innermost vmap level among the batched values in `tree`, or None."""
    found: Optional[BatchedVariable] = None
    stack = [tree]
    while stack:
        x = stack.pop()
        if isinstance(x, BatchedVariable):
            found = x if found is None or x.level > found.level else found
        elif isinstance(x, (tuple, list)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
    return _Lift(found.level, found.batch_size) if found is not None else None


def _physical_function(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int],
                       lift: _Lift) -> Callable[..., Any]:
    """g(*ps): f with args[nums] replaced by the physical values ps (wrapped), and its
    outputs' physical values."""
    def g(*ps: Any) -> Any:
        call = list(args)
        for i, p in zip(nums, ps):
            call[i] = lift.wrap(p)
        return lift.physical(f(*call))

    return g


def value_and_grad(f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The function that returns ``f``'s value and its gradient.

    Parameters
    ----------
    f : callable
        A function of Variables or arrays that returns a single-element Variable
        (or, with ``has_aux``, a pair ``(value, aux)``).
    argnums : int or tuple of int
        The positional argument(s) to differentiate with respect to.
    has_aux : bool
        Whether ``f`` returns ``(value, aux)``; ``aux`` is passed through untouched.

    Returns
    -------
    callable
        ``(*args) -> (value, gradient)``, or ``((value, aux), gradient)`` with
        ``has_aux``. Each gradient has its argument's shape (denominator layout);
        a tuple of argnums gives a tuple of gradients.

    Raises
    ------
    TypeError
        When ``f`` returns more than one element (use :func:`jacobian` or :func:`vjp`).

    Examples
    --------
    >>> value, g = eg.value_and_grad(lambda x: (x * x).sum())(np.array([1.0, 2.0]))
    >>> np.asarray(g)
    array([2., 4.])
    """
    return _value_and_grad(f, argnums, has_aux, "value_and_grad")


def _value_and_grad(f: Callable[..., Any], argnums: ArgNums, has_aux: bool, who: str) -> Callable[..., Any]:
    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        nums, single = _argnums(argnums, len(args), who)
        lift = _lift_of(args)
        if lift is not None:
            return _batched_value_and_grad(f, args, nums, single, has_aux, who, lift)
        call, xs, nested = _differentiable_inputs(args, nums, who)
        with autograd.enable_grad(), _inside_transform():
            result = f(*call)
        value, aux = result if has_aux else (result, None)
        if isinstance(value, BatchedVariable):  # f closes over batched values: again, batched
            return _batched_value_and_grad(f, args, nums, single, has_aux, who,
                                           _Lift(value.level, value.batch_size))
        value = _variable(value, who)
        if value.size != 1:
            raise TypeError(f"{who}: f must return a single value, got shape {value.shape}; use jacobian or vjp")
        found = (_grad(value, xs, create_graph=nested, allow_unused=True) if value.requires_grad
                 else (None,) * len(xs))
        grads = tuple(g if g is not None else _zeros_like(x) for g, x in zip(found, xs))
        return ((value, aux) if has_aux else value), (grads[0] if single else grads)

    return wrapped


def _batched_value_and_grad(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int], single: bool,
                            has_aux: bool, who: str, lift: _Lift) -> Any:
    """value_and_grad inside vmap: the gradient of the batch's sum (Note [Transforms inside vmap])."""
    auxes: List[Any] = []

    def summed(*ps: Any) -> Any:
        call = list(args)
        for i, p in zip(nums, ps):
            call[i] = lift.wrap(p)
        result = f(*call)
        value, aux = result if has_aux else (result, None)
        auxes.append(aux)
        if _variable(value, who).size != 1:
            raise TypeError(f"{who}: f must return a single value, got shape {value.shape}; use jacobian or vjp")
        v = lift.physical(value)
        return _core.sum(v), v

    (_, v), grads = _value_and_grad(summed, tuple(range(len(nums))), True, who)(
        *[lift.physical(args[i]) for i in nums])
    value = lift.wrap(v)
    grads = tuple(lift.wrap(g) for g in grads)
    return ((value, auxes[-1]) if has_aux else value), (grads[0] if single else grads)


def grad(f: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient function of a scalar-valued ``f``.

    Parameters
    ----------
    f : callable
        A function of Variables or arrays that returns a single-element Variable
        (or, with ``has_aux``, ``(value, aux)``).
    argnums : int or tuple of int
        The positional argument(s) to differentiate with respect to.
    has_aux : bool
        Whether ``f`` returns ``(value, aux)``.

    Returns
    -------
    callable
        ``(*args) -> gradient`` (``(gradient, aux)`` with ``has_aux``): shaped like
        the argument, a tuple for a tuple of argnums. It composes:
        ``jacobian(grad(f))`` is the Hessian.

    Examples
    --------
    >>> np.asarray(eg.grad(lambda x: (x ** 3).sum())(np.array([1.0, 2.0])))
    array([ 3., 12.])
    """
    vg = _value_and_grad(f, argnums, has_aux, "grad")

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        (value, aux), g = vg(*args) if has_aux else ((None, None), vg(*args)[1])
        return (g, aux) if has_aux else g

    return wrapped


def vjp(f: Callable[..., Any], *primals: Any) -> Tuple[Any, Callable[[Any], Tuple[Variable, ...]]]:
    """Evaluates ``f`` and returns its vector-Jacobian product function (reverse mode).

    Parameters
    ----------
    f : callable
        A function of Variables or arrays returning a Variable or a tuple of them.
    *primals
        The point at which to evaluate ``f``.

    Returns
    -------
    out : Variable or tuple
        ``f(*primals)``.
    vjp_fn : callable
        ``vjp_fn(cotangent)`` gives ``u @ J`` for each primal, as a tuple of
        Variables shaped like the primals; the cotangent has the output's shape (a
        tuple of cotangents for a tuple-valued ``f``). It may be called several times.

    Examples
    --------
    >>> out, vjp_fn = eg.vjp(lambda x: x * x, np.array([1.0, 2.0]))
    >>> np.asarray(vjp_fn(np.ones(2))[0])
    array([2., 4.])
    """
    lift = _lift_of(primals)
    if lift is None:
        args, xs, nested = _differentiable_inputs(primals, range(len(primals)), "vjp")
        with autograd.enable_grad(), _inside_transform():
            out = f(*args)
        lift = _lift_of(out)  # f closes over batched values: again, batched
    if lift is not None:
        n = len(primals)
        out_p, vjp_p = vjp(_physical_function(f, primals, range(n), lift), *lift.physical(tuple(primals)))
        return lift.wrap(out_p), lambda cotangent: lift.wrap(vjp_p(lift.physical(cotangent)))
    outs, single = _outputs(out, "vjp")

    def vjp_fn(cotangent: Any) -> Tuple[Variable, ...]:
        cots = [cotangent] if single else list(cotangent)
        if len(cots) != len(outs):
            raise ValueError(f"vjp: {len(cots)} cotangents for {len(outs)} outputs")
        pairs = [(o, _variable(c, "vjp")) for o, c in zip(outs, cots) if o.requires_grad]
        for o, c in pairs:
            if c.shape != o.shape:
                raise ValueError(f"vjp: cotangent of shape {c.shape} for an output of shape {o.shape}")
        if not pairs:
            return tuple(_zeros_like(x) for x in xs)
        grads = _grad([o for o, _ in pairs], xs, [c for _, c in pairs], retain_graph=True,
                      create_graph=nested, allow_unused=True)
        return tuple(g if g is not None else _zeros_like(x) for g, x in zip(grads, xs))

    return out, vjp_fn


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Tuple[Any, Any]:
    """Evaluates ``f`` and its Jacobian-vector product by forward mode, in one pass.

    Parameters
    ----------
    f : callable
        A function of Variables or arrays returning a Variable or a tuple of them.
    primals : sequence
        The point, one entry per argument of ``f``.
    tangents : sequence
        One tangent per primal, of its primal's shape, or with one leading batch
        dimension (then the output tangent has it too: several JVPs in one pass).

    Returns
    -------
    out : Variable or tuple
        ``f(*primals)``.
    tangent_out : Variable or tuple
        ``J @ tangents``, shaped like the output (a tuple for a tuple-valued ``f``).

    Examples
    --------
    >>> out, t = eg.jvp(lambda x: x * x, (np.array([1.0, 2.0]),), (np.array([1.0, 0.0]),))
    >>> np.asarray(t)
    array([2., 0.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    lift = _lift_of((primals, tangents))
    if lift is not None:
        return _batched_jvp(f, primals, tangents, lift)
    with _core.ForwardLevel() as level:
        duals = [_core.make_dual(_variable(p, "jvp"), _variable(t, "jvp"), level) for p, t in zip(primals, tangents)]
        with _inside_transform():
            out = f(*duals)
        lift = _lift_of(out)
        if lift is None:
            outs, single = _outputs(out, "jvp")
            lead = _lead_shape(duals, tangents)
            touts = []
            for o in outs:
                t = _core.tangent(o, level)
                touts.append(t if t is not None else Variable(np.zeros(lead + o.shape, dtype=o.dtype)))
    if lift is not None:  # f closes over batched values: again, batched
        return _batched_jvp(f, primals, tangents, lift)
    return out, (touts[0] if single else tuple(touts))


def _batched_jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
                 lift: _Lift) -> Tuple[Any, Any]:
    """jvp inside vmap (Note [Transforms inside vmap])."""
    g = _physical_function(f, primals, range(len(primals)), lift)
    out_p, t_p = jvp(g, lift.physical(tuple(primals)), lift.physical(tuple(tangents)))
    return lift.wrap(out_p), lift.wrap(t_p)


def _lead_shape(duals: Sequence[Variable], tangents: Sequence[Any]) -> Tuple[int, ...]:
    for d, t in zip(duals, tangents):
        shape = np.shape(t)
        return tuple(shape[: len(shape) - d.ndim])
    return ()


def _basis(n: int, shape: Tuple[int, ...], dtype: Any, start: int, stop: int) -> Variable:
    """Rows start..stop of the identity, each reshaped to `shape`: a batch of unit
    (co)tangents."""
    rows = np.zeros((stop - start) * n, dtype=dtype)
    rows[start::n + 1] = 1  # row r has its one at column start + r (np.eye's way, without its overhead)
    return Variable(rows.reshape((stop - start,) + tuple(shape)))


def _chunks(n: int, chunk_size: Optional[int]) -> List[Tuple[int, int]]:
    """[start, stop) ranges of at most `chunk_size` (default: all) covering range(n)."""
    size = max(1, n if not chunk_size else int(chunk_size))
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def _recorded_forward(f: Callable[..., Any], args: Sequence[Any],
                      nums: Sequence[int]) -> Tuple[List[Variable], List[Variable], bool, bool]:
    """Reverse mode's forward pass: the inputs to differentiate, f's outputs (their
    graph recorded), whether f returned one output, and whether to create_graph."""
    call, xs, nested = _differentiable_inputs(args, nums, "jacobian")
    with autograd.enable_grad(), _inside_transform():
        outs, single = _outputs(_unbatched(f(*call)), "jacobian")
    return xs, outs, single, nested


def _jacobian_rev(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int], chunk_size: Optional[int],
                  recorded: Optional[Tuple[List[Variable], List[Variable], bool, bool]] = None
                  ) -> Tuple[List[List[Variable]], bool]:
    xs, outs, single, nested = recorded if recorded is not None else _recorded_forward(f, args, nums)
    jacs = []
    for o in outs:
        m = o.size
        per_input = []
        if not o.requires_grad or m == 0:
            per_input = [Variable(np.zeros(o.shape + x.shape, dtype=o.dtype)) for x in xs]
        else:
            parts: List[List[Variable]] = [[] for _ in xs]
            for start, stop in _chunks(m, chunk_size):
                seeds = _basis(m, o.shape, o.dtype, start, stop)
                grads = _grad(o, xs, seeds, retain_graph=True, create_graph=nested,
                              allow_unused=True, is_grads_batched=True)
                for k, (g, x) in enumerate(zip(grads, xs)):
                    parts[k].append(g if g is not None else Variable(np.zeros((stop - start,) + x.shape, dtype=x.dtype)))
            for k, x in enumerate(xs):
                rows = parts[k][0] if len(parts[k]) == 1 else _core.concatenate(parts[k], 0)
                per_input.append(_core.reshape(rows, o.shape + x.shape))
        jacs.append(per_input)
    return jacs, single


def _jacobian_fwd(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int],
                  chunk_size: Optional[int]) -> Tuple[List[List[Variable]], bool]:
    args = [(_variable(a, "jacobian") if i in nums else a) for i, a in enumerate(args)]
    jacs_by_input: List[List[Variable]] = []
    single = True
    for i in nums:
        x = args[i]
        n = x.size
        if n == 0:  # no tangent to push: the Jacobian has no columns
            with _inside_transform():
                outs, single = _outputs(_unbatched(f(*args)), "jacobian")
            jacs_by_input.append([Variable(np.zeros(o.shape + x.shape, dtype=o.dtype)) for o in outs])
            continue
        parts: List[List[Variable]] = []
        for start, stop in _chunks(n, chunk_size):
            with _core.ForwardLevel() as level:
                call = list(args)
                call[i] = _core.make_dual(x, _basis(n, x.shape, x.dtype, start, stop), level)
                with _inside_transform():
                    outs, single = _outputs(_unbatched(f(*call)), "jacobian")
                ts = []
                for o in outs:
                    t = _core.tangent(o, level)
                    ts.append(t if t is not None else Variable(np.zeros((stop - start,) + o.shape, dtype=o.dtype)))
            parts = [[t] for t in ts] if not parts else [p + [t] for p, t in zip(parts, ts)]
        per_output = []
        for p, o in zip(parts, outs):
            cols = p[0] if len(p) == 1 else _core.concatenate(p, 0)  # (n,) + out.shape
            cols = _core.reshape(cols, (n, o.size))
            per_output.append(_core.reshape(_core.transpose(cols), o.shape + x.shape))
        jacs_by_input.append(per_output)
    jacs = [[jacs_by_input[k][j] for k in range(len(nums))] for j in range(len(jacs_by_input[0]))]
    return jacs, single


class _Rebatch(Exception):
    """f returned batched values from unbatched arguments (it closes over batched
    values): the Jacobian is computed again, batched."""

    def __init__(self, lift: _Lift) -> None:
        super().__init__("internal: f closes over batched values")
        self.lift = lift


def _unbatched(out: Any) -> Any:
    lift = _lift_of(out)
    if lift is not None:
        raise _Rebatch(lift)
    return out


def _batched_jacobian(f: Callable[..., Any], args: Sequence[Any], nums: Sequence[int], mode: str,
                      chunk_size: Optional[int], lift: _Lift) -> Tuple[List[List[Variable]], bool]:
    """jacobian inside vmap: one element's basis, repeated along the batch, through one
    pass (Note [Transforms inside vmap]). Returns batched Jacobians, as the unbatched
    functions return Jacobians."""
    g = _physical_function(f, args, nums, lift)
    ps = [lift.physical(args[i]) for i in nums]
    b = lift.size
    if mode == "rev":
        _, xs, nested = _differentiable_inputs(ps, range(len(ps)), "jacobian")
        with autograd.enable_grad(), _inside_transform():
            outs, single = _outputs(g(*xs), "jacobian")
        jacs = []
        for o in outs:
            shape = o.shape[1:]
            m = int(np.prod(shape, dtype=np.int64))
            per_input = []
            parts: List[List[Variable]] = [[] for _ in xs]
            for start, stop in (_chunks(m, chunk_size) if o.requires_grad else []):
                seeds = _core.reshape(_basis(m, shape, o.dtype, start, stop), (stop - start, 1) + shape)
                seeds = _core.broadcast_to(seeds, (stop - start, b) + shape)
                grads = _grad(o, xs, seeds, retain_graph=True, create_graph=nested, allow_unused=True,
                              is_grads_batched=True)
                for k, (gr, x) in enumerate(zip(grads, xs)):
                    parts[k].append(gr if gr is not None else Variable(np.zeros((stop - start,) + x.shape, x.dtype)))
            for k, x in enumerate(xs):
                if not parts[k]:
                    per_input.append(lift.wrap(Variable(np.zeros((b,) + shape + x.shape[1:], dtype=o.dtype))))
                    continue
                rows = parts[k][0] if len(parts[k]) == 1 else _core.concatenate(parts[k], 0)  # (m, b, *x)
                rows = moveaxis(rows, 1, 0)
                per_input.append(lift.wrap(_core.reshape(rows, (b,) + shape + x.shape[1:])))
            jacs.append(per_input)
        return jacs, single
    by_input: List[List[Variable]] = []
    single = True
    for j, x in enumerate(ps):
        x = _variable(x, "jacobian")
        xshape = x.shape[1:]
        n = int(np.prod(xshape, dtype=np.int64))
        parts = []
        for start, stop in _chunks(max(n, 1), chunk_size):
            k = (stop - start) if n else 0
            with _core.ForwardLevel() as level:
                call = list(ps)
                seeds = _core.reshape(_basis(n, xshape, x.dtype, start, start + k), (k, 1) + xshape)
                call[j] = _core.make_dual(x, _core.broadcast_to(seeds, (k, b) + xshape), level)
                with _inside_transform():
                    outs, single = _outputs(g(*call), "jacobian")
                ts = []
                for o in outs:
                    t = _core.tangent(o, level)
                    ts.append(t if t is not None else Variable(np.zeros((k,) + o.shape, dtype=o.dtype)))
            parts = [[t] for t in ts] if not parts else [p + [t] for p, t in zip(parts, ts)]
        per_output = []
        for p, o in zip(parts, outs):
            cols = p[0] if len(p) == 1 else _core.concatenate(p, 0)  # (n, b, *out)
            shape = o.shape[1:]
            m = int(np.prod(shape, dtype=np.int64))
            cols = _core.reshape(moveaxis(cols, 1, 0), (b, n, m))
            per_output.append(lift.wrap(_core.reshape(_core.transpose(cols, (0, 2, 1)), (b,) + shape + xshape)))
        by_input.append(per_output)
    return [[by_input[k][j] for k in range(len(nums))] for j in range(len(by_input[0]))], single


# Note [Jacobian mode ties]
# "auto" takes reverse mode for a square Jacobian (as many outputs as inputs): both
# modes then push the same number of basis vectors, and reverse measured faster on
# the benchmark's tanh(W2 tanh(W1 x)), float64, one thread, in two sessions
# (n = 100: 0.087-0.095 vs 0.099 ms; n = 1000: 41.2-41.4 vs 42.6-43.7 ms). Reverse
# mode's recorded forward pass also tells "auto" the output's size, so choosing
# costs no extra evaluation of f when the choice is reverse.


def _auto_mode(n_out: int, n_in: int) -> str:
    """The mode "auto" takes for a Jacobian with n_out rows and n_in columns."""
    return "fwd" if n_out > n_in else "rev"


def jacobian(f: Callable[..., Any], argnums: ArgNums = 0, mode: str = "auto", chunk_size: Optional[int] = None,
             memory_budget: Optional[Union[int, str]] = None, sparsity: Any = None) -> Callable[..., Any]:
    """The Jacobian function of ``f``, computed in one vectorised pass (or in
    chunks, or in coloured passes for a sparse Jacobian).

    Parameters
    ----------
    f : callable
        A function of Variables or arrays returning a Variable or a tuple of them.
    argnums : int or tuple of int
        The positional argument(s) to differentiate with respect to.
    mode : {"auto", "rev", "fwd"}
        ``"rev"`` pushes a batch of basis cotangents through one backward pass,
        ``"fwd"`` a batch of basis tangents through one forward pass; ``"auto"``
        picks reverse unless the output has more elements than the inputs
        (Note [Jacobian mode ties]).
    chunk_size : int, optional
        Largest batch of one pass (bounds the memory); default: all at once.
    memory_budget : int or str, optional
        Bytes, or a string like ``"256MB"`` or ``"1.5GiB"`` (instead of
        ``chunk_size``): :func:`eigengrad.jacobian_plan` chooses the mode and the
        chunk size so that the extra peak memory stays under it.
    sparsity : "auto", boolean array or scipy.sparse matrix, optional
        Returns a ``scipy.sparse`` CSR matrix computed by coloured passes
        (:mod:`eigengrad.sparse_jacobian`): the pattern is detected (``"auto"``) or
        given. ``memory_budget`` and ``sparsity`` take one argument and one output.

    Returns
    -------
    callable
        ``(*args) -> J`` with ``J.shape == out.shape + arg.shape`` and
        ``J[i, j] = d out_i / d arg_j``: for vectors the m x n matrix whose row
        ``i`` is the gradient of ``out_i``. A tuple of argnums gives a tuple of
        Jacobians; a tuple-valued ``f`` a tuple per output.

    Raises
    ------
    ValueError
        For an unknown ``mode`` or ``sparsity``, a ``chunk_size`` below 1, or a
        budget too small for one basis vector.

    Examples
    --------
    >>> A = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    >>> eg.jacobian(lambda x: A @ x)(np.zeros(2)).shape
    (3, 2)
    """
    if mode not in ("rev", "fwd", "auto"):
        raise ValueError(f"jacobian: mode must be 'rev', 'fwd' or 'auto', got {mode!r}")
    if chunk_size is not None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
            raise TypeError(f"jacobian: chunk_size must be a positive int or None, got {chunk_size!r}")
        if chunk_size < 1:
            raise ValueError(f"jacobian: chunk_size must be a positive int or None, got {chunk_size}")
    if memory_budget is not None and (chunk_size is not None or sparsity is not None):
        raise ValueError("jacobian: memory_budget chooses the chunk size; give it without chunk_size and sparsity")
    if memory_budget is not None:
        from eigengrad.jacobian_plan import parse_memory_budget
        parse_memory_budget(memory_budget)  # a bad budget fails here, before f runs

    @functools.wraps(f)
    def wrapped(*args: Any) -> Any:
        if (sparsity is not None or memory_budget is not None) and _lift_of(args) is not None:
            raise NotImplementedError("jacobian: sparsity and memory_budget are not supported inside eg.vmap; "
                                      "give chunk_size, or call jacobian outside the vmapped function")
        if sparsity is not None:
            from eigengrad.sparse_jacobian import sparse_jacobian
            return sparse_jacobian(f, args, argnums, sparsity, mode, chunk_size)
        if memory_budget is not None:
            from eigengrad.jacobian_plan import jacobian_within
            return jacobian_within(f, args, argnums, memory_budget, mode)
        nums, single_arg = _argnums(argnums, len(args), "jacobian")
        chosen = mode
        lift = _lift_of(args)
        try:
            if lift is None:
                recorded = None
                if chosen == "auto":  # reverse mode's forward pass tells the sizes, and is kept if chosen
                    recorded = _recorded_forward(f, args, nums)
                    xs, outs = recorded[0], recorded[1]
                    chosen = _auto_mode(sum(o.size for o in outs), sum(x.size for x in xs))
                if chosen == "rev":
                    jacs, single_out = _jacobian_rev(f, args, nums, chunk_size, recorded)
                else:
                    jacs, single_out = _jacobian_fwd(f, args, nums, chunk_size)
        except _Rebatch as found:  # f closes over batched values: again, batched
            lift = found.lift
        if lift is not None:
            if chosen == "auto":
                with autograd.no_grad():
                    outs, _ = _outputs(f(*[(_variable(a, "jacobian").detach() if i in nums else a)
                                           for i, a in enumerate(args)]), "jacobian")
                chosen = _auto_mode(sum(o.size for o in outs), sum(_variable(args[i], "jacobian").size for i in nums))
            jacs, single_out = _batched_jacobian(f, args, nums, chosen, chunk_size, lift)
        per_output = [j[0] if single_arg else tuple(j) for j in jacs]
        return per_output[0] if single_out else tuple(per_output)

    return wrapped


def hessian(f: Callable[..., Any], argnums: ArgNums = 0) -> Callable[..., Any]:
    """The Hessian function of a scalar-valued ``f``, forward over reverse.

    Parameters
    ----------
    f : callable
        A function of Variables or arrays returning a single-element Variable.
    argnums : int or tuple of int
        The positional argument(s) to differentiate with respect to.

    Returns
    -------
    callable
        ``(*args) -> H`` with ``H.shape == arg.shape + arg.shape``; it is
        ``jacobian(grad(f), mode="fwd")``.

    Examples
    --------
    >>> np.asarray(eg.hessian(lambda x: (x * x).sum())(np.zeros(2)))
    array([[2., 0.],
           [0., 2.]])
    """
    return jacobian(grad(f, argnums), argnums, mode="fwd")


# Note [Hessian-vector products]
# eg.hvp is reverse over forward: f runs once on duals (primal x, tangent v) whose
# primals require grad, which gives the directional derivative <grad f(x), v> as
# the output's tangent, recorded as a function of x; its gradient is H v. Forward
# over reverse (the tangent of grad f) gives the same H v but also computes grad f
# itself, which eg.hvp does not return: for g(x) = sum(tanh(W x)^2) that is W^T g,
# one of its four matrix-vector products (n = 1000, float64, one thread, both in
# one process: 0.54 -> 0.41 ms; PyTorch's double backward 0.83 ms). Every JVP rule
# is written with differentiable ops, so the tangents are differentiable
# (tests/ops/test_generic.py, test_jvp_of_jvp); a custom function's jvp sees its
# recorded output and refuses to be differentiated when it reads intermediates
# (function.py). The backward runs after the forward level has closed, so it
# carries no tangents.


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Tuple[Variable, Tuple[Variable, ...]]:
    """The Hessian-vector product of a scalar-valued ``f``, without forming the Hessian.

    Reverse mode over forward mode: one forward pass carrying the tangents, then
    one backward pass from the output's tangent ``<grad f, v>``, about the cost of
    one gradient plus the tangents (Note [Hessian-vector products]).

    Parameters
    ----------
    f : callable
        A function of Variables or arrays returning a single-element Variable.
    primals : sequence
        The point, one entry per argument of ``f``.
    tangents : sequence
        The vectors ``v``, one per primal, each of its primal's shape.

    Returns
    -------
    value : Variable
        ``f(*primals)``.
    products : tuple of Variable
        ``H @ v``, one per primal, each of its primal's shape.

    Examples
    --------
    >>> value, (Hv,) = eg.hvp(lambda x: (x ** 3).sum(), (np.array([1.0, 2.0]),), (np.ones(2),))
    >>> np.asarray(Hv)
    array([ 6., 12.])
    """
    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: {len(primals)} primals but {len(tangents)} tangents")
    lift = _lift_of((primals, tangents))
    if lift is not None:
        return _batched_hvp(f, primals, tangents, lift)
    with _core.ForwardLevel() as level:
        duals = [_core.make_dual(_variable(p, "hvp"), _variable(t, "hvp"), level) for p, t in zip(primals, tangents)]
        call, xs, nested = _differentiable_inputs(duals, range(len(duals)), "hvp")
        with autograd.enable_grad(), _inside_transform():
            value = f(*call)
        if isinstance(value, BatchedVariable):  # f closes over batched values: again, batched
            return _batched_hvp(f, primals, tangents, _Lift(value.level, value.batch_size))
        value = _variable(value, "hvp")
        if value.size != 1:
            raise TypeError(f"hvp: f must return a single value, got shape {value.shape}; use jacobian or vjp")
        directional = _core.tangent(value, level)  # <grad f, v>, differentiable in the primals
    # The level is closed: the backward carries no tangents.
    found = (_grad(directional, xs, create_graph=nested, allow_unused=True)
             if directional is not None and directional.requires_grad else (None,) * len(xs))
    return value, tuple(g if g is not None else _zeros_like(x) for g, x in zip(found, xs))


def _batched_hvp(f: Callable[..., Any], primals: Tuple[Any, ...], tangents: Tuple[Any, ...],
                 lift: _Lift) -> Tuple[Any, Tuple[Any, ...]]:
    """hvp inside vmap (Note [Transforms inside vmap]): the Hessian of the batch's sum
    is block-diagonal, so its product with the batched tangents holds each element's."""
    values: List[Any] = []

    def summed(*ps: Any) -> Any:
        v = _physical_function(f, primals, range(len(primals)), lift)(*ps)
        values.append(v)
        return _core.sum(v)

    _, batched_products = hvp(summed, lift.physical(primals), lift.physical(tangents))
    return lift.wrap(values[-1]), lift.wrap(batched_products)

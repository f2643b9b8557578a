"""A Jacobian under a memory budget: ``eg.jacobian_plan`` and ``eg.jacobian(f, memory_budget=...)``.

A Jacobian ``J`` (``m`` outputs by ``n`` inputs) is built from basis vectors pushed
through ``f``: ``m`` cotangents in reverse mode (one row each) or ``n`` tangents in
forward mode (one column each), in passes of ``chunk_size`` vectors at a time. The
planner picks the mode with fewer basis vectors (reverse when ``m <= n``: wide or
square, as ``mode="auto"`` does; forward otherwise: tall), then the largest chunk whose estimated extra peak memory
fits the budget, and switches mode only when the preferred one cannot fit at all.

Memory model (Note [Jacobian memory model]). The planner measures, with
``eg.memory_stats``, the extra peak of one pass with 1 and with 2 basis vectors
(``a + b·c`` for a pass of ``c`` vectors: ``a`` the graph or primal values, ``b`` the
(co)tangents one vector adds, its share of the result included). To it come the
NumPy basis block of the pass (``c`` unit vectors) and the rows or columns the
earlier passes finished (``R - c·row``, with ``R = m·n·itemsize`` the whole
Jacobian); joining the chunks copies the result once (reverse mode) or twice
(forward mode also transposes it). So, with ``k`` passes::

    peak(c) = max(a + b·c + basis(c) + R - c·row,  R·(1 + [k > 1] + [forward]))

The chunk is the largest whose estimate is within 95% of the budget (the rest for
Python's own objects, and for an estimate that falls a little short).

Budgets. An int is bytes; a string is a number and a unit: ``B``, decimal ``kB``,
``MB``, ``GB``, ``TB`` (10^3, 10^6, 10^9, 10^12 bytes) or binary ``KiB``, ``MiB``,
``GiB``, ``TiB`` (2^10, 2^20, 2^30, 2^40), with or without a space, in any case
(``"256MB"`` is 256,000,000 bytes, ``"1.5GiB"`` 1,610,612,736).
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Callable, List, Sequence, Union

import numpy as np

import eigengrad._core as _core
from eigengrad import autograd
from eigengrad import functional as _functional

Budget = Union[int, str]

_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_BUDGET = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_memory_budget(budget: Budget, who: str = "jacobian") -> int:
    """The budget in bytes.

    Parameters
    ----------
    budget : int or str
        Bytes, or a string such as ``"256MB"`` (decimal: 256 * 10**6) or ``"1.5GiB"``
        (binary: 1.5 * 2**30); units ``B kB MB GB TB KiB MiB GiB TiB``, any case.
    who : str
        The function named in errors.

    Returns
    -------
    int
        A positive number of bytes (fractions of a byte rounded down).

    Raises
    ------
    TypeError
        Neither an int nor a string.
    ValueError
        An unknown unit, an unreadable string, or a budget below one byte.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer, str)):
        raise TypeError(f"{who}: memory_budget must be an int (bytes) or a string like '256MB', got {budget!r}")
    if isinstance(budget, str):
        match = _BUDGET.match(budget)
        unit = match.group(2).lower() if match else ""
        if not match or unit not in _UNITS and unit != "":
            raise ValueError(f"{who}: cannot read memory_budget {budget!r}: expected a number and one of the units "
                             "B, kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)")
        nbytes = int(float(match.group(1)) * _UNITS[unit or "b"])
    else:
        nbytes = int(budget)
    if nbytes < 1:
        raise ValueError(f"{who}: memory_budget must be at least one byte, got {budget!r}")
    return nbytes


def format_bytes(nbytes: float) -> str:
    """``1234567`` -> ``'1.2 MB'`` (decimal units, as the budgets are written)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(nbytes) >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{int(nbytes)} B"


@dataclasses.dataclass(frozen=True)
class JacobianPlan:
    """How ``eg.jacobian(f, memory_budget=...)`` computes a Jacobian.

    Attributes
    ----------
    mode : str
        ``"rev"`` (basis cotangents, one row each) or ``"fwd"`` (basis tangents).
    chunk_size : int
        Basis vectors per pass.
    passes : int
        Number of passes, ``ceil(basis / chunk_size)``.
    n_outputs, n_inputs : int
        ``m`` and ``n``: the Jacobian is ``m x n`` (flattened).
    multiply_adds : int
        Estimated work: the basis vectors times the (co)tangent elements one vector
        adds in a pass (measured). Every such element costs at least one multiply-add,
        so this is a lower bound where products dominate (a matmul's rule spends its
        contracted length on each element).
    bytes : int
        Estimated extra peak memory (module doc: Note [Jacobian memory model]).
    budget : int
        The budget in bytes.
    reason : str
        Why this mode and chunk size, in words.
    """

    mode: str
    chunk_size: int
    passes: int
    n_outputs: int
    n_inputs: int
    multiply_adds: int
    bytes: int
    budget: int
    reason: str

    def __str__(self) -> str:
        name = "reverse" if self.mode == "rev" else "forward"
        return (f"JacobianPlan: {name} mode, chunks of {self.chunk_size} ({self.passes} passes) for a "
                f"{self.n_outputs} x {self.n_inputs} Jacobian; about {self.multiply_adds:,} multiply-adds, "
                f"{format_bytes(self.bytes)} extra peak of {format_bytes(self.budget)}\n  {self.reason}")


@dataclasses.dataclass
class _PassCost:
    """Extra peak bytes of one pass: ``fixed + per_vector * c`` (plus NumPy's basis)."""

    fixed: int
    per_vector: int


def _single(args: Sequence[Any], argnums: Any, who: str) -> int:
    nums, single = _functional._argnums(argnums, len(args), who)
    if not single:
        raise ValueError(f"{who}: memory_budget and sparsity take one argument to differentiate (an int argnums), "
                         f"got argnums={argnums!r}")
    return nums[0]


def _output_of(f: Callable[..., Any], args: List[Any], who: str) -> _core.Variable:
    with autograd.no_grad():
        outs, single = _functional._outputs(f(*args), who)
    if not single:
        raise ValueError(f"{who}: memory_budget and sparsity take a function with one array output, "
                         f"got a tuple of {len(outs)}")
    return outs[0]


def _one_pass(f: Callable[..., Any], args: List[Any], i: int, mode: str, count: int, m: int) -> None:
    """One pass of `count` basis vectors, its result dropped (for measuring)."""
    x = args[i]
    if mode == "rev":
        call, xs, _ = _functional._differentiable_inputs(args, [i], "jacobian_plan")
        with autograd.enable_grad(), _functional._inside_transform():
            out = _functional._outputs(f(*call), "jacobian_plan")[0][0]
        if out.requires_grad:
            seeds = _functional._basis(m, out.shape, out.dtype, 0, count)
            _functional._grad(out, xs, seeds, retain_graph=False, allow_unused=True, is_grads_batched=True)
    else:
        with _core.ForwardLevel() as level:
            call = list(args)
            call[i] = _core.make_dual(x, _functional._basis(x.size, x.shape, x.dtype, 0, count), level)
            with _functional._inside_transform():
                out = _functional._outputs(f(*call), "jacobian_plan")[0][0]
            _core.tangent(out, level)


def _measure(f: Callable[..., Any], args: List[Any], i: int, mode: str, count: int, m: int) -> int:
    """Extra peak bytes (eigengrad's allocator) of one pass of `count` vectors."""
    before: int = _core.memory_stats()["bytes_in_use"]
    _core.reset_peak_memory_stats()
    _one_pass(f, args, i, mode, count, m)
    peak: int = _core.memory_stats()["peak_bytes_in_use"]
    return max(0, peak - before)


def _estimate(cost: _PassCost, mode: str, chunk: int, basis: int, other: int, itemsize: int) -> int:
    """Note [Jacobian memory model] for a chunk of `chunk` vectors out of `basis`."""
    result = basis * other * itemsize
    passes = math.ceil(basis / chunk)
    finished = max(0, basis - chunk) * other * itemsize  # the chunks before the last
    during_pass = cost.fixed + cost.per_vector * chunk + chunk * basis * itemsize + finished
    joining = result * (1 + (passes > 1) + (mode == "fwd"))
    return max(during_pass, joining)


def _largest_chunk(cost: _PassCost, mode: str, basis: int, other: int, itemsize: int, budget: int) -> int:
    """The largest chunk in 1..basis whose estimate fits, or 0 (bisection: the
    estimate grows with the chunk, except for the single-pass saving at `basis`)."""
    if _estimate(cost, mode, basis, basis, other, itemsize) <= budget:
        return basis
    lo, hi = 0, basis - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _estimate(cost, mode, mid, basis, other, itemsize) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _pass_cost(f: Callable[..., Any], args: List[Any], i: int, mode: str, m: int, n: int, itemsize: int,
               budget: int) -> _PassCost:
    """Measured pass cost. When even one vector overflows the budget, the one-vector
    pass is all fixed cost (no chunk fits then). The second probe (2 vectors, at
    most twice the first) runs only when it fits."""
    basis = m if mode == "rev" else n
    one = _measure(f, args, i, mode, 1, m)
    if one + basis * itemsize > budget:
        return _PassCost(fixed=one, per_vector=0)
    if basis < 2 or 2 * (one + basis * itemsize) > budget:
        return _PassCost(fixed=0, per_vector=one)  # the pessimistic split
    two = _measure(f, args, i, mode, 2, m)
    per_vector = max(0, two - one)
    return _PassCost(fixed=max(0, one - per_vector), per_vector=per_vector)


def plan_jacobian(f: Callable[..., Any], args: Sequence[Any], argnums: Any, memory_budget: Budget,
                  mode: str = "auto", who: str = "jacobian_plan") -> JacobianPlan:
    """The plan for ``jacobian(f, argnums, mode)(*args)`` under ``memory_budget`` (see
    :func:`jacobian_plan`); a ``mode`` other than ``"auto"`` is kept."""
    budget = parse_memory_budget(memory_budget, who)
    aim = budget - budget // 20  # 5% for Python's own objects, and for estimates a little short
    i = _single(args, argnums, who)
    args = list(args)
    args[i] = _functional._variable(args[i], who).detach()
    out = _output_of(f, args, who)
    m, n = out.size, args[i].size
    itemsize = np.dtype(out.dtype).itemsize
    preferred = _functional._auto_mode(m, n)
    why_mode = (f"reverse mode: {m} outputs <= {n} inputs, so {m} basis cotangents instead of {n} tangents"
                if preferred == "rev" else
                f"forward mode: {n} inputs < {m} outputs, so {n} basis tangents instead of {m} cotangents")
    if mode != "auto":
        preferred, why_mode = mode, f"{'reverse' if mode == 'rev' else 'forward'} mode, as asked"
    tried = []
    for mode in ((preferred,) if why_mode.endswith("as asked") else (preferred, "fwd" if preferred == "rev" else "rev")):
        basis, other = (m, n) if mode == "rev" else (n, m)
        if basis == 0 or other == 0:
            return JacobianPlan(mode, 1, 0, m, n, 0, 0, budget, "the Jacobian is empty: nothing to compute")
        cost = _pass_cost(f, args, i, mode, m, n, itemsize, aim)
        chunk = _largest_chunk(cost, mode, basis, other, itemsize, aim)
        if chunk == 0:
            tried.append((mode, _estimate(cost, mode, 1, basis, other, itemsize)))
            continue
        estimate = _estimate(cost, mode, chunk, basis, other, itemsize)
        passes = math.ceil(basis / chunk)
        work = basis * max(other, (cost.per_vector or cost.fixed) // itemsize)
        if mode == preferred:
            reason = why_mode
        else:
            reason = (f"{why_mode}; but that needs {format_bytes(tried[0][1])} even one vector at a time, so "
                      f"{'reverse' if mode == 'rev' else 'forward'} mode")
        limit = "all in one pass" if passes == 1 else f"the largest chunk within {format_bytes(budget)}"
        reason += (f"; chunks of {chunk} ({limit}): a pass adds {format_bytes(cost.per_vector)} per vector on "
                   f"{format_bytes(cost.fixed)} fixed, the result is {format_bytes(basis * other * itemsize)}")
        return JacobianPlan(mode, chunk, passes, m, n, int(work), int(estimate), budget, reason)
    needs = ", ".join(f"{'reverse' if mode == 'rev' else 'forward'} mode {format_bytes(b)}" for mode, b in tried)
    raise ValueError(f"{who}: memory_budget {memory_budget!r} ({budget:,} bytes) is too small for even one "
                     f"{'row' if tried[0][0] == 'rev' else 'column'} of the {m} x {n} Jacobian: one basis vector "
                     f"at a time needs {needs} (the result alone is {format_bytes(m * n * itemsize)})")


def jacobian_plan(f: Callable[..., Any], *args: Any, argnums: int = 0, memory_budget: Budget) -> JacobianPlan:
    """How ``eg.jacobian(f, argnums, memory_budget=memory_budget)(*args)`` would
    compute, without computing the Jacobian.

    Parameters
    ----------
    f : callable
        A function of Variables returning one array.
    *args
        Its arguments.
    argnums : int
        The argument to differentiate.
    memory_budget : int or str
        Bytes, or a string such as ``"256MB"`` (10^6) or ``"1.5GiB"`` (2^30).

    Returns
    -------
    JacobianPlan
        ``.mode`` (``"fwd"``/``"rev"``), ``.chunk_size``, ``.passes``,
        ``.multiply_adds`` and ``.bytes`` (estimates), ``.reason``.

    Raises
    ------
    ValueError
        The budget cannot hold even one basis vector's pass and the result (the
        message names the budget asked and what one vector needs), or a tuple
        ``argnums``/output.

    Notes
    -----
    Planning evaluates ``f`` once and measures one pass with one and with two basis
    vectors (memory model: module doc of ``eigengrad.jacobian_plan``); the estimate
    counts eigengrad's buffers (``eg.memory_stats``) and the NumPy basis blocks, not memory ``f`` allocates itself outside eigengrad.
    """
    return plan_jacobian(f, args, argnums, memory_budget)


def jacobian_within(f: Callable[..., Any], args: Sequence[Any], argnums: Any, memory_budget: Budget,
                    mode: str = "auto") -> Any:
    """``eg.jacobian(f, argnums, mode, memory_budget=...)(*args)``: plan, then compute."""
    plan = plan_jacobian(f, args, argnums, memory_budget, mode, who="jacobian")
    i = _single(args, argnums, "jacobian")
    run = _functional._jacobian_rev if plan.mode == "rev" else _functional._jacobian_fwd
    jacs, _ = run(f, list(args), (i,), plan.chunk_size)
    return jacs[0][0]

"""Sparse Jacobians by colouring: ``eg.jacobian(f, sparsity=...)`` and ``eg.jacobian_sparsity``.

When ``J`` (``m x n``) is sparse, columns that share no row are *structurally
orthogonal*: one tangent with ones in all of them gives their columns side by side,
each entry of ``J @ t`` coming from exactly one of them. Colour the columns so that
no two in a colour share a row (a distance-2 colouring of the bipartite graph, i.e.
a colouring of the column intersection graph ``P^T P``), push one tangent per
colour, and read every entry back: ``J[i, j] = (J t_colour(j))[i]``. Reverse mode
does the same with rows (``P P^T``) and cotangents. The passes number the colours,
about the most nonzeros in a row (columns) or column (rows), not ``n``.

Colouring (Note [Vectorised greedy colouring]). Greedy colouring in a fixed order
gives each vertex the smallest colour its earlier neighbours do not use. It is
run here in rounds, as Jones and Plassmann do in parallel: a vertex is coloured as
soon as all its earlier neighbours are, all such vertices of a round at once with
NumPy; the result is the sequential greedy colouring in that order. The order is
the index order within blocks of 2520 consecutive vertices, the blocks side by
side (so there are at most about 2520 rounds); 2520 = lcm(1, ..., 10), so a band
of width w <= 10 gets the w colours of the plain index order.

Detection (``sparsity="auto"``, Note [NaN probes]). A NaN in a tangent stays NaN
through every rule that multiplies or adds it (``0 * nan`` is NaN): the output
entries a NaN tangent reaches are the ones that structurally depend on it, without
the cancellations that make random numeric probes miss entries. The columns are
put in groups by their residues modulo two coprime numbers ``q1 q2 >= n``, and
three more times in ``q3`` random groups (a fixed seed), one NaN tangent per group:
about ``5 sqrt(n)`` tangents in all, so detecting costs about ``5 sqrt(n)`` Jacobian
columns (once; pass the pattern back as ``sparsity=`` to reuse it). A row's
candidate columns are those whose groups all reached it (the Chinese remainder
theorem on the pairs of residues of ``q1`` and ``q2``); that set holds every true
entry, and the random groups remove almost all others (a column that is not an
entry survives with probability about ``(s / q3)**3`` for ``s`` entries in its
row). Last, the candidates are coloured and one NaN tangent per colour is pushed:
a row holds at most one candidate of a colour, so it turns NaN exactly when that
candidate is an entry, which removes the rest.
Limits: rules that select (``where``, ``maximum``, ``relu``, ``clip``, ``max``) pass
no tangent from the branch not taken, so the pattern is the one at the given
point, which is what that point's Jacobian needs, but may miss entries at other
points; a matrix product with a zero weight reports an entry that is 0 (more
work, never a wrong value). Custom functions' Python ``jvp`` rules are trusted
to be linear. Give ``sparsity=`` a pattern to skip detection or to cover every
branch.
"""

from __future__ import annotations

import collections
import hashlib
import math
from typing import Any, Callable, List, Optional, Sequence, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad import autograd
from eigengrad import functional as _functional

SPARSE_HINT = 'pip install "eigengrad[sparse]" (from a source checkout: pip install ".[sparse]")'
_BLOCK = 2520
#: Most entries of a colouring's conflict graph (``P^T P`` or ``P P^T``) built.
MAX_CONFLICTS = 200_000_000
#: A scipy.sparse matrix. scipy ships no type information, so to a type checker
#: its matrices are Any.
SparseMatrix = Any


def _scipy_sparse(who: str) -> Any:
    """The module scipy.sparse, or an ImportError that names the ``sparse`` extra."""
    try:
        import scipy.sparse
    except ImportError as e:
        raise ImportError(f"{who}: sparse Jacobians need scipy: {SPARSE_HINT}") from e
    return scipy.sparse


# ---- colouring ------------------------------------------------------------------

def _gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The entries of CSR rows `rows`: (position in `rows` of each entry, its column)."""
    lengths = indptr[rows + 1] - indptr[rows]
    owner = np.repeat(np.arange(len(rows)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return owner, indices[np.repeat(indptr[rows], lengths) + offsets]


def _smallest_free(owner: np.ndarray, taken: np.ndarray, count: int) -> np.ndarray:
    """For each of `count` vertices, the smallest colour >= 0 not among the colours
    `taken[k]` of its neighbours (`owner[k]` names the vertex)."""
    free = np.zeros(count, dtype=np.int64)
    if owner.size == 0:
        return free
    span = int(taken.max()) + 2
    pairs = np.unique(owner.astype(np.int64) * span + taken)
    who, colour = pairs // span, pairs % span
    starts = np.searchsorted(who, np.arange(count))
    rank = np.arange(len(pairs)) - starts[who]
    free[:] = np.bincount(who, minlength=count)  # no gap below: one past the used ones
    gap = colour != rank
    np.minimum.at(free, who[gap], rank[gap])
    return free


def greedy_colouring(conflicts: SparseMatrix) -> np.ndarray:
    """Colours of the vertices of a symmetric conflict graph (a scipy.sparse matrix;
    the diagonal is ignored) such that neighbours differ: the greedy colouring in
    the order of Note [Vectorised greedy colouring], computed in rounds.

    Parameters
    ----------
    conflicts : scipy.sparse matrix, shape (k, k)
        Nonzero ``[a, b]`` when ``a`` and ``b`` must differ.

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
        Colours ``0 .. c - 1``.
    """
    k = conflicts.shape[0]
    coo = conflicts.tocoo()
    a, b = coo.row.astype(np.int64), coo.col.astype(np.int64)
    keep = a != b
    a, b = a[keep], b[keep]
    order = (np.arange(k) % _BLOCK) * ((k + _BLOCK - 1) // _BLOCK + 1) + np.arange(k) // _BLOCK
    earlier = order[b] < order[a]  # b is coloured before a
    # CSR of "a waits for b" (by a) and of "b releases a" (by b)
    wait_a, wait_b = a[earlier], b[earlier]
    by_a = np.argsort(wait_a, kind="stable")
    wait_ptr = np.concatenate([[0], np.cumsum(np.bincount(wait_a, minlength=k))])
    wait_idx = wait_b[by_a]
    by_b = np.argsort(wait_b, kind="stable")
    release_ptr = np.concatenate([[0], np.cumsum(np.bincount(wait_b, minlength=k))])
    release_idx = wait_a[by_b]
    pending = np.diff(wait_ptr)
    colour = np.full(k, -1, dtype=np.int64)
    ready = np.flatnonzero(pending == 0)
    while ready.size:
        owner, neighbours = _gather(wait_ptr, wait_idx, ready)
        colour[ready] = _smallest_free(owner, colour[neighbours], ready.size)
        _, later = _gather(release_ptr, release_idx, ready)
        np.subtract.at(pending, later, 1)
        touched = np.unique(later)
        ready = touched[pending[touched] == 0]
    return colour


def _conflict_count(pattern: SparseMatrix) -> int:
    """Entries of ``P^T P`` before merging: the sum of squared row lengths."""
    lengths = np.diff(pattern.indptr).astype(np.int64)
    return int((lengths * lengths).sum())


def colour_columns(pattern: SparseMatrix) -> Optional[np.ndarray]:
    """Greedy colours of the columns of a CSR pattern such that no two columns of
    a colour share a row, or None when ``P^T P`` would exceed ``MAX_CONFLICTS``."""
    if _conflict_count(pattern) > MAX_CONFLICTS:
        return None
    ones = pattern.astype(np.int32)
    conflicts = (ones.T @ ones).tocsr()
    return greedy_colouring(conflicts)


# ---- patterns -------------------------------------------------------------------

def _as_pattern(sparsity: Any, shape: Tuple[int, int], out_shape: Tuple[int, ...],
                in_shape: Tuple[int, ...]) -> SparseMatrix:
    sparse = _scipy_sparse("jacobian")
    if sparse.issparse(sparsity):
        given = sparsity
    elif isinstance(sparsity, np.ndarray) or isinstance(sparsity, (list, tuple)):
        given = np.asarray(sparsity)
        if given.dtype != bool:
            raise ValueError(f"jacobian: a sparsity pattern given as an array must be boolean, got {given.dtype}")
        if given.shape == tuple(out_shape) + tuple(in_shape):
            given = given.reshape(shape)
    else:
        raise ValueError(f"jacobian: unknown sparsity {sparsity!r}: use 'auto', a boolean array or a "
                         "scipy.sparse matrix")
    if tuple(given.shape) != shape:
        raise ValueError(f"jacobian: the sparsity pattern has shape {tuple(given.shape)}, but the Jacobian is "
                         f"{shape[0]} x {shape[1]} (outputs {tuple(out_shape)} by inputs {tuple(in_shape)}): "
                         f"expected {shape}")
    pattern = sparse.csr_matrix(given, dtype=bool)
    pattern.eliminate_zeros()
    pattern.sort_indices()
    return pattern


def _coprimes(n: int) -> Tuple[int, int, int]:
    """Three pairwise coprime numbers near sqrt(n) with q1 * q2 >= n."""
    q1 = max(2, math.isqrt(max(n - 1, 0)) + 1)
    picked = [q1]
    q = q1 + 1
    while len(picked) < 3:
        if all(math.gcd(q, p) == 1 for p in picked):
            picked.append(q)
        q += 1
    return picked[0], picked[1], picked[2]


def _nan_reach(f: Callable[..., Any], args: Sequence[Any], i: int, groups: np.ndarray, count: int, m: int,
               chunk_size: Optional[int]) -> np.ndarray:
    """(count, m) booleans: whether output i is NaN when the tangent is NaN on the
    columns of group g (`groups[j]` is column j's group)."""
    x = args[i]
    reach = np.zeros((count, m), dtype=bool)
    step = chunk_size or max(1, min(count, (1 << 25) // max(1, x.size + m)))
    for start in range(0, count, step):
        stop = min(count, start + step)
        tangents = np.zeros((stop - start, x.size), dtype=x.dtype)
        inside = (groups >= start) & (groups < stop)
        tangents[groups[inside] - start, np.flatnonzero(inside)] = np.nan
        reach[start:stop] = np.isnan(_push(f, args, i, tangents, m))
    return reach


def _detect(f: Callable[..., Any], args: Sequence[Any], i: int, m: int, chunk_size: Optional[int]) -> SparseMatrix:
    """The structural pattern at the given point by NaN probes (Note [NaN probes])."""
    sparse = _scipy_sparse("jacobian")
    n = args[i].size
    columns = np.arange(n)
    q1, q2, q3 = _coprimes(n)
    if q1 + q2 + q3 >= n:  # one probe per column is no more work
        reach = _nan_reach(f, args, i, columns, n, m, chunk_size)
        return sparse.csr_matrix(reach.T)
    r1 = _nan_reach(f, args, i, columns % q1, q1, m, chunk_size)  # (q1, m)
    r2 = _nan_reach(f, args, i, columns % q2, q2, m, chunk_size)
    # checks: three random groupings (a fixed seed), free of the residues' structure
    check_groups = np.random.default_rng(0).integers(0, q3, size=(3, n))
    checks = [(g, _nan_reach(f, args, i, g, q3, m, chunk_size)) for g in check_groups]
    row1, res1 = np.nonzero(r1.T)  # rows with their reached residues, row-major
    row2, res2 = np.nonzero(r2.T)
    per_row1 = np.bincount(row1, minlength=m)
    per_row2 = np.bincount(row2, minlength=m)
    pairs = int((per_row1 * per_row2).sum())
    if pairs > MAX_CONFLICTS:
        raise ValueError(f"jacobian: sparsity='auto' found a Jacobian too dense for a sparse result "
                         f"(about {pairs:,} candidate entries of {m * n:,}); use eg.jacobian without sparsity")
    # every pair (a residue of q1, a residue of q2) of a row: one column by the CRT
    start2 = np.concatenate([[0], np.cumsum(per_row2)])
    left, picks = _gather(start2, np.arange(len(row2)), row1)
    rows, a, b = row1[left], res1[left], res2[picks]
    inverse = pow(q1, -1, q2)
    cols = a + q1 * (((b - a) * inverse) % q2)
    keep = (cols < n)
    rows, cols = rows[keep], cols[keep]
    keep = np.ones(len(cols), dtype=bool)
    for groups, reach in checks:
        keep &= reach[groups[cols], rows]
    candidates = sparse.csr_matrix((np.ones(int(keep.sum()), dtype=bool), (rows[keep], cols[keep])), shape=(m, n))
    return _verified(f, args, i, candidates, chunk_size)


def _verified(f: Callable[..., Any], args: Sequence[Any], i: int, candidates: SparseMatrix,
              chunk_size: Optional[int]) -> SparseMatrix:
    """The candidates that are entries: colour the candidate columns, one NaN tangent
    per colour; a row has at most one candidate of each colour, so the row turns NaN
    exactly when that candidate is an entry."""
    colours = colour_columns(candidates)
    if colours is None:
        return candidates
    count = int(colours.max()) + 1 if colours.size else 0
    reach = _nan_reach(f, args, i, colours, count, candidates.shape[0], chunk_size)
    rows = np.repeat(np.arange(candidates.shape[0]), np.diff(candidates.indptr))
    data = reach[colours[candidates.indices], rows]
    exact = type(candidates)((data, candidates.indices, candidates.indptr), shape=candidates.shape)
    exact.eliminate_zeros()
    return exact


# ---- passes ---------------------------------------------------------------------

def _push(f: Callable[..., Any], args: Sequence[Any], i: int, tangents: np.ndarray, m: int) -> np.ndarray:
    """Forward mode: (k, n) tangents of the flattened argument in, (k, m) out."""
    x = args[i]
    with _core.ForwardLevel() as level:
        call = list(args)
        call[i] = _core.make_dual(x, _core.Variable(tangents.reshape((len(tangents),) + tuple(x.shape))), level)
        with autograd.no_grad(), _functional._inside_transform():
            out = _functional._outputs(f(*call), "jacobian")[0][0]
        t = _core.tangent(out, level)
        if t is None:
            return np.zeros((len(tangents), m), dtype=out.dtype)
        return np.array(t.numpy()).reshape(len(tangents), m)


def _pull(f: Callable[..., Any], args: Sequence[Any], i: int, cotangents: np.ndarray, out_shape: Tuple[int, ...],
          chunk: int) -> np.ndarray:
    """Reverse mode: (k, m) cotangents in, (k, n) out; one recorded forward."""
    call, xs, _ = _functional._differentiable_inputs(args, [i], "jacobian")
    with autograd.enable_grad(), _functional._inside_transform():
        out = _functional._outputs(f(*call), "jacobian")[0][0]
    n = xs[0].size
    if not out.requires_grad:
        return np.zeros((len(cotangents), n), dtype=out.dtype)
    parts = []
    for start in range(0, len(cotangents), chunk):
        seeds = _core.Variable(np.ascontiguousarray(cotangents[start:start + chunk]).reshape((-1,) + out_shape))
        (g,) = _functional._grad(out, xs, seeds, retain_graph=True, allow_unused=True, is_grads_batched=True)
        parts.append(np.zeros((len(seeds), n), dtype=out.dtype) if g is None
                     else np.array(g.numpy()).reshape(-1, n))
    return np.concatenate(parts)


def _colour_seeds(colour: np.ndarray, count: int, dtype: np.dtype[Any]) -> np.ndarray:
    seeds = np.zeros((count, colour.size), dtype=dtype)
    seeds[colour, np.arange(colour.size)] = 1
    return seeds


def jacobian_sparsity(f: Callable[..., Any], *args: Any, argnums: int = 0,
                      chunk_size: Optional[int] = None) -> SparseMatrix:
    """The structural sparsity pattern of ``jacobian(f, argnums)(*args)``, detected
    by NaN probes (Note [NaN probes] in the module doc): about ``5 sqrt(n)`` tangents.

    Parameters
    ----------
    f : callable
        A function of Variables returning one array.
    *args
        Its arguments; the pattern is the one at this point.
    argnums : int
        The argument to differentiate.
    chunk_size : int, optional
        Tangents per forward pass (default: as many as fit in about 256 MB).

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (out.size, arg.size)
        True at every structurally nonzero entry of ``J`` (no cancellation can hide
        one), entries that are 0 only numerically included; nothing else.

    Raises
    ------
    ImportError
        scipy is not installed (names the ``sparse`` extra).
    """
    _scipy_sparse("jacobian_sparsity")
    detached, i, out = _prepare(f, args, argnums, "jacobian_sparsity")
    return _detect(f, detached, i, out.size, chunk_size)


def _prepare(f: Callable[..., Any], args: Sequence[Any], argnums: Any,
             who: str) -> Tuple[List[Any], int, _core.Variable]:
    from eigengrad.jacobian_plan import _output_of, _single  # same layer; late to keep imports acyclic
    i = _single(args, argnums, who)
    args = list(args)
    args[i] = _functional._variable(args[i], who).detach()
    return args, i, _output_of(f, args, who)


def sparse_jacobian(f: Callable[..., Any], args: Sequence[Any], argnums: Any, sparsity: Any, mode: str = "auto",
                    chunk_size: Optional[int] = None) -> SparseMatrix:
    """``eg.jacobian(f, argnums, mode, chunk_size, sparsity=sparsity)(*args)``: a
    scipy.sparse CSR matrix of shape ``(out.size, arg.size)`` (the Jacobian with
    output and argument flattened in row-major order).

    ``sparsity`` is ``"auto"`` (detect: :func:`jacobian_sparsity`), a boolean array
    of shape ``(out.size, arg.size)`` or ``out.shape + arg.shape``, or a scipy.sparse
    matrix whose nonzeros mark the entries that may be nonzero. Columns (forward
    mode) or rows (reverse mode) are coloured; ``mode="auto"`` takes the mode with
    fewer colours. ``chunk_size`` bounds the colours per pass. The result holds
    values only (it is not a Variable and is not differentiated further).
    """
    if isinstance(sparsity, str) and sparsity != "auto":
        raise ValueError(f"jacobian: unknown sparsity {sparsity!r}: use 'auto', a boolean array or a "
                         "scipy.sparse matrix")
    sparse = _scipy_sparse("jacobian")
    args, i, out = _prepare(f, args, argnums, "jacobian")
    m, n = out.size, args[i].size
    pattern = (_detect(f, args, i, m, chunk_size) if isinstance(sparsity, str)
               else _as_pattern(sparsity, (m, n), out.shape, args[i].shape))
    plan = plan_colouring(pattern, mode)
    dtype = np.dtype(out.dtype)
    if plan.mode == "fwd":
        seeds = _colour_seeds(plan.colours, plan.count, dtype)
        step = chunk_size or plan.count
        compressed = np.concatenate([_push(f, args, i, seeds[s:s + step], m) for s in range(0, plan.count, step)]
                                    ) if plan.count else np.zeros((0, m), dtype)
        rows = np.repeat(np.arange(m), np.diff(pattern.indptr))
        values = compressed[plan.colours[pattern.indices], rows]
    else:
        seeds = _colour_seeds(plan.colours, plan.count, dtype)
        compressed = (_pull(f, args, i, seeds, tuple(out.shape), chunk_size or plan.count) if plan.count
                      else np.zeros((0, n), dtype))
        rows = np.repeat(np.arange(m), np.diff(pattern.indptr))
        values = compressed[plan.colours[rows], pattern.indices]
    return sparse.csr_matrix((values.astype(dtype, copy=False), pattern.indices.copy(), pattern.indptr.copy()),
                             shape=(m, n))


class ColouringPlan:
    """The colouring a sparse Jacobian uses: ``mode``, ``colours`` (one per column
    in forward mode, per row in reverse mode) and ``count`` (the passes' width)."""

    def __init__(self, mode: str, colours: np.ndarray):
        self.mode = mode
        self.colours = colours
        self.count = int(colours.max()) + 1 if colours.size else 0

    def __repr__(self) -> str:
        return f"ColouringPlan(mode={self.mode!r}, count={self.count})"


_PLANS: "collections.OrderedDict[Tuple[Tuple[int, ...], str, str], ColouringPlan]" = collections.OrderedDict()
_PLANS_KEPT = 8


def plan_colouring(pattern: SparseMatrix, mode: str = "auto") -> ColouringPlan:
    """Colours the columns (forward mode) and the rows (reverse mode) of a CSR
    pattern and keeps the mode with fewer colours (or the mode asked for); a tie
    goes to reverse mode when there are fewer rows than columns. The last 8 plans
    are kept, by a digest of the pattern, so a pattern given again is not
    coloured again."""
    digest = hashlib.blake2b(np.ascontiguousarray(pattern.indptr).tobytes(), digest_size=16)
    digest.update(np.ascontiguousarray(pattern.indices).tobytes())
    key = (pattern.shape, mode, digest.hexdigest())
    if key in _PLANS:
        _PLANS.move_to_end(key)
        return _PLANS[key]
    plan = _colour(pattern, mode)
    _PLANS[key] = plan
    while len(_PLANS) > _PLANS_KEPT:
        _PLANS.popitem(last=False)
    return plan


def _colour(pattern: SparseMatrix, mode: str) -> ColouringPlan:
    candidates = {}
    if mode in ("auto", "fwd"):
        candidates["fwd"] = colour_columns(pattern)
    if mode in ("auto", "rev"):
        candidates["rev"] = colour_columns(pattern.T.tocsr())
    usable = {k: v for k, v in candidates.items() if v is not None}
    if not usable:
        raise ValueError(f"jacobian: the sparsity pattern ({pattern.nnz:,} entries in {pattern.shape[0]} x "
                         f"{pattern.shape[1]}) has rows and columns too dense to colour; use a dense Jacobian")
    m, n = pattern.shape
    tie_first = ("rev", "fwd") if m < n else ("fwd", "rev")
    best = min(usable, key=lambda k: (int(usable[k].max()) + 1 if usable[k].size else 0, tie_first.index(k)))
    return ColouringPlan(best, usable[best])

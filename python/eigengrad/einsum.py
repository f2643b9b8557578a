"""``einsum``: NumPy's Einstein summation, built on differentiable ops.

Nothing here has derivative rules of its own: the subscripts are turned into
diagonals, sums, transposes, reshapes and batched matrix products, each a recorded
op with VJP and JVP rules, so gradients in both modes and to any order come with
them.

The plan, for operands ``x0, x1, ...``:

1. Each operand alone: a label repeated within it is a diagonal (``'ii'``), and a
   label that appears in no other operand and not in the output is summed away.
2. Then the operands are contracted pairwise, left to right: the running result
   with the next operand. Labels in both that a later operand or the output still
   needs are batch axes; the other shared labels are contracted; the rest are free.
   One ``matmul`` of ``(batch..., M, K) @ (batch..., K, N)`` does the step (its
   batch axes broadcast, which is how size-1 axes and ``...`` broadcast).
3. The result's axes are put in the output's order.

Left to right is not always the cheapest order for three or more operands (NumPy's
``optimize=True`` searches for one): write the operands in a good order, or split
the expression, when it matters.
"""

from __future__ import annotations

import math
import string
from typing import Any, Dict, List, Sequence, Set, Tuple

import eigengrad._core as _core
from eigengrad._core import Variable

__all__ = ["einsum"]

_LETTERS = frozenset(string.ascii_letters)

Labels = List[str]


def _error(message: str) -> ValueError:
    return ValueError(f"einsum: {message}")


def _tokens(term: str, where: str) -> Tuple[Labels, bool]:
    """The letters of one term in order, with '...' as the token '...'."""
    labels: Labels = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i:i + 3] != "...":
                raise _error(f"subscripts contain a '.' that is not part of an ellipsis ('...') in {where}")
            if "..." in labels:
                raise _error(f"subscripts contain more than one ellipsis ('...') in {where}")
            labels.append("...")
            i += 3
            continue
        if c not in _LETTERS:
            raise _error(f"invalid subscript {c!r} in the subscripts string, subscripts must be letters")
        labels.append(c)
        i += 1
    return labels, "..." in labels


def _parse(subscripts: str, ndims: Sequence[int]) -> Tuple[List[Labels], Labels]:
    """Every operand's labels, one per axis, and the output's labels.

    The axes covered by an ellipsis get the labels '.0', '.1', ... aligned on the
    right (as broadcasting aligns shapes), so they broadcast and contract like
    letters do.
    """
    spec = subscripts.replace(" ", "")
    if "->" in spec:
        lhs, rhs = spec.split("->", 1)
        if "-" in rhs or ">" in rhs:
            raise _error(f"subscripts {subscripts!r} contain more than one '->'")
    else:
        if "-" in spec or ">" in spec:
            raise _error(f"subscripts {subscripts!r} do not contain a proper '->' before the output")
        lhs, rhs = spec, None
    terms = lhs.split(",")
    if len(terms) != len(ndims):
        fewer = "fewer" if len(ndims) < len(terms) else "more"
        raise _error(f"{fewer} operands given ({len(ndims)}) than the subscripts {subscripts!r} name ({len(terms)})")

    parsed = [_tokens(term, f"operand {k}") for k, term in enumerate(terms)]
    ellipsis_ndims = []
    for k, ((labels, has_ellipsis), ndim) in enumerate(zip(parsed, ndims)):
        letters = len(labels) - has_ellipsis
        if letters > ndim:
            raise _error(f"subscripts {terms[k]!r} name {letters} axes of operand {k}, which has {ndim}")
        if not has_ellipsis and letters < ndim:
            raise _error(
                f"operand {k} has {ndim} axes but subscripts {terms[k]!r} name {letters}, "
                "and no '...' takes the extra axes"
            )
        ellipsis_ndims.append(ndim - letters)
    n_broadcast = max(ellipsis_ndims, default=0)
    broadcast_labels = [f".{j}" for j in range(n_broadcast)]

    inputs = []
    for (labels, _), n_ellipsis in zip(parsed, ellipsis_ndims):
        expanded: Labels = []
        for label in labels:
            expanded.extend(broadcast_labels[n_broadcast - n_ellipsis:] if label == "..." else [label])
        inputs.append(expanded)

    counts: Dict[str, int] = {}
    for labels in inputs:
        for label in labels:
            counts[label] = counts.get(label, 0) + 1
    if rhs is None:
        # Implicit output: the broadcast axes, then the letters seen once, in ASCII
        # order (upper case first), as NumPy's.
        output = broadcast_labels + sorted(c for c, n in counts.items() if n == 1 and c in _LETTERS)
    else:
        out_tokens, out_has_ellipsis = _tokens(rhs, "the output")
        seen = set()
        for label in out_tokens:
            if label in seen:
                raise _error(f"output subscript {label!r} appears more than once in {subscripts!r}")
            seen.add(label)
            if label != "..." and label not in counts:
                raise _error(f"output subscript {label!r} never appears in an input of {subscripts!r}")
        if n_broadcast and not out_has_ellipsis:
            raise _error(
                f"the operands have {n_broadcast} broadcast axes ('...') but the output {rhs!r} "
                "has no '...' to keep them"
            )
        output = []
        for label in out_tokens:
            output.extend(broadcast_labels if label == "..." else [label])
    return inputs, output


def _describe(label: str) -> str:
    return f"the broadcast axis {label[1:]} of '...'" if label.startswith(".") else f"label {label!r}"


def _check_sizes(operands: Sequence[Variable], inputs: Sequence[Labels]) -> None:
    """Every label has one size over the operands; 1 broadcasts against any size,
    as in NumPy. A label repeated in one operand needs equal sizes there."""
    sizes: Dict[str, int] = {}
    for k, (x, labels) in enumerate(zip(operands, inputs)):
        own: Dict[str, int] = {}
        for label, n in zip(labels, x.shape):
            if label in own and own[label] != n:
                raise _error(
                    f"operand {k} of shape {x.shape} repeats {_describe(label)} on axes of sizes "
                    f"{own[label]} and {n}: a diagonal needs equal sizes"
                )
            own[label] = n
        for label, n in own.items():
            previous = sizes.get(label, 1)
            if n != previous and n != 1 and previous != 1:
                raise _error(
                    f"size {n} of {_describe(label)} in operand {k} of shape {x.shape} does not match "
                    f"size {previous} in an earlier operand"
                )
            sizes[label] = previous if n == 1 else n


def _take_diagonals(x: Variable, labels: Labels) -> Tuple[Variable, Labels]:
    """Collapses every repeated label of one operand onto its diagonal."""
    labels = list(labels)
    while len(set(labels)) < len(labels):
        first = next(label for label in labels if labels.count(label) > 1)
        a = labels.index(first)
        b = labels.index(first, a + 1)
        x = _core.diagonal(x, 0, a, b)  # removes axes a and b, appends the diagonal last
        labels = [label for i, label in enumerate(labels) if i not in (a, b)] + [first]
    return x, labels


def _sum_labels(x: Variable, labels: Labels, drop: Sequence[str]) -> Tuple[Variable, Labels]:
    axes = tuple(i for i, label in enumerate(labels) if label in drop)
    if not axes:
        return x, labels
    return _core.sum(x, axes), [label for label in labels if label not in drop]


def _permute(x: Variable, labels: Labels, order: Labels) -> Variable:
    perm = [labels.index(label) for label in order]
    return x if perm == list(range(len(perm))) else _core.transpose(x, perm)


def _contract_pair(a: Variable, la: Labels, b: Variable, lb: Labels, keep: Set[str]) -> Tuple[Variable, Labels]:
    """``a`` and ``b`` as one operand: shared labels in ``keep`` stay (batch axes),
    the other shared labels are summed over; one matmul."""
    # A label only one side has and nobody needs any more: sum it first.
    a, la = _sum_labels(a, la, [label for label in la if label not in lb and label not in keep])
    b, lb = _sum_labels(b, lb, [label for label in lb if label not in la and label not in keep])
    batch = [label for label in la if label in lb and label in keep]
    summed = [label for label in la if label in lb and label not in keep]
    free_a = [label for label in la if label not in lb]
    free_b = [label for label in lb if label not in la]
    size_a = dict(zip(la, a.shape))
    size_b = dict(zip(lb, b.shape))
    # A summed label of size 1 on one side and n on the other: sum the n side first
    # (both then have size 1, and the matmul sums over one term).
    ones_a = [label for label in summed if size_a[label] == 1 and size_b[label] != 1]
    ones_b = [label for label in summed if size_b[label] == 1 and size_a[label] != 1]
    if ones_a:
        b = _core.sum(b, tuple(lb.index(label) for label in ones_a), keepdims=True)
        size_b.update((label, 1) for label in ones_a)
    if ones_b:
        a = _core.sum(a, tuple(la.index(label) for label in ones_b), keepdims=True)
        size_a.update((label, 1) for label in ones_b)

    m = math.prod(size_a[label] for label in free_a)
    k = math.prod(size_a[label] for label in summed)
    n = math.prod(size_b[label] for label in free_b)
    a2 = _core.reshape(_permute(a, la, batch + free_a + summed), tuple(size_a[label] for label in batch) + (m, k))
    b2 = _core.reshape(_permute(b, lb, batch + summed + free_b), tuple(size_b[label] for label in batch) + (k, n))
    out = _core.matmul(a2, b2)
    batch_shape = tuple(out.shape[:len(batch)])
    shape = batch_shape + tuple(size_a[label] for label in free_a) + tuple(size_b[label] for label in free_b)
    return _core.reshape(out, shape), batch + free_a + free_b


def _interleaved(args: Sequence[Any]) -> Tuple[str, Tuple[Any, ...]]:
    """NumPy's second form, ``einsum(x, [0, 1], y, [1, 2], [0, 2])``, as subscripts."""
    def term(sublist: Any) -> str:
        letters = []
        for item in sublist:
            if item is Ellipsis:
                letters.append("...")
            elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item < 52:
                letters.append(string.ascii_letters[item])
            else:
                raise _error(f"sublist items must be integers in [0, 52) or Ellipsis, got {item!r}")
        return "".join(letters)

    operands = list(args[0::2])
    sublists = list(args[1::2])
    output = None
    if len(operands) > len(sublists):  # an odd count: the last argument is the output's sublist
        output = operands.pop()
    spec = ",".join(term(s) for s in sublists)
    if output is not None:
        spec += "->" + term(output)
    return spec, tuple(operands)


def einsum(subscripts: Any, *operands: Any) -> Variable:
    """Einstein summation, as :func:`numpy.einsum`, differentiable.

    Parameters
    ----------
    subscripts : str
        Comma-separated labels, one term per operand, and optionally ``->`` and
        the output's labels. Labels are letters (``a-z``, ``A-Z``); ``...`` stands
        for the leading axes, which broadcast as in NumPy. A label repeated in one
        term takes a diagonal (``'ii->i'``); a label missing from the output is
        summed over. Without ``->`` the output is every label that appears once, in
        alphabetical order (upper case first), after the ``...`` axes. NumPy's
        interleaved form, ``einsum(x, [0, 1], y, [1, 2], [0, 2])``, is accepted too.
    *operands : Variable or array_like
        One per term. Arrays become Variables; float32 and float64 promote as in
        ``matmul``.

    Returns
    -------
    Variable
        The result, differentiable in every operand (both modes, any order).

    Raises
    ------
    ValueError
        Naming einsum and the problem: a subscript that is not a letter, a stray
        ``.``, the number of terms differing from the number of operands, a term
        naming more or fewer axes than its operand has, two sizes of one label that
        differ (and neither is 1), an output label not in any input or given twice.

    Notes
    -----
    The operands are contracted pairwise from left to right, each step one batched
    ``matmul`` (see the module's notes); the order is not optimised, so put the
    operands in a cheap order for long chains.

    Examples
    --------
    >>> import numpy as np, eigengrad as eg
    >>> a, b = np.ones((2, 3)), np.ones((3, 4))
    >>> eg.einsum('ij,jk->ik', a, b).shape
    (2, 4)
    >>> float(eg.einsum('ii', np.eye(3)))
    3.0
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _interleaved((subscripts, *operands))
    xs = [x if isinstance(x, Variable) else _core._to_variable(x, "einsum") for x in operands]
    if not xs:
        raise _error("at least one operand is needed")
    inputs, output = _parse(subscripts, [x.ndim for x in xs])
    _check_sizes(xs, inputs)

    terms = []
    for k, (x, labels) in enumerate(zip(xs, inputs)):
        x, labels = _take_diagonals(x, labels)
        elsewhere = set(output).union(*(inputs[j] for j in range(len(xs)) if j != k))
        x, labels = _sum_labels(x, labels, [label for label in labels if label not in elsewhere])
        terms.append((x, labels))

    result, labels = terms[0]
    for k in range(1, len(terms)):
        keep = set(output).union(*(term[1] for term in terms[k + 1:]))
        result, labels = _contract_pair(result, labels, *terms[k], keep)
    return _permute(result, labels, output)

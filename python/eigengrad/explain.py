"""``eg.explain``: one gradient as the chain of Jacobians the textbook writes.

For the one-layer network of the source text, ``x -> y = W x + b -> z = sigmoid(y)
-> L``, the chain rule reads ``dL/dW = dL/dz · dz/dy · dy/dW``. ``explain(L, W)``
finds that chain in the recorded graph: one factor per edge on a path from ``L``
back to ``W``, the sum of the chains where several paths meet.

Layout. Each factor ``dout/din`` of an op ``out = f(..., in, ...)`` is the Jacobian
of the source text, an ``m x n`` matrix with ``J[i, j] = dout_i / din_j``
(``m = out.size``, ``n = in.size``; the tensor form has ``out.shape + in.shape``, as
``eg.jacobian`` returns it). The chain multiplies left to right as written; the
product is ``L.size x W.size`` and, reshaped, has ``W.shape``: the gradient in
denominator layout.

Cost (multiply-adds, for ``r = L.size`` rows). Forming a factor builds its dense
``m x n`` matrix and multiplies the ``r x m`` product so far by it: ``r·m·n`` (the
first factor starts the product: 0). Applying it is what reverse mode does, one
vector-Jacobian product per row, by kind:

- ``elementwise`` (diagonal Jacobian: unary ops, same-shape binary ops): ``n``, a
  scaling; the diagonal is never formed.
- ``broadcast`` (an input broadcast to a larger output: a 0/1 matrix, scaled for
  ``mul``/``div``...): ``m``, scale and sum back into the input.
- ``reduction`` (``sum``, ``mean``, ``max``, losses): ``n``.
- ``reshape/transpose`` (a permutation) and ``selection`` (slices, indexing,
  concatenation: a 0/1 matrix): 0, values are moved, not multiplied.
- ``linear map`` (``matmul``, ``linear``): ``out.size · k`` for the contracted
  length ``k`` (``y = W x``: the factor ``dy/dx`` is ``W``, applied as ``W^T g``).
- ``dense`` (``softmax``, custom functions, anything else): ``m·n`` (``2n`` for
  ``softmax`` and ``log_softmax``).

Nothing is changed: factors come from each op's own backward rule, run with grad
mode off on the saved values (``Node._vjp``), which keeps the graph, runs no hooks
and touches no ``.grad``.

(Past 400 lines: the walk, the printout and the DOT text share the factor records
and are kept in one file.)
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad._core import Node, Variable
from eigengrad.autograd import grad as _grad

__all__ = ["Explanation", "Factor", "explain"]

_ELEMENTWISE = {"neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "sin", "cos", "log1p", "expm1",
                "square", "sign", "astype", "clip", "alias", "copy"}
_BROADCASTING = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "where"}
_REDUCTION = {"sum", "mean", "max", "min", "logsumexp", "norm", "sum_to", "mse_loss", "cross_entropy",
              "binary_cross_entropy_with_logits"}
_RESHAPE = {"reshape", "transpose"}
_SELECTION = {"slice", "take", "concatenate", "stack", "slice_backward", "take_backward"}

#: Most paths enumerated; past it ``paths`` is None and ``check()`` refuses.
MAX_PATHS = 1000


@dataclasses.dataclass(frozen=True)
class Factor:
    """One factor ``d output / d input`` of the chain: the Jacobian of op ``op`` with
    respect to its argument ``arg``, an ``m x n`` matrix (``shape``)."""

    op: str
    shape: Tuple[int, int]
    kind: str
    output: str
    input: str
    arg: int
    out_shape: Tuple[int, ...]
    in_shape: Tuple[int, ...]
    form_cost: int
    apply_cost: int
    node: Any = dataclasses.field(repr=False, compare=False, default=None)
    out_dtype: Any = dataclasses.field(repr=False, compare=False, default=None)
    expression: str = dataclasses.field(repr=False, compare=False, default="")
    tag: str = dataclasses.field(repr=False, compare=False, default="")

    @property
    def name(self) -> str:
        """``dz/dy``: the factor as the textbook writes it."""
        return f"d{self.output}/d{self.input}{self.tag}"

    @property
    def diagonal(self) -> bool:
        """Applied as a scaling, never formed."""
        return self.kind == "elementwise"


def _kind(op: str, arg: int, out_shape: Tuple[int, ...], in_shape: Tuple[int, ...]) -> str:
    if op in _ELEMENTWISE:
        return "elementwise"
    if op in _BROADCASTING or (op == "linear" and arg == 2):
        return "elementwise" if out_shape == in_shape else "broadcast"
    if op in ("matmul", "linear"):
        return "linear map"
    if op in _REDUCTION:
        return "reduction"
    if op == "broadcast_to":
        return "broadcast"
    if op in _RESHAPE:
        return "reshape/transpose"
    if op in _SELECTION:
        return "selection"
    return "dense"


def _apply_cost(op: str, kind: str, arg: int, m: int, n: int, in_shape: Tuple[int, ...]) -> int:
    """Multiply-adds of one vector-Jacobian product through the factor (module doc)."""
    if kind == "elementwise" or kind == "reduction":
        return n
    if kind == "broadcast":
        return m
    if kind in ("reshape/transpose", "selection"):
        return 0
    if kind == "linear map":
        if op == "linear" or arg == 0:
            k = in_shape[-1]
        else:
            k = in_shape[0] if len(in_shape) == 1 else in_shape[-2]
        return m * k
    if op in ("softmax", "log_softmax"):
        return 2 * n
    return m * n


def _size(shape: Tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _typename(x: Any) -> str:
    return type(x).__name__


class Explanation:
    """The chain (or sum of chains) of Jacobians from an output back to one Variable.

    ``str()`` prints it; ``factors`` lists the factors (:class:`Factor`), ``paths``
    the chains as tuples of indices into ``factors`` (output first); ``check()``
    multiplies the dense factors and compares with reverse mode; ``to_dot()`` draws
    the paths in Graphviz's language; ``jacobian(k)`` forms factor ``k``.
    """

    def __init__(self, output: Variable, wrt: Variable, output_label: str, wrt_label: str,
                 factors: List[Factor], paths: Optional[List[Tuple[int, ...]]], n_paths: int,
                 zero_ops: List[str]):
        self._output = output
        self._wrt = wrt
        self.output_label = output_label
        self.wrt_label = wrt_label
        self.factors = factors
        self.paths = paths
        self.n_paths = n_paths
        self.zero_ops = zero_ops
        self._jacobians: Dict[int, np.ndarray] = {}

    @property
    def name(self) -> str:
        """``dL/dW``: the derivative explained, as the textbook writes it."""
        return f"d{self.output_label}/d{self.wrt_label}"

    @property
    def form_cost(self) -> int:
        """Multiply-adds to form every factor densely and multiply the chain (module doc)."""
        return sum(f.form_cost for f in self.factors)

    @property
    def apply_cost(self) -> int:
        """Multiply-adds of the vector-Jacobian products reverse mode runs instead."""
        return sum(f.apply_cost for f in self.factors)

    @property
    def dense_entries(self) -> int:
        """Entries of all the factors formed as dense matrices."""
        return sum(f.shape[0] * f.shape[1] for f in self.factors)

    def chain(self, path: Tuple[int, ...]) -> str:
        """``dL/dz · dz/dy · ...`` for one path."""
        if not path:
            return "I"
        return " · ".join(self.factors[k].name for k in path)

    # ---- dense forms and the check ---------------------------------------------------
    def jacobian(self, k: int, limit: int = 10**6) -> np.ndarray:
        """Factor ``k`` as a dense ``m x n`` NumPy matrix, ``J[i, j] = dout_i/din_j``,
        from the op's backward rule applied to the ``m`` rows of the identity in one
        batched pass. ``ValueError`` past ``limit`` entries."""
        f = self.factors[k]
        m, n = f.shape
        if m * n > limit:
            raise ValueError(f"explain: factor {f.name} ({f.op}) would be a dense {m} x {n} matrix "
                             f"({m * n:,} entries); forming is limited to {limit:,} entries")
        if k not in self._jacobians:
            eye = np.eye(m, dtype=f.out_dtype).reshape((m,) + f.out_shape)
            needs = [i == f.arg for i in range(len(f.node.next_functions))]
            gx = _vjp(f.node, Variable(eye), needs, f.op)[f.arg]
            self._jacobians[k] = np.zeros((m, n)) if gx is None else np.asarray(gx).reshape(m, n)
        return self._jacobians[k]

    def check(self, limit: int = 10**6) -> float:
        """Forms every factor densely (each at most ``limit`` entries), multiplies each
        chain left to right, sums the chains, and returns the largest absolute
        difference from reverse mode (``eg.autograd.grad`` with the graph retained;
        ``.grad`` fields are not touched; hooks on the path run once)."""
        if self.paths is None:
            raise ValueError(f"explain: {self.name} has {self.n_paths:,} paths; check() multiplies at most "
                             f"{MAX_PATHS:,} chains")
        r, n = self._output.size, self._wrt.size
        if r * n > limit:
            raise ValueError(f"explain: {self.name} would be a dense {r} x {n} matrix ({r * n:,} entries); "
                             f"check() is limited to {limit:,} entries")
        total = np.zeros((r, n))
        for path in self.paths:
            product = np.eye(r)
            for k in path:
                product = product @ self.jacobian(k, limit)
            total += product
        return float(np.max(np.abs(total - self._reverse_mode()), initial=0.0))

    def _reverse_mode(self) -> np.ndarray:
        """``d output / d wrt`` as an ``r x n`` matrix, by reverse mode."""
        r, n = self._output.size, self._wrt.size
        if r == 1:
            (g,) = _grad(self._output, self._wrt, retain_graph=True, allow_unused=True)
        else:
            seeds = Variable(np.eye(r, dtype=self._output.dtype).reshape((r,) + self._output.shape))
            (g,) = _grad(self._output, self._wrt, grad_outputs=seeds, retain_graph=True, allow_unused=True,
                         is_grads_batched=True)
        return np.zeros((r, n)) if g is None else np.asarray(g, dtype=np.float64).reshape(r, n)

    # ---- text ---------------------------------------------------------------------------
    def __str__(self) -> str:
        lines = []
        if self.n_paths == 0:
            return (f"{self.name} = 0: every path passes through an op whose rule gives no gradient "
                    f"({', '.join(sorted(set(self.zero_ops)))})")
        if self.paths == [()]:
            return f"{self.name} = I: the output is {self.wrt_label} itself"
        shown = self.paths[:8] if self.paths is not None else []
        chains = " + ".join(self.chain(p) for p in shown)
        if self.n_paths > len(shown):
            chains += f" + ... ({self.n_paths:,} paths in all)"
        lines.append(f"{self.name} = {chains}")
        if self.n_paths > 1:
            lines.append(f"  the sum over {self.n_paths} paths: where paths meet, their chains add")
        rows = [("factor", "made by", "Jacobian", "out <- in", "kind", "form", "apply")]
        for f in self.factors:
            rows.append((f.name, f.expression, f"{f.shape[0]} x {f.shape[1]}",
                         f"{f.out_shape} <- {f.in_shape}", f.kind + (" (diagonal)" if f.diagonal else ""),
                         f"{f.form_cost:,}", f"{f.apply_cost:,}"))
        widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
        for i, row in enumerate(rows):
            cells = [cell.ljust(w) if c < 5 else cell.rjust(w) for c, (cell, w) in enumerate(zip(row, widths))]
            lines.append("  " + "  ".join(cells).rstrip())
        r, n = self._output.size, self._wrt.size
        lines.append(f"  {self.name}: a {r} x {n} product; reshaped, it has {self.wrt_label}'s shape "
                     f"{tuple(self._wrt.shape)} (denominator layout)")
        if any(f.diagonal for f in self.factors):
            lines.append("  diagonal factors are applied as a scaling (element-wise), never formed")
        lines.append(f"  cost in multiply-adds: forming the {self.dense_entries:,} dense entries and multiplying "
                     f"left to right {self.form_cost:,}; applying them as reverse mode does {self.apply_cost:,}")
        if self.zero_ops:
            lines.append(f"  paths through {', '.join(sorted(set(self.zero_ops)))} carry no gradient (left out)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<Explanation {self.name}: {len(self.factors)} factors, {self.n_paths} paths>"

    # ---- Graphviz ---------------------------------------------------------------------
    def to_dot(self) -> str:
        """The paths as Graphviz DOT text: one box per value (its label and shape), one
        arrow per factor, from the output back to ``wrt`` (the way backpropagation
        runs); diagonal factors are dashed."""
        ids: Dict[str, str] = {}

        def node_id(label: str) -> str:
            return ids.setdefault(label, f"v{len(ids)}")

        out = ["digraph explain {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
               '  edge [fontname="Helvetica", fontsize=10];']
        values = [(self.output_label, tuple(self._output.shape))]
        for f in self.factors:
            values.append((f.input, f.in_shape))
        seen = set()
        for label, shape in values:
            if label in seen:
                continue
            seen.add(label)
            out.append(f'  {node_id(label)} [label="{_dot_escape(label)}\\n{shape}"];')
        for f in self.factors:
            style = ', style=dashed' if f.diagonal else ''
            text = f"{f.name}\\n{_dot_escape(f.op)}: {f.kind}\\n{f.shape[0]} x {f.shape[1]}"
            out.append(f'  {node_id(f.output)} -> {node_id(f.input)} [label="{text}"{style}];')
        out.append("}")
        return "\n".join(out) + "\n"


def _dot_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _vjp(node: Node, gout: Variable, needs: List[bool], op: str) -> Tuple[Optional[Variable], ...]:
    try:
        grads: Tuple[Optional[Variable], ...] = node._vjp(gout, needs)
        return grads
    except RuntimeError as e:
        if "second time" in str(e):
            raise RuntimeError(f"explain: the graph at op {op} was freed by a backward pass; call "
                               f"backward(retain_graph=True), or explain before backward") from e
        raise


def _topological(root: Node, target: Node) -> List[Node]:
    """The nodes below ``root`` (parents before children), not below ``target``."""
    def below(node: Node) -> Iterator[Node]:
        return iter([c for c in node.next_functions if c is not None] if node != target else [])

    order: List[Node] = []
    seen, stack = {root}, [(root, below(root))]
    while stack:
        node, children = stack[-1]
        child = next(children, None)
        while child is not None and child in seen:
            child = next(children, None)
        if child is None:
            stack.pop()
            order.append(node)
            continue
        seen.add(child)
        stack.append((child, below(child)))
    order.reverse()
    return order


def explain(output: Variable, wrt: Variable, names: Optional[Mapping[str, Variable]] = None) -> Explanation:
    """The chain rule for ``d output / d wrt`` as the factors of the recorded graph.

    ``output`` is any Variable with a graph (a scalar loss or not); ``wrt`` any
    Variable it depends on (a leaf that requires grad or an intermediate result).
    ``names`` labels values in the printout, e.g. ``names={"L": L, "z": z, "y": y,
    "W": W}`` prints ``dL/dW = dL/dz · dz/dy · ...``; unnamed values are ``out``,
    ``wrt`` and ``v1, v2, ...``. ``TypeError`` for non-Variables; ``ValueError`` when
    the output has no graph, ``wrt`` is in none, or the output does not depend on it.
    """
    if not isinstance(output, Variable):
        raise TypeError(f"explain: output must be a Variable, got {_typename(output)}")
    if not isinstance(wrt, Variable):
        raise TypeError(f"explain: wrt must be a Variable, got {_typename(wrt)}")
    labels: Dict[Any, str] = {}
    for label, v in (names or {}).items():
        if not isinstance(v, Variable):
            raise TypeError(f"explain: names[{label!r}] must be a Variable, got {_typename(v)}")
        if v._gradient_edge is not None:
            labels[v._gradient_edge] = label
    root, target = output._gradient_edge, wrt._gradient_edge
    out_label = next((k for k, v in (names or {}).items() if v is output), labels.get(root, "out"))
    wrt_label = next((k for k, v in (names or {}).items() if v is wrt), labels.get(target, "wrt"))
    if root is None:
        raise ValueError(f"explain: the output {out_label} (shape {tuple(output.shape)}) does not require grad: "
                         "no graph was recorded for it")
    if target is None:
        raise ValueError(f"explain: {wrt_label} (shape {tuple(wrt.shape)}) does not require grad, so it is in no "
                         "graph; make it with requires_grad=True before computing the output")
    labels.setdefault(root, out_label)
    labels[target] = wrt_label
    if root == target:
        return Explanation(output, wrt, out_label, wrt_label, [], [()], 1, [])

    order = _topological(root, target)
    reaches = {target: True}
    for node in reversed(order):
        if node != target:
            reaches[node] = any(c is not None and reaches.get(c, False) for c in node.next_functions)
    if not reaches[root]:
        raise ValueError(f"explain: the output {out_label} (shape {tuple(output.shape)}) does not depend on "
                         f"{wrt_label} (shape {tuple(wrt.shape)}): no path in its graph leads to it")

    # Shapes and dtypes flow down the paths: each rule, applied to ones of its output's
    # shape, returns cotangents with its inputs' shapes (denominator layout).
    on_path = [n for n in order if reaches[n] and n != target]
    meta = {root: (tuple(output.shape), output.dtype)}
    edges, zero_ops = [], []
    for node in on_path:
        if node not in meta:
            continue  # reached only through edges that carry no gradient
        out_shape, dtype = meta[node]
        needs = [c is not None and reaches.get(c, False) for c in node.next_functions]
        if not any(needs):
            continue
        gx = _vjp(node, Variable(np.ones(out_shape, dtype=dtype)), needs, node.name())
        for arg, child in enumerate(node.next_functions):
            if not needs[arg]:
                continue
            g = gx[arg]
            if g is None:
                zero_ops.append(node.name())
                continue
            meta.setdefault(child, (tuple(g.shape), g.dtype))
            edges.append((node, arg, child, tuple(g.shape), g.dtype))

    # Live reach (edges with a gradient only), then one factor per live edge.
    below: Dict[Any, List[Tuple[int, Any, Tuple[int, ...], Any]]] = {}
    for node, arg, child, in_shape, dtype in edges:
        below.setdefault(node, []).append((arg, child, in_shape, dtype))
    live = {target: True}
    for node in reversed(on_path):
        live[node] = any(live.get(child, False) for _, child, _, _ in below.get(node, ()))
    # One factor per live edge, in breadth-first order from the output; unnamed values
    # are numbered as they are met.
    taken = set(labels.values())
    fresh = (f"v{i}" for i in itertools.count(1) if f"v{i}" not in taken)
    factors: List[Factor] = []
    index: Dict[Tuple[Any, int], int] = {}
    r = output.size
    queue, met = collections.deque([root]), {root}
    while queue:
        node = queue.popleft()
        out_shape, out_dtype = meta[node]
        op = node.name()
        kids = [(arg, child, in_shape) for arg, child, in_shape, _ in below.get(node, ()) if live.get(child, False)]
        for _, child, _ in kids:
            if child not in met:
                met.add(child)
                if child != target:
                    queue.append(child)
                if child not in labels:
                    labels[child] = next(fresh)
        args = ", ".join(labels.get(c, "·") if c is not None else "·" for c in node.next_functions)
        repeated = len({c for _, c, _ in kids}) < len(kids)
        for arg, child, in_shape in kids:
            m, n = _size(out_shape), _size(in_shape)
            kind = _kind(op, arg, out_shape, in_shape)
            index[(node, arg)] = len(factors)
            factors.append(Factor(op=op, shape=(m, n), kind=kind, output=labels[node], input=labels[child],
                                  arg=arg, out_shape=out_shape, in_shape=in_shape,
                                  form_cost=0 if node == root else r * m * n,
                                  apply_cost=r * _apply_cost(op, kind, arg, m, n, in_shape), node=node,
                                  out_dtype=out_dtype, expression=f"{labels[node]} = {op}({args})",
                                  tag=f"[{arg}]" if repeated else ""))

    # The paths, output first, as tuples of factor indices.
    n_paths = {target: 1}
    for node in reversed(on_path):
        n_paths[node] = sum(n_paths.get(child, 0) for arg, child, _, _ in below.get(node, ())
                            if (node, arg) in index)
    paths: Optional[List[Tuple[int, ...]]] = None
    if n_paths[root] <= MAX_PATHS:
        paths = []
        stack: List[Tuple[Node, Tuple[int, ...]]] = [(root, ())]
        while stack:
            node, prefix = stack.pop()
            if node == target:
                paths.append(prefix)
                continue
            for arg, child, _, _ in reversed(below.get(node, [])):
                if (node, arg) in index:
                    stack.append((child, prefix + (index[(node, arg)],)))
    return Explanation(output, wrt, out_label, wrt_label, factors, paths, n_paths[root], zero_ops)

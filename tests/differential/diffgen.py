"""Generation of random programs from a seed (the model is in diffprog.py).

3 to 10 statements, each an op drawn at random (element-wise ops with broadcasting
against values, constants and Python scalars, reductions, softmax family, matmul,
reshape, transpose, indexing, take, concatenate/stack, where, clip,
maximum/minimum, reductions of lists of Variables), then every dead value and
unused input is folded into the output. Generation is value-aware: a candidate op is
evaluated in NumPy on the actual values and kept only if it stays away from the
places where eigengrad's documented conventions differ from torch's or where
float64 results are ill-conditioned (README, "Conventions at kinks and ties"):
abs/relu/clip/maximum/minimum at least MARGIN from their kinks, no near-ties in
max/min reductions, log/sqrt/pow on inputs >= 0.05, divisors >= 0.2 in magnitude,
exp of at most 4, |values| < 1e4. Shapes stay small (at most MAX_SIZE elements,
inputs at most 24) so that Jacobians and Hessians are cheap.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from diffprog import MARGIN, MAX_SIZE, REDUCE, UNARY, Program, Step, _resolve, _softmax, make_aux


class _Generator:
    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.vals: Dict[str, np.ndarray] = {}
        self.reach: Dict[str, frozenset] = {}  # inputs each value depends on
        self.used: set = set()  # values some statement reads
        self.lines: List[str] = []
        self.consts: List[np.ndarray] = []
        self.arrays: List[np.ndarray] = []
        self.masks: List[np.ndarray] = []
        self.steps: List[Step] = []

    # ---- helpers -------------------------------------------------------------------
    def choice(self, seq):
        return seq[int(self.rng.integers(len(seq)))]

    def scalar(self) -> float:
        return float(np.round(self.rng.uniform(0.3, 2.0) * self.choice([-1, 1]), 2))

    def const(self, shape, positive=False) -> str:
        c = self.rng.uniform(0.5, 1.5, shape) if positive else self.rng.standard_normal(shape)
        if self.rng.random() < 0.3:
            self.arrays.append(c)
            return f"B.a[{len(self.arrays) - 1}]"
        self.consts.append(c)
        return f"B.c[{len(self.consts) - 1}]"

    def value(self, ref: str) -> np.ndarray:
        return _resolve(ref, self.vals, self.consts, self.arrays)

    def pick(self) -> str:
        """Mostly the newest value, else one not used yet, else any."""
        names = list(self.vals)
        unused = [n for n in names if n not in self.used]
        r = self.rng.random()
        return names[-1] if r < 0.5 else self.choice(unused) if unused and r < 0.8 else self.choice(names)

    def sub_shape(self, shape) -> tuple:
        """A random shape that broadcasts against `shape`."""
        k = int(self.rng.integers(0, len(shape) + 1))
        return tuple(1 if self.rng.random() < 0.3 else d for d in shape[len(shape) - k:])

    def partner(self, a: str, positive=False, scalars=True) -> str:
        """Another operand broadcastable with `a`: a value, a constant or a scalar."""
        shape = self.vals[a].shape
        r = self.rng.random()
        if r < 0.5:
            ok = [n for n in self.vals if _broadcasts(shape, self.vals[n].shape)]
            return self.choice(ok)
        if r < 0.8 or not scalars:
            return self.const(self.sub_shape(shape) if self.rng.random() < 0.8 else (2,) + shape, positive)
        return repr(abs(self.scalar()) if positive else self.scalar())

    def emit(self, expr: str, operands, fn, pre=None) -> bool:
        """Adds `name = expr` if pre(*operand values) holds and fn(*values) is tame.
        fn and pre are kept: Program.valid_at replays them at other inputs."""
        step = Step(f"v{len(self.lines)}", list(operands), fn, pre)
        value = step.run([self.value(o) for o in operands])
        if value is None:
            return False
        self.lines.append(f"{step.name} = {expr}")
        self.steps.append(step)
        self.vals[step.name] = value
        self.reach[step.name] = frozenset().union(*(self.reach.get(o, frozenset()) for o in operands))
        self.used.update(operands)
        return True

    # ---- ops: each returns False when its preconditions do not hold ---------------
    def op_unary(self, a):
        name = self.choice(list(UNARY))
        pre, f = UNARY[name]
        expr = f"{a}.{name}()" if self.rng.random() < 0.3 else f"B.{name}({a})"
        return self.emit(expr, [a], f, pre)

    def op_power(self, a):
        p = self.choice([2, 3, 0.5, 1.5, -1, -2, "-"])
        if p == "-":
            return self.emit(f"(-{a})", [a], np.negative)
        pre = (lambda A: A.min() >= 0.05) if isinstance(p, float) else (lambda A: p > 0 or np.abs(A).min() >= 0.2)
        return self.emit(f"({a} ** {p})", [a], lambda A: np.power(A, p), pre)

    def op_binary(self, a):
        op = self.choice(["+", "-", "*", "/", "pow"])
        b = self.partner(a, positive=op == "pow")
        if self.rng.random() < 0.5 and op != "pow":
            a, b = b, a
        if op == "pow":
            return self.emit(f"({a} ** {b})", [a, b], np.power, lambda A, B: A.min() >= 0.1 and np.abs(B).max() <= 3)
        fn = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op]
        return self.emit(f"({a} {op} {b})", [a, b], fn, (lambda A, B: np.abs(B).min() >= 0.2) if op == "/" else None)

    def op_inplace(self, a):
        """z = a * 1.0; z op= b (B.iop), b broadcasting to a's shape."""
        op, A = self.choice(["+", "-", "*", "/"]), self.vals[a]
        b = self.partner(a)
        if np.broadcast_shapes(A.shape, np.shape(self.value(b))) != A.shape:
            return False
        fn = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[op]
        pre = (lambda A, B: np.abs(B).min() >= 0.2) if op == "/" else None
        return self.emit(f"B.iop({a}, {op!r}, {b})", [a, b], fn, pre)

    def op_maximum(self, a):
        fn = self.choice(["maximum", "minimum"])
        b = self.partner(a)
        return self.emit(f"B.{fn}({a}, {b})", [a, b], getattr(np, fn), lambda A, B: np.abs(A - B).min() >= MARGIN)

    def op_reduce(self, a):
        A, kind = self.vals[a], self.choice(list(REDUCE))
        axis = self.axis(A.ndim)
        keep = bool(self.rng.random() < 0.3)
        fn = lambda A: REDUCE[kind](A, axis=axis, keepdims=keep)  # noqa: E731
        pre = (lambda A: _no_ties(A, axis)) if kind in ("max", "min") else None
        if kind in ("sum", "mean") and axis is None and not keep and self.rng.random() < 0.3:
            return self.emit(f"{a}.{kind}()", [a], fn)
        return self.emit(f"B.{kind}({a}, axis={axis!r}, keepdims={keep})", [a], fn, pre)

    def op_listreduce(self, a):
        """A reduction of a list of Variables (eigengrad stacks it, differentiably)."""
        A, kind = self.vals[a], self.choice(["sum", "mean", "max", "logsumexp"])
        ok = [n for n in self.vals if self.vals[n].shape == A.shape]
        parts = [a, self.choice(ok)] + ([self.choice(ok)] if self.rng.random() < 0.3 else [])
        axis = self.choice([0, None, -1] if A.ndim else [0, None])
        fn = lambda *vs: REDUCE[kind](np.stack(vs), axis=axis)  # noqa: E731
        pre = (lambda *vs: _no_ties(np.stack(vs), axis)) if kind == "max" else None
        return self.emit(f"B.{kind}([{', '.join(parts)}], axis={axis})", parts, fn, pre)

    def axis(self, ndim):
        if ndim == 0 or self.rng.random() < 0.25:
            return None
        if ndim >= 2 and self.rng.random() < 0.3:
            ax = sorted(self.rng.choice(ndim, 2, replace=False).tolist())
            return tuple(int(x - ndim) if self.rng.random() < 0.5 else int(x) for x in ax)
        return int(self.rng.integers(-ndim, ndim))

    def op_softmax(self, a):
        A = self.vals[a]
        if A.ndim == 0:
            return False
        ax, kind = int(self.rng.integers(-A.ndim, A.ndim)), self.choice(["softmax", "log_softmax"])
        fn = (lambda A: _softmax(A, ax)) if kind == "softmax" else (lambda A: np.log(_softmax(A, ax)))
        return self.emit(f"B.{kind}({a}, axis={ax})", [a], fn)

    def op_reshape(self, a):
        A = self.vals[a]
        shape = _random_shape_of_size(self.rng, A.size)
        text = list(shape)
        if shape and self.rng.random() < 0.3:
            text[int(self.rng.integers(len(shape)))] = -1
        expr = f"{a}.reshape({tuple(text)})" if self.rng.random() < 0.3 else f"B.reshape({a}, {tuple(text)})"
        return self.emit(expr, [a], lambda A: A.reshape(shape))

    def op_transpose(self, a):
        A = self.vals[a]
        if A.ndim < 2:
            return False
        if A.ndim == 2 and self.rng.random() < 0.4:
            return self.emit(f"{a}.T", [a], np.transpose)
        perm = tuple(int(p) for p in self.rng.permutation(A.ndim))
        return self.emit(f"B.transpose({a}, {perm})", [a], lambda A: A.transpose(perm))

    def op_index(self, a):
        A = self.vals[a]
        if A.ndim == 0:
            return False
        r = self.rng.random()
        if r < 0.15:  # a boolean mask of the full shape
            m = self.rng.random(A.shape) < 0.6
            self.masks.append(m)
            return self.emit(f"{a}[B.m[{len(self.masks) - 1}]]", [a], lambda A: A[m])
        parts, key = [], []
        list_axis = int(self.rng.integers(A.ndim)) if r < 0.45 else -1  # no ints beside a list (torch != NumPy)
        for ax in range(int(self.rng.integers(1, A.ndim + 1))):
            d = A.shape[ax]
            if self.rng.random() < 0.15:
                parts.append("None"), key.append(None)
            if ax == list_axis:
                idx = [int(i) for i in self.rng.integers(-d, d, int(self.rng.integers(1, 4)))]
                parts.append(repr(idx)), key.append(idx)
            elif list_axis < 0 and self.rng.random() < 0.3:
                i = int(self.rng.integers(-d, d))
                parts.append(str(i)), key.append(i)
            else:
                s = slice(int(self.rng.integers(0, d)) if self.rng.random() < 0.5 else None,
                          int(self.rng.integers(1, d + 1)) if self.rng.random() < 0.5 else None,
                          int(self.rng.integers(1, 3)) if self.rng.random() < 0.4 else None)
                parts.append(_slice_text(s)), key.append(s)
        return self.emit(f"{a}[{', '.join(parts)}]", [a], lambda A: A[tuple(key)])

    def op_take(self, a):
        A = self.vals[a]
        if A.ndim == 0:
            return False
        axis = None if self.rng.random() < 0.3 else int(self.rng.integers(A.ndim))
        n = A.size if axis is None else A.shape[axis]
        idx = self.rng.integers(0, n, self.choice([(2,), (3,), (2, 2)])).tolist()
        return self.emit(f"B.take({a}, {idx}, axis={axis})", [a], lambda A: np.take(A, idx, axis=axis))

    def op_join(self, a):
        A, kind = self.vals[a], self.choice(["concatenate", "stack"])
        if kind == "concatenate" and A.ndim == 0:
            return False
        ax = int(self.rng.integers(A.ndim + (kind == "stack")))
        same = lambda s: (s == A.shape if kind == "stack" else  # noqa: E731
                          len(s) == A.ndim and all(x == y for i, (x, y) in enumerate(zip(s, A.shape)) if i != ax))
        ok = [n for n in self.vals if same(self.vals[n].shape)]
        b = self.choice(ok) if self.rng.random() < 0.7 else self.const(A.shape)
        parts = [a, b] if self.rng.random() < 0.5 else [b, a]
        fn = lambda *vs: getattr(np, kind)(vs, axis=ax)  # noqa: E731
        return self.emit(f"B.{kind}([{', '.join(parts)}], axis={ax})", parts, fn)

    def op_where(self, a):
        b = self.partner(a)
        shape = np.broadcast_shapes(self.vals[a].shape, np.shape(self.value(b)))
        m = self.rng.random(self.sub_shape(shape)) < 0.5
        self.masks.append(m)
        return self.emit(f"B.where(B.m[{len(self.masks) - 1}], {a}, {b})", [a, b], lambda A, B: np.where(m, A, B))

    def op_clip(self, a):
        A = self.vals[a]
        lo, hi = sorted(np.round(self.rng.uniform(A.min() - 0.5, A.max() + 0.5, 2), 2).tolist())
        lo, hi = (None if self.rng.random() < 0.2 else lo), (None if self.rng.random() < 0.2 else hi)
        bounds = np.array([x for x in (lo, hi) if x is not None])
        pre = lambda A: bounds.size and np.abs(A[..., None] - bounds).min() >= MARGIN  # noqa: E731
        return self.emit(f"B.clip({a}, {lo}, {hi})", [a], lambda A: np.clip(A, lo, hi), pre)

    def op_matmul(self, a):
        A = self.vals[a]
        if A.ndim == 0:
            return False
        ok = [n for n in self.vals if _matmul_shape(A.shape, self.vals[n].shape)]
        m = int(self.rng.integers(1, 4))
        if ok and self.rng.random() < 0.6:
            parts = [a, self.choice(ok)]
        elif self.rng.random() < 0.3:  # a constant on the left
            parts = [self.const((m, A.shape[-2] if A.ndim >= 2 else A.shape[0])), a]
        else:
            parts = [a, self.const(self.choice([(A.shape[-1],), (A.shape[-1], m)]))]
        expr = f"({parts[0]} @ {parts[1]})" if self.rng.random() < 0.7 else f"B.matmul({parts[0]}, {parts[1]})"
        return self.emit(expr, parts, np.matmul)

    def op_broadcast_to(self, a):
        A = self.vals[a]
        shape = tuple(int(self.rng.integers(2, 4)) if d == 1 and self.rng.random() < 0.5 else d for d in A.shape)
        shape = ((2,) if self.rng.random() < 0.5 else ()) + shape
        return self.emit(f"B.broadcast_to({a}, {shape})", [a], lambda A: np.broadcast_to(A, shape))

    OPS = [("unary", 8), ("power", 2), ("binary", 7), ("maximum", 1), ("reduce", 3), ("softmax", 1),
           ("reshape", 2), ("transpose", 1), ("index", 2), ("take", 1), ("join", 1), ("where", 1),
           ("clip", 1), ("matmul", 2), ("broadcast_to", 1), ("listreduce", 1),
           ("inplace", 2)]

    # ---- the program ----------------------------------------------------------------
    def generate(self) -> Program:
        rng = self.rng
        base = (5, 5)
        while np.prod(base) > 24:
            base = tuple(int(d) for d in rng.integers(1, 5, int(rng.integers(0, 4))))
        n = int(rng.integers(1, 4))
        same = rng.random() < 0.3  # all inputs of one shape (for the aliasing checks)
        shapes = [base if same else self.sub_shape(base) for _ in range(n)]
        inputs = [rng.standard_normal(s) * rng.uniform(0.5, 1.5) for s in shapes]
        for i, x in enumerate(inputs):
            self.vals[f"x{i}"], self.reach[f"x{i}"] = np.asarray(x, dtype=np.float64), frozenset([i])
        names, weights = zip(*self.OPS)
        p = np.array(weights, dtype=float) / sum(weights)
        for _ in range(int(rng.integers(3, 11))):
            for _attempt in range(30):
                op, sizes = names[rng.choice(len(names), p=p)], (len(self.consts), len(self.arrays), len(self.masks))
                if getattr(self, f"op_{op}")(self.pick()):
                    break
                del self.consts[sizes[0]:], self.arrays[sizes[1]:], self.masks[sizes[2]:]  # unused
        out = list(self.vals)[-1]
        dead = [v for v in self.vals if v not in self.used and v != out and v[0] == "v"]
        for x in dead + [f"x{i}" for i in range(n)]:
            if x[0] == "x" and int(x[1:]) in self.reach[out]:
                continue  # fold every dead value and unused input into the output
            O, X = self.vals[out], self.vals[x]
            ok = _broadcasts(O.shape, X.shape) and np.broadcast_shapes(O.shape, X.shape) == O.shape
            term, g = (f"B.sin({x})", np.sin) if x[0] == "x" else (x, np.asarray)
            expr = f"({out} + {term})" if ok else f"({out} + B.sum({term}))"
            fn = (lambda O, X, g=g: O + g(X)) if ok else (lambda O, X, g=g: O + g(X).sum())
            if not self.emit(expr, [out, x], fn):
                raise AssertionError(f"seed {self.seed}: cannot fold {x} into {out}")
            out = list(self.vals)[-1]
        aux = make_aux(rng, inputs, self.vals[out].shape)
        return Program(self.seed, [np.asarray(x, dtype=np.float64) for x in inputs], self.lines, out,
                       self.consts, self.arrays, self.masks, aux, self.steps)


def generate(seed: int) -> Program:
    with np.errstate(all="ignore"):  # candidates that overflow are rejected by emit
        return _Generator(seed).generate()


def _broadcasts(s1, s2) -> bool:
    try:
        return int(np.prod(np.broadcast_shapes(s1, s2))) <= MAX_SIZE
    except ValueError:
        return False


def _matmul_shape(s1, s2) -> bool:
    try:
        return 0 < np.matmul(np.zeros(s1), np.zeros(s2)).size <= MAX_SIZE
    except ValueError:
        return False


def _no_ties(A, axis) -> bool:
    """Whether the reduced slices of A have a unique max and min, MARGIN apart."""
    axes = tuple(range(A.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    axes = tuple(a % A.ndim for a in axes) if A.ndim else ()
    rest = [d for d in range(A.ndim) if d not in axes]
    flat = np.transpose(A, rest + list(axes)).reshape(-1, int(np.prod([A.shape[a] for a in axes], dtype=int)))
    if flat.shape[1] < 2:
        return True
    s = np.sort(flat, axis=1)
    return bool(min((s[:, -1] - s[:, -2]).min(), (s[:, 1] - s[:, 0]).min()) > MARGIN)


def _random_shape_of_size(rng, size: int) -> tuple:
    dims, rest = [], size
    while rest > 1:
        divisors = [d for d in range(2, rest + 1) if rest % d == 0]
        d = divisors[int(rng.integers(len(divisors)))]
        dims.append(d)
        rest //= d
    if rng.random() < 0.3:
        dims.insert(int(rng.integers(len(dims) + 1)), 1)
    return tuple(int(d) for d in rng.permutation(dims)) if dims else tuple(dims)


def _slice_text(s: slice) -> str:
    text = f"{'' if s.start is None else s.start}:{'' if s.stop is None else s.stop}"
    return text + (f":{s.step}" if s.step is not None else "")

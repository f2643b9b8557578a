"""Random programs for the differential tests: the program model.

A program is straight-line code ``def program(B, x0, x1, ...)`` whose text runs with
``B`` = eigengrad or ``B`` = torch (diffbackends.py), so the two libraries execute
the same ops one for one; ``B.c[k]``/``B.a[k]``/``B.m[k]`` are its constants
(eigengrad Variables / raw NumPy arrays / boolean masks) and ``loss`` is the scalar
``sum(program * B.w)``. Each statement also keeps its NumPy reference and
precondition (a ``Step``), so ``Program.valid_at`` can tell whether other inputs
(aliased ones, say) keep the program away from kinks, ties and domain edges.
Generation from a seed is in diffgen.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List

import numpy as np

MARGIN = 1e-2
MAX_SIZE = 48


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def _logsumexp(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    r = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis) if axis is not None else r.reshape(())


def _softmax(a, axis):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ANY = lambda a: True  # noqa: E731
UNARY = {  # name: (precondition on the operand, NumPy reference)
    "exp": (lambda a: a.max() < 4, np.exp),
    "log": (lambda a: a.min() > 0.05, np.log),
    "log1p": (lambda a: a.min() > -0.9, np.log1p),
    "expm1": (lambda a: a.max() < 4, np.expm1),
    "tanh": (ANY, np.tanh),
    "sigmoid": (ANY, _sigmoid),
    "sin": (ANY, np.sin),
    "cos": (ANY, np.cos),
    "abs": (lambda a: np.abs(a).min() > MARGIN, np.abs),
    "square": (lambda a: np.abs(a).max() < 100, np.square),
    "sqrt": (lambda a: a.min() > 0.05, np.sqrt),
    "relu": (lambda a: np.abs(a).min() > MARGIN, lambda a: np.maximum(a, 0.0)),
}
REDUCE = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min, "logsumexp": _logsumexp}


def _resolve(ref: str, env, consts, arrays):
    """The value of an operand: a program value, a constant or a Python scalar."""
    if ref.startswith("B.a["):
        return arrays[int(ref[4:-1])]
    if ref.startswith("B.c["):
        return consts[int(ref[4:-1])]
    return env[ref] if ref in env else np.float64(float(ref))


@dataclasses.dataclass
class Step:
    """One statement in NumPy: its operands, reference and precondition."""
    name: str
    operands: List[str]
    fn: Any
    pre: Any = None

    def run(self, values):
        """fn(*values) if the precondition holds and the result is tame, else None."""
        with np.errstate(all="ignore"):
            if self.pre is not None and not self.pre(*values):
                return None
            v = np.asarray(self.fn(*values), dtype=np.float64)
        ok = 0 < v.size <= MAX_SIZE and v.ndim <= 4 and np.all(np.isfinite(v)) and np.abs(v).max() < 1e4
        return v if ok else None


@dataclasses.dataclass
class Program:
    seed: int
    inputs: List[np.ndarray]
    lines: List[str]
    out: str
    consts: List[np.ndarray]  # B.c[k]: Variables / tensors
    arrays: List[np.ndarray]  # B.a[k]: raw NumPy arrays in eigengrad
    masks: List[np.ndarray]  # B.m[k]: boolean masks
    aux: Dict[str, Any]  # random weights, cotangents and tangents for the checks
    steps: List[Step]

    def valid_at(self, inputs) -> bool:
        """Whether every statement's precondition also holds at these inputs."""
        env = {f"x{i}": np.asarray(x, dtype=np.float64) for i, x in enumerate(inputs)}
        for st in self.steps:
            env[st.name] = st.run([_resolve(o, env, self.consts, self.arrays) for o in st.operands])
            if env[st.name] is None:
                return False
        return True

    @property
    def n(self) -> int:
        return len(self.inputs)

    @property
    def text(self) -> str:
        args = ", ".join(f"x{i}" for i in range(self.n))
        shapes = ", ".join(f"x{i}{tuple(x.shape)}" for i, x in enumerate(self.inputs))
        consts = "; ".join(f"{k}[{i}]{tuple(c.shape)}" for k, cs in (("c", self.consts), ("a", self.arrays),
                                                                    ("m", self.masks)) for i, c in enumerate(cs))
        body = "\n".join(f"    {line}" for line in self.lines)
        return (f"# seed {self.seed}: inputs {shapes}; constants {consts or 'none'}\n"
                f"def program(B, {args}):\n{body}\n    return {self.out}\n\n"
                f"def loss(B, {args}):\n    return B.sum(program(B, {args}) * B.w)\n")

    def functions(self, B):
        """(program, loss) as functions of the inputs alone, on backend B."""
        scope: Dict[str, Any] = {}
        exec(compile(self.text, f"<program {self.seed}>", "exec"), scope)  # noqa: S102
        prog, loss = scope["program"], scope["loss"]
        return (lambda *xs: prog(B, *xs)), (lambda *xs: loss(B, *xs))


def make_aux(rng, inputs, out_shape) -> Dict[str, Any]:
    """Random weights, cotangents, tangents and small updates for the checks."""
    return {"w": rng.standard_normal(out_shape), "u": rng.standard_normal(out_shape),
            "t": [rng.standard_normal(x.shape) for x in inputs], "s": [rng.standard_normal(x.shape) for x in inputs],
            "tb": [rng.standard_normal((2,) + x.shape) for x in inputs],
            "d": [1e-4 * rng.standard_normal(x.shape) for x in inputs], "k": int(rng.integers(len(inputs)))}


def handmade(lines, inputs, out_shape, seed=-1) -> Program:
    """A program written by hand (the harness's own tests): no constants, no Steps."""
    inputs = [np.asarray(x, dtype=np.float64) for x in inputs]
    aux = make_aux(np.random.default_rng(abs(seed)), inputs, out_shape)
    return Program(seed, inputs, list(lines[:-1]), lines[-1], [], [], [], aux, [])

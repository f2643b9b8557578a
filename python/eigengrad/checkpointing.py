"""``eg.checkpoint(fn, *args)``: gradient checkpointing.

Backpropagation keeps every intermediate value of the forward pass until backward
has used it; for a deep network those are most of the memory of a training step.
``checkpoint(fn, *args)`` runs ``fn`` without recording (so none of its
intermediates are kept) and records a single node in their place; backward runs
``fn`` again, this time recording, and backpropagates through the recomputed part.
Memory falls from every intermediate of ``fn`` to its inputs and outputs, for the
price of a second forward pass of ``fn``.

>>> import numpy as np, eigengrad as eg
>>> blocks = [eg.nn.Sequential(eg.nn.Linear(8, 8, generator=i), eg.nn.Tanh()) for i in range(4)]
>>> h = eg.Variable(np.ones((2, 8)))
>>> for block in blocks:
...     h = eg.checkpoint(block, h)
>>> h.sum().backward()           # each block recomputed once, its parameters get .grad
>>> blocks[0][0].weight.grad.shape
(8, 8)
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import numpy as np

import eigengrad._core as _core
from eigengrad import autograd
from eigengrad import batching
from eigengrad import random as _random
from eigengrad._core import Variable
from eigengrad.function import _Packing


def checkpoint(fn: Any, *args: Any, preserve_rng_state: bool = True, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, recorded as one node whose backward recomputes ``fn``.

    Parameters
    ----------
    fn : callable
        Returns a Variable or a tuple of Variables. It may read Variables that
        require grad besides its arguments (a Module's parameters, closed-over
        leaves): they are found while ``fn`` runs (every op reports the Variables
        that require grad it reads while grad mode is off) and become inputs of the
        node, so they get their gradients from ``backward`` and
        ``eg.autograd.grad`` alike.
    *args
        Passed to ``fn``; the Variables among them are the node's inputs.
    preserve_rng_state : bool, default True
        Put every ``eg.random.Generator`` (the shared stream and every other one
        alive) back into its state at the first run for the recomputation, and
        then back to where it was: dropout draws the same mask twice, and the
        streams go on as if ``fn`` had run once.
    **kwargs
        Passed to ``fn`` as they are.

    Returns
    -------
    Variable or tuple of Variable
        The values of ``fn``; they require grad when an input or a parameter that
        ``fn`` read does.

    Notes
    -----
    The gradients are bitwise those of the same computation without checkpoint
    (``fn`` runs the same kernels on the same values twice), as long as ``fn``
    is deterministic besides ``eg.random``. With grad mode off, ``fn`` just runs.

    Raises ``RuntimeError`` when ``fn`` reads a Variable that requires grad and
    was computed outside ``fn`` (a non-leaf it closes over: pass it as an
    argument), when the backward is itself differentiated (``create_graph``,
    ``eg.hessian``, ``eg.hvp``) while ``fn`` reads parameters that are not among
    its arguments (pass them as arguments to differentiate twice), and when an
    input was modified in place between the forward and the backward. Forward mode
    (tangents on the arguments: ``eg.jvp``, ``eg.hessian``) runs ``fn`` once more
    with the tangents; tangents on a parameter read inside raise. Hooks on a
    parameter ``fn`` reads run once more, on its part of the gradient, during
    the recomputation. Inside ``eg.vmap`` (batched arguments) ``fn`` runs as it
    is: the values and gradients are the same, the memory is not saved.
    """
    if not callable(fn):
        raise TypeError(f"checkpoint: fn must be callable, got {type(fn).__name__}")
    if not autograd.is_grad_enabled() or batching.level_of(list(args) + list(kwargs.values())):
        return fn(*args, **kwargs)  # inside eg.vmap: fn runs as it is (its memory is not saved)
    inputs: List[Variable] = [a for a in args if isinstance(a, Variable)]
    detached = [a.detach() if isinstance(a, Variable) else a for a in args]
    rng = _random._states() if preserve_rng_state else None
    with autograd.no_grad():
        result, reads = _core._record_reads(lambda: fn(*detached, **kwargs))
    several = isinstance(result, tuple)
    outs = [_output(o) for o in (result if several else (result,))]
    if not outs:
        raise ValueError("checkpoint: fn returned an empty tuple")
    # Under no_grad only a Variable from outside fn requires grad: a parameter read
    # (reads counts those returned as they are, too).
    closed = list(reads)
    for c in closed:
        if not c.is_leaf:
            raise RuntimeError(
                f"checkpoint: fn reads a Variable of shape {c.shape} ({c.dtype}) computed outside it by "
                f"{c.grad_fn.name() if c.grad_fn else 'an op'} that requires grad; pass it to checkpoint as an argument")
    packing = _Packing(outs) if several else None
    recorded = packing.packed if packing else outs[0]
    backward = _Recompute(fn, args, kwargs, inputs, closed, rng, several, [o.shape for o in outs], packing)
    del outs, result  # the node keeps its inputs (as the version checks), not fn's values
    node_inputs = inputs + closed
    out = _core._record_custom("checkpoint", recorded, node_inputs, backward, backward.jvp, False, node_inputs)
    return tuple(packing.unpack(out, 0)) if packing else out


def _output(value: Any) -> Variable:
    if isinstance(value, Variable):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) for v in value):
        raise TypeError("checkpoint: fn returned a list of Variables; return a tuple for several outputs")
    array = np.asarray(value)
    if array.dtype.kind not in "fiub":
        raise TypeError(f"checkpoint: fn must return Variables, got {type(value).__name__}")
    return Variable(array)


class _Recompute:
    """The node's backward rule: run fn again with grad mode on, on the same input
    values (and random states), and backpropagate the cotangent through it.

    (A class rather than a closure over itself: nothing here refers back to the node.)
    """

    def __init__(self, fn: Callable[..., Any], args: Tuple[Any, ...], kwargs: Dict[str, Any], inputs: List[Variable],
                 closed: List[Variable], rng: Optional[List[Tuple[_random.Generator, Mapping[str, Any]]]],
                 several: bool, shapes: List[Tuple[int, ...]], packing: Optional[_Packing]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.inputs, self.closed, self.rng = inputs, closed, rng
        self.several, self.shapes, self.packing = several, shapes, packing

    def _rerun(self, args: List[Any]) -> List[Variable]:
        """fn on `args`, with the random states of the first run (then put back)."""
        now = _random._states() if self.rng is not None else None
        try:
            if self.rng is not None:
                _random._set_states(self.rng)
            result = self.fn(*args, **self.kwargs)
        finally:
            if now is not None:
                _random._set_states(now)
        again = [_output(o) for o in (result if self.several and isinstance(result, tuple) else (result,))]
        if [o.shape for o in again] != self.shapes:
            raise RuntimeError(f"checkpoint: fn returned shapes {[o.shape for o in again]} when recomputed, "
                               f"{self.shapes} the first time; fn must compute the same thing twice")
        return again

    def jvp(self, out: Variable, *tangents: Optional[Variable]) -> Optional[Variable]:
        """Forward mode: fn once more, on the inputs carrying their tangents at a level
        of its own (so nothing is kept but the output's tangent; `out` is not needed)."""
        if any(t is not None for t in tangents[len(self.inputs):]):
            raise RuntimeError("checkpoint: forward mode through Variables that fn reads but that are not among "
                               "its arguments is not supported; pass them to checkpoint as arguments")
        with _core.ForwardLevel() as level:
            feed = iter([_core.make_dual(x, t, level) if t is not None else x
                         for x, t in zip(self.inputs, tangents)])
            again = self._rerun([next(feed) if isinstance(a, Variable) else a for a in self.args])
            given = next(t for t in tangents if t is not None)
            x = next(x for x, t in zip(self.inputs, tangents) if t is not None)
            lead = tuple(given.shape[: given.ndim - x.ndim])
            touts = []
            for o in again:
                t = _core.tangent(o, level)
                touts.append(t if t is not None else Variable(np.zeros(lead + o.shape, dtype=o.dtype)))
        return self.packing.pack_tangents(touts, "checkpoint") if self.packing else touts[0]

    def __call__(self, gout: Variable, out: Optional[Variable]) -> Tuple[Optional[Variable], ...]:
        differentiable = autograd.is_grad_enabled() or _core._forward_levels_open()
        if differentiable and self.closed:
            shapes = ", ".join(str(c.shape) for c in self.closed)
            raise RuntimeError(
                "checkpoint: its backward is being differentiated (create_graph, eg.hessian, eg.hvp or a "
                f"nested transform), but fn reads Variables that require grad and are not among its "
                f"arguments (shapes {shapes}); pass them to checkpoint as arguments to differentiate twice")
        gouts = self.packing.unpack(gout, gout.ndim - 1) if self.packing else [gout]
        lead = tuple(gouts[0].shape[: gouts[0].ndim - len(self.shapes[0])])
        # The recomputation's inputs: for a plain backward, fresh leaves over the
        # same memory, so that the pass stops there; to differentiate again,
        # aliases still connected to the caller's Variables.
        # One per argument position (an argument given twice gets each of its parts
        # of the gradient, which the engine adds).
        fresh = []
        for x in self.inputs:
            if not x.requires_grad:
                fresh.append(x.detach())
            elif differentiable:
                fresh.append(_core._grad_input(x))
            else:
                leaf = x.detach()
                leaf.requires_grad = True
                fresh.append(leaf)
        feed = iter(fresh)
        args = [next(feed) if isinstance(a, Variable) else a for a in self.args]
        with autograd.enable_grad():
            again = self._rerun(args)
        pairs = [(o, g) for o, g in zip(again, gouts) if o.requires_grad]
        wanted = [f for f, x in zip(fresh, self.inputs) if x.requires_grad] + self.closed
        grads: List[Optional[Variable]] = [None] * len(wanted)
        if pairs and wanted:
            seeds = [g for _, g in pairs]
            if len(lead) > 1:  # one batch dimension is what the engine takes
                seeds = [_core.reshape(g, (-1,) + tuple(g.shape[len(lead):])) for g in seeds]
            grads = list(autograd._grad([o for o, _ in pairs], wanted, seeds, retain_graph=differentiable,
                                        create_graph=differentiable, allow_unused=True,
                                        is_grads_batched=bool(lead)))
            if len(lead) > 1:
                grads = [None if g is None else _core.reshape(g, lead + tuple(g.shape[1:])) for g in grads]
        grad_feed = iter(grads)
        out_grads = [next(grad_feed) if x.requires_grad else None for x in self.inputs]
        return tuple(out_grads + list(grad_feed))

"""Differentiable functions with rules written in Python.

Subclass :class:`Function` and give it ``forward(ctx, *args)``, ``backward(ctx,
gout)`` and, for forward mode, ``jvp(ctx, *tangents)``; call it with
``MyFunction.apply(*args)``. Or decorate a function with :func:`custom_vjp` and
give it its VJP with ``defvjp``. The C++ engine calls the rules (with the GIL held)
exactly as it calls its own; an exception raised in one propagates with its type
and message.

>>> class Cube(eg.Function):
...     @staticmethod
...     def forward(ctx, x):
...         ctx.save_for_backward(x)
...         return x * x * x
...     @staticmethod
...     def backward(ctx, gout):
...         (x,) = ctx.saved_tensors
...         return gout * 3 * x * x
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Protocol, Sequence, Tuple, TYPE_CHECKING, cast

import numpy as np

import eigengrad._core as _core
from eigengrad import autograd
from eigengrad import batching
from eigengrad._core import Variable


class FunctionCtx:
    """Carries values from ``forward`` to the rules: ``save_for_backward(*xs)``
    and ``saved_tensors``, plus any attribute you set."""

    def save_for_backward(self, *values: Variable) -> None:
        """Keeps inputs or outputs of ``forward`` for the rules (``saved_tensors``)."""
        self._saved = tuple(values)

    @property
    def saved_tensors(self) -> Tuple[Variable, ...]:
        """What ``save_for_backward`` kept, as the caller's Variables (Note [Custom function state])."""
        return getattr(self, "_saved", ())

    if TYPE_CHECKING:  # any attribute may be set and read (as on argparse.Namespace)
        def __getattr__(self, name: str) -> Any: ...

        def __setattr__(self, name: str, value: Any) -> None: ...


class Function:
    """Base class of custom differentiable functions (see the module docstring).

    ``forward`` sees the inputs detached from any graph (and without tangents) and
    runs without recording; it returns a Variable (or array), or a tuple of them for
    several outputs. ``backward(ctx, *gouts)`` gets one cotangent per output (zeros
    for an output nothing used) and returns one gradient per argument of
    ``forward`` (``None`` for non-tensor ones) or one per tensor argument, each with
    its input's shape and dtype; it is written with eigengrad ops, so it is
    differentiable again. The optional ``jvp(ctx, *tangents)`` gets one tangent per
    tensor argument (``None`` for a zero tangent) and returns the output's tangent
    (a tuple for several outputs). A gradient or tangent may carry leading batch
    dimensions (in whole-Jacobian passes): rules written with broadcasting ops
    handle them as they are.

    What the rules find on ``ctx`` (Note [Custom function state]):

    - an input or an output that ``forward`` kept (with ``ctx.save_for_backward`` or
      as an attribute) comes back as the caller's Variable or as the recorded
      output, with its graph and tangents, so a rule using it differentiates again;
    - every Variable kept on ``ctx`` is version-checked: changing one in place
      between forward and backward raises ``RuntimeError`` naming the function;
    - any other float value kept (an intermediate such as ``ctx.y = x * x``) is a
      constant to the rules. That is right for the first derivative, but not when
      the backward pass is itself differentiated (``create_graph``, ``eg.hessian``,
      ``eg.hvp``), or the tangent ``jvp`` returns (``eg.hvp``): then
      differentiating through the gradient or the tangent raises ``RuntimeError``
      naming the function and the values, instead of returning a wrong second
      derivative. Recompute such values in the rules from the saved inputs or
      outputs to make the function twice differentiable.
    """

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any) -> Any:
        """The function's value, computed on detached inputs without recording."""
        raise NotImplementedError("Function subclasses must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *gouts: Any) -> Any:
        """One gradient per argument of ``forward`` from one cotangent per output."""
        raise NotImplementedError("Function subclasses must define backward(ctx, gout)")

    jvp: Optional[Callable[..., Any]] = None

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Runs ``forward`` and records the result with this class's rules."""
        name = cls.__name__
        if batching.level_of(args):
            return _apply_batched(cls, args)
        is_tensor = [isinstance(a, (Variable, np.ndarray)) for a in args]
        inputs = [a if isinstance(a, Variable) else Variable(a) for a, t in zip(args, is_tensor) if t]
        detached = [x.detach() for x in inputs]
        ctx = FunctionCtx()
        with autograd.no_grad():
            feed = iter(detached)
            result = cls.forward(ctx, *[next(feed) if t else a for a, t in zip(args, is_tensor)])
        several = isinstance(result, tuple)
        outs = [_output(o, name) for o in (result if several else (result,))]
        if not outs:
            raise ValueError(f"{name}: forward returned an empty tuple")
        packing = _Packing(outs) if several else None
        state = _State(ctx, detached, inputs, outs)

        def backward(gout: Variable, out: Optional[Variable]) -> Any:
            differentiable = autograd.is_grad_enabled() or _core._forward_levels_open()
            state.restore(ctx, (packing.unpack(out, 0) if packing else [out]) if out is not None else None)
            gouts = packing.unpack(gout, gout.ndim - 1) if packing else [gout]
            grads = cls.backward(ctx, *gouts)
            grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
            if len(grads) == len(args) != len(inputs):  # one per argument: keep the tensors'
                grads = tuple(g for g, t in zip(grads, is_tensor) if t)
            if differentiable and state.constants:
                grads = tuple(_guard_differentiated(name, "backward", state.constants, g, inputs) for g in grads)
            return grads

        jvp = None
        jvp_rule = cls.jvp
        if jvp_rule is not None:

            def jvp(out: Variable, *tangents: Any) -> Any:
                # The tangent is differentiated in reverse by eg.hvp (reverse over
                # forward) when the inputs require grad.
                differentiable = autograd.is_grad_enabled() and any(x.requires_grad for x in inputs)
                state.restore(ctx, packing.unpack(out, 0) if packing else [out])
                tout = jvp_rule(ctx, *tangents)
                tout = packing.pack_tangents(tout, name) if packing and tout is not None else tout
                if differentiable and state.constants:
                    tout = _guard_differentiated(name, "jvp", state.constants, tout, inputs)
                return tout

        recorded = packing.packed if packing else outs[0]
        out = _core._record_custom(name, recorded, inputs, backward, jvp, state.keeps_output, state.watched)
        return tuple(packing.unpack(out, 0)) if packing else out


# Note [Custom functions inside vmap]
# A custom function given batched values (inside eg.vmap) runs as another custom
# function on the physical values, whose rules run the user's rules on batched
# values again: forward sees one example (each op in it runs on the whole batch),
# backward gets one cotangent per example and returns one gradient per example;
# the gradient of an argument shared by every example is their sum. (JAX and
# torch.func's generate_vmap_rule do the same.) What forward keeps on ctx stays
# batched and is, to the rules, a constant: first derivatives are exact, and
# differentiating the backward raises (the guard of Note [Custom function state]).


def _apply_batched(cls: Any, args: Sequence[Any]) -> Any:
    level = batching.level_of(args)
    batched = [isinstance(a, batching.BatchedVariable) and a.level == level for a in args]
    tensors = [b or isinstance(a, (Variable, np.ndarray)) for a, b in zip(args, batched)]
    lift = batching.Lift(level, next(a.batch_size for a, b in zip(args, batched) if b))

    def rewrap(values: Sequence[Any]) -> List[Any]:
        return [batching.BatchedVariable(v, level) if b else v for v, b in zip(values, batched)]

    def gradients(grads: Any) -> Any:
        grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
        if len(grads) == len(args) != sum(tensors):  # one per argument: keep the tensors'
            grads = tuple(g for g, t in zip(grads, tensors) if t)
        shared = [b for b, t in zip(batched, tensors) if t]
        return tuple(None if g is None else lift.physical(g) if on else _core.sum(lift.physical(g), 0)
                     for g, on in zip(grads, shared))

    class Batched(Function):
        @staticmethod
        def forward(ctx: FunctionCtx, *values: Any) -> Any:
            return lift.physical(cls.forward(ctx, *rewrap(values)))

        @staticmethod
        def backward(ctx: FunctionCtx, *gouts: Any) -> Any:
            return gradients(cls.backward(ctx, *[batching.BatchedVariable(g, level) for g in gouts]))

    values = [a.value if b else a for a, b in zip(args, batched)]
    ndims = [np.ndim(v) for v, t in zip(values, tensors) if t]
    if cls.jvp is not None:
        def jvp(ctx: FunctionCtx, *tangents: Any) -> Any:
            # Tangents may carry leading axes of their own (several JVPs in one pass):
            # the batch axis goes first for the user's rule, and back after it.
            lead = tangents[0].ndim - ndims[0]
            on = [b for b, t in zip(batched, tensors) if t]  # tangents come for the tensor arguments
            moved = [batching.BatchedVariable(batching.moveaxis(t, lead, 0), level) if b else t
                     for t, b in zip(tangents, on)]
            out = lift.physical(cls.jvp(ctx, *moved))
            return tuple(batching.moveaxis(o, 0, lead) for o in out) if isinstance(out, tuple) else \
                batching.moveaxis(out, 0, lead)

        Batched.jvp = staticmethod(jvp)
    Batched.__name__ = cls.__name__
    out = Batched.apply(*values)
    return batching.wrap(out, level)


def _output(value: Any, name: str) -> Variable:
    if isinstance(value, Variable):
        return value
    if isinstance(value, (list, tuple)) and any(isinstance(v, Variable) for v in value):
        raise TypeError(f"{name}: forward returned a list of Variables; return a tuple for several outputs "
                        "or eg.stack(...) for one")
    return Variable(value)


# Note [Custom function state]
# A custom function's forward runs on detached inputs without recording, so what it
# keeps on ctx is cut from the graph. Before each rule runs, the kept inputs and
# outputs are put back as the caller's Variables and the recorded output (whose
# grad_fn is the function's own node), so rules that use them are differentiable
# again, exactly; every kept Variable is version-checked by the node. Other float
# values are intermediates: constants to the rule. A backward that is itself being
# differentiated (grad mode on, or tangents flowing: forward over reverse) would
# treat them as constants too and return a wrong second derivative, so its results
# then pass through a guard op whose VJP and JVP raise, naming the values.

class _Slot(NamedTuple):
    """A kept input (`index` into the caller's Variables) or output (into the outputs)."""

    kind: str
    position: int


class _State:
    """What forward left on ctx, sorted into inputs, outputs and intermediates.

    (Plain methods, no recursive closures: a closure that calls itself is a
    reference cycle, which would keep the caller's Variables alive until a garbage
    collection.)"""

    def __init__(self, ctx: FunctionCtx, detached: List[Variable], inputs: List[Variable], outs: List[Variable]) -> None:
        self._input_index = {id(d): k for k, d in enumerate(detached)}
        self._output_index = {id(o): k for k, o in enumerate(outs)}
        self.inputs = inputs
        self.outs = outs
        self.keeps_output = False
        self.watched: List[Variable] = []  # Variables kept besides inputs and outputs
        self.constants: List[str] = []     # where intermediates are kept, for the guard's message
        self.slots: Dict[str, Any] = {}    # attribute -> its value with inputs and outputs as _Slots
        for key, value in vars(ctx).items():
            sorted_value, found = self._sort(value, "ctx.saved_tensors" if key == "_saved" else f"ctx.{key}")
            if found:
                self.slots[key] = sorted_value
        del self._input_index, self._output_index

    def _sort(self, value: Any, where: str) -> Tuple[Any, bool]:
        """`value` with the inputs and outputs in it replaced by _Slots, and whether
        there were any."""
        if type(value) in (tuple, list):
            items = [self._sort(v, f"{where}[{k}]") for k, v in enumerate(value)]
            return type(value)(v for v, _ in items), any(found for _, found in items)
        if isinstance(value, Variable):
            if id(value) in self._input_index:
                return _Slot("input", self._input_index[id(value)]), True
            if id(value) in self._output_index:
                self.keeps_output = True
                return _Slot("output", self._output_index[id(value)]), True
            self.watched.append(value)
            self.constants.append(where)
        elif isinstance(value, np.ndarray) and value.dtype.kind in "fc":
            self.constants.append(where)
        elif isinstance(value, batching.BatchedVariable):  # Note [Custom functions inside vmap]
            self.constants.append(where)
        return value, False

    def restore(self, ctx: FunctionCtx, outputs: Optional[List[Variable]]) -> None:
        """Puts the kept inputs back on ctx as the caller's Variables and the kept
        outputs as `outputs` (None: as forward returned them)."""
        outputs = self.outs if outputs is None else outputs
        for key, slot in self.slots.items():
            setattr(ctx, key, self._value(slot, outputs))

    def _value(self, v: Any, outputs: List[Variable]) -> Any:
        if isinstance(v, _Slot):
            return (self.inputs if v.kind == "input" else outputs)[v.position]
        if type(v) in (tuple, list):
            return type(v)(self._value(a, outputs) for a in v)
        return v


class _Packing:
    """Several outputs recorded as one: their flattened values side by side in one
    vector (in the widest dtype), unpacked by differentiable slices."""

    def __init__(self, outs: List[Variable]) -> None:
        self.shapes = [o.shape for o in outs]
        self.dtypes = [o.dtype for o in outs]
        self.sizes = [o.size for o in outs]
        wide = np.result_type(*self.dtypes)
        with autograd.no_grad():
            self.packed = _core.concatenate([_core.reshape(_core.astype(o, wide), (-1,)) for o in outs], 0)

    def unpack(self, packed: Variable, lead: int) -> List[Variable]:
        """The outputs (or their cotangents, with `lead` batch dimensions in front)."""
        front = tuple(packed.shape[:lead])
        parts, start = [], 0
        for shape, dtype, size in zip(self.shapes, self.dtypes, self.sizes):
            part = packed[(Ellipsis, slice(start, start + size))]
            parts.append(_core.astype(_core.reshape(part, front + tuple(shape)), dtype))
            start += size
        return parts

    def pack_tangents(self, touts: Any, name: str) -> Optional[Variable]:
        touts = tuple(touts) if isinstance(touts, (tuple, list)) else (touts,)
        if len(touts) != len(self.shapes):
            raise ValueError(f"{name}: jvp returned {len(touts)} tangents for {len(self.shapes)} outputs")
        flat, front = [], None
        for t, shape, size, dtype in zip(touts, self.shapes, self.sizes, self.dtypes):
            if t is None:
                continue
            t = t if isinstance(t, Variable) else Variable(t)
            front = tuple(t.shape[: t.ndim - len(shape)])
        if front is None:
            return None
        for t, shape, size, dtype in zip(touts, self.shapes, self.sizes, self.dtypes):
            t = Variable(np.zeros(front + tuple(shape), dtype=dtype)) if t is None else t
            t = t if isinstance(t, Variable) else Variable(t)
            flat.append(_core.reshape(_core.astype(t, self.packed.dtype), front + (-1,)))
        return _core.concatenate(flat, -1)


def _guard_differentiated(name: str, rule: str, constants: List[str], grad: Any, inputs: List[Variable]) -> Any:
    """`grad` (what `rule`, "backward" or "jvp", returned) passed through an op that
    raises if it is differentiated, with respect to anything that reaches it or to
    the function's inputs (on which the kept intermediates depend, though no edge
    of the graph says so)."""
    if grad is None:
        return None
    grad = grad if isinstance(grad, Variable) else Variable(grad)
    how = ("create_graph, eg.hessian, eg.hvp or a nested transform" if rule == "backward"
           else "eg.hvp, or a gradient of eg.jvp's tangent")
    message = (
        f"{name}: its {rule} is being differentiated ({how}), but it uses values that forward computed "
        f"and kept ({', '.join(constants)}): to the second derivative they would be constants and the "
        f"result wrong. Keep only inputs and outputs (ctx.save_for_backward) and recompute the rest in "
        f"{rule} from them"
    )

    def refuse(*_: Any) -> Any:
        raise RuntimeError(message)

    return _core._record_custom(f"{name}.{rule}", grad, [grad, *inputs], lambda g, out: refuse(), refuse, False, [])


class CustomVJP(Protocol):
    """What :func:`custom_vjp` returns: the function, plus ``defvjp(fwd, bwd)``."""

    def __call__(self, *args: Any) -> Any: ...

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None: ...


def custom_vjp(fun: Callable[..., Any]) -> CustomVJP:
    """Gives ``fun`` a hand-written VJP, as JAX's ``custom_vjp``.

    ``fun.defvjp(fwd, bwd)``: ``fwd(*args)`` returns ``(out, residuals)``;
    ``bwd(residuals, gout)`` returns a tuple with one gradient per argument.
    Until ``defvjp`` is called, ``fun`` is differentiated through its ops.
    """
    rules: Dict[str, Callable[..., Any]] = {}

    class _CustomVJP(Function):
        @staticmethod
        def forward(ctx: FunctionCtx, *args: Any) -> Any:
            out, ctx.residuals = rules["fwd"](*args)
            return out

        @staticmethod
        def backward(ctx: FunctionCtx, *gouts: Any) -> Any:
            grads = rules["bwd"](ctx.residuals, gouts if len(gouts) > 1 else gouts[0])
            return tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)

    _CustomVJP.__name__ = getattr(fun, "__name__", "custom_vjp")

    @functools.wraps(fun)
    def wrapped(*args: Any) -> Any:
        if "fwd" not in rules:
            return fun(*args)
        return _CustomVJP.apply(*args)

    def defvjp(fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        rules["fwd"], rules["bwd"] = fwd, bwd

    wrapped.defvjp = defvjp  # type: ignore[attr-defined]  # a function's attribute, typed by CustomVJP
    return cast(CustomVJP, wrapped)

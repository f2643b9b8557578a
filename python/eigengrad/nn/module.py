"""``Module`` and ``Parameter``: the bookkeeping every layer shares.

A module owns parameters (trainable leaf Variables), buffers (other state saved
with it) and child modules, all registered by plain attribute assignment, in the
order assigned. Names are dotted paths (``"0.weight"``), as in PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np

from eigengrad._core import Variable
from eigengrad.autograd import no_grad


class Parameter(Variable):
    """A leaf Variable that a :class:`Module` registers as trainable.

    ``Parameter(data, requires_grad=True, dtype=None)``: the same conversions as
    ``Variable`` (a C-contiguous float array is shared, not copied).
    """

    def __init__(self, data: Any, requires_grad: bool = True, dtype: Any = None) -> None:
        super().__init__(data, requires_grad=requires_grad, dtype=dtype)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + Variable.__repr__(self)


class Module:
    """Base class of layers and models: subclass it, assign parameters and
    submodules in ``__init__`` and define ``forward``. Calling the module calls
    ``forward``.

    Examples
    --------
    >>> class Affine(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.w = Parameter(np.ones(3))
    ...     def forward(self, x):
    ...         return x * self.w
    """

    training: bool
    _parameters: "OrderedDict[str, Optional[Parameter]]"
    _buffers: "OrderedDict[str, Optional[Variable]]"
    _modules: "OrderedDict[str, Optional[Module]]"

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ---- registration ------------------------------------------------------------

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() was called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: parameters, buffers and modules.
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Parameter]) -> None:
        """Registers ``param`` under ``name`` (``None`` keeps the name, no value)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self.__dict__.pop(name, None)
        self._parameters[name] = param

    def register_buffer(self, name: str, value: Optional[Variable]) -> None:
        """Registers non-trainable state saved in the state_dict (running statistics,
        masks). ``value`` is a Variable (or array-like, converted) or ``None``."""
        self.__dict__.pop(name, None)
        self._buffers[name] = None if value is None or isinstance(value, Variable) else Variable(value)

    def add_module(self, name: str, module: Optional["Module"]) -> None:
        """Registers a child module under ``name``."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, got {type(module).__name__}")
        self.__dict__.pop(name, None)
        self._modules[name] = module

    # ---- traversal ---------------------------------------------------------------

    def named_children(self) -> Iterator[Tuple[str, "Module"]]:
        """The direct submodules with their attribute names."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator["Module"]:
        """The direct submodules."""
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[Tuple[str, "Module"]]:
        """This module (name ``prefix``) and every submodule, depth first, each once."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator["Module"]:
        """This module and every submodule."""
        for _, module in self.named_modules():
            yield module

    def _named(self, table: str) -> Iterator[Tuple[str, Any]]:
        seen = set()
        for prefix, module in self.named_modules():
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{prefix}.{name}" if prefix else name), value

    def named_parameters(self) -> Iterator[Tuple[str, Parameter]]:
        """Every parameter with its dotted name (a shared parameter once)."""
        return self._named("_parameters")

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter (what an optimizer takes)."""
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[Tuple[str, Variable]]:
        """Every buffer with its dotted name."""
        return self._named("_buffers")

    def num_parameters(self) -> int:
        """The number of scalar parameters."""
        return sum(p.size for p in self.parameters())

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Calls ``fn`` on every submodule, then on this module; returns self."""
        for module in reversed(list(self.modules())):
            fn(module)
        return self

    # ---- modes and gradients -------------------------------------------------------

    def train(self, mode: bool = True) -> "Module":
        """Training mode (dropout active) for this module and its submodules."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the gradient of every parameter (to None, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = np.zeros(p.shape, p.dtype)

    # ---- state ---------------------------------------------------------------------

    def state_dict(self) -> "OrderedDict[str, Variable]":
        """The parameters and buffers by dotted name, as detached copies (later
        training does not change a state_dict already taken)."""
        state: "OrderedDict[str, Variable]" = OrderedDict()
        for name, value in [*self.named_parameters(), *self.named_buffers()]:
            state[name] = Variable(np.array(value, copy=True))
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Tuple[List[str], List[str]]:
        """Copies values into the parameters and buffers, in place (optimizers that
        hold them keep working). Values are Variables or arrays of the same shape;
        they are converted to each parameter's dtype.

        Raises ``KeyError`` (with ``strict``) when names are missing or unexpected,
        ``ValueError`` when a shape differs and ``TypeError`` when a value is not
        numeric. Every entry is checked and converted before any is written, so
        after an error the module is unchanged. Returns the lists
        ``(missing, unexpected)``.
        """
        own: Dict[str, Variable] = dict([*self.named_parameters(), *self.named_buffers()])
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected} for {type(self).__name__}"
            )
        updates = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = np.asarray(state_dict[name])
            if value.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: shape mismatch for {name!r}: the state has {value.shape}, "
                    f"the module has {target.shape}"
                )
            if value.dtype.kind not in "fiub":
                raise TypeError(f"load_state_dict: {name!r} has dtype {value.dtype}; expected numbers")
            # Converted now (a copy: the writes below must not read a buffer they change).
            updates.append((target, Variable(np.array(value, dtype=target.dtype, copy=True))))
        with no_grad():  # copy_ bumps the versions: a graph that saved the old values raises
            for target, converted in updates:
                target.copy_(converted)
        return missing, unexpected

    # ---- copying -------------------------------------------------------------------
    # copy.deepcopy and pickle need nothing here: the instance dict (with the three
    # tables) is copied as any object's, parameters by Variable's own protocol
    # (Note [Pickling Variables]), and the memo keeps a parameter shared between
    # submodules shared in the copy.

    def __copy__(self) -> "Module":
        """A shallow copy: a new module with tables of its own that hold the same
        parameters, buffers and submodules (training one trains the other; adding a
        layer to one does not add it to the other)."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        for table in ("_parameters", "_buffers", "_modules"):
            new.__dict__[table] = OrderedDict(self.__dict__[table])
        return new

    # ---- calling and printing --------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        """The arguments shown in the module's repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, module in self._modules.items():
            body = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"

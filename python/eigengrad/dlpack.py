"""DLPack exchange: Variables to and from NumPy, PyTorch, JAX and any DLPack producer, without copies.

Note [DLPack]
eigengrad's buffers are CPU memory, contiguous and row-major, float32 or float64;
NumPy already speaks every version of the protocol (DLPack 1.x versioned capsules
and the legacy ones, the read-only flag, ``copy``, ``dl_device``, the checks of
``stream`` and of the device). So both directions go through NumPy views, which
never copy:

- export: ``Variable.__dlpack__`` is ``np.asarray(v).__dlpack__(...)``. That array is
  a view of the Variable's buffer whose base keeps the buffer alive, and the capsule
  keeps the array: the consumer's tensor is valid for as long as it lives, whatever
  happens to the Variable. The values are exported, not the graph (like
  ``np.asarray(v)``); writes through the consumer are not seen by version counters.
- import: ``eg.from_dlpack(x)`` makes ``np.from_dlpack(x)`` and converts it as
  ``eg.Variable`` converts any array: a writable float32/float64 C-contiguous array is
  borrowed (zero-copy, kept alive by the Variable); anything else is copied (read-only
  memory, such as JAX's legacy capsules, because optimizers and in-place operators
  write into eigengrad's buffers; strided memory, because eigengrad's tensors are
  contiguous; other dtypes, converted to float64 as ``eg.Variable`` does). A Variable
  or a NumPy array given to ``from_dlpack`` takes the direct path, so that the result
  shares the version counter of that memory with every other conversion of it (Note
  [Borrowed memory] in python/src/borrow.cpp). Memory from other producers gets a
  counter of its own per import.
"""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from eigengrad._core import Variable

KDLCPU = 1  # DLDeviceType of CPU memory
_DEVICE_NAMES = {1: "CPU", 2: "CUDA", 3: "CUDA host", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm",
                 13: "CUDA managed", 14: "oneAPI"}


def _dlpack(self: Variable, *, stream: Any = None, max_version: Optional[Tuple[int, int]] = None,
            dl_device: Optional[Tuple[int, int]] = None, copy: Optional[bool] = None) -> Any:
    """Exports the Variable's values as a DLPack capsule (Python array API standard).

    A versioned DLPack 1.x capsule when ``max_version`` allows it (NumPy 2 and
    PyTorch ask for one), else a legacy capsule (JAX). Zero-copy unless ``copy=True``;
    the capsule keeps the buffer alive. CPU only: ``stream`` must be None and
    ``dl_device`` the CPU. The graph is not exported (as ``np.asarray(v)``).
    """
    return np.asarray(self).__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)


def _dlpack_device(self: Variable) -> Tuple[int, int]:
    """``(1, 0)``: DLPack's CPU device type and device 0."""
    return (KDLCPU, 0)


# The stub of the native module (eigengrad/_core.pyi) declares these on Variable.
setattr(Variable, "__dlpack__", _dlpack)
setattr(Variable, "__dlpack_device__", _dlpack_device)


class _Capsule:
    """Presents a bare DLPack capsule as a producer (for np.from_dlpack)."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> Tuple[int, int]:
        return (KDLCPU, 0)


def from_dlpack(x: Any, *, copy: Optional[bool] = None, requires_grad: bool = False) -> Variable:
    """A Variable over the memory of any DLPack producer (NumPy, PyTorch, JAX, ...).

    Parameters
    ----------
    x : object with ``__dlpack__``, or a DLPack capsule
        CPU memory. An eigengrad Variable or a NumPy array is taken directly.
    copy : bool, optional
        None (default): share the memory when eigengrad can (float32/float64,
        C-contiguous, writable), else copy. True: always copy. False: never copy;
        raise ValueError when a copy would be needed.
    requires_grad : bool
        Whether the new leaf requires grad.

    Returns
    -------
    Variable
        A leaf. Shared memory stays valid while the Variable lives (it keeps the
        producer's buffer alive); writes through either side are seen by the other.

    Raises
    ------
    BufferError
        The memory is not on the CPU.
    TypeError
        `x` is not a DLPack producer.
    ValueError
        ``copy=False`` and the memory cannot be shared (see Note [DLPack]).
    """
    if isinstance(x, (Variable, np.ndarray)):
        source = np.asarray(x)
        if copy:
            source = np.array(source, copy=True)
    else:
        if type(x).__name__ == "PyCapsule":
            x = _Capsule(x)
        if not hasattr(x, "__dlpack__"):
            raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a DLPack producer) or a DLPack "
                            f"capsule, got {type(x).__name__}")
        device = tuple(x.__dlpack_device__()) if hasattr(x, "__dlpack_device__") else (KDLCPU, 0)
        if int(device[0]) != KDLCPU:
            name = _DEVICE_NAMES.get(int(device[0]), f"device type {int(device[0])}")
            raise BufferError(f"from_dlpack: eigengrad computes on the CPU; this {type(x).__name__} is on {name} "
                              f"(device {int(device[1])}): move it to the CPU first")
        source = np.from_dlpack(x, copy=copy)
    result = Variable(source, requires_grad=requires_grad)
    if copy is False and not np.shares_memory(np.asarray(result), source):
        raise ValueError(
            f"from_dlpack: copy=False, but eigengrad cannot share this memory ({source.dtype}, shape "
            f"{source.shape}, {'C-contiguous' if source.flags.c_contiguous else 'strided'}, "
            f"{'writable' if source.flags.writeable else 'read-only'}): it borrows only writable C-contiguous "
            "float32/float64 memory")
    return result

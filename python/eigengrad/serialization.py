"""``eg.save`` and ``eg.load``: state dicts in NumPy's portable ``.npz`` format.

The file is a plain zip of ``.npy`` arrays (one per name, dtype kept), readable
with ``numpy.load`` alone; nothing is pickled.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Mapping, Union

import numpy as np

from eigengrad._core import Variable

PathLike = Union[str, "os.PathLike[str]"]


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Writes a mapping of names to Variables (or arrays) to ``path`` as ``.npz``
    (at exactly that path: no suffix is added)."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save: expected a mapping of names to arrays, got {type(state_dict).__name__}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: names must be strings, got {name!r}")
        array = np.asarray(value)
        if array.dtype.kind not in "fiub":
            raise TypeError(f"save: {name!r} has dtype {array.dtype}; only numeric arrays are saved")
        arrays[name] = array
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load(path: PathLike) -> "OrderedDict[str, Variable]":
    """Reads a file written by :func:`save`: names to Variables, in the saved order
    and dtypes (integer arrays come back as float64 Variables)."""
    out: "OrderedDict[str, Variable]" = OrderedDict()
    with np.load(path, allow_pickle=False) as archive:
        for name in archive.files:
            out[name] = Variable(archive[name])
    return out

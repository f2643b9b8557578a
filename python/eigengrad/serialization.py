"""``eg.save`` and ``eg.load``: state dicts in NumPy's portable ``.npz`` format.

The file is a plain zip of ``.npy`` arrays (one per name, dtype kept), readable
with ``numpy.load`` alone; nothing is pickled.
"""

from __future__ import annotations

import os
import zipfile
from collections import OrderedDict
from typing import Any, Mapping, Union

import numpy as np

from eigengrad._core import Variable

PathLike = Union[str, "os.PathLike[str]"]

# What a damaged or foreign file makes NumPy's readers raise.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError)


def save(state_dict: Mapping[str, Any], path: PathLike) -> None:
    """Writes a mapping of names to Variables (or arrays) to ``path`` as ``.npz``
    (at exactly that path: no suffix is added).

    Every name is kept as it is, also names that are keywords of ``numpy.savez``
    (``file``, ``allow_pickle``). Everything is checked before the file is touched,
    and the file is written beside ``path`` and then moved over it, so a failure
    leaves an existing file as it was."""
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
    path = os.fspath(path)
    partial = f"{path}.partial-{os.getpid()}"
    try:
        # One .npy entry per name, written directly: numpy.savez would take some
        # names as its own keyword arguments.
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
            for name, array in arrays.items():
                with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def load(path: PathLike) -> "OrderedDict[str, Variable]":
    """Reads a file written by :func:`save`: names to Variables, in the saved order
    and dtypes (integer arrays come back as float64 Variables).

    A file that is not such an archive (damaged, truncated, a single ``.npy``
    array, pickled data) raises ``ValueError`` naming the file and what is wrong
    with it; nothing is ever unpickled."""
    where = os.fspath(path)
    out: "OrderedDict[str, Variable]" = OrderedDict()
    with open(path, "rb") as f:  # ours to close, also when NumPy's reader fails
        try:
            archive = np.load(f, allow_pickle=False)
        except _READ_ERRORS as e:
            problem = "it holds pickled objects" if "pickle" in str(e) else "it is damaged or not an .npz archive"
            raise ValueError(f"load: cannot read {where!r}: {problem} ({e})") from e
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError(f"load: {where!r} holds a single array (.npy), not a state dict written by eg.save; "
                             "read it with numpy.load")
        with archive:
            for name in archive.files:
                try:
                    array = archive[name]
                except _READ_ERRORS as e:
                    problem = "holds pickled objects" if "pickle" in str(e) else "is damaged"
                    raise ValueError(f"load: cannot read {where!r}: entry {name!r} {problem} ({e})") from e
                if array.dtype.kind not in "fiub":
                    raise ValueError(f"load: {where!r}: entry {name!r} has dtype {array.dtype}, not a numeric array")
                out[name] = Variable(array)
    return out

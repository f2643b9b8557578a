"""The MPI world: start-up, collectives with a deadline, and stopping every rank on error.

eigengrad does not implement communication: it uses MPI through mpi4py, imported
only here and only when ``init()`` runs, so ``import eigengrad`` never needs it.

Note [Bounded waits]
Every collective here is started non-blocking and completed by ``wait()``, which
polls the requests until they finish or a deadline passes (``init(timeout=...)``).
A rank that has raised, died or stopped calling collectives therefore makes the
others fail with a ``DistributedError`` naming the operation after at most
``timeout`` seconds, never hang. On top of that, ``init()`` makes an uncaught
exception on any rank call ``MPI_Abort``: the launcher (mpiexec) then stops every
rank at once, after printing the traceback of the one that failed. A rank killed by
a signal is noticed by the launcher, which stops the others too.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import Any, List, Optional, Type

import numpy as np

from eigengrad._core import set_num_threads
from eigengrad._core import Variable
from eigengrad.autograd import no_grad

MPI_HINT = ('eigengrad.distributed needs mpi4py and an MPI library: pip install "eigengrad[mpi]" '
            '(from a source checkout: pip install ".[mpi]")')

DEFAULT_TIMEOUT = 600.0  # seconds; EIGENGRAD_DIST_TIMEOUT overrides it
ABORT_GRACE_SECONDS = 0.5
SPIN_SECONDS = 2e-3  # how long wait() polls without sleeping


class DistributedError(RuntimeError):
    """A collective failed or timed out, or the ranks disagree (e.g. on the model)."""


def import_mpi() -> Any:
    """The ``mpi4py.MPI`` module, or ImportError naming the extra to install."""
    try:
        from mpi4py import MPI
    except ImportError as error:  # mpi4py missing, or it cannot load an MPI library
        raise ImportError(f"{MPI_HINT} ({error})") from error
    return MPI


class World:
    """The ranks of one data-parallel job: ``rank``, ``size``, the communicator and the deadline."""

    def __init__(self, comm: Any, timeout: float) -> None:
        self.MPI = import_mpi()
        self.comm = comm
        self.rank: int = comm.Get_rank()
        self.size: int = comm.Get_size()
        self.timeout = float(timeout)

    def __repr__(self) -> str:
        return f"World(rank={self.rank}, size={self.size}, timeout={self.timeout:g}s)"

    def wait(self, requests: List[Any], what: str) -> None:
        """Completes `requests` or raises DistributedError after the timeout (Note [Bounded waits])."""
        Testall = self.MPI.Request.Testall
        start = time.monotonic()
        spin_until, deadline = start + SPIN_SECONDS, start + self.timeout
        while not Testall(requests):  # poll: small reductions finish in microseconds
            if time.monotonic() > spin_until:
                break
        pause = 1e-5
        while not Testall(requests):  # then sleep between polls, leaving the core to others
            if time.monotonic() > deadline:
                raise DistributedError(
                    f"rank {self.rank} of {self.size}: {what} did not complete within {self.timeout:g} s; another "
                    "rank has stopped, failed or is not calling the same collectives (init(timeout=...) sets "
                    "the limit)")
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)

    def abort(self, code: int = 1) -> None:
        """Stops every rank of the job (MPI_Abort)."""
        self.comm.Abort(code)


_world: Optional[World] = None


def init(comm: Any = None, *, timeout: Optional[float] = None, abort_on_error: bool = True,
         threads: Optional[int] = None) -> World:
    """Joins the MPI job this process was started in (``mpiexec -n N python ...``).

    Parameters
    ----------
    comm : mpi4py communicator, optional
        The ranks to train with (``MPI.COMM_WORLD`` by default).
    timeout : float, optional
        Seconds any collective may wait for the other ranks before raising
        :class:`DistributedError` (default 600, or ``EIGENGRAD_DIST_TIMEOUT``).
    abort_on_error : bool
        Make an uncaught exception on this rank stop every rank (``MPI_Abort``), so
        that no rank waits for one that has failed. True by default.
    threads : int, optional
        eigengrad's threads per rank (``eg.set_num_threads``). By default this
        machine's cores are divided among the ranks running on it, so that N ranks
        never oversubscribe the cores.

    Returns
    -------
    World
        With ``rank`` and ``size``. Calling ``init`` again returns the same world.
        A plain ``python`` run (no ``mpiexec``) is a world of size 1.
    """
    global _world
    if _world is not None:
        return _world
    MPI = import_mpi()
    if timeout is None:
        timeout = float(os.environ.get("EIGENGRAD_DIST_TIMEOUT", DEFAULT_TIMEOUT))
    if not timeout > 0:
        raise ValueError(f"init: timeout must be positive seconds, got {timeout!r}")
    _world = World(MPI.COMM_WORLD if comm is None else comm, timeout)
    if threads is None:
        node = _world.comm.Split_type(MPI.COMM_TYPE_SHARED)  # the ranks on this machine
        local_ranks = node.Get_size()
        node.Free()
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        threads = max(1, cores // local_ranks)
    set_num_threads(threads)
    if abort_on_error and _world.size > 1:
        _install_abort_on_uncaught_exception(_world)
    return _world


def _install_abort_on_uncaught_exception(world: World) -> None:
    previous = sys.excepthook

    def abort_all(kind: Type[BaseException], value: BaseException, traceback: Optional[TracebackType]) -> None:
        previous(kind, value, traceback)
        sys.stderr.write(f"eigengrad.distributed: rank {world.rank} of {world.size} failed; stopping every rank\n")
        sys.stdout.flush()
        sys.stderr.flush()
        # The launcher forwards the ranks' output through pipes; a moment's grace lets
        # this traceback (and that of a rank failing at the same time) through first.
        time.sleep(ABORT_GRACE_SECONDS)
        world.abort(1)

    sys.excepthook = abort_all


def world() -> World:
    """The world of ``init()``; RuntimeError when it has not been called."""
    if _world is None:
        raise RuntimeError("eigengrad.distributed: call eigengrad.distributed.init() first")
    return _world


def is_initialized() -> bool:
    """Whether ``init()`` has run in this process."""
    return _world is not None


def get_rank() -> int:
    """This process's rank (0 .. world size - 1)."""
    return world().rank


def get_world_size() -> int:
    """How many processes take part."""
    return world().size


_OPS = ("sum", "mean", "max", "min")


def _as_buffer(x: Any, op: str) -> np.ndarray:
    """The buffer to communicate: x itself when it is a writable C-contiguous NumPy
    array (then the result lands in place), else a contiguous copy of x."""
    if not isinstance(x, (Variable, np.ndarray)):
        raise TypeError(f"{op}: expected an eigengrad Variable or a NumPy array, got {type(x).__name__}")
    array = np.asarray(x)
    if array.dtype.kind not in "fiu":
        raise TypeError(f"{op}: cannot communicate an array of dtype {array.dtype}")
    if isinstance(x, np.ndarray):
        if not x.flags.writeable:
            raise ValueError(f"{op}: the array is read-only, so it cannot receive the result in place")
        if x.flags.c_contiguous:
            return x
    return np.array(array, order="C", copy=True)


def _write_back(x: Any, result: np.ndarray) -> Any:
    """Stores `result` into x in place (Variables through copy_, which bumps the version)."""
    if result is x:
        return x
    if isinstance(x, Variable):
        with no_grad():
            x.copy_(result)
    else:
        np.copyto(x, result)
    return x


def all_reduce(x: Any, op: str = "sum") -> Any:
    """Reduces x over all ranks, in place: every rank ends with the same result.

    Parameters
    ----------
    x : Variable or numpy.ndarray
        The same shape and dtype on every rank. A Variable is written with
        ``copy_`` (its version is bumped; grad mode is off for the write).
    op : {"sum", "mean", "max", "min"}
        ``"mean"`` divides the sum by the world size (integer arrays: floor division).

    Returns
    -------
    x, holding the result.
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {_OPS}, got {op!r}")
    w = world()
    buffer = _as_buffer(x, "all_reduce")
    mpi_op = {"sum": w.MPI.SUM, "mean": w.MPI.SUM, "max": w.MPI.MAX, "min": w.MPI.MIN}[op]
    w.wait([w.comm.Iallreduce(w.MPI.IN_PLACE, buffer, op=mpi_op)],
           f"all_reduce({op}) of shape {buffer.shape} {buffer.dtype}")
    if op == "mean":
        if buffer.dtype.kind == "f":
            buffer /= w.size
        else:
            buffer //= w.size
    return _write_back(x, buffer)


def broadcast(x: Any, root: int = 0) -> Any:
    """Copies rank `root`'s value of x into x on every other rank, in place; returns x."""
    w = world()
    if not 0 <= root < w.size:
        raise ValueError(f"broadcast: root {root} is not a rank of a world of size {w.size}")
    buffer = _as_buffer(x, "broadcast")
    w.wait([w.comm.Ibcast(buffer, root=root)], f"broadcast of shape {buffer.shape} {buffer.dtype} from rank {root}")
    return x if w.rank == root else _write_back(x, buffer)


def barrier() -> None:
    """Waits until every rank has reached this call (with the deadline of ``init``)."""
    w = world()
    w.wait([w.comm.Ibarrier()], "barrier")


def all_gather_bytes(payload: bytes, what: str) -> List[bytes]:
    """Every rank's `payload` (any length), in rank order, through bounded waits."""
    w = world()
    data = np.frombuffer(payload, dtype=np.uint8)
    lengths = np.zeros(w.size, dtype=np.int64)
    w.wait([w.comm.Iallgather(np.array([data.size], dtype=np.int64), lengths)], what)
    gathered = np.zeros(int(lengths.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    w.wait([w.comm.Iallgatherv(data, [gathered, (lengths, offsets), w.MPI.BYTE])], what)
    return [gathered[o:o + n].tobytes() for o, n in zip(offsets, lengths)]

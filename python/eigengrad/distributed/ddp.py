"""DistributedDataParallel: the same model on every rank, gradients averaged in buckets.

Note [Gradient buckets]
The parameters are grouped, in reverse order of registration (roughly the order in
which backward finishes them), into buckets of one dtype and at most
``bucket_cap_mb`` megabytes. Each bucket owns one flat NumPy buffer. A
post-accumulate hook on every parameter (Variable.register_post_accumulate_grad_hook,
run by the C++ engine as soon as the parameter's gradient for this backward is
complete) counts the bucket's finished gradients; when the last one arrives, the
gradients are copied into the buffer (one memcpy each, straight from their memory)
and a non-blocking all-reduce of the buffer starts, while backward goes on with the
earlier layers. Buckets start strictly in index order, so every rank issues the same
collectives in the same order whatever order its gradients finish in. The hook that
finishes the last bucket waits for all of them (Note [Bounded waits] in _world.py),
divides by the world size, and makes each parameter's ``.grad`` a view of its slice
of the buffer: when ``loss.backward()`` returns, the gradients are averaged and the
optimizer step can run. The views are overwritten by the next backward's reduction
(as PyTorch's ``gradient_as_bucket_view``); clone a gradient to keep it.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import weakref
from typing import Any, Dict, Iterator, List, Set, Tuple

import numpy as np

from eigengrad._core import Variable
from eigengrad.autograd import no_grad
from eigengrad.distributed._world import DistributedError, World, all_gather_bytes, broadcast, world
from eigengrad.nn.module import Module, Parameter


class _Bucket:
    """Parameters whose gradients are reduced together, and their flat buffer."""

    def __init__(self, index: int, members: List[Tuple[str, Parameter]]) -> None:
        self.index = index
        self.names = [name for name, _ in members]
        self.params = [p for _, p in members]
        self.dtype = np.dtype(self.params[0].dtype)
        sizes = [int(np.prod(p.shape, dtype=np.int64)) for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.buffer = np.zeros(int(self.offsets[-1]), dtype=self.dtype)
        self.ready: Set[int] = set()  # indices of the gradients finished in the current backward
        self.request: Any = None

    @property
    def complete(self) -> bool:
        return len(self.ready) == len(self.params)

    @property
    def nbytes(self) -> int:
        return self.buffer.nbytes

    def slot(self, k: int) -> np.ndarray:
        """Parameter k's part of the buffer, in its shape (a view)."""
        return self.buffer[self.offsets[k]:self.offsets[k + 1]].reshape(self.params[k].shape)

    def pack_gradients(self) -> None:
        for k, p in enumerate(self.params):
            np.copyto(self.slot(k), np.asarray(p.grad))

    def pack_values(self) -> None:
        for k, p in enumerate(self.params):
            np.copyto(self.slot(k), np.asarray(p))


def _make_buckets(named: List[Tuple[str, Parameter]], cap_bytes: int) -> List[_Bucket]:
    buckets: List[_Bucket] = []
    open_members: Dict[np.dtype, List[Tuple[str, Parameter]]] = {}
    open_bytes: Dict[np.dtype, int] = {}
    for name, p in reversed(named):
        dtype = np.dtype(p.dtype)
        nbytes = int(np.prod(p.shape, dtype=np.int64)) * dtype.itemsize
        members = open_members.setdefault(dtype, [])
        if members and open_bytes[dtype] + nbytes > cap_bytes:
            buckets.append(_Bucket(len(buckets), members))
            members = open_members[dtype] = []
            open_bytes[dtype] = 0
        members.append((name, p))
        open_bytes[dtype] = open_bytes.get(dtype, 0) + nbytes
    for members in open_members.values():
        if members:
            buckets.append(_Bucket(len(buckets), members))
    return buckets


def _signature(named: List[Tuple[str, Any]]) -> List[str]:
    return [f"{name}: shape {tuple(p.shape)} {np.dtype(p.dtype).name}" for name, p in named]


def check_same_model(w: World, named: List[Tuple[str, Any]], what: str = "parameters") -> None:
    """Raises DistributedError on every rank, naming the first difference, unless all
    ranks hold the same names, shapes and dtypes."""
    mine = _signature(named)
    digest = hashlib.sha256("\n".join(mine).encode()).digest()
    digests = all_gather_bytes(digest, f"DistributedDataParallel: comparing the {what} of the ranks")
    if all(d == digest for d in digests):
        return
    payload = "\n".join(mine).encode()
    every = [b.decode().split("\n") if b else [] for b in
             all_gather_bytes(payload, f"DistributedDataParallel: exchanging the {what} of the ranks")]
    reference = every[0]
    for rank, theirs in enumerate(every[1:], start=1):
        if theirs == reference:
            continue
        for k in range(max(len(reference), len(theirs))):
            a = reference[k] if k < len(reference) else "(none)"
            b = theirs[k] if k < len(theirs) else "(none)"
            if a != b:
                raise DistributedError(
                    f"DistributedDataParallel: the model's {what} differ across ranks: {what[:-1]} {k} is "
                    f"'{a}' on rank 0 but '{b}' on rank {rank} (rank 0 has {len(reference)} {what}, rank "
                    f"{rank} has {len(theirs)}); every rank must build the same model")
    raise DistributedError(f"DistributedDataParallel: the {what} differ across ranks")  # pragma: no cover


class DistributedDataParallel(Module):
    """Wraps `module` for data-parallel training under ``mpiexec -n N``.

    At construction, every rank's parameters are checked to have the same names,
    shapes and dtypes (a mismatch raises :class:`DistributedError` naming the
    first difference) and rank 0's parameters and buffers are copied to all ranks.
    Then each ``loss.backward()`` averages the gradients over the ranks, in
    buckets that overlap with the rest of backward (Note [Gradient buckets]); when
    it returns, every rank holds the same gradients and can run its optimizer.

    Parameters
    ----------
    module : Module
        The model; calling the wrapper calls it.
    bucket_cap_mb : float
        Largest bucket, in megabytes (25, as PyTorch).
    average : bool
        Divide the summed gradients by the number of ranks (True): with each rank's
        loss a mean over an equal local batch, that is the gradient of the mean loss
        over the global batch.
    broadcast_parameters : bool
        Copy rank 0's parameters and buffers to every rank (True).

    Notes
    -----
    Every parameter that requires grad must receive a gradient in each backward on
    every rank; otherwise the next call raises DistributedError naming the ones
    that did not. ``no_sync()`` accumulates gradients locally (gradient
    accumulation); the first backward outside it reduces the sum.

    Examples
    --------
    >>> import eigengrad as eg, eigengrad.distributed as dist    # doctest: +SKIP
    >>> dist.init()                                               # doctest: +SKIP
    >>> model = dist.DistributedDataParallel(eg.nn.MLP([64, 256, 10]))  # doctest: +SKIP
    >>> loss = eg.nn.cross_entropy(model(x_local), y_local)      # doctest: +SKIP
    >>> loss.backward()            # gradients averaged over the ranks  # doctest: +SKIP
    """

    _world: World  # set with object.__setattr__ (not a submodule or parameter)

    def __init__(self, module: Module, bucket_cap_mb: float = 25.0, average: bool = True,
                 broadcast_parameters: bool = True) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an eigengrad.nn.Module, got {type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        self.module = module
        w = world()
        named = [(name, p) for name, p in module.named_parameters() if p.requires_grad]
        check_same_model(w, named)
        check_same_model(w, list(module.named_buffers()), "buffers")
        object.__setattr__(self, "_world", w)
        object.__setattr__(self, "_average", bool(average))
        object.__setattr__(self, "_buckets", _make_buckets(named, int(bucket_cap_mb * 2**20)))
        object.__setattr__(self, "_sync", True)
        object.__setattr__(self, "_next_to_start", 0)
        object.__setattr__(self, "_handles", [])
        object.__setattr__(self, "last_wait_seconds", 0.0)
        if broadcast_parameters and w.size > 1:
            self._broadcast_state()
        if w.size > 1:
            self._register_hooks()

    # ---- set-up ------------------------------------------------------------------

    def _broadcast_state(self) -> None:
        w = self._world
        for bucket in self._buckets:
            if w.rank == 0:
                bucket.pack_values()
            w.wait([w.comm.Ibcast(bucket.buffer, root=0)],
                   f"DistributedDataParallel: broadcasting bucket {bucket.index} of the parameters from rank 0")
            if w.rank != 0:
                with no_grad():
                    for k, p in enumerate(bucket.params):
                        p.copy_(bucket.slot(k))
        for _, value in self.module.named_buffers():
            broadcast(value, root=0)

    def _register_hooks(self) -> None:
        me = weakref.ref(self)
        for bucket in self._buckets:
            for k, p in enumerate(bucket.params):
                def on_gradient(_leaf: Variable, bucket: _Bucket = bucket, k: int = k) -> None:
                    ddp = me()
                    if ddp is not None:
                        ddp._gradient_ready(bucket, k)
                self._handles.append(p.register_post_accumulate_grad_hook(on_gradient))

    def remove_hooks(self) -> None:
        """Stops reducing gradients (the wrapper then trains each rank alone)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    # ---- during backward -------------------------------------------------------------

    def _gradient_ready(self, bucket: _Bucket, k: int) -> None:
        if not self._sync:
            return
        bucket.ready.add(k)
        w = self._world
        while self._next_to_start < len(self._buckets):
            head = self._buckets[self._next_to_start]
            if not head.complete:
                break
            head.pack_gradients()
            head.request = w.comm.Iallreduce(w.MPI.IN_PLACE, head.buffer, op=w.MPI.SUM)
            object.__setattr__(self, "_next_to_start", self._next_to_start + 1)
        if self._next_to_start == len(self._buckets):
            self._finish()
        else:  # let MPI progress the reductions already started
            started = [b.request for b in self._buckets[:self._next_to_start] if b.request is not None]
            if started:
                w.MPI.Request.Testall(started)

    def _finish(self) -> None:
        w = self._world
        start = time.perf_counter()
        total = sum(b.nbytes for b in self._buckets)
        w.wait([b.request for b in self._buckets],
               f"DistributedDataParallel: all-reduce of {len(self._buckets)} gradient bucket(s), {total:,} bytes")
        object.__setattr__(self, "last_wait_seconds", time.perf_counter() - start)
        for bucket in self._buckets:
            bucket.request = None
            bucket.ready.clear()
            if self._average:
                bucket.buffer *= bucket.dtype.type(1.0 / w.size)
            for k, p in enumerate(bucket.params):
                p.grad = Variable(bucket.slot(k))
        object.__setattr__(self, "_next_to_start", 0)

    def _check_previous_backward(self) -> None:
        """Raises when the last backward left a reduction unfinished (a parameter got no gradient)."""
        unfinished = [b for b in self._buckets if b.ready]
        if not unfinished:
            return
        missing = [f"'{name}'" for b in unfinished for k, name in enumerate(b.names) if k not in b.ready]
        missing += [f"'{name}'" for b in self._buckets if not b.ready for name in b.names]
        for b in self._buckets:  # start afresh (a started reduction completes on its own)
            b.ready.clear()
            b.request = None
        object.__setattr__(self, "_next_to_start", 0)
        raise DistributedError(
            "DistributedDataParallel: the last backward gave no gradient to " + ", ".join(missing) +
            ", so the gradient reduction could not finish; every parameter that requires grad must take "
            "part in the loss on every rank")

    # ---- the module face -------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        self._check_previous_backward()
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Within this block backward only accumulates gradients locally; the first
        backward after it reduces the accumulated sum."""
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)

    @property
    def world(self) -> World:
        """The :class:`World` (rank, size, communicator) the gradients are averaged over."""
        return self._world

    @property
    def buckets(self) -> List[Dict[str, Any]]:
        """The buckets: their parameter names, dtype and bytes (for inspection)."""
        return [{"index": b.index, "parameters": list(b.names), "dtype": b.dtype.name, "bytes": b.nbytes}
                for b in self._buckets]

    def extra_repr(self) -> str:
        w = self._world
        return f"rank={w.rank}, world_size={w.size}, buckets={len(self._buckets)}"

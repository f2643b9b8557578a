"""Data-parallel training on MPI (the optional extra ``pip install "eigengrad[mpi]"``).

Start N copies of a training script with ``mpiexec -n N python train.py``, written as
in the example below.

Communication is MPI's (through mpi4py): ``all_reduce`` and ``broadcast`` work on
Variables and NumPy arrays in place; every wait is bounded (``init(timeout=...)``)
and an uncaught exception on one rank stops all of them. The module imports
mpi4py only when ``init()`` runs; without it, ``init()`` raises an ImportError that
names the extra to install.

Examples
--------
>>> import eigengrad as eg, eigengrad.distributed as dist             # doctest: +SKIP
>>> world = dist.init()                        # rank and size from mpiexec
>>> model = dist.DistributedDataParallel(eg.nn.MLP([64, 256, 10], generator=0))
>>> sampler = dist.DistributedSampler(len(y), seed=0)
>>> for rows in sampler.batches(16):           # this rank's part of each global batch of 16·N
...     loss = eg.nn.cross_entropy(model(X[rows]), y[rows])
...     optimizer.zero_grad()
...     loss.backward()                        # gradients averaged over the ranks, in buckets
...     optimizer.step()
"""

from eigengrad.distributed._world import (
    DistributedError,
    World,
    all_reduce,
    barrier,
    broadcast,
    get_rank,
    get_world_size,
    init,
    is_initialized,
)
from eigengrad.distributed.ddp import DistributedDataParallel
from eigengrad.distributed.sampler import DistributedSampler

__all__ = [
    "DistributedDataParallel",
    "DistributedError",
    "DistributedSampler",
    "World",
    "all_reduce",
    "barrier",
    "broadcast",
    "get_rank",
    "get_world_size",
    "init",
    "is_initialized",
]

"""DistributedSampler: each rank's share of every global mini-batch, from one seeded shuffle."""

from __future__ import annotations

from typing import Iterator, Optional

import numpy as np


class DistributedSampler:
    """Splits the samples ``0 .. n-1`` among the ranks, one seeded shuffle per epoch.

    Every rank draws the same permutation (from ``seed`` and the epoch), cuts it into
    global batches of ``global_batch_size`` and takes every ``num_replicas``-th
    sample of each, starting at its rank. The ranks' shares of one global batch are
    disjoint and together make the whole batch, so N ranks with local batches of B
    see exactly the global batches one process with batches of N·B would see, in
    the same order (with ``shuffle``, that process's ``np.random.default_rng(seed)``
    permutations). A last global batch whose size is not a multiple of
    ``num_replicas`` is padded with samples from the start of the permutation, so
    that every rank gets as many (PyTorch's ``DistributedSampler`` pads the same way);
    ``drop_last=True`` drops it instead.

    Parameters
    ----------
    n : int
        The number of samples.
    num_replicas, rank : int, optional
        The world size and this rank (from ``eigengrad.distributed.init()`` by default).
    shuffle : bool
        A new permutation each epoch (True), or the samples in order.
    seed : int
        Seeds the permutations; the same on every rank.
    drop_last : bool
        Drop the last global batch when it is smaller than the others.
    """

    def __init__(self, n: int, num_replicas: Optional[int] = None, rank: Optional[int] = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from eigengrad.distributed._world import world

            w = world()
            num_replicas = w.size if num_replicas is None else num_replicas
            rank = w.rank if rank is None else rank
        if int(n) < 1:
            raise ValueError(f"DistributedSampler: n must be a positive number of samples, got {n!r}")
        if int(num_replicas) < 1 or not 0 <= int(rank) < int(num_replicas):
            raise ValueError(f"DistributedSampler: rank {rank!r} is not in 0..{num_replicas!r}-1")
        self.n, self.num_replicas, self.rank = int(n), int(num_replicas), int(rank)
        self.shuffle, self.drop_last = bool(shuffle), bool(drop_last)
        self._rng = np.random.default_rng(seed)

    def permutation(self) -> np.ndarray:
        """The next epoch's order of all samples (identical on every rank)."""
        return self._rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def batches(self, local_batch_size: int) -> Iterator[np.ndarray]:
        """This rank's rows of every global batch of ``local_batch_size * num_replicas``
        samples, for one epoch (each call starts a new epoch)."""
        if int(local_batch_size) < 1:
            raise ValueError(f"DistributedSampler.batches: local_batch_size must be positive, got {local_batch_size!r}")
        order = self.permutation()
        size = int(local_batch_size) * self.num_replicas
        for start in range(0, self.n, size):
            chunk = order[start:start + size]
            if len(chunk) < size and self.drop_last:
                return
            short = -len(chunk) % self.num_replicas
            if short:
                chunk = np.concatenate([chunk, order[:short]])
            yield chunk[self.rank::self.num_replicas]

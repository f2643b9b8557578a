"""Run under ``mpiexec -n 2`` by test_distributed.py: one scenario per command-line mode.

Modes: ``train`` (20 steps of data-parallel training; rank 0 saves the parameters),
``raise`` and ``die`` (rank 1 fails at step 3), ``mismatch`` (the ranks build
different models), ``unused`` (a parameter gets no gradient), ``collectives``
(all_reduce and broadcast on Variables and arrays), ``accumulate`` (no_sync).
"""

import argparse
import os
import signal
import sys

import numpy as np

import eigengrad as eg
import eigengrad.distributed as dist


def data(n=256, features=20, classes=5, dtype="float64"):
    rng = np.random.default_rng(1234)
    return rng.normal(size=(n, features)).astype(dtype), rng.integers(0, classes, n)


def make_model(dtype, hidden=32, seed=7):
    return eg.nn.MLP([20, hidden, hidden, 5], activation="tanh", dtype=dtype, generator=seed)


def make_optimizer(name, params):
    if name == "sgd":
        return eg.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    return eg.optim.Adam(params, lr=1e-2)


def train(args, world):
    X, y = data(dtype=args.dtype)
    # Every rank starts from a different initialisation: the wrapper must broadcast rank 0's.
    model = make_model(args.dtype, seed=7 + world.rank)
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=args.bucket_mb)
    optimizer = make_optimizer(args.optimizer, model.parameters())
    sampler = dist.DistributedSampler(len(y), seed=3)
    for step, rows in zip(range(args.steps), sampler.batches(args.batch)):
        loss = eg.nn.cross_entropy(ddp(X[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    params = {name: np.asarray(p).copy() for name, p in model.named_parameters()}
    # Every rank must hold the same parameters, bit for bit.
    for name, value in params.items():
        theirs = value.copy()
        dist.broadcast(theirs, root=0)
        assert np.array_equal(theirs, value), f"rank {world.rank}: {name} differs from rank 0's"
    if world.rank == 0:
        np.savez(args.out, buckets=len(ddp.buckets), **params)


def fail(args, world):
    X, y = data()
    model = make_model("float64")
    ddp = dist.DistributedDataParallel(model)
    optimizer = make_optimizer("sgd", model.parameters())
    sampler = dist.DistributedSampler(len(y), seed=3)
    for step, rows in enumerate(sampler.batches(8)):
        if step == 3 and world.rank == 1:
            if args.mode == "die":
                os.kill(os.getpid(), signal.SIGKILL)
            raise ValueError("rank 1 fails on purpose at step 3")
        loss = eg.nn.cross_entropy(ddp(X[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def mismatch(args, world):
    dist.DistributedDataParallel(make_model("float64", hidden=32 + world.rank))


class WithUnusedLayer(eg.nn.Module):
    def __init__(self):
        super().__init__()
        self.used = eg.nn.Linear(20, 5, generator=0)
        self.extra = eg.nn.Linear(3, 3, generator=0)  # never used in the loss

    def forward(self, x):
        return self.used(x)


def unused(args, world):
    X, y = data()
    ddp = dist.DistributedDataParallel(WithUnusedLayer())
    loss = eg.nn.cross_entropy(ddp(X[:8]), y[:8])
    loss.backward()
    ddp(X[:8])  # raises: 'extra.weight' and 'extra.bias' got no gradient


def accumulate(args, world):
    """Two micro-batches: the first under no_sync (local only), the second reduces the sum."""
    import copy

    X, y = data()
    model = make_model("float64")
    ddp = dist.DistributedDataParallel(model)
    shadow = copy.deepcopy(model)  # the same weights, no hooks: local gradients only
    rows = [np.arange(8) + 16 * world.rank, np.arange(8, 16) + 16 * world.rank]
    with ddp.no_sync():
        eg.nn.cross_entropy(ddp(X[rows[0]]), y[rows[0]]).backward()
    local_first = {n: np.asarray(p.grad).copy() for n, p in model.named_parameters()}
    eg.nn.cross_entropy(ddp(X[rows[1]]), y[rows[1]]).backward()
    for r in rows:
        eg.nn.cross_entropy(shadow(X[r]), y[r]).backward()
    for (name, p), (_, q) in zip(model.named_parameters(), shadow.named_parameters()):
        expected = dist.all_reduce(np.asarray(q.grad).copy(), op="mean")
        np.testing.assert_allclose(np.asarray(p.grad), expected, rtol=1e-12, atol=1e-14, err_msg=name)
        assert not np.allclose(local_first[name], np.asarray(p.grad))
    if world.rank == 0:
        print("accumulate ok")


def collectives(args, world):
    r = world.rank
    v = eg.Variable(np.full((2, 3), r + 1.0, dtype=np.float32), requires_grad=True)
    version = v._version
    dist.all_reduce(v)
    assert np.array_equal(np.asarray(v), np.full((2, 3), 3.0, np.float32)) and v._version > version
    a = np.arange(4.0) * (r + 1)
    dist.all_reduce(a, op="mean")
    assert np.allclose(a, np.arange(4.0) * 1.5), a
    m = np.array([r, -r], dtype=np.int64)
    dist.all_reduce(m, op="max")
    assert m.tolist() == [1, 0], m
    b = eg.Variable(np.full(5, float(r)))
    dist.broadcast(b, root=1)
    assert np.array_equal(np.asarray(b), np.ones(5))
    # The wrapper copies rank 0's buffers (and parameters) to every rank.
    layer = eg.nn.Linear(2, 2, generator=r)
    layer.register_buffer("stat", np.full(3, float(r + 5)))
    dist.DistributedDataParallel(layer)
    assert np.array_equal(np.asarray(layer.stat), np.full(3, 5.0)), np.asarray(layer.stat)
    assert np.array_equal(np.asarray(layer.weight), np.asarray(eg.nn.Linear(2, 2, generator=0).weight))
    dist.barrier()
    if r == 0:
        print("collectives ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["train", "raise", "die", "mismatch", "unused", "collectives", "accumulate"])
    parser.add_argument("--out", default="params.npz")
    parser.add_argument("--dtype", default="float64")
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--bucket-mb", type=float, default=0.004)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--no-abort", action="store_true")
    args = parser.parse_args()
    world = dist.init(timeout=args.timeout, abort_on_error=not args.no_abort)
    {"train": train, "raise": fail, "die": fail, "mismatch": mismatch, "unused": unused,
     "collectives": collectives, "accumulate": accumulate}[args.mode](args, world)


if __name__ == "__main__":
    sys.exit(main())

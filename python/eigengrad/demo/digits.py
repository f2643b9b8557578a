"""Train an MLP on the 8x8 handwritten digits: ``python -m eigengrad.demo``.

The 1,797 images (bundled with eigengrad) are split 80/20, stratified and seeded;
the pixels are standardised with the training set's statistics. A 64-256-10
network (GELU) is trained with Adam and a cosine learning-rate schedule on
mini-batches, printing the loss and accuracy of every epoch and its time. At the
end it saves the weights (``digits_mlp.npz``, load them with ``eg.load``) and a
plot of the curves (``digits_curves.png``) under ``--out``. ``--monitor`` prints
``eg.grad_monitor``'s table (per-parameter gradient norms, dead and saturated
units, the first inf or NaN) once per epoch.

``mpiexec -n N python -m eigengrad.demo --distributed`` trains the same network on
N processes (data parallel, ``eigengrad.distributed``; needs ``pip install
"eigengrad[mpi]"``): each rank takes ``batch-size / N`` rows of every global batch
of ``--batch-size`` rows, the global batches are those of a one-process run, and
the gradients are averaged over the ranks during backward. Rank 0 prints and saves.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

import eigengrad as eg
from eigengrad.demo import _common as common

DEFAULT_LR = {"adam": 1e-3, "adamw": 1e-3, "sgd": 0.05}


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eigengrad.demo", description="Train an MLP on the 8x8 handwritten digits with eigengrad."
    )
    parser.add_argument("--epochs", type=common.positive_int, default=30, help="passes over the training set (30)")
    parser.add_argument("--hidden", type=common.positive_int, nargs="+", default=[256],
                        help="hidden layer sizes (256; several for a deeper network)")
    parser.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "gelu"], default="gelu",
                        help="hidden activation (gelu)")
    parser.add_argument("--lr", type=common.positive_float, default=None,
                        help="initial learning rate (1e-3 for adam/adamw, 0.05 for sgd), cosine-annealed")
    parser.add_argument("--batch-size", type=common.positive_int, default=32, help="mini-batch size (32)")
    parser.add_argument("--optimizer", choices=["adam", "adamw", "sgd"], default="adam", help="(adam)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split, the initial weights and the shuffles (0)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32", help="(float32)")
    parser.add_argument("--out", type=Path, default=Path("eigengrad-demo"),
                        help="directory for the weights and the plot (./eigengrad-demo)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, only the per-epoch lines")
    parser.add_argument("--monitor", action="store_true",
                        help="print eg.grad_monitor's table (gradient norms, dead and saturated units, "
                             "the first inf or NaN) once per epoch")
    parser.add_argument("--distributed", action="store_true",
                        help="data-parallel over the processes of `mpiexec -n N` (--batch-size is the global batch)")
    return parser.parse_args(argv)


def load_data(seed: int, dtype: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The seeded split, standardised with the training statistics."""
    X, y = eg.datasets.load_digits()
    X_train, X_test, y_train, y_test = eg.datasets.train_test_split(X, y, test_fraction=0.2, seed=seed)
    mean, scale = X_train.mean(axis=0), X_train.std(axis=0) + 1e-3  # constant border pixels: scale 1e-3
    return ((X_train - mean) / scale).astype(dtype), ((X_test - mean) / scale).astype(dtype), y_train, y_test


def evaluate(model: eg.nn.Module, X: np.ndarray, y: np.ndarray) -> Tuple[float, float]:
    """(loss, accuracy) of the model on (X, y), in eval mode and without a graph."""
    model.eval()
    with eg.no_grad():
        logits = model(X)
        loss = eg.nn.cross_entropy(logits, y).item()
    model.train()
    return loss, common.accuracy(logits, y)


def plot(history: Dict[str, List[float]], path: Path) -> Optional[Path]:
    made = common.new_figure(10, 4, ncols=2)
    if made is None:
        return None
    fig, (ax_loss, ax_acc) = made
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax_loss.plot(epochs, history["train_loss"], label="train")
    ax_loss.plot(epochs, history["test_loss"], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", yscale="log", title="loss")
    ax_acc.plot(epochs, history["train_acc"], label="train")
    ax_acc.plot(epochs, history["test_acc"], label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("eigengrad: MLP on the 8x8 digits")
    return common.save_figure(fig, path)


class Parallel:
    """How the demo trains: one process, or data parallel under mpiexec (--distributed)."""

    def __init__(self, distributed: bool, batch_size: int, seed: int, n: int) -> None:
        self.dist: Any = None
        self.rank, self.size = 0, 1
        if distributed:
            import eigengrad.distributed as dist

            world = dist.init()
            self.dist, self.rank, self.size = dist, world.rank, world.size
            if batch_size % world.size:
                raise SystemExit(f"--batch-size {batch_size} is the global batch: it must be a multiple of the "
                                 f"{world.size} processes")
            self.sampler = dist.DistributedSampler(n, seed=seed)
        self.local_batch = batch_size // self.size
        self.rng = np.random.default_rng(seed)
        self.n = n

    def wrap(self, model: eg.nn.Module) -> eg.nn.Module:
        return self.dist.DistributedDataParallel(model) if self.dist else model

    def batches(self) -> Iterator[np.ndarray]:
        """One epoch of this process's rows (a one-process run draws the same global batches)."""
        if self.dist:
            return self.sampler.batches(self.local_batch)
        return common.batches(self.n, self.local_batch, self.rng)

    def total(self, *values: float) -> List[float]:
        """The sums of `values` over the processes."""
        sums = np.array(values, dtype=np.float64)
        return list(self.dist.all_reduce(sums) if self.dist else sums)

    def print(self, *args: Any) -> None:
        if self.rank == 0:
            print(*args, flush=True)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Runs the demo; returns the history, the final test accuracy and the paths."""
    args = parse_args(argv)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    X_train, X_test, y_train, y_test = load_data(args.seed, args.dtype)
    parallel = Parallel(args.distributed, args.batch_size, args.seed, len(y_train))
    sizes = [X_train.shape[1], *args.hidden, 10]
    model = eg.nn.MLP(sizes, activation=args.activation, dtype=args.dtype, generator=args.seed)
    trained = parallel.wrap(model)
    optimizer = common.make_optimizer(args.optimizer, model.parameters(), lr)
    schedule = eg.optim.CosineAnnealingLR(optimizer, T_max=args.epochs)
    say = parallel.print  # rank 0 speaks for all

    say(f"digits: {len(y_train)} training and {len(y_test)} test images of 8x8 pixels, 10 classes")
    say(f"model: {model.num_parameters():,} parameters, {args.dtype}\n{model}")
    say(f"optimizer: {args.optimizer}, lr {lr:g} (cosine schedule), batch size {args.batch_size}, "
        f"{args.epochs} epochs, seed {args.seed}")
    if parallel.size > 1:
        say(f"data parallel: {parallel.size} processes, {parallel.local_batch} rows of each batch per process")

    history: Dict[str, List[float]] = {k: [] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds")}
    progress = common.Progress(args.epochs, "training", enabled=not args.no_progress and parallel.rank == 0)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0, 0
        # One monitor per epoch around every step's forward and backward: the table
        # shows the epoch's last step and the first inf or NaN of the whole epoch.
        monitor = eg.grad_monitor(model) if args.monitor else contextlib.nullcontext()
        for rows in parallel.batches():
            optimizer.zero_grad()
            with monitor:
                logits = trained(X_train[rows])
                loss = eg.nn.cross_entropy(logits, y_train[rows])
                loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(rows)
            correct += int(np.sum(np.argmax(np.asarray(logits), axis=1) == y_train[rows]))
            seen += len(rows)
        schedule.step()
        seconds = time.perf_counter() - start
        total_loss, total_correct, total_seen = parallel.total(loss_sum, correct, seen)
        test_loss, test_acc = evaluate(model, X_test, y_test)
        for key, value in zip(history, (total_loss / total_seen, total_correct / total_seen, test_loss, test_acc,
                                        seconds)):
            history[key].append(value)
        progress.update(loss=f"{test_loss:.3f}", acc=f"{test_acc:.3f}")
        if parallel.rank == 0:
            progress.write(f"epoch {epoch:3d}/{args.epochs}  train loss {history['train_loss'][-1]:.4f}  "
                           f"acc {history['train_acc'][-1]:.4f}  |  test loss {test_loss:.4f}  acc {test_acc:.4f}  "
                           f"|  {1e3 * seconds:.1f} ms")
            if args.monitor:
                progress.write(str(monitor))
    progress.close()
    per_epoch = float(np.mean(history["seconds"]))
    final = history["test_acc"][-1]
    if parallel.rank != 0:
        return {"history": history, "test_accuracy": final, "seconds_per_epoch": per_epoch,
                "weights": None, "plot": None, "model": model}

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / "digits_mlp.npz"
    eg.save(model.state_dict(), weights)
    figure = plot(history, args.out / "digits_curves.png")
    say(f"test accuracy: {final:.4f} ({round(final * len(y_test))}/{len(y_test)})")
    say(f"time per epoch: {1e3 * per_epoch:.1f} ms (training only, {int(np.ceil(len(y_train) / args.batch_size))} "
        f"steps{f' on each of {parallel.size} processes' if parallel.size > 1 else ''}), "
        f"{sum(history['seconds']):.2f} s in all")
    say(f"weights saved to {weights}" + (f", curves plotted in {figure}" if figure else ""))
    return {"history": history, "test_accuracy": final, "seconds_per_epoch": per_epoch,
            "weights": weights, "plot": figure, "model": model}


if __name__ == "__main__":
    main()

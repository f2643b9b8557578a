"""Fit a 2-D classifier and plot its decision boundary:
``python -m eigengrad.demo.boundary [--data moons|spirals]``.

Two moons train a one-logit network with ``binary_cross_entropy_with_logits``;
three spirals a three-logit network with ``cross_entropy``. Full-batch Adam. The
plot (``<data>_boundary.png`` under ``--out``) shades the predicted class over
the plane, with the training points on top.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

import numpy as np

import eigengrad as eg
from eigengrad.demo import _common as common


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eigengrad.demo.boundary", description="Fit a 2-D classifier and plot its decision boundary."
    )
    parser.add_argument("--data", choices=["moons", "spirals"], default="moons", help="(moons)")
    parser.add_argument("--epochs", type=common.positive_int, default=300, help="full-batch steps (300)")
    parser.add_argument("--hidden", type=common.positive_int, default=32, help="width of the two hidden layers (32)")
    parser.add_argument("--lr", type=common.positive_float, default=0.02, help="Adam learning rate (0.02)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the data and the initial weights (0)")
    parser.add_argument("--out", type=Path, default=Path("eigengrad-demo"), help="directory for the plot")
    return parser.parse_args(argv)


def predict(model: eg.nn.Module, X: np.ndarray, binary: bool) -> np.ndarray:
    """Predicted class per row, without recording a graph."""
    with eg.no_grad():
        out = np.asarray(model(X))
    return (out[:, 0] > 0).astype(np.int64) if binary else np.argmax(out, axis=1)


def plot(model: eg.nn.Module, X: np.ndarray, y: np.ndarray, binary: bool, title: str, path: Path) -> Optional[Path]:
    made = common.new_figure(5.5, 5)
    if made is None:
        return None
    fig, ax = made
    lo, hi = X.min(axis=0) - 0.3, X.max(axis=0) + 0.3
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    classes = predict(model, grid, binary).reshape(gx.shape)
    n_classes = int(y.max()) + 1
    ax.contourf(gx, gy, classes, levels=np.arange(n_classes + 1) - 0.5, cmap="coolwarm", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=12, edgecolors="k", linewidths=0.3)
    ax.set(title=title, xlabel="$x_1$", ylabel="$x_2$")
    return common.save_figure(fig, path)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Runs the demo; returns the final loss and accuracy and the plot's path."""
    args = parse_args(argv)
    binary = args.data == "moons"
    X, y = eg.datasets.make_moons(400, noise=0.15, seed=args.seed) if binary else \
        eg.datasets.make_spirals(200, classes=3, seed=args.seed)
    outputs = 1 if binary else 3
    model = eg.nn.MLP([2, args.hidden, args.hidden, outputs], activation="tanh", generator=args.seed)
    optimizer = eg.optim.Adam(model.parameters(), lr=args.lr)
    target = y[:, None].astype(np.float64)

    print(f"{args.data}: {len(y)} points, {outputs if not binary else 2} classes; model {model.sizes}, "
          f"{args.epochs} full-batch Adam steps")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        out = model(X)
        loss = eg.nn.binary_cross_entropy_with_logits(out, target) if binary else eg.nn.cross_entropy(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if epoch == 1 or epoch % max(1, args.epochs // 10) == 0 or epoch == args.epochs:
            print(f"step {epoch:4d}  loss {loss.item():.4f}  accuracy {np.mean(predict(model, X, binary) == y):.3f}")
    seconds = time.perf_counter() - start
    accuracy = float(np.mean(predict(model, X, binary) == y))
    print(f"final accuracy {accuracy:.3f}, {1e3 * seconds / args.epochs:.2f} ms per step")
    args.out.mkdir(parents=True, exist_ok=True)
    figure = plot(model, X, y, binary, f"eigengrad: {args.data}, accuracy {accuracy:.3f}",
                  args.out / f"{args.data}_boundary.png")
    if figure:
        print(f"decision boundary plotted in {figure}")
    return {"loss": loss.item(), "accuracy": accuracy, "plot": figure}


if __name__ == "__main__":
    main()

"""What the demos share: mini-batches, accuracy, progress output and plots.

tqdm and matplotlib are optional: without tqdm the progress is plain lines, and
without matplotlib the plots are skipped with a message.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Tuple

import numpy as np

import eigengrad as eg

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - exercised by a test that hides tqdm
    tqdm = None


def batches(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled row indices of one epoch, ``batch_size`` at a time."""
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def accuracy(logits: Any, labels: np.ndarray) -> float:
    """The fraction of rows whose largest logit is at the label."""
    return float(np.mean(np.argmax(np.asarray(logits), axis=-1) == labels))


def make_optimizer(name: str, params: Iterable[eg.nn.Parameter], lr: float) -> eg.optim.Optimizer:
    """``adam``, ``adamw`` or ``sgd`` (with Nesterov momentum 0.9)."""
    if name == "adam":
        return eg.optim.Adam(params, lr=lr)
    if name == "adamw":
        return eg.optim.AdamW(params, lr=lr)
    return eg.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


class Progress:
    """A progress bar over epochs (tqdm) or nothing; ``write`` prints a line either way."""

    def __init__(self, total: int, desc: str, enabled: bool = True) -> None:
        self._bar = tqdm(total=total, desc=desc, unit="epoch", leave=False) if tqdm and enabled else None

    def update(self, **postfix: Any) -> None:
        if self._bar is not None:
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(1)

    def write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def new_figure(width: float, height: float, ncols: int = 1) -> Optional[Tuple[Any, Any]]:
    """A matplotlib Figure and its axes, or None (with a message) without matplotlib.
    The Figure is made without pyplot, so no GUI backend is touched."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
        return None
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols)


def save_figure(fig: Any, path: Path) -> Path:
    fig.savefig(path, dpi=110)
    return path

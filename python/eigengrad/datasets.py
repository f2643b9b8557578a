"""Small data sets for the demos and tests, with NumPy only.

- :func:`load_digits`: the 8x8 handwritten digits (1,797 images, bundled in
  ``eigengrad/data``; see its README for provenance and licence);
- :func:`make_moons` and :func:`make_spirals`: seeded 2-D classification problems;
- :func:`train_test_split`: a seeded, stratified split.
"""

from __future__ import annotations

import gzip
from importlib import resources
from typing import Optional, Tuple

import numpy as np


def load_digits() -> Tuple[np.ndarray, np.ndarray]:
    """The digits: images ``(1797, 64)`` as float64 pixel counts in ``[0, 16]``
    (row-major 8x8) and integer labels ``(1797,)`` in ``0..9``."""
    with resources.files("eigengrad").joinpath("data/digits.csv.gz").open("rb") as raw:
        with gzip.open(raw, "rt") as text:
            table = np.loadtxt(text, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def make_moons(n: int = 400, noise: float = 0.1, seed: Optional[int] = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: points ``(n, 2)`` and labels ``(n,)`` in {0, 1},
    with Gaussian noise of standard deviation ``noise``."""
    rng = np.random.default_rng(seed)
    n_top = n // 2
    t_top = np.linspace(0, np.pi, n_top)
    t_bottom = np.linspace(0, np.pi, n - n_top)
    top = np.stack([np.cos(t_top), np.sin(t_top)], axis=1)
    bottom = np.stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)], axis=1)
    X = np.concatenate([top, bottom]) + rng.normal(0.0, noise, (n, 2))
    y = np.concatenate([np.zeros(n_top, np.int64), np.ones(n - n_top, np.int64)])
    return X, y


def make_spirals(
    n_per_class: int = 200, classes: int = 3, noise: float = 0.15, seed: Optional[int] = 0
) -> Tuple[np.ndarray, np.ndarray]:
    """``classes`` interleaved spirals: points ``(n_per_class * classes, 2)`` and labels."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label in range(classes):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = label * 2 * np.pi / classes + 4.0 * r + rng.normal(0, noise, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, label, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def train_test_split(
    X: np.ndarray, y: np.ndarray, test_fraction: float = 0.2, seed: Optional[int] = 0
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seeded split stratified by label: ``X_train, X_test, y_train, y_test``.
    Each class gives ``round(test_fraction * count)`` rows to the test set."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"train_test_split: test_fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        test.append(rows[: int(round(test_fraction * len(rows)))])
    test_rows = np.sort(np.concatenate(test))
    train_rows = np.setdiff1d(np.arange(len(y)), test_rows)
    train_rows = rng.permutation(train_rows)
    return X[train_rows], X[test_rows], y[train_rows], y[test_rows]

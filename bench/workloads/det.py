"""Determinant by expansion by minors and its gradient: eigengrad beside PyTorch
(GradBench "det", from cmpad's det_by_minor).

det(A) for A (l, l) by Laplace expansion along the first row, recursively:

    det(A[rows r.., cols S]) = sum_t (-1)^t A[r, S_t] det(A[rows r+1.., cols S \\ S_t])

GradBench's reference recurses, so the minor on a set of columns is computed again
for every path that reaches it (l! products). A tape-based Python library cannot
record l! = 40 million products at l = 11, so both libraries here compute every
distinct minor once, level by level: for k = 1..l, the determinants of the bottom
k rows on every k-subset S of the columns (C(l, k) of them) come from those of
level k - 1 in one gather, one product and one sum over the k expansion terms
(index tables built once per l, outside the timing). The same sums as the
recursion, in a different order; about 5 ops a level, 2^l minors in all. The
result is (det A, d det / dA).

Left out: an LU determinant (eigengrad has no linalg yet).

Run:
    python3 bench/workloads/det.py [--quick] [--check-only]
"""

import itertools
import sys

import numpy as np

import common
from common import eg

NAME = "det"
SIZES = [dict(l=5), dict(l=8), dict(l=11), dict(l=16)]
QUICK = [dict(l=4), dict(l=6)]


def label(size):
    return f"l={size['l']}"


def minor_tables(n):
    """Per level k = 1..n: (cols, child), both (C(n, k), k) int arrays: the columns of
    each k-subset (lexicographic) and, for each, the index in level k - 1 of the
    subset without that column."""
    tables, previous = [], {(): 0}
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        cols = np.array(subsets, dtype=np.int64)
        child = np.array([[previous[s[:t] + s[t + 1:]] for t in range(k)] for s in subsets], dtype=np.int64)
        tables.append((cols, child))
        previous = {s: i for i, s in enumerate(subsets)}
    return tables


def inputs(size):
    n = size["l"]
    return {"A": np.random.default_rng(0).random((n, n)), "tables": minor_tables(n)}


def eigengrad(data):
    n = data["A"].shape[0]
    levels = [(n - k, cols, child, (-1.0) ** np.arange(k)) for k, (cols, child) in enumerate(data["tables"], 1)]

    def det(A):
        minors = eg.ones(1)
        for row, cols, child, sign in levels:
            minors = eg.sum(eg.take(A[row], cols) * eg.take(minors, child) * sign, axis=1)
        return minors[0]

    value_and_grad = eg.value_and_grad(det)
    A = eg.Variable(data["A"])
    return {"eg.value_and_grad": lambda: value_and_grad(A)}


def torch(data):
    t = common.torch
    n = data["A"].shape[0]
    levels = [(n - k, t.from_numpy(cols), t.from_numpy(child), t.from_numpy((-1.0) ** np.arange(k)))
              for k, (cols, child) in enumerate(data["tables"], 1)]
    one = t.ones(1, dtype=t.float64)

    def det(A):
        minors = one
        for row, cols, child, sign in levels:
            minors = (A[row][cols] * minors[child] * sign).sum(dim=1)
        return minors[0]

    A = t.from_numpy(data["A"])
    grad_and_value = t.func.grad_and_value(det)

    def func():
        grad, value = grad_and_value(A)
        return value, grad

    def autograd():
        leaf = A.detach().requires_grad_()
        value = det(leaf)
        return value.detach(), t.autograd.grad(value, leaf)[0]

    return {"torch.autograd.grad": autograd, "torch.func.grad_and_value": func}


if __name__ == "__main__":
    common.main(sys.modules[__name__])

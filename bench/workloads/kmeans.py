"""A k-means Newton step (gradient and Hessian diagonal): eigengrad beside PyTorch
(GradBench "kmeans").

For points P (n, d) and centroids C (k, d), the cost

    f(C) = sum_i min_j |C_j - P_i|^2

with the squared distances expanded as |P_i|^2 - 2 P_i . C_j + |C_j|^2 (one matrix
product, no (n, k, d) tensor). Its Hessian is diagonal (2 x the number of points
nearest each centroid, in every coordinate), so H 1 is that diagonal: one
forward-over-reverse pass, jvp(grad(f), C, ones), gives the gradient J and the
diagonal together (or reverse over reverse, H 1 as the gradient of <J, 1>: both
libraries' double backward). The result is GradBench's "dir", J / diag(H) (k, d), and J.
As in GradBench the last k points are the centroids, so no cluster is empty.

Run:
    python3 bench/workloads/kmeans.py [--quick] [--check-only]
"""

import sys

import numpy as np

import common
from common import eg

NAME = "kmeans"
SIZES = [dict(k=10, n=1000, d=8), dict(k=100, n=10000, d=16), dict(k=100, n=100000, d=16),
         dict(k=1000, n=10000, d=8)]
QUICK = [dict(k=5, n=100, d=4), dict(k=10, n=1000, d=8)]


def label(size):
    return f"k={size['k']} n={size['n']} d={size['d']}"


def inputs(size):
    points = np.random.default_rng(0).random((size["n"], size["d"]))
    return {"points": points, "centroids": points[-size["k"]:].copy()}


def eigengrad(data):
    P = eg.Variable(data["points"])
    P2 = eg.sum(P * P, axis=1, keepdims=True)

    def cost(C):
        dist = P2 - 2 * (P @ C.T) + eg.sum(C * C, axis=1)
        return eg.sum(eg.min(dist, axis=1))

    grad = eg.grad(cost)
    C = eg.Variable(data["centroids"])
    ones = eg.ones(C.shape)

    def run():
        J, H = eg.jvp(grad, (C,), (ones,))
        return J / H, J

    def double_backward():
        leaf = eg.Variable(data["centroids"], requires_grad=True)
        J = eg.autograd.grad(cost(leaf), [leaf], create_graph=True)[0]
        H = eg.autograd.grad(J, [leaf], grad_outputs=ones)[0]
        return J.detach() / H, J.detach()

    return {"eg.jvp(eg.grad)": run, "eg double backward": double_backward}


def torch(data):
    t = common.torch
    P = t.from_numpy(data["points"])
    P2 = (P * P).sum(dim=1, keepdim=True)

    def cost(C, reduce):
        dist = P2 - 2 * (P @ C.T) + (C * C).sum(dim=1)
        return reduce(dist).sum()

    amin = lambda dist: dist.amin(dim=1)  # noqa: E731  (ties share the gradient, as eg.min)
    min_values = lambda dist: dist.min(dim=1).values  # noqa: E731
    C = t.from_numpy(data["centroids"])
    ones = t.ones_like(C)

    def forward_over_reverse(reduce):
        grad = t.func.grad(lambda C: cost(C, reduce))

        def run():
            J, H = t.func.jvp(grad, (C,), (ones,))
            return J / H, J
        return run

    def double_backward():
        leaf = C.detach().requires_grad_()
        J = t.autograd.grad(cost(leaf, min_values), leaf, create_graph=True)[0]
        H = t.autograd.grad(J, leaf, grad_outputs=ones)[0]
        return J.detach() / H, J.detach()

    return {"torch.func.jvp(grad), amin": forward_over_reverse(amin),
            "torch.func.jvp(grad), min": forward_over_reverse(min_values),
            "autograd double backward, min": double_backward}


if __name__ == "__main__":
    common.main(sys.modules[__name__])

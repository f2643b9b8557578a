"""GMM objective gradient: eigengrad beside PyTorch (GradBench/ADBench "gmm").

The log-likelihood of N points x (N, d) under a mixture of K
Gaussians, plus a Wishart prior on the precisions, as ADBench defines it. The
parameters are alphas (K,), means (K, d) and icf (K, d(d+1)/2): per component the
log of the diagonal of the Cholesky factor L of the precision (first d entries),
then its strictly lower part column by column. With Q = L:

    f = -N d/2 log(2 pi) + sum_n logsumexp_k(alpha_k + sum(log diag L_k)
                                             - 1/2 |L_k (x_n - mu_k)|^2)
        - N logsumexp(alpha)
        + sum_k (gamma^2/2 (|diag L_k|^2 + |offdiag L_k|^2) - m sum(log diag L_k))
        - K C(gamma, m, d)          (a constant)

with gamma = 1, m = 0 (ADBench's choice). The result is (f, df/dalpha, df/dmeans,
df/dicf). Both libraries build L from icf with a gather (no scatter needed), form
the centred points per component (K, N, d) and multiply by L^T in one batched
matmul.

Run:
    python3 bench/workloads/gmm.py [--quick] [--check-only]
"""

import math
import sys

import numpy as np

import common
from common import eg

NAME = "gmm"
SIZES = [dict(d=2, K=5, N=1000), dict(d=2, K=5, N=100000), dict(d=10, K=25, N=10000),
         dict(d=64, K=200, N=1000)]
QUICK = [dict(d=2, K=5, N=1000), dict(d=10, K=25, N=1000)]
GAMMA, M = 1.0, 0


def label(size):
    return f"d={size['d']} K={size['K']} N={size['N']}"


def inputs(size):
    d, K, N = size["d"], size["K"], size["N"]
    rng = np.random.default_rng(0)
    return {"alphas": rng.standard_normal(K), "means": rng.random((K, d)),
            "icf": rng.standard_normal((K, d * (d + 1) // 2)) * 0.5, "x": rng.random((N, d))}


def tril_gather(d):
    """(d, d) indices into [0, icf[d:]...] (a zero, then the strictly lower part of L
    column by column): entry (i, j), i > j, of L is at its place, every other at 0."""
    idx = np.zeros((d, d), dtype=np.int64)
    pos = 1
    for j in range(d):
        for i in range(j + 1, d):
            idx[i, j] = pos
            pos += 1
    return idx


def constant(d, K, N):
    """-N d/2 log(2 pi) - K C: the terms without parameters."""
    n = d + M + 1
    lmgamma = 0.25 * d * (d - 1) * math.log(math.pi) + sum(math.lgamma(0.5 * n - 0.5 * j) for j in range(d))
    C = n * d * (math.log(GAMMA) - 0.5 * math.log(2)) - lmgamma
    return -N * d * 0.5 * math.log(2 * math.pi) - K * C


def eigengrad(data):
    x = eg.Variable(data["x"])
    K, d = data["means"].shape
    N = x.shape[0]
    idx, eye, const = tril_gather(d), np.eye(d), constant(d, K, N)

    def objective(alphas, means, icf):
        log_diag = icf[:, :d]
        diag = eg.exp(log_diag)
        off = icf[:, d:]
        padded = eg.concatenate([eg.zeros((K, 1)), off], axis=1)
        L = eg.take(padded, idx, axis=1) + diag[:, :, None] * eye        # (K, d, d)
        centred = x[None, :, :] - means[:, None, :]                        # (K, N, d)
        Lx = centred @ eg.transpose(L, (0, 2, 1))                          # (K, N, d)
        sum_log_diag = eg.sum(log_diag, axis=1)
        inner = (alphas + sum_log_diag)[:, None] - 0.5 * eg.sum(eg.square(Lx), axis=2)   # (K, N)
        prior = 0.5 * GAMMA**2 * (eg.sum(diag * diag) + eg.sum(off * off)) - M * eg.sum(sum_log_diag)
        return const + eg.sum(eg.logsumexp(inner, axis=0)) - N * eg.logsumexp(alphas) + prior

    value_and_grad = eg.value_and_grad(objective, argnums=(0, 1, 2))
    args = [eg.Variable(data[k]) for k in ("alphas", "means", "icf")]

    def run():
        value, grads = value_and_grad(*args)
        return (value,) + tuple(grads)

    return {"eg.value_and_grad": run}


def torch(data):
    x = common.torch.from_numpy(data["x"])
    K, d = data["means"].shape
    N = x.shape[0]
    t = common.torch
    idx, eye, const = t.from_numpy(tril_gather(d)), t.eye(d, dtype=t.float64), constant(d, K, N)
    zeros = t.zeros((K, 1), dtype=t.float64)

    def objective(alphas, means, icf):
        log_diag = icf[:, :d]
        diag = t.exp(log_diag)
        off = icf[:, d:]
        L = t.cat([zeros, off], dim=1)[:, idx] + diag[:, :, None] * eye
        centred = x[None, :, :] - means[:, None, :]
        Lx = centred @ L.transpose(1, 2)
        sum_log_diag = log_diag.sum(dim=1)
        inner = (alphas + sum_log_diag)[:, None] - 0.5 * t.square(Lx).sum(dim=2)
        prior = 0.5 * GAMMA**2 * ((diag * diag).sum() + (off * off).sum()) - M * sum_log_diag.sum()
        return const + t.logsumexp(inner, dim=0).sum() - N * t.logsumexp(alphas, dim=0) + prior

    grad_and_value = t.func.grad_and_value(objective, argnums=(0, 1, 2))
    args = [t.from_numpy(data[k]) for k in ("alphas", "means", "icf")]

    def func():
        grads, value = grad_and_value(*args)
        return (value,) + tuple(grads)

    def autograd():
        leaves = [a.detach().requires_grad_() for a in args]
        value = objective(*leaves)
        grads = t.autograd.grad(value, leaves)
        return (value.detach(),) + tuple(grads)

    return {"torch.func.grad_and_value": func, "torch.autograd.grad": autograd}


if __name__ == "__main__":
    common.main(sys.modules[__name__])

"""Train a small MLP with eigengrad's core ops and plain gradient descent.

A three-class spiral in 2-D, a 2-64-64-3 tanh network, softmax cross-entropy, full
batch gradient descent: backpropagation exactly as the source text describes it,
written out with Variables (without eg.nn; `python -m eigengrad.demo` uses eg.nn and
eg.optim). Prints the loss and accuracy as it goes.

    python examples/train_mlp.py [--epochs 300] [--lr 0.5] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import eigengrad as eg


def spirals(n_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Three interleaved spirals: points (n, 2) and integer labels (n,)."""
    xs, ys = [], []
    for label in range(3):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = label * 2 * np.pi / 3 + 4.0 * r + rng.normal(0, 0.15, n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, label))
    return np.concatenate(xs), np.concatenate(ys)


def init_layer(n_in: int, n_out: int, rng: np.random.Generator) -> tuple[eg.Variable, eg.Variable]:
    bound = 1.0 / np.sqrt(n_in)
    W = eg.Variable(rng.uniform(-bound, bound, (n_out, n_in)), requires_grad=True)
    b = eg.Variable(rng.uniform(-bound, bound, n_out), requires_grad=True)
    return W, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    X, labels = spirals(200, rng)
    onehot = np.eye(3)[labels]
    params = [*init_layer(2, 64, rng), *init_layer(64, 64, rng), *init_layer(64, 3, rng)]
    W1, b1, W2, b2, W3, b3 = params

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        # y = W x + b per layer, written for a batch of rows: X @ W^T + b
        h1 = eg.tanh(X @ W1.T + b1)
        h2 = eg.tanh(h1 @ W2.T + b2)
        logits = h2 @ W3.T + b3
        loss = -(eg.log_softmax(logits, axis=1) * onehot).sum(axis=1).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with eg.no_grad():
            for p in params:
                if p.grad is not None:  # None for a parameter the loss did not reach
                    p.numpy()[...] -= args.lr * p.grad.numpy()  # in place, on the shared buffer
        if epoch % 50 == 0 or epoch == 1:
            accuracy = (np.argmax(logits.numpy(), axis=1) == labels).mean()
            print(f"epoch {epoch:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    elapsed = time.perf_counter() - start
    print(f"{args.epochs} epochs in {elapsed:.2f} s ({1e3 * elapsed / args.epochs:.2f} ms per epoch)")


if __name__ == "__main__":
    main()

"""The long-chain workload in each library: y = y * 1.0 `length` times from a
1-element float32 leaf, then the gradient (graph recording and backward traversal).
Each returns the leaf's gradient, which is 1.0."""


def chain_eigengrad(eg, np, length):
    x = eg.Variable(np.ones(1, np.float32), requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    y.backward()
    return x.grad


def chain_torch(torch, length):
    x = torch.ones(1, dtype=torch.float32, requires_grad=True)
    y = x
    for _ in range(length):
        y = y * 1.0
    y.backward()
    return x.grad


def chain_numpy(np, length):
    """The same chain written out: a tape of the factors, then the gradient by hand."""
    y = np.ones(1, np.float32)
    tape = []
    for _ in range(length):
        tape.append(1.0)
        y = y * 1.0
    g = np.ones_like(y)
    for factor in reversed(tape):
        g = g * factor
    return g

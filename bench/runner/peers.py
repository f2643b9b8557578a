"""The JAX contenders (the bench/python programs have none): the MLP train step, the
Jacobian and the HVP, each jitted. They take the modules as arguments, because a pass
imports jax only after its thread settings are made (and not at all when it is missing)."""


def jax_mlp_step(jax, jnp, np, lr, momentum):
    """A factory like mlp.py's: (sizes, layers, X, y) -> (step, first-layer weight).
    One jitted function computes the loss and its gradients (value_and_grad) and
    applies SGD with momentum as torch.optim.SGD does (buffer = momentum * buffer + g,
    the first step's buffer = g); parameters and buffers are donated, the step blocks
    until its results are ready."""
    def make(sizes, layers, X, y):
        params = [(jnp.asarray(W), jnp.asarray(b)) for W, b in layers]
        buffers = jax.tree.map(jnp.zeros_like, params)
        Xj, yj = jnp.asarray(X), jnp.asarray(y)

        def loss_fn(params, X, y):
            h = X
            for i, (W, b) in enumerate(params):
                h = h @ W.T + b
                if i < len(params) - 1:
                    h = jax.nn.relu(h)
            logp = jax.nn.log_softmax(h, axis=1)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def update(params, buffers, X, y):
            loss, grads = jax.value_and_grad(loss_fn)(params, X, y)
            buffers = jax.tree.map(lambda buf, g: momentum * buf + g, buffers, grads)
            params = jax.tree.map(lambda p, buf: p - lr * buf, params, buffers)
            return params, buffers, loss

        update = jax.jit(update, donate_argnums=(0, 1))
        state = [params, buffers]

        def step():
            state[0], state[1], loss = update(state[0], state[1], Xj, yj)
            jax.block_until_ready((state[0], state[1], loss))
        return step, lambda: np.array(state[0][0][0])
    return make


def jax_jacobian(jax, jnp, W1, W2, x):
    """A call computing jax.jit(jax.jacrev(f)) of f(x) = tanh(W2 tanh(W1 x)), blocking."""
    def f(x, W1, W2):
        return jnp.tanh(W2 @ jnp.tanh(W1 @ x))
    jac = jax.jit(jax.jacrev(f))
    args = tuple(jnp.asarray(a) for a in (x, W1, W2))
    return lambda: jac(*args).block_until_ready()


def jax_hvp(jax, jnp, W, x, v):
    """A call computing H v of g(x) = sum(tanh(W x)^2) + 0.5 |x|^2 (jit of jvp of grad), blocking."""
    def g(x, W):
        return jnp.sum(jnp.tanh(W @ x) ** 2) + 0.5 * jnp.sum(x**2)

    @jax.jit
    def hvp(x, v, W):
        return jax.jvp(lambda x: jax.grad(g)(x, W), (x,), (v,))[1]
    args = tuple(jnp.asarray(a) for a in (x, v, W))
    return lambda: hvp(*args).block_until_ready()

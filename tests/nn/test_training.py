"""Short seeded training runs reach a stated accuracy."""

import numpy as np

import eigengrad as eg


def test_digits_mlp_reaches_95_percent_in_ten_epochs():
    X, y = eg.datasets.load_digits()
    X_train, X_test, y_train, y_test = eg.datasets.train_test_split(X, y, 0.2, seed=1)
    X_train, X_test = (X_train / 16).astype(np.float32), (X_test / 16).astype(np.float32)
    model = eg.nn.MLP([64, 64, 10], generator=1, dtype="float32")
    optimizer = eg.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(1)
    for _ in range(10):
        order = rng.permutation(len(y_train))
        for start in range(0, len(order), 32):
            rows = order[start : start + 32]
            loss = eg.nn.cross_entropy(model(X_train[rows]), y_train[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with eg.no_grad():
        accuracy = np.mean(np.argmax(np.asarray(model(X_test)), axis=1) == y_test)
    assert accuracy >= 0.95, accuracy


def test_moons_with_bce_and_sgd():
    X, y = eg.datasets.make_moons(200, noise=0.1, seed=0)
    model = eg.nn.MLP([2, 16, 16, 1], activation="tanh", generator=0)
    optimizer = eg.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    for _ in range(200):
        loss = eg.nn.binary_cross_entropy_with_logits(model(X), y[:, None].astype(float))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with eg.no_grad():
        accuracy = np.mean((np.asarray(model(X))[:, 0] > 0) == y)
    assert loss.item() < 0.1 and accuracy >= 0.97, (loss.item(), accuracy)


def test_regression_with_mse_and_adamw():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (128, 1))
    y = np.sin(2 * X)
    model = eg.nn.MLP([1, 32, 32, 1], activation="tanh", generator=0)
    optimizer = eg.optim.AdamW(model.parameters(), lr=0.02, weight_decay=1e-4)
    for _ in range(300):
        loss = eg.nn.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 5e-3, loss.item()

"""Time per MLP training step: eigengrad beside PyTorch eager and hand-written NumPy.

One step = forward, softmax cross-entropy, backward, and an SGD update with
momentum 0.9 (lr 0.01), gradients cleared first. The same ReLU MLP, batch and
initial weights for all three:

- eigengrad: eg.nn.MLP, eg.nn.cross_entropy, loss.backward(), eg.optim.SGD;
- torch: torch.nn.Sequential of Linear/ReLU, F.cross_entropy, torch.optim.SGD
  (eager mode, set_to_none gradients);
- numpy: the forward and backward written out by hand (matrix products and
  masks) with an in-place momentum update: a floor with no autodiff at all.

Every library runs on the same number of threads, --threads (default 1):
eg.set_num_threads, torch.set_num_threads, and the BLAS thread variables set before
NumPy loads.
Each cell is the median over --repeats runs of N steps after a warm-up, N chosen
so that one run takes about --target seconds. Ratios above 1 mean eigengrad is
slower.

Run:
    python3 bench/python/mlp.py                  # float32, about a minute
    python3 bench/python/mlp.py --dtype float64
    python3 bench/python/mlp.py --quick          # smoke run, a few seconds
    python3 bench/python/mlp.py --strong-zero    # eigengrad alone, strong zero on vs off
    python3 bench/python/mlp.py --monitor        # eigengrad alone, eg.grad_monitor off vs on
"""

import os
import sys


def _threads_from_argv() -> int:
    """--threads, read before NumPy is imported (its BLAS reads the environment once)."""
    for i, arg in enumerate(sys.argv):
        if arg == "--threads" and i + 1 < len(sys.argv):
            return int(sys.argv[i + 1])
        if arg.startswith("--threads="):
            return int(arg.split("=", 1)[1])
    return 1


if __name__ == "__main__":  # bench/runner/one_pass.py imports the step factories and sets threads itself
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_var] = str(_threads_from_argv())

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from benchutil import cpu_model, run  # noqa: E402

import eigengrad as eg  # noqa: E402

try:
    import torch  # noqa: E402
except ImportError:
    torch = None

CONFIGS = [([64, 32, 10], 32), ([784, 256, 256, 10], 128), ([784, 1024, 1024, 10], 256)]
LR, MOMENTUM = 0.01, 0.9


def initial_weights(sizes, dtype, seed=0):
    """[(W (out, in), b (out,)), ...] drawn as PyTorch's Linear does."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        layers.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(dtype),
                       rng.uniform(-bound, bound, n_out).astype(dtype)))
    return layers


def eigengrad_step(sizes, layers, X, y):
    model = eg.nn.MLP(sizes, dtype=X.dtype)
    model.load_state_dict({f"{2 * i}.{name}": value for i, (W, b) in enumerate(layers)
                           for name, value in (("weight", W), ("bias", b))})
    optimizer = eg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def step():
        optimizer.zero_grad()
        loss = eg.nn.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return step, lambda: np.array(model[0].weight)


def torch_step(sizes, layers, X, y):
    modules = []
    for i, (W, b) in enumerate(layers):
        linear = torch.nn.Linear(W.shape[1], W.shape[0], dtype=torch.from_numpy(W).dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(W))
            linear.bias.copy_(torch.from_numpy(b))
        modules.append(linear)
        if i < len(layers) - 1:
            modules.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(Xt), yt)
        loss.backward()
        optimizer.step()
    return step, lambda: model[0].weight.detach().numpy().copy()


def numpy_step(sizes, layers, X, y):
    params = [p.copy() for layer in layers for p in layer]
    buffers = [None] * len(params)
    onehot = np.eye(sizes[-1], dtype=X.dtype)[y]

    def step():
        # forward: h_{k+1} = relu(h_k W_k^T + b_k), logits without relu
        hs = [X]
        for k in range(0, len(params), 2):
            z = hs[-1] @ params[k].T + params[k + 1]
            hs.append(np.maximum(z, 0) if k + 2 < len(params) else z)
        logits = hs[-1]
        shifted = logits - logits.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        # backward: d logits = (softmax - onehot) / N, then each layer in reverse
        g = (probs - onehot) / len(y)
        grads = [None] * len(params)
        for k in range(len(params) - 2, -1, -2):
            h = hs[k // 2]
            grads[k], grads[k + 1] = g.T @ h, g.sum(axis=0)
            if k > 0:
                g = (g @ params[k]) * (h > 0)
        # SGD with momentum, in place
        for i, (p, gp) in enumerate(zip(params, grads)):
            if buffers[i] is None:
                buffers[i] = gp.copy()
            else:
                buffers[i] *= MOMENTUM
                buffers[i] += gp
            p -= LR * buffers[i]
    return step, lambda: params[0].copy()


def agreement(factories, sizes, layers, X, y):
    """The largest difference between the libraries' first-layer weights after 3 steps
    from the same start (relative to the weights' scale): a check that all three
    compute the same training step."""
    weights = []
    for make in factories:
        step, weight = make(sizes, layers, X, y)
        for _ in range(3):
            step()
        weights.append(weight())
    scale = np.abs(weights[0]).max()
    return max(np.abs(w - weights[0]).max() for w in weights[1:]) / scale


def per_step_us(fn, target_s, repeats):
    """Median microseconds per step; calibration doubles as warm-up."""
    for _ in range(3):
        fn()
    n = 1
    while (dt := run(fn, n)) < target_s / 10:
        n *= 4
    n = max(1, round(n * target_s / dt))
    return statistics.median(run(fn, n) / n for _ in range(repeats)) * 1e6


def per_step_us_interleaved(steps, target_s, repeats, usage=None):
    """Median microseconds per step of each function in `steps` (name -> step),
    timed in rounds: every round runs each step N times in turn (N calibrated per
    step to about target_s), so a slow spell of a shared machine slows every
    library alike instead of the one timed then. Calibration doubles as warm-up.
    `usage`, when given, receives each name's process CPU time / wall time."""
    counts = {}
    for name, fn in steps.items():
        for _ in range(3):
            fn()
        n = 1
        while (dt := run(fn, n)) < target_s / 10:
            n *= 4
        counts[name] = max(1, round(n * target_s / dt))
    samples = {name: [] for name in steps}
    cpu, wall = dict.fromkeys(steps, 0.0), dict.fromkeys(steps, 0.0)
    for _ in range(repeats):
        for name, fn in steps.items():
            c0, w0 = time.process_time(), time.perf_counter()
            samples[name].append(run(fn, counts[name]) / counts[name])
            cpu[name] += time.process_time() - c0
            wall[name] += time.perf_counter() - w0
    if usage is not None:
        usage.update({name: cpu[name] / wall[name] for name in steps})
    return {name: statistics.median(s) * 1e6 for name, s in samples.items()}


def strong_zero_cost(args, dtype):
    """eigengrad's step with strong zero on and off (eg.set_strong_zero), timed in
    alternation (on, off, on, off, ...) so that a noisy machine slows both alike."""
    print("| network | batch | strong zero on (us) | off (us) | on / off |")
    print("|---|---|---|---|---|")
    for sizes, batch in CONFIGS:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((batch, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], batch)
        step = eigengrad_step(sizes, initial_weights(sizes, dtype), X, y)[0]
        times = {True: [], False: []}
        for _ in range(args.repeats):
            for on in (True, False):
                with eg.strong_zero(on):
                    times[on].append(per_step_us(step, args.target, 1))
        on, off = statistics.median(times[True]), statistics.median(times[False])
        name = "-".join(map(str, sizes))
        print(f"| {name} | {batch} | {on:.1f} | {off:.1f} | {on / off:.3f} |", flush=True)


def monitor_cost(args, dtype):
    """eigengrad's step without and with eg.grad_monitor around the forward and
    backward (a new monitor per step, as a user would write it), timed in
    alternation. With a build that has no grad_monitor, the 'on' column is empty
    (to compare 'off' with an older build run by the same script)."""
    have = hasattr(eg, "grad_monitor")
    print("| network | batch | monitor off (us) | on (us) | on / off |")
    print("|---|---|---|---|---|")
    # The three benchmark networks (relu), then the demo's (python -m eigengrad.demo).
    for sizes, batch, activation in [(s, b, "relu") for s, b in CONFIGS] + [([64, 256, 10], 32, "gelu")]:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((batch, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], batch)
        model = eg.nn.MLP(sizes, activation=activation, dtype=X.dtype)
        optimizer = eg.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

        def off():
            optimizer.zero_grad()
            eg.nn.cross_entropy(model(X), y).backward()
            optimizer.step()

        def on():
            optimizer.zero_grad()
            with eg.grad_monitor(model):
                eg.nn.cross_entropy(model(X), y).backward()
            optimizer.step()

        times = {off: [], on: []}
        for _ in range(args.repeats):
            for fn in (off, on) if have else (off,):
                times[fn].append(per_step_us(fn, args.target, 1))
        t_off = statistics.median(times[off])
        t_on = statistics.median(times[on]) if have else float("nan")
        name = "-".join(map(str, sizes)) + ("" if activation == "relu" else f" {activation} (the demo)")
        print(f"| {name} | {batch} | {t_off:.1f} | {t_on:.1f} | {t_on / t_off:.3f} |", flush=True)


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    infos = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, {i.get('num_threads')} thread)"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(infos) or "none found"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.3, help="seconds per timed run")
    parser.add_argument("--quick", action="store_true", help="3 short repeats")
    parser.add_argument("--threads", type=int, default=1, help="threads for every library")
    parser.add_argument("--strong-zero", action="store_true",
                        help="time eigengrad alone with strong zero on and off, interleaved")
    parser.add_argument("--monitor", action="store_true",
                        help="time eigengrad alone without and with eg.grad_monitor, interleaved")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.target = 3, 0.02
    dtype = np.dtype(args.dtype)
    eg.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)

    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {platform.system()} {platform.release()}")
    print(f"python {platform.python_version()}, eigengrad {eg.__version__}, numpy {np.__version__} "
          f"(BLAS: {blas_info()}), torch {torch.__version__ if torch else 'not installed'}")
    print(f"threads: {args.threads} for every library (eg {eg.get_num_threads()}, "
          f"torch {torch.get_num_threads() if torch else '-'}); "
          f"dtype {dtype}; step = zero_grad + forward + cross-entropy + backward + SGD(momentum {MOMENTUM})")
    print(f"median of {args.repeats} runs of about {args.target} s each, after a warm-up\n")
    if args.strong_zero:
        return strong_zero_cost(args, dtype)
    if args.monitor:
        return monitor_cost(args, dtype)
    print("| network | batch | eigengrad (us) | torch (us) | numpy (us) | eigengrad / torch | eigengrad / numpy |")
    print("|---|---|---|---|---|---|---|")
    differences = []
    for sizes, batch in CONFIGS:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((batch, sizes[0])).astype(dtype)
        y = rng.integers(0, sizes[-1], batch)
        layers = initial_weights(sizes, dtype)
        factories = [eigengrad_step, numpy_step] + ([torch_step] if torch else [])
        differences.append(agreement(factories, sizes, layers, X, y))
        ours = per_step_us(eigengrad_step(sizes, layers, X, y)[0], args.target, args.repeats)
        floor = per_step_us(numpy_step(sizes, layers, X, y)[0], args.target, args.repeats)
        theirs = per_step_us(torch_step(sizes, layers, X, y)[0], args.target, args.repeats) if torch else float("nan")
        name = "-".join(map(str, sizes))
        print(f"| {name} | {batch} | {ours:.1f} | {theirs:.1f} | {floor:.1f} | {ours / theirs:.2f} | "
              f"{ours / floor:.2f} |", flush=True)
    print(f"\nagreement after 3 steps: largest relative weight difference between the libraries "
          f"{max(differences):.1e}")


if __name__ == "__main__":
    main()

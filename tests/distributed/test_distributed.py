"""Data-parallel training on MPI: 2 ranks launched with mpiexec against 1 process.

The MPI tests need the extra (``pip install ".[mpi]"``: mpi4py and an MPI library);
without it they skip with that reason. The sampler tests need no MPI.
"""

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.distributed import DistributedSampler

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import worker  # noqa: E402  (the scenarios the ranks run)

MPI_MISSING = 'needs mpi4py and an MPI launcher: pip install ".[mpi]"'


def mpiexec():
    """The mpiexec beside this Python (a venv's, from the MPI wheel) or on PATH."""
    local = pathlib.Path(sys.executable).parent / "mpiexec"
    return str(local) if local.exists() else shutil.which("mpiexec")


needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or mpiexec() is None,
                               reason=MPI_MISSING)


def mpiexec_command(ranks):
    """mpiexec -n ranks, with what Open MPI needs as root (CI) and with more ranks than cores."""
    command = [mpiexec(), "-n", str(ranks)]
    version = subprocess.run([mpiexec(), "--version"], capture_output=True, text=True).stdout
    if "Open MPI" in version or "OpenRTE" in version:
        command += ["--oversubscribe"] + (["--allow-run-as-root"] if os.geteuid() == 0 else [])
    return command


def launch(*args, ranks=2, timeout=180):
    """Runs worker.py under mpiexec; returns (exit code, output, seconds)."""
    command = mpiexec_command(ranks) + [sys.executable, str(HERE / "worker.py"), *map(str, args)]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - start


def train_one_process(dtype, optimizer_name, steps, batch):
    """The reference: one process, no wrapper, global batches of `batch`."""
    X, y = worker.data(dtype=dtype)
    model = worker.make_model(dtype, seed=7)  # rank 0's initialisation
    optimizer = worker.make_optimizer(optimizer_name, model.parameters())
    sampler = DistributedSampler(len(y), num_replicas=1, rank=0, seed=3)
    for _, rows in zip(range(steps), sampler.batches(batch)):
        loss = eg.nn.cross_entropy(model(X[rows]), y[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return {name: np.asarray(p) for name, p in model.named_parameters()}


# ---- two ranks against one process ------------------------------------------------------

# 2 ranks x batch B against 1 process x batch 2B, 20 steps. The two differ only in
# the order of additions (each rank's mean over B, then the all-reduce, against one
# mean over 2B), so they agree to rounding, amplified a little by 20 steps.
@needs_mpi
@pytest.mark.parametrize("dtype, optimizer, bucket_mb, rtol, atol", [
    ("float64", "sgd", 0.004, 1e-11, 1e-13),     # several buckets
    ("float64", "adam", 25.0, 1e-10, 1e-12),     # one bucket
    ("float32", "sgd", 0.004, 2e-5, 1e-6),
])
def test_two_ranks_train_like_one_process_with_the_global_batch(tmp_path, dtype, optimizer, bucket_mb, rtol, atol):
    out = tmp_path / "params.npz"
    code, output, _ = launch("train", "--out", out, "--dtype", dtype, "--optimizer", optimizer,
                             "--steps", 20, "--batch", 16, "--bucket-mb", bucket_mb)
    assert code == 0, output
    saved = np.load(out)
    assert (saved["buckets"] > 1) == (bucket_mb < 1)
    expected = train_one_process(dtype, optimizer, steps=20, batch=32)
    for name, value in expected.items():
        np.testing.assert_allclose(saved[name], value, rtol=rtol, atol=atol, err_msg=name)
    # ... and training did move the parameters (the comparison is not of initial values).
    initial = {name: np.asarray(p) for name, p in worker.make_model(dtype, seed=7).named_parameters()}
    assert all(np.abs(saved[name] - initial[name]).max() > 1e-3 for name in initial)


@needs_mpi
def test_all_reduce_and_broadcast_on_variables_and_arrays():
    code, output, _ = launch("collectives")
    assert code == 0 and "collectives ok" in output, output


@needs_mpi
def test_no_sync_accumulates_locally_and_the_next_backward_reduces_the_sum():
    code, output, _ = launch("accumulate")
    assert code == 0 and "accumulate ok" in output, output


# ---- faults: every rank stops, with the error, in bounded time ---------------------------

@needs_mpi
def test_a_rank_that_raises_stops_every_rank_with_its_error():
    code, output, seconds = launch("raise", "--timeout", 60)
    assert code != 0
    assert "rank 1 fails on purpose at step 3" in output and "rank 1 of 2 failed; stopping every rank" in output
    assert seconds < 30, f"took {seconds:.1f} s"  # MPI_Abort, not the 60 s deadline


@needs_mpi
def test_a_rank_that_dies_stops_every_rank():
    code, output, seconds = launch("die", "--timeout", 60)
    assert code != 0, output
    assert seconds < 30, f"took {seconds:.1f} s"


@needs_mpi
def test_without_abort_the_waiting_rank_times_out_with_a_clear_error():
    code, output, seconds = launch("raise", "--no-abort", "--timeout", 3)
    assert code != 0
    assert "rank 0 of 2: DistributedDataParallel: all-reduce of" in output and "did not complete within 3 s" in output
    assert seconds < 60, f"took {seconds:.1f} s"


@needs_mpi
def test_different_models_on_the_ranks_are_named_at_wrap_time():
    code, output, _ = launch("mismatch")
    assert code != 0
    assert ("the model's parameters differ across ranks: parameter 0 is '0.weight: shape (32, 20) float64' on "
            "rank 0 but '0.weight: shape (33, 20) float64' on rank 1") in output


@needs_mpi
def test_a_parameter_without_gradient_is_named():
    code, output, _ = launch("unused")
    assert code != 0
    assert "the last backward gave no gradient to 'extra.bias', 'extra.weight'" in output


# ---- without the extra ---------------------------------------------------------------------

def test_init_without_mpi4py_names_the_extra_to_install():
    script = ("import sys; sys.modules['mpi4py'] = None\n"
              "import eigengrad.distributed as dist\n"
              "try:\n    dist.init()\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert 'pip install "eigengrad[mpi]"' in out.stdout and 'pip install ".[mpi]"' in out.stdout, out


def test_collectives_before_init_say_so():
    import eigengrad.distributed as dist
    if dist.is_initialized():
        pytest.skip("this process has initialised MPI")
    with pytest.raises(RuntimeError, match=r"call eigengrad.distributed.init\(\) first"):
        dist.all_reduce(np.ones(3))


# ---- the sampler ---------------------------------------------------------------------------

@pytest.mark.parametrize("n, world, local", [(256, 2, 16), (1437, 2, 16), (100, 3, 7), (5, 4, 1)])
def test_sampler_shares_make_the_one_process_batches(n, world, local):
    one = list(DistributedSampler(n, num_replicas=1, rank=0, seed=5).batches(local * world))
    shares = [list(DistributedSampler(n, num_replicas=world, rank=r, seed=5).batches(local)) for r in range(world)]
    assert all(len(s) == len(one) for s in shares)
    for k, whole in enumerate(one):
        parts = [s[k] for s in shares]
        assert len({len(p) for p in parts}) == 1  # equal shares (padded at the end)
        joined = np.concatenate(parts)
        assert set(joined) >= set(whole) and len(joined) - len(whole) == -len(whole) % world
        if len(whole) % world == 0:
            assert sorted(joined) == sorted(whole)  # disjoint, nothing repeated
    # One process: the permutations of np.random.default_rng(seed), as the demo draws them.
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(np.concatenate(one), rng.permutation(n))


def test_sampler_epochs_differ_and_drop_last():
    s = DistributedSampler(10, num_replicas=2, rank=1, seed=0)
    first, second = np.concatenate(list(s.batches(2))), np.concatenate(list(s.batches(2)))
    assert not np.array_equal(first, second)
    assert [len(b) for b in DistributedSampler(10, 2, 0, drop_last=True).batches(3)] == [3]
    assert [len(b) for b in DistributedSampler(10, 2, 0, shuffle=False).batches(3)] == [3, 2]
    assert DistributedSampler(10, 2, 0, shuffle=False).permutation().tolist() == list(range(10))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, num_replicas=1, rank=0), "positive number of samples"),
    (dict(n=4, num_replicas=2, rank=2), r"rank 2 is not in 0..2-1"),
    (dict(n=4, num_replicas=0, rank=0), r"rank 0 is not in 0..0-1"),
])
def test_sampler_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistributedSampler(**kwargs)
    with pytest.raises(ValueError, match="local_batch_size must be positive"):
        next(DistributedSampler(4, 1, 0).batches(0))


# ---- the demo ------------------------------------------------------------------------------

@needs_mpi
def test_the_demo_on_two_processes_reaches_the_one_process_accuracy(tmp_path):
    from eigengrad.demo import digits

    one = digits.main(["--epochs", "15", "--no-progress", "--out", str(tmp_path / "one")])
    command = mpiexec_command(2) + [sys.executable, "-m", "eigengrad.demo", "--distributed", "--epochs", "15",
                                    "--no-progress", "--out", str(tmp_path / "two")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "data parallel: 2 processes, 16 rows of each batch per process" in done.stdout
    two = float(done.stdout.split("test accuracy: ")[1].split()[0])
    # The same global batches but the padded last one (1437 = 44 x 32 + 29): 2 of 359
    # test images at most may differ.
    assert abs(two - one["test_accuracy"]) <= 2 / 359 + 1e-9, (two, one["test_accuracy"])
    assert two > 0.95
    assert (tmp_path / "two" / "digits_mlp.npz").exists()

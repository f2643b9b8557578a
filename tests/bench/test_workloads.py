"""Every workload of bench/workloads agrees with PyTorch at its smallest size.

Agreement only (float64, max relative difference <= common.TOL), never timing: the
timing is the programs' job (bench/workloads/run.py).
"""

import importlib
import pathlib
import sys

import pytest

pytest.importorskip("torch", reason="the workloads compare against PyTorch (pip install torch)")

WORKLOADS_DIR = pathlib.Path(__file__).resolve().parents[2] / "bench" / "workloads"
sys.path.insert(0, str(WORKLOADS_DIR))
common = importlib.import_module("common")
run = importlib.import_module("run")


# torch.func scripts a helper on first use, which warns in PyTorch 2.13.
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("name", run.WORKLOADS)
def test_agrees_with_torch(name):
    module = importlib.import_module(name)
    row = common.measure(module, 0, quick=True, check_only=True)
    assert row["agreement"] <= common.TOL


def test_disagreement_fails():
    """The check names the variant that disagrees (this ODE's gradient is not zero)."""
    module = importlib.import_module("ode")
    data = module.inputs(module.QUICK[0])
    fns = common.contenders(module, data)
    good = fns["torch"]["torch.autograd.grad"]
    fns["torch"]["torch.autograd.grad"] = lambda: tuple(r * (1 + 1e-6) for r in good())
    with pytest.raises(AssertionError, match="torch.autograd.grad"):
        common.check(module, data, fns)

"""Types and docstrings of the public API.

- ``mypy`` (strict, configured in pyproject.toml's ``[tool.mypy]``) passes on the
  package, with the stub of the native module, and on ``examples/``;
- ``eigengrad.__all__`` lists every public name of the package face: what type
  checkers treat as exported, so a name missing there is an error in user code
  checked with ``mypy --strict``;
- every public function, class, method and property has a docstring.
"""

import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys
import types

import pytest

import eigengrad as eg
import eigengrad.distributed as dist

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason='mypy not installed: pip install ".[typecheck]"')
def test_mypy_strict_passes():
    run = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


# User code as the README writes it; checked with mypy --strict against the installed
# package (py.typed and the stub), from a directory without this repository's config.
USER_CODE = """
import numpy as np
import eigengrad as eg


class Cube(eg.Function):
    @staticmethod
    def forward(ctx: eg.FunctionCtx, x: eg.Variable) -> eg.Variable:
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx: eg.FunctionCtx, gout: eg.Variable) -> eg.Variable:
        (x,) = ctx.saved_tensors
        return gout * 3 * x * x


def loss(w: eg.Variable) -> eg.Variable:
    cubed: eg.Variable = Cube.apply(w)  # apply returns a Variable or a tuple of them
    return (eg.tanh(w) ** 2).sum() + cubed.sum()


W = eg.Variable(np.random.randn(3, 4), requires_grad=True)
x = eg.Variable(np.random.randn(4))
L = eg.sigmoid(W @ x).sum()
L.backward()
grad: eg.Variable | None = W.grad
w = eg.Variable(np.ones(3), requires_grad=True)
H = eg.hessian(loss)(w)
model = eg.nn.MLP([3, 4, 2], generator=0)
optimizer = eg.optim.Adam(model.parameters(), lr=1e-2)
logits = model(np.zeros((5, 3)))
picked = w[0] + w[1:].sum()
positive = np.asarray(w > 0)
with eg.no_grad():
    w -= 0.1
"""


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason='mypy not installed: pip install ".[typecheck]"')
def test_user_code_type_checks_against_the_installed_package(tmp_path):
    (tmp_path / "user.py").write_text(USER_CODE)
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "user.py"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_all_lists_the_public_names():
    public = {name for name, value in vars(eg).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert not public - set(eg.__all__), (
        f"public in eigengrad but not in eigengrad.__all__ (python/eigengrad/__init__.py): {sorted(public - set(eg.__all__))}")
    missing = [name for name in eg.__all__ if not hasattr(eg, name)]
    assert not missing, f"in eigengrad.__all__ but not defined: {missing}"
    assert len(eg.__all__) == len(set(eg.__all__)), "eigengrad.__all__ lists a name twice"


# Modules whose public names are the API (their __all__, or every public name
# defined in the module itself).
MODULES = [eg, eg.nn, eg.nn.functional, eg.optim, eg.optim.lr_scheduler, eg.random, eg.autograd, eg.datasets, dist]


def _description(obj, name):
    """The docstring without the signature lines pybind11 puts first."""
    doc = inspect.getdoc(obj) or ""
    signature = re.compile(rf"^(\d+\. )?{re.escape(name)}\(.*\)( -> .*)?$")
    return "\n".join(line for line in doc.splitlines()
                     if line.strip() and not signature.match(line) and line != "Overloaded function.")


def _public(module):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_")
                 and getattr(v, "__module__", None) == module.__name__]
    for name in names:
        value = getattr(module, name)
        if not isinstance(value, (types.ModuleType, str)):
            yield f"{module.__name__}.{name}", name, value


def _documented_members(cls):
    for name, value in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property) or callable(value) or type(value).__name__ == "instancemethod":
            yield name, value


def _undocumented():
    missing = []
    for module in MODULES:
        for qualified, name, value in _public(module):
            if not _description(value, name):
                missing.append(qualified)
            if inspect.isclass(value):
                missing += [f"{qualified}.{m}" for m, member in _documented_members(value)
                            if not _description(member, m)]
    return sorted(set(missing))


def test_public_api_has_docstrings():
    missing = _undocumented()
    assert not missing, f"public functions, classes, methods or properties without a docstring: {missing}"


def test_the_docstring_check_sees_what_it_walks():
    names = {q for module in MODULES for q, _, _ in _public(module)}
    assert {"eigengrad.grad", "eigengrad.Variable", "eigengrad.nn.Linear", "eigengrad.optim.Adam",
            "eigengrad.distributed.init", "eigengrad.random.seed"} <= names

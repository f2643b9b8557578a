"""Writes python/eigengrad/_core.pyi, the type stub of the native module.

    pip install ".[typecheck]"          # pybind11-stubgen (and mypy)
    python tools/gen_stubs.py           # regenerate from the installed build
    python tools/gen_stubs.py --check   # exit 1 when the checked-in stub differs

Run it after adding or changing a binding (and rebuilding): pybind11-stubgen reads
the signatures and docstrings of the installed ``eigengrad._core`` (with the methods
that ``eigengrad._variable`` and ``eigengrad._inplace`` add to Variable), and
``clean`` below turns its output into a stub that mypy --strict accepts.
``tests/test_stubs.py`` fails when the checked-in stub and the build disagree.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUB = ROOT / "python" / "eigengrad" / "_core.pyi"

HEADER = '''\
# The type stub of eigengrad._core, written by tools/gen_stubs.py (pybind11-stubgen
# and a clean-up). Do not edit it by hand: change the bindings, rebuild, and run
# `python tools/gen_stubs.py`.
'''

# Return and value types that the bindings cannot spell (they return py::object):
# (generated text, replacement). Each must match once, so a changed binding shows up
# here instead of silently keeping the loose type.
PRECISE = [
    ("    def grad(self) -> typing.Any:", "    def grad(self) -> Variable | None:"),
    ("    def grad_fn(self) -> typing.Any:", "    def grad_fn(self) -> Node | None:"),
    ("def tangent(x: Variable, level: ForwardLevel) -> typing.Any:",
     "def tangent(x: Variable, level: ForwardLevel) -> Variable | None:"),
    ("    def shape(self) -> tuple[typing.Any, ...]:", "    def shape(self) -> tuple[int, ...]:"),
    ("    def copy_(self, value: typing.Any) -> typing.Any:", "    def copy_(self, value: typing.Any) -> Variable:"),
    # _GradMonitor's __init__, __enter__ and __exit__ are plain CPython methods (Note [A
    # monitor every step], python/src/bind_monitor.cpp), whose signatures carry no types.
    ("    def __init__(self, model = None):", "    def __init__(self, model: typing.Any = None) -> None:"),
    ("    def __enter__(self):", "    def __enter__(self) -> typing.Any:"),
    ("    def __exit__(self, exc_type, exc, traceback):",
     "    def __exit__(self, exc_type: typing.Any, exc: typing.Any, traceback: typing.Any) -> None:"),
]


# Names in the annotations of the methods added to Variable in Python (eigengrad/_variable.py,
# _inplace.py, dlpack.py): how the stub spells them. A new name there fails the run
# (pybind11-stubgen cannot resolve it) until it is added here.
PYTHON_NAMES = {"np.": "_np.", "npt.": "_npt.", "SupportsIndex": "typing.SupportsIndex",
                "Iterator": "collections.abc.Iterator"}


def generate() -> str:
    """The cleaned stub of the installed eigengrad._core."""
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "eigengrad._core", "-o", out,
             # The methods added in Python are annotated with names of their
             # modules' imports, which clean() spells out.
             "--ignore-unresolved-names", "|".join(rf"^{re.escape(k)}" for k in PYTHON_NAMES), "--exit-code"],
            check=True, cwd=out, stdout=subprocess.DEVNULL)
        base = pathlib.Path(out, "eigengrad", "_core")
        text = (base / "__init__.pyi").read_text() if base.is_dir() else base.with_suffix(".pyi").read_text()
    return clean(text)


def _code_lines(text: str) -> list[tuple[bool, str]]:
    """(is code, line) for each line: docstring lines are not code."""
    out, in_doc = [], False
    for line in text.splitlines():
        quotes = line.count('"""')
        out.append((not in_doc and quotes == 0, line))
        if quotes % 2:
            in_doc = not in_doc
    return out


def _clean_code(line: str) -> str:
    # numpy through a private alias: Variable has a method named `numpy`, which would
    # shadow the module inside the class body.
    for name, spelled in PYTHON_NAMES.items():
        line = re.sub(rf"(?<![\w.]){re.escape(name)}", spelled, line)
    line = re.sub(r"\bnumpy\.typing\.", "_npt.", line)
    line = re.sub(r"\bnumpy\.", "_np.", line)
    line = re.sub(r"\b_np\.ndarray\b(?!\[)", "_npt.NDArray[typing.Any]", line)
    # Bare generics (py::tuple, py::list, py::dict, callables) get their parameters.
    line = re.sub(r"(?<![\w.])tuple(?=[:,)\]]| \|)", "tuple[typing.Any, ...]", line)
    line = re.sub(r"(?<![\w.])list(?=[:,)\]]| \|)", "list[typing.Any]", line)
    line = re.sub(r"(?<![\w.])dict(?=[:,)\]]| \|)", "dict[str, typing.Any]", line)
    line = re.sub(r"collections\.abc\.Callable(?!\[)", "collections.abc.Callable[..., typing.Any]", line)
    line = re.sub(r"\*args\)", "*args: typing.Any)", line)
    line = re.sub(r"^(\s*def __hash__\(self\)):$", r"\1 -> int:", line)
    # == and != compare element-wise (an array, as NumPy's), not object's bool.
    line = re.sub(r"^(\s*def __(?:eq|ne)__\(.*-> (?!bool:).*:)$", r"\1  # type: ignore[override]", line)
    return line


def clean(text: str) -> str:
    """pybind11-stubgen's output as a stub mypy --strict accepts."""
    # The extension's submodules (the test hooks, linalg's kernels) are not modules
    # of the package: `from . import x` would name eigengrad.x.
    submodules = re.findall(r"^from \. import (\w+)\n", text, flags=re.M)
    text = re.sub(r"^from \. import \w+\n", "", text, flags=re.M)
    text = re.sub(r"__all__: list\[str\] = \[[^\]]*\]\n", "", text)
    # Methods assigned to Variable in Python are plain functions of `x`: in the
    # stub they are methods of `self`.
    text = re.sub(r"    @staticmethod\n    def (__\w+__)\(\w+(?:: Variable)?(, )?",
                  lambda m: f"    def {m.group(1)}(self{m.group(2) or ''}", text)
    lines = [_clean_code(line) if code else line for code, line in _code_lines(text)]
    text = "\n".join(lines) + "\n"
    for old, new in PRECISE:
        if text.count(old) != 1:
            raise SystemExit(f"gen_stubs: expected {old!r} once in pybind11-stubgen's output; update PRECISE")
        text = text.replace(old, new)
    imports = "import numpy as _np\nimport numpy.typing as _npt\nimport types\n"
    text = text.replace("import typing\n", "import typing\n" + imports, 1)
    # The submodules, typed as modules (their attributes are Any).
    declared = "".join(f"{name}: types.ModuleType\n" for name in sorted(submodules))
    text = re.sub(r"(\nclass )", "\n" + declared.replace("\\", "\\\\") + "\\1", text, count=1)
    return HEADER + text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the checked-in stub, write nothing")
    args = parser.parse_args()
    text = generate()
    if args.check:
        if STUB.read_text() != text:
            print(f"{STUB.relative_to(ROOT)} is out of date: run python tools/gen_stubs.py", file=sys.stderr)
            return 1
        return 0
    STUB.write_text(text)
    print(f"wrote {STUB.relative_to(ROOT)} ({text.count(chr(10))} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

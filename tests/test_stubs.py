"""The checked-in stub of the native module (python/eigengrad/_core.pyi) against the
build: the same names, and, where pybind11-stubgen is installed, the same text as a
fresh generation. After changing a binding: ``python tools/gen_stubs.py``.
"""

import ast
import importlib.util
import inspect
import pathlib

import pytest

import eigengrad
import eigengrad._core as _core

ROOT = pathlib.Path(__file__).resolve().parents[1]
STUB = ROOT / "python" / "eigengrad" / "_core.pyi"
HINT = "the stub is out of date: run python tools/gen_stubs.py (pip install \".[typecheck]\")"

# pybind11 gives every class this hook for other extension modules; stubs leave it out.
_PYBIND11_INTERNAL = {"_pybind11_conduit_v1_"}


def _is_dunder(name):
    return name.startswith("__") and name.endswith("__")


def _defined(body):
    """The names a stub body defines (functions, classes, annotated or assigned)."""
    names = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _stub_tree():
    return ast.parse(STUB.read_text())


def test_the_package_ships_the_stub_and_py_typed():
    installed = pathlib.Path(eigengrad.__file__).parent
    for name in ("py.typed", "_core.pyi"):
        assert (installed / name).is_file(), f"{name} is not in the installed package {installed}"
    assert (installed / "_core.pyi").read_text() == STUB.read_text(), "the installed stub is not the checked-in one"


def test_module_names_match():
    stub = _defined(_stub_tree().body)
    built = {n for n in vars(_core) if not n.startswith("__")}
    assert not built - stub, f"in eigengrad._core but not in the stub: {sorted(built - stub)}; {HINT}"
    assert not stub - built, f"in the stub but not in eigengrad._core: {sorted(stub - built)}; {HINT}"


def test_class_members_match():
    classes = [node for node in _stub_tree().body if isinstance(node, ast.ClassDef)]
    assert {c.name for c in classes} >= {"Variable", "Node", "ForwardLevel"}
    for node in classes:
        cls = getattr(_core, node.name)
        stub = _defined(node.body)
        built = {n for n in vars(cls) if not _is_dunder(n)} - _PYBIND11_INTERNAL
        public = {n for n in stub if not _is_dunder(n)}
        assert built == public, (f"{node.name}: only built {sorted(built - public)}, only in the stub "
                                 f"{sorted(public - built)}; {HINT}")
        # Special methods: every one the stub declares exists (the stub may not list
        # all that Python gives a class, such as __init_subclass__).
        missing = [n for n in stub if _is_dunder(n) and not hasattr(cls, n)]
        assert not missing, f"{node.name}: the stub declares {missing}, which the class lacks; {HINT}"


def test_signatures_name_no_cpp_types():
    """A signature naming a class bound later shows as a C++ name (``eigengrad::X``)."""
    for name, obj in vars(_core).items():
        members = vars(obj).items() if inspect.isclass(obj) else [(name, obj)]
        for member, value in members:
            doc = getattr(value, "__doc__", None) or ""
            assert "eigengrad::" not in doc.split("\n\n")[0], f"{name}.{member}: {doc.splitlines()[0]}"


@pytest.mark.skipif(importlib.util.find_spec("pybind11_stubgen") is None,
                    reason='pybind11-stubgen not installed: pip install ".[typecheck]"')
def test_stub_is_what_the_generator_writes():
    from tools import gen_stubs

    assert gen_stubs.generate() == STUB.read_text(), HINT

"""Every include and import points down a layer (ARCHITECTURE.md).

The layers are listed here once, file by file (glob patterns); a file that matches
no pattern fails the test, so a new file has to be given its place. An include or
import of a file in a higher layer fails, naming both files and both layers.
"""

import fnmatch
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

# C++: the core library, then the bindings. Lower numbers are lower layers.
CPP_LAYERS = [
    ("base", ["cpp/include/eigengrad/dtype.h", "cpp/src/dtype.cpp", "cpp/include/eigengrad/errors.h",
              "cpp/src/errors.cpp", "cpp/src/counters.h", "cpp/src/lock_stripes.h",
              "cpp/include/eigengrad/threads.h", "cpp/src/threads.cpp", "cpp/src/dispatch.h",
              "cpp/src/process_state.h", "cpp/include/eigengrad/memory.h",
              "cpp/include/eigengrad/small_vector.h"]),
    ("tensor", ["cpp/include/eigengrad/tensor.h", "cpp/src/tensor.cpp", "cpp/src/allocator.*"]),
    ("kernels", ["cpp/src/kernels/*", "cpp/include/eigengrad/config.h"]),
    ("graph", ["cpp/include/eigengrad/variable.h", "cpp/src/variable.cpp", "cpp/src/node.cpp",
               "cpp/src/forward_levels.*",
               "cpp/include/eigengrad/monitor.h", "cpp/src/monitor.cpp"]),
    ("ops", ["cpp/include/eigengrad/ops.h", "cpp/include/eigengrad/nn.h", "cpp/src/ops/*"]),
    ("engine", ["cpp/include/eigengrad/engine.h", "cpp/src/engine.cpp",
                "cpp/include/eigengrad/optim.h", "cpp/src/optim.cpp"]),
    ("api", ["cpp/include/eigengrad/eigengrad.h"]),
    ("bindings", ["python/src/*"]),
]

# Python: the package's modules, then what is built on the package.
PY_LAYERS = [
    ("core", ["python/eigengrad/_core*", "python/eigengrad/_variable.py", "python/eigengrad/_inplace.py",
              "python/eigengrad/creation.py", "python/eigengrad/random.py", "python/eigengrad/autograd.py",
              "python/eigengrad/config.py", "python/eigengrad/dlpack.py",
              "python/eigengrad/linalg.py", "python/eigengrad/batching.py",
              "python/eigengrad/batching_rules.py"]),
    ("transforms", ["python/eigengrad/functional.py", "python/eigengrad/function.py",
                    "python/eigengrad/gradcheck.py", "python/eigengrad/norms.py", "python/eigengrad/einsum.py",
                    "python/eigengrad/serialization.py", "python/eigengrad/checkpointing.py",
                    "python/eigengrad/explain.py", "python/eigengrad/monitor.py",
                    "python/eigengrad/jacobian_plan.py", "python/eigengrad/sparse_jacobian.py",
                    "python/eigengrad/vmap.py"]),
    ("nn", ["python/eigengrad/nn/*"]),
    ("optim", ["python/eigengrad/optim/*"]),
    ("distributed", ["python/eigengrad/distributed/*"]),
    ("applications", ["python/eigengrad/datasets.py", "python/eigengrad/tour.py", "python/eigengrad/demo/*"]),
    ("package face", ["python/eigengrad/__init__.py"]),
    ("tools", ["tools/*"]),
    ("bench", ["bench/*"]),
]


def layer_of(path, layers):
    for index, (name, patterns) in enumerate(layers):
        if any(fnmatch.fnmatch(path, p) for p in patterns):
            return index, name
    return None


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def cpp_edges():
    """(file, included file) for every quoted include of the core and the bindings."""
    files = [p for d in ("cpp/src", "cpp/include", "python/src") for p in (ROOT / d).rglob("*")
             if p.suffix in (".h", ".cpp")]
    for f in files:
        for target in INCLUDE.findall(f.read_text()):
            candidates = [f.parent / target, ROOT / "cpp/include" / target, ROOT / "cpp/src" / target]
            resolved = next((c.resolve() for c in candidates if c.exists()), None)
            assert resolved is not None, f"{f.relative_to(ROOT)} includes {target}, which is nowhere"
            yield f.relative_to(ROOT).as_posix(), resolved.relative_to(ROOT).as_posix()


IMPORT = re.compile(r"^\s*(?:from\s+(eigengrad[\w.]*|tools[\w.]*)\s+import\s+([\w, ()]+)|import\s+(eigengrad[\w.]*|tools[\w.]*))",
                    re.M)


def module_file(module):
    """The file of a dotted module name of this repository, or None."""
    parts = module.split(".")
    base = ROOT / "python" if parts[0] == "eigengrad" else ROOT
    path = base.joinpath(*parts)
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.exists():
            return candidate.relative_to(ROOT).as_posix()
    if parts[-1] == "_core":
        return "python/eigengrad/_core"
    return None


def python_edges():
    files = [p for d in ("python/eigengrad", "tools", "bench") for p in (ROOT / d).rglob("*.py")]
    for f in files:
        source = f.relative_to(ROOT).as_posix()
        for frm, names, plain in IMPORT.findall(f.read_text()):
            if plain:
                targets = [module_file(plain)]
            else:
                # `from eigengrad import functional` names a module; `from eigengrad
                # import Variable` names an attribute of the package face.
                names = [n.strip() for n in names.replace("(", "").replace(")", "").split(",") if n.strip()]
                targets = [module_file(f"{frm}.{n}") or module_file(frm) for n in names]
            for target in targets:
                # Inside the package, `import eigengrad as eg` (or an attribute of the
                # face) is a namespace looked up when a function runs, not a module the
                # file is built on: the face imports every module, and is the top.
                if source.startswith("python/eigengrad/") and target == "python/eigengrad/__init__.py":
                    continue
                if target and target != source:
                    yield source, target


def check(edges, layers):
    unplaced, upward = set(), []
    for source, target in edges:
        s, t = layer_of(source, layers), layer_of(target, layers)
        for path, layer in ((source, s), (target, t)):
            if layer is None:
                unplaced.add(path)
        if s and t and t[0] > s[0]:
            upward.append(f"{source} ({s[1]}) -> {target} ({t[1]})")
    return sorted(unplaced), upward


def test_cpp_includes_point_down():
    edges = list(cpp_edges())
    assert len(edges) > 50
    unplaced, upward = check(edges, CPP_LAYERS)
    assert not unplaced, f"files with no layer in tests/test_layering.py: {unplaced}"
    assert not upward, "includes that run up a layer:\n" + "\n".join(upward)


def test_python_imports_point_down():
    edges = list(python_edges())
    assert len(edges) > 30
    unplaced, upward = check(edges, PY_LAYERS)
    assert not unplaced, f"files with no layer in tests/test_layering.py: {unplaced}"
    assert not upward, "imports that run up a layer:\n" + "\n".join(upward)


@pytest.mark.parametrize("layers, edge", [
    (CPP_LAYERS, ("cpp/src/kernels/gemm.cpp", "cpp/src/engine.cpp")),
    (PY_LAYERS, ("python/eigengrad/functional.py", "python/eigengrad/nn/module.py")),
])
def test_an_upward_edge_is_caught(layers, edge):
    unplaced, upward = check([edge], layers)
    assert not unplaced and len(upward) == 1

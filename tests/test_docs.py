"""The documentation site (mkdocs.yml, docs/) builds with ``mkdocs build --strict``:
no broken link, no docstring the NumPy-style parser cannot read, and the pages made
from the docstrings, the tour and the benchmark files are there."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers")),
    reason='the documentation tools are not installed: pip install ".[docs]"')


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]
    return out


def _page(site, path):
    return (site / path / "index.html").read_text()


@pytest.mark.parametrize("page, names", [
    ("api/eigengrad", ["eigengrad.Variable", "eigengrad.add", "eigengrad.matmul", "eigengrad.no_grad",
                       "eigengrad.explain.explain", "eigengrad.gradcheck.gradcheck"]),
    ("api/functional", ["eigengrad.functional.grad", "eigengrad.functional.jacobian", "eigengrad.functional.hvp"]),
    ("api/nn", ["eigengrad.nn.Linear", "eigengrad.nn.Module", "eigengrad.nn.functional.cross_entropy"]),
    ("api/optim", ["eigengrad.optim.Adam", "eigengrad.optim.StepLR"]),
    ("api/distributed", ["eigengrad.distributed.init", "eigengrad.distributed.DistributedDataParallel"]),
])
def test_api_pages_are_generated_from_the_docstrings(site, page, names):
    html = _page(site, page)
    missing = [n for n in names if f'id="{n}"' not in html]
    assert not missing, f"{page}: no entry for {missing}"


def test_the_tour_page_holds_the_tour_output(site):
    html = _page(site, "tour")
    assert "1. Denominator layout" in html and "7. Watching a backward pass" in html


def test_design_and_benchmark_pages(site):
    assert "Architecture" in _page(site, "design/ARCHITECTURE")
    assert "Adding an op" in _page(site, "design/CONTRIBUTING")
    assert "results/results.png" in _page(site, "benchmarks/RESULTS")
    assert (site / "benchmarks" / "results" / "results.png").stat().st_size > 1000
    assert "step time" in _page(site, "distributed")

"""MkDocs hooks (mkdocs.yml: ``hooks``): pages made from files outside docs/.

- ``design/ARCHITECTURE.md`` and ``design/CONTRIBUTING.md`` are the repository's
  own files, and ``benchmarks/`` holds bench/RESULTS.md, bench/WORKLOADS.md and the
  chart, so the site shows them as they are in the repository (their links to each
  other keep working: same names, same relative places).
- The results page shows the chart (bench/results/results.png) under its title; the
  file itself only links to it.
- The tour page gets the output of ``python -m eigengrad.tour`` where it says
  ``<!-- tour-output -->``.
- Docstrings cite objects with Sphinx roles (``:class:`Variable```), which Markdown
  leaves as text before the code: the role is dropped, the code stays.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = pathlib.Path(__file__).resolve().parents[1]

# page in the site -> file in the repository
PAGES = {
    "design/ARCHITECTURE.md": "ARCHITECTURE.md",
    "design/CONTRIBUTING.md": "CONTRIBUTING.md",
    "benchmarks/RESULTS.md": "bench/RESULTS.md",
    "benchmarks/WORKLOADS.md": "bench/WORKLOADS.md",
    "benchmarks/results/results.png": "bench/results/results.png",
}

TOUR_MARK = "<!-- tour-output -->"
SPHINX_ROLE = re.compile(r":(?:class|func|meth|attr|mod|data|exc|obj):(?=<code>)")


def on_files(files: Files, config: Any) -> Files:
    for uri, source in PAGES.items():
        files.append(File.generated(config, uri, abs_src_path=str(ROOT / source)))
    return files


def _tour_output() -> str:
    try:
        run = subprocess.run([sys.executable, "-m", "eigengrad.tour"], capture_output=True, text=True,
                             timeout=600, cwd=ROOT)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(the tour could not run here: {e})"
    if run.returncode != 0:
        return "(the tour could not run here: install eigengrad, `pip install .`, and build the docs again)"
    return run.stdout


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    if page.file.src_uri == "benchmarks/RESULTS.md":
        title, _, rest = markdown.partition("\n")
        markdown = f"{title}\n\n![The benchmark results, as ratios to each peer](results/results.png)\n{rest}"
    if TOUR_MARK in markdown:
        markdown = markdown.replace(TOUR_MARK, "```text\n" + _tour_output().rstrip() + "\n```")
    return markdown


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    return SPHINX_ROLE.sub("", html)

"""Where the runner lives: BENCH is bench/, REPO the repository around it."""

from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent

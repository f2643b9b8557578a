"""Developer tools that are not part of the installed library: the reliability
harness (``python -m tools.reliability``, run from the repository root), which the
tests under ``tests/reliability`` import."""

"""eigengrad's reliability checks, counted: ``python -m eigengrad.reliability``
prints the report; the tests under ``tests/reliability`` assert every figure."""

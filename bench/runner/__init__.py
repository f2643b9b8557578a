"""The parts of the benchmark runner; bench/run.py is the entry point (and its
docstring the documentation). bench/run.py imports one_pass, load, chart, report and
paths; each module here imports only modules below it in this list:

    one_pass.py       one measurement pass: thread settings, imports, each workload group
    load.py           how busy other processes keep the machine; waiting for it to be idle
    machine.py        the machine and software description of a pass ("meta")
    threads.py        the thread environment and the one-CPU pin of a pass
    peers.py          the JAX contenders (MLP step, Jacobian, HVP)
    chain.py          the long-chain workload in eigengrad, PyTorch and NumPy
    chart.py          results/results.png
    report.py         RESULTS.md
    report_format.py  cells, Markdown tables, pass labels (report and chart)
    targets.py        problem sizes, targets, and the ratios a pass scores against them
    alignment.py      inputs at a fixed offset from a 64-byte boundary (pass and report)
    paths.py          bench/ and the repository root

Nothing here imports NumPy, eigengrad, torch, jax or matplotlib at module level: a
pass must make its thread settings before they load.
"""

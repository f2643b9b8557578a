"""The report (python -m tools.reliability) runs end to end and every figure meets
its bar. The figures themselves are asserted at full size by the other tests here;
this runs the report small (scale 0.05) to check the report."""

import json
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]  # where the tools package is


def test_the_report_prints_every_figure_and_each_meets_its_bar():
    out = subprocess.run([sys.executable, "-m", "tools.reliability", "--scale", "0.05", "--json"],
                         capture_output=True, text=True, timeout=900, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    lines = out.stdout.splitlines()
    table = [line for line in lines if line.endswith(("  yes", "  NO"))]
    assert len(table) >= 20 and all(line.endswith("yes") for line in table), "\n".join(table)
    for check in ["bad inputs tried", "faults injected", "graph: chain", "graph: fan-out", "graph: fan-in",
                  "drift over", "GIL released", "bitwise equal", "one leaf", "one graph", "holds the GIL",
                  "Ctrl-C", "live graph nodes / buffers after release"]:
        assert any(check in line for line in table), check
    figures = json.loads(lines[-1])
    assert figures["bad_inputs"]["failures"] == []
    assert figures["live_after"]["nodes"] == figures["live_before"]["nodes"]

"""eg.grad_monitor (python/eigengrad/monitor.py, cpp/src/monitor.cpp): telemetry the
engine records during backward, checked against independent references: NumPy
norms of the .grad arrays, NumPy and PyTorch for dead and saturated fractions."""

import inspect
import sys
import threading

import numpy as np
import pytest

import eigengrad as eg

torch = pytest.importorskip("torch")


def _line():
    """The caller's line number."""
    return inspect.currentframe().f_back.f_lineno


def _mlp_step(model, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((64, 10)).astype(dtype)
    y = rng.integers(0, 4, 64)
    return eg.nn.cross_entropy(model(x), y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_parameter_norms_match_numpy_of_grad(dtype):
    model = eg.nn.MLP([10, 32, 16, 4], dtype=dtype)
    with eg.grad_monitor(model) as m:
        _mlp_step(model, dtype).backward()
    rows = m.to_dict()["parameters"]
    named = list(model.named_parameters())
    assert [r["name"] for r in rows] == [name for name, _ in named]
    for row, (name, p) in zip(rows, named):
        g = np.asarray(p.grad).astype(np.float64)
        assert row["shape"] == p.shape
        assert row["max_abs"] == np.max(np.abs(g))  # exact: the same values
        np.testing.assert_allclose(row["norm"], np.linalg.norm(g), rtol=1e-13)


def test_norm_is_of_the_accumulated_grad_and_of_the_last_pass():
    model = eg.nn.MLP([10, 8, 4])
    with eg.grad_monitor(model) as m:
        _mlp_step(model, seed=1).backward()
        _mlp_step(model, seed=2).backward()  # no zero_grad: .grad holds the sum
    d = m.to_dict()
    assert d["passes"] == 2
    for row, (_, p) in zip(d["parameters"], model.named_parameters()):
        np.testing.assert_allclose(row["norm"], np.linalg.norm(np.asarray(p.grad)), rtol=1e-13)


def test_unnamed_parameters_are_labelled_by_first_appearance():
    W = eg.Variable(np.ones((3, 2)), requires_grad=True)
    b = eg.Variable(np.ones(3), requires_grad=True)
    with eg.grad_monitor() as m:
        (W @ np.ones(2) + b).sum().backward()
    rows = m.to_dict()["parameters"]
    assert sorted(r["name"] for r in rows) == ["#0", "#1"]
    assert {r["shape"] for r in rows} == {(3, 2), (3,)}


def test_dead_relu_fraction_matches_numpy_and_torch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((50, 7))
    W = eg.Variable(rng.standard_normal((9, 7)), requires_grad=True)
    b = eg.Variable(rng.standard_normal(9) - 0.5, requires_grad=True)
    with eg.grad_monitor() as m:
        h = eg.relu(x @ W.T + b); line = _line()  # noqa: E702
        (h * h).sum().backward()
    (act,) = m.to_dict()["activations"]
    assert act["op"] == "relu" and act["shape"] == (50, 9)
    assert act["dead"] == np.mean(np.asarray(h) == 0)
    t = torch.relu(torch.from_numpy(x) @ torch.from_numpy(np.asarray(W)).T + torch.from_numpy(np.asarray(b)))
    assert act["dead"] == (t == 0).double().mean().item()
    assert act["saturated"] == 0.0
    assert act["where"] == f"{__file__}:{line}"


@pytest.mark.parametrize("op", ["sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_saturated_fraction_matches_torch(op, dtype):
    x = (np.random.default_rng(4).standard_normal((40, 30)) * 6).astype(dtype)
    v = eg.Variable(x, requires_grad=True)
    with eg.grad_monitor() as m:
        getattr(eg, op)(v).sum().backward()
    (act,) = m.to_dict()["activations"]
    out = getattr(torch, op)(torch.from_numpy(x)).double()
    local = out * (1 - out) if op == "sigmoid" else 1 - out * out
    expected = (local < 1e-3).double().mean().item()
    assert 0.05 < expected < 0.95  # the inputs do reach saturation, and not everywhere
    assert act["saturated"] == expected
    assert act["dead"] == 0.0


def test_activations_are_in_forward_order():
    x = eg.Variable(np.linspace(-3, 3, 12), requires_grad=True)
    with eg.grad_monitor() as m:
        eg.sigmoid(eg.tanh(eg.relu(x))).sum().backward()
    assert [a["op"] for a in m.to_dict()["activations"]] == ["relu", "tanh", "sigmoid"]


def test_nan_from_log_of_a_negative_value_names_op_and_line():
    x = eg.Variable(np.array([2.0, -1.0, 3.0]), requires_grad=True)
    with eg.grad_monitor() as m:
        y = x * 2
        z = eg.log(y); line = _line()  # noqa: E702
        eg.exp(z).sum().backward()
    f = m.to_dict()["nonfinite"]["forward"]
    assert f == {"op": "log", "where": f"{__file__}:{line}"}
    assert f"first non-finite value in forward: log at test_grad_monitor.py:{line}" in m.report(file=sys.stderr)


def test_inf_first_produced_in_backward_names_the_node():
    x = eg.Variable(np.array([0.0, 4.0]), requires_grad=True)
    with eg.grad_monitor() as m:
        s = eg.sqrt(x); line = _line()  # noqa: E702
        (s * 3).sum().backward()
    d = m.to_dict()["nonfinite"]
    assert d["forward"] is None
    assert d["backward"] == {"op": "sqrt", "where": f"{__file__}:{line}"}
    assert np.isinf(np.asarray(x.grad)[0])


def test_graph_built_outside_the_monitor_has_no_line():
    x = eg.Variable(np.array([0.0, 4.0]), requires_grad=True)
    s = eg.sqrt(x).sum()
    with eg.grad_monitor() as m:
        s.backward()
    assert m.to_dict()["nonfinite"]["backward"] == {"op": "sqrt", "where": None}


def test_monitor_off_leaves_no_trace_and_changes_no_bit():
    def run(monitored):
        model = eg.nn.MLP([10, 16, 4])
        model.load_state_dict({k: np.full(v.shape, 0.1) + np.arange(v.size).reshape(v.shape) * 1e-3
                               for k, v in model.state_dict().items()})
        if monitored:
            with eg.grad_monitor(model) as m:
                _mlp_step(model).backward()
        else:
            _mlp_step(model).backward()
            m = None
        return [np.asarray(p.grad).copy() for p in model.parameters()], m

    plain, _ = run(False)
    watched, m = run(True)
    for a, b in zip(plain, watched):
        np.testing.assert_array_equal(a, b)
    before = m.to_dict()
    x = eg.Variable(np.array([-1.0]), requires_grad=True)
    eg.log(x).sum().backward()  # after the with: nothing is recorded
    assert m.to_dict() == before and m.passes == 1


def test_nested_monitors_raise_and_the_outer_one_keeps_working():
    x = eg.Variable(np.ones(3), requires_grad=True)
    with eg.grad_monitor() as outer:
        with pytest.raises(RuntimeError, match="already active"):
            with eg.grad_monitor():
                pass
        with pytest.raises(RuntimeError, match="already active"):
            outer.__enter__()
        (x * 2).sum().backward()
    assert outer.passes == 1


def test_backward_on_another_thread_is_not_recorded():
    x = eg.Variable(np.ones(3), requires_grad=True)
    with eg.grad_monitor() as m:
        t = threading.Thread(target=lambda: (x * 2).sum().backward())
        t.start()
        t.join()
        assert m.passes == 0
        (x * 3).sum().backward()
    assert m.passes == 1
    np.testing.assert_array_equal(np.asarray(x.grad), [5.0, 5.0, 5.0])


def test_exception_inside_the_block_stops_the_monitor():
    with pytest.raises(ZeroDivisionError):
        with eg.grad_monitor() as m:
            1 / 0
    with eg.grad_monitor():  # a new one may start: the first was stopped
        pass
    assert m.passes == 0


def test_bad_input_raises_clear_errors():
    with pytest.raises(TypeError, match="grad_monitor: model must be an eg.nn.Module"):
        eg.grad_monitor(3)
    with pytest.raises(RuntimeError, match="stop\\(\\) without start\\(\\)"):
        eg.grad_monitor().__exit__(None, None, None)
    with pytest.raises(ValueError, match="no parameter received a gradient"):
        with eg.grad_monitor() as m:
            pass
        m.plot()


def test_report_lists_every_row():
    model = eg.nn.MLP([10, 8, 4], activation="tanh")
    with eg.grad_monitor(model) as m:
        _mlp_step(model).backward()
    text = m.report(file=sys.stderr)
    for name, _ in model.named_parameters():
        assert name in text
    assert "tanh" in text and "no inf or NaN seen" in text


def test_plot_draws_one_bar_per_parameter():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    model = eg.nn.MLP([10, 8, 4])
    with eg.grad_monitor(model) as m:
        _mlp_step(model).backward()
    ax = m.plot()
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, [r["norm"] for r in m.to_dict()["parameters"]])


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "eigengrad\[demo\]"'):
        eg.grad_monitor().plot()


def test_the_readme_example_runs(capsys):
    import pathlib
    import re

    readme = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("### Watching gradients: `eg.grad_monitor`"):]
    code = re.findall(r"```python\n(.*?)```", section, re.S)[0]
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert out.startswith("log ['relu']\n")
    assert "first non-finite value in forward: log at README.md:8" in out


def test_nonfinite_in_ops_on_plain_values_is_reported():
    x = np.array([-1.0, 1.0])
    with eg.grad_monitor() as m:
        eg.sqrt(eg.Variable(x)); line = _line()  # noqa: E702
    assert m.to_dict()["nonfinite"]["forward"] == {"op": "sqrt", "where": f"{__file__}:{line}"}

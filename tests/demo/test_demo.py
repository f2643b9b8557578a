"""The demos run end to end (one or two epochs): output files, saved weights
that reload, and the fallbacks without tqdm and matplotlib."""

import subprocess
import sys

import numpy as np
import pytest

import eigengrad as eg
from eigengrad.demo import _common, boundary, digits

PNG = b"\x89PNG\r\n\x1a\n"


def test_digits_demo_writes_weights_and_plot(tmp_path, capsys):
    result = digits.main(["--epochs", "2", "--out", str(tmp_path), "--no-progress"])
    out = capsys.readouterr().out
    assert "epoch   1/2" in out and "epoch   2/2" in out and "test accuracy" in out and "time per epoch" in out
    assert result["test_accuracy"] > 0.8
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == PNG
    assert len(result["history"]["test_acc"]) == 2
    # The saved weights rebuild the same model.
    state = eg.load(tmp_path / "digits_mlp.npz")
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model = eg.nn.MLP([64, 256, 10], activation="gelu", dtype="float32")
    model.load_state_dict(state)
    X = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(model(X)), np.asarray(result["model"](X)))


def test_digits_demo_options(tmp_path, capsys):
    result = digits.main(["--epochs", "1", "--hidden", "32", "16", "--optimizer", "sgd", "--dtype", "float64",
                          "--batch-size", "64", "--lr", "0.1", "--seed", "3", "--out", str(tmp_path)])
    assert result["model"].sizes == [64, 32, 16, 10]
    assert result["model"][0].weight.dtype == np.float64
    assert "optimizer: sgd, lr 0.1" in capsys.readouterr().out


def test_digits_demo_monitor_prints_the_table_every_epoch(tmp_path, capsys):
    plain = digits.main(["--epochs", "2", "--hidden", "16", "--activation", "relu", "--out", str(tmp_path),
                         "--no-progress"])
    capsys.readouterr()
    watched = digits.main(["--epochs", "2", "--hidden", "16", "--activation", "relu", "--out", str(tmp_path),
                           "--no-progress", "--monitor"])
    out = capsys.readouterr().out
    assert out.count("grad_monitor:") == 2 and out.count("0.weight") == 2 and "relu" in out
    assert "no inf or NaN seen" in out
    assert watched["history"]["test_loss"] == plain["history"]["test_loss"]  # the monitor changes nothing


def test_digits_demo_is_reproducible(tmp_path):
    runs = [digits.main(["--epochs", "1", "--out", str(tmp_path), "--no-progress"]) for _ in range(2)]
    assert runs[0]["history"]["test_loss"] == runs[1]["history"]["test_loss"]


def test_demos_run_without_tqdm_and_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(_common, "tqdm", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    result = digits.main(["--epochs", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "matplotlib is not installed: skipping the plot" in out and "epoch   1/1" in out
    assert result["plot"] is None and not (tmp_path / "digits_curves.png").exists()
    assert (tmp_path / "digits_mlp.npz").exists()


@pytest.mark.parametrize("data", ["moons", "spirals"])
def test_boundary_demo(tmp_path, data):
    result = boundary.main(["--data", data, "--epochs", "60", "--out", str(tmp_path)])
    assert result["accuracy"] > 0.6
    assert (tmp_path / f"{data}_boundary.png").read_bytes()[:8] == PNG


def test_python_dash_m_entry_point(tmp_path):
    run = subprocess.run([sys.executable, "-m", "eigengrad.demo", "--epochs", "1", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "test accuracy" in run.stdout and (tmp_path / "digits_mlp.npz").exists()


def test_bad_options_exit_with_usage():
    with pytest.raises(SystemExit):
        digits.parse_args(["--epochs", "0"])

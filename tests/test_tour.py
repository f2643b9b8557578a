"""The claims `python -m eigengrad.tour` prints, asserted."""

import subprocess
import sys

import pytest

from eigengrad import tour


def test_layout():
    s = tour.layout()
    assert s["vector_grad_shape"] == s["vector_shape"] == (4,)
    assert s["matrix_grad_shape"] == s["matrix_shape"] == (3, 4)
    assert s["vector_grad_is_2x"]


def test_jacobian_layout():
    s = tour.jacobian_layout()
    assert s["shape"] == (3, 4) and s["row_1_is_grad_of_y1"]
    assert s["entry_1_2"] == pytest.approx(s["entry_1_2_by_finite_differences"], rel=1e-6)


def test_chain_rule_and_the_cost_of_backpropagation():
    s = tour.chain_rule()
    assert s["chain_rule_holds"] and s["vjp_matches_row_sum"]
    assert s["jacobian_product_flops"] > 100 * s["vjp_flops"]


def test_backprop_one_layer_matches_hand_formulas():
    s = tour.backprop_one_layer()
    assert s["W_grad_matches"] and s["b_grad_matches"] and s["x_grad_matches"]


def test_a_descent_step_lowers_the_loss():
    s = tour.descent_step()
    assert s["L_after"] < s["L_before"]


def test_grad_monitor_on_the_layer_of_section_4():
    s = tour.monitor_one_layer()
    assert s["W_norm"] == pytest.approx(s["W_norm_by_hand"], rel=1e-12)
    assert s["W_max_abs"] == pytest.approx(s["W_max_abs_by_hand"], rel=1e-12)
    assert s["saturated"] == s["saturated_by_hand"] and 0 < s["saturated"] < 1
    assert s["nan_op"] == "log" and s["nan_line"] == s["nan_line_in_tour"]


def test_explain_reads_the_chain_of_section_4():
    s = tour.explain_one_layer()
    assert s["chain"] == "dL/dW = dL/dz · dz/dy · dy/dv1 · dv1/dv2 · dv2/dW"
    assert s["dz_dy_shape"] == (3, 3) and s["dz_dy_diagonal"] and s["dy_dW_kind"] == "linear map"
    assert s["check"] < 1e-12 and s["W_grad_untouched"]
    assert (s["form_cost"], s["apply_cost"]) == (63, 21)


def test_budget_and_sparsity():
    s = tour.budget_and_sparsity()
    assert s["plan"].mode == "rev" and 1 < s["plan"].passes and s["peak"] <= s["budget"] and s["matches_dense"]
    if s["sparse"] is None:
        pytest.skip('scipy is not installed: pip install ".[sparse]"')
    q = s["sparse"]
    assert q["colours"] == 3 and q["matches_by_hand"] and q["same_entries"] and q["nonzeros"] == q["true_nonzeros"]


@pytest.mark.parametrize("graphviz", [True, False])
def test_the_explanation_is_drawn(tmp_path, monkeypatch, graphviz):
    e = tour.explain_one_layer()["explanation"]
    if graphviz and tour.shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed")
    if not graphviz:
        pytest.importorskip("matplotlib")
        monkeypatch.setattr(tour.shutil, "which", lambda name: None)
    path = tour.render(e, str(tmp_path / "explain"))
    assert path.endswith(".svg" if graphviz else ".png")
    assert (tmp_path / path).stat().st_size > 1000


def test_the_tour_runs():
    result = subprocess.run([sys.executable, "-m", "eigengrad.tour"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for heading in ("1. Denominator layout", "2. The Jacobian", "3. The chain rule", "4. Backpropagation", "5. One",
                    "6. The chain of section 4", "8. A Jacobian within a memory budget"):
        assert heading in result.stdout
    assert "False" not in result.stdout

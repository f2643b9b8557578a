"""eg.einsum (python/eigengrad/einsum.py): values against numpy.einsum, gradients
against torch.einsum (VJP, JVP and second order, through torch_oracle) and against
finite differences in both modes (eg.gradcheck), over one table of subscripts; and
the errors, which name einsum and the problem."""

import numpy as np
import pytest

import eigengrad as eg
from torch_oracle import check_against_torch

rng = np.random.default_rng(14)


def r(*shape):
    return rng.standard_normal(shape)


# (subscripts, operands): explicit and implicit outputs, diagonals, sums, '...'
# broadcasting, size-1 broadcasting, several operands, size 0 and 0-d operands.
CASES = [
    ("ij,jk->ik", [r(2, 3), r(3, 4)]),
    ("ij,jk", [r(2, 3), r(3, 4)]),
    ("ij,kj->ik", [r(2, 3), r(4, 3)]),
    ("ij,j", [r(2, 3), r(3)]),
    ("ii->i", [r(3, 3)]),
    ("ii", [r(3, 3)]),
    ("ii->", [r(3, 3)]),
    ("iii->i", [r(2, 2, 2)]),
    ("iij->ij", [r(3, 3, 2)]),
    ("iji->j", [r(3, 2, 3)]),
    ("...ii->...i", [r(2, 3, 3)]),
    ("ii,i->i", [r(3, 3), r(3)]),
    ("ij->ji", [r(2, 3)]),
    ("ji", [r(2, 3)]),
    ("ba", [r(2, 3)]),
    ("Ab,bA", [r(2, 3), r(3, 2)]),
    ("ijk->kji", [r(2, 3, 4)]),
    ("ij->", [r(2, 3)]),
    ("ij->j", [r(2, 3)]),
    ("i,i", [r(3), r(3)]),
    ("i,i->i", [r(1), r(3)]),
    ("ij,j->i", [r(2, 1), r(3)]),
    ("ij,jk", [r(2, 3), r(1, 4)]),
    ("i,j->ij", [r(3), r(4)]),
    ("i,j", [r(3), r(4)]),
    ("ab,cd->abcd", [r(2, 3), r(2, 2)]),
    ("ij,ij->ij", [r(2, 3), r(2, 3)]),
    ("ij,ij->", [r(2, 3), r(2, 3)]),
    ("bij,bjk->bik", [r(2, 2, 3), r(2, 3, 4)]),
    ("...ij,...jk->...ik", [r(2, 2, 3), r(2, 3, 4)]),
    ("...ij,...jk", [r(3, 1, 2, 3), r(2, 3, 2)]),
    ("...i,i", [r(2, 3, 4), r(4)]),
    ("i...->...", [r(3, 2)]),
    ("...,...", [r(2, 1), r(3)]),
    ("ij,jk,kl->il", [r(2, 3), r(3, 4), r(4, 2)]),
    ("i,i,i->", [r(3), r(3), r(3)]),
    ("bn,anm,bm->ba", [r(2, 3), r(4, 3, 5), r(2, 5)]),
    ("ij,jk->ik", [r(2, 0), r(0, 4)]),
    ("ij->i", [r(0, 3)]),
    (",i->i", [r(), r(3)]),
    ("->", [r()]),
    ("ij,jk->ikj", [r(2, 3), r(3, 4)]),
]
IDS = [f"{k}:{s}" for k, (s, _) in enumerate(CASES)]


@pytest.mark.parametrize("subscripts, operands", CASES, ids=IDS)
def test_values_match_numpy(subscripts, operands):
    out = eg.einsum(subscripts, *operands)
    want = np.einsum(subscripts, *operands)
    assert out.shape == want.shape and out.dtype == np.float64
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("subscripts, operands", CASES, ids=IDS)
def test_gradients_match_torch(subscripts, operands):
    torch = pytest.importorskip("torch", reason="PyTorch is the oracle of einsum's gradients")
    check_against_torch(lambda *xs: eg.einsum(subscripts, *xs), lambda *ts: torch.einsum(subscripts, *ts),
                        operands)


@pytest.mark.parametrize("subscripts, operands", CASES, ids=IDS)
def test_gradcheck(subscripts, operands):
    assert eg.gradcheck(lambda *xs: eg.einsum(subscripts, *xs), operands)


def test_float32_stays_float32_and_promotes_with_float64():
    a, b = r(2, 3).astype(np.float32), r(3, 4).astype(np.float32)
    out = eg.einsum("ij,jk->ik", a, b)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), np.einsum("ij,jk->ik", a, b), rtol=1e-5)
    assert eg.einsum("ij,jk", a, b.astype(np.float64)).dtype == np.float64
    assert eg.einsum("ii", a[:, :2].copy()).dtype == np.float32


def test_interleaved_form():
    a, b = r(2, 3), r(3, 4)
    np.testing.assert_allclose(eg.einsum(a, [0, 1], b, [1, 2], [0, 2]).numpy(), a @ b, rtol=1e-13)
    np.testing.assert_allclose(eg.einsum(a, [0, 1], b, [1, 2]).numpy(), a @ b, rtol=1e-13)
    x = r(2, 3, 3)
    np.testing.assert_allclose(eg.einsum(x, [Ellipsis, 0, 0], [Ellipsis, 0]).numpy(),
                               np.einsum(x, [Ellipsis, 0, 0], [Ellipsis, 0]), rtol=1e-13)


def test_hessian():
    # f(A) = sum_ijk A_ij A_jk, so d2f / dA_pq dA_rs = [q == r] + [p == s].
    a = r(3, 3)
    H = eg.hessian(lambda m: eg.einsum("ij,jk->", m, m))(a).numpy()
    eye, ones = np.eye(3), np.ones((3, 3))
    want = np.einsum("qr,ps->pqrs", eye, ones) + np.einsum("ps,qr->pqrs", eye, ones)
    np.testing.assert_allclose(H, want, atol=1e-12)


def test_operands_are_differentiable_variables_and_lists():
    w = eg.Variable(r(3, 4), requires_grad=True)
    x = [[1.0, 2.0, 3.0]]
    eg.einsum("bi,ij->bj", x, w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.tile(np.array([[1.0], [2.0], [3.0]]), (1, 4)))


@pytest.mark.parametrize("subscripts, shapes, message", [
    ("ij,jk", [(2, 3)], r"einsum: fewer operands given \(1\) than the subscripts 'ij,jk' name \(2\)"),
    ("ij", [(2, 3), (3, 4)], r"einsum: more operands given \(2\) than the subscripts 'ij' name \(1\)"),
    ("i1,jk", [(2, 3), (3, 4)], r"einsum: invalid subscript '1'.*must be letters"),
    ("ij,jk->il", [(2, 3), (3, 4)], r"einsum: output subscript 'l' never appears in an input"),
    ("ij,jk->ii", [(2, 3), (3, 4)], r"einsum: output subscript 'i' appears more than once"),
    ("ij,jk", [(2, 3), (4, 4)], r"einsum: size 4 of label 'j' in operand 1 of shape \(4, 4\) does not match size 3"),
    ("ii->i", [(2, 3)], r"einsum: operand 0 of shape \(2, 3\) repeats label 'i' on axes of sizes 2 and 3"),
    ("ijk", [(2, 3)], r"einsum: subscripts 'ijk' name 3 axes of operand 0, which has 2"),
    ("i", [(2, 3)], r"einsum: operand 0 has 2 axes but subscripts 'i' name 1, and no '...'"),
    ("i.j", [(2, 3)], r"einsum: subscripts contain a '.' that is not part of an ellipsis"),
    ("...i...", [(2, 3)], r"einsum: (.*'\.' that is not part of an ellipsis|.*more than one ellipsis)"),
    ("ij-", [(2, 3)], r"einsum: subscripts 'ij-' do not contain a proper '->'"),
    ("ij->i->j", [(2, 3)], r"einsum: subscripts 'ij->i->j' contain more than one '->'"),
    ("...i->i", [(2, 3)], r"einsum: the operands have 1 broadcast axes \('...'\) but the output 'i' has no '...'"),
    ("...ij,...jk", [(2, 2, 3), (3, 3, 4)], r"einsum: size 3 of the broadcast axis 0 of '...' in operand 1"),
])
def test_bad_subscripts_raise_naming_einsum(subscripts, shapes, message):
    with pytest.raises(ValueError, match=message):
        eg.einsum(subscripts, *[np.ones(s) for s in shapes])


def test_bad_interleaved_and_empty():
    with pytest.raises(ValueError, match="einsum: at least one operand"):
        eg.einsum("")
    with pytest.raises(ValueError, match=r"einsum: sublist items must be integers in \[0, 52\)"):
        eg.einsum(np.ones(2), [60])

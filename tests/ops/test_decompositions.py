"""eg.linalg (cpp/src/ops/decompositions.cpp): the conventions, the errors and the
edge cases that the generic sample table (samples.py) does not reach, and
gradients in both modes and second derivatives against PyTorch's where installed."""

import numpy as np
import pytest

import eigengrad as eg

la = eg.linalg
rng = np.random.default_rng(1414)


def invertible(*shape):
    return rng.standard_normal(shape) + 3.0 * np.eye(shape[-1])


def spd(*shape):
    b = rng.standard_normal(shape)
    return b @ np.swapaxes(b, -1, -2) + np.eye(shape[-1])


def symmetric(*shape):
    b = rng.standard_normal(shape)
    return b + np.swapaxes(b, -1, -2)


def adjugate(a):
    """adj(a) from its minors (the definition)."""
    n = a.shape[0]
    adj = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            adj[j, i] = (-1) ** (i + j) * np.linalg.det(minor)
    return adj


# ---- errors ----------------------------------------------------------------------------


def test_linalgerror_is_numpys_and_a_valueerror():
    assert issubclass(la.LinAlgError, np.linalg.LinAlgError)
    assert issubclass(la.LinAlgError, ValueError)


@pytest.mark.parametrize("op", ["solve", "inv"])
def test_singular_matrix_raises_naming_op_shape_and_batch_entry(op):
    a = np.stack([np.eye(3), np.array([[1.0, 2, 3], [2, 4, 6], [0, 1, 1]])])
    call = (lambda x: la.solve(x, np.ones(3))) if op == "solve" else la.inv
    with pytest.raises(la.LinAlgError, match=rf"{op}: singular matrix \(input of shape \(2, 3, 3\), matrix 1"):
        call(a)


def test_cholesky_of_indefinite_matrix_raises():
    with pytest.raises(la.LinAlgError, match=r"cholesky: matrix is not positive definite \(input of shape \(2, 2\)"):
        la.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))


@pytest.mark.parametrize("call, message", [
    (lambda: la.inv(np.ones((2, 3))), r"inv: last 2 dimensions of the array must be square, got shape \(2, 3\)"),
    (lambda: la.det(np.ones(3)), r"det: expected an array of at least 2 dimensions, got shape \(3,\)"),
    (lambda: la.eigh(np.ones((3, 2))), r"eigh: last 2 dimensions .* \(3, 2\)"),
    (lambda: la.cholesky(np.ones(())), r"cholesky: expected an array of at least 2 dimensions"),
    (lambda: la.qr(np.ones(4)), r"qr: expected an array of at least 2 dimensions, got shape \(4,\)"),
    (lambda: la.svd(np.ones(4)), r"svd: expected an array of at least 2 dimensions"),
    (lambda: la.solve(np.eye(3), np.ones(4)), r"solve: b of shape \(4,\) does not match a of shape \(3, 3\)"),
    (lambda: la.solve(np.ones((2, 3, 3)), np.ones((4, 3, 1))),
     r"solve: batch dimensions of a \(2, 3, 3\) and b \(4, 3, 1\) could not be broadcast"),
    (lambda: la.qr(np.eye(2), mode="full"), r"qr: unrecognized mode"),
    (lambda: la.eigh(np.eye(2), UPLO="X"), r"eigh: UPLO"),
])
def test_bad_shapes_and_arguments_raise_valueerror_naming_the_op(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_complex_input_is_a_typeerror_and_integers_become_float64():
    with pytest.raises(TypeError, match="inv"):
        la.inv(np.eye(2, dtype=complex))
    out = la.inv(np.array([[2, 0], [0, 4]]))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.numpy(), [[0.5, 0], [0, 0.25]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input(bad):
    a = invertible(3, 3)
    a[1, 0] = bad
    for op in (la.inv, la.qr, la.eigh, la.svd, la.cholesky, lambda x: la.solve(x, np.ones(3))):
        with pytest.raises(la.LinAlgError, match="NaN or inf|not positive definite"):
            op(a)
    # det and slogdet give NumPy's NaN or inf; b may hold anything
    with np.errstate(invalid="ignore"):
        assert np.isnan(la.det(a).item()) == np.isnan(np.linalg.det(a))
    assert np.isnan(la.solve(invertible(3, 3), np.array([1.0, np.nan, 0.0])).numpy()).all()


# ---- conventions -------------------------------------------------------------------------


def test_qr_has_a_non_negative_diagonal_and_reconstructs():
    for shape in [(5, 3), (3, 3), (3, 5), (2, 4, 2)]:
        a = rng.standard_normal(shape)
        q, r = la.qr(a)
        k = min(shape[-2:])
        assert q.shape == shape[:-2] + (shape[-2], k) and r.shape == shape[:-2] + (k, shape[-1])
        assert (np.diagonal(r.numpy(), axis1=-2, axis2=-1) >= 0).all()
        np.testing.assert_allclose(np.asarray(q @ r), a, atol=1e-13)
        np.testing.assert_allclose(np.swapaxes(q.numpy(), -1, -2) @ q.numpy(), np.broadcast_to(np.eye(k), shape[:-2] + (k, k)),
                                   atol=1e-13)


def test_eigh_ascending_with_the_largest_entry_of_each_vector_positive():
    w, v = la.eigh(symmetric(3, 5, 5))
    assert (np.diff(w.numpy(), axis=-1) > 0).all()
    vv = v.numpy()
    idx = np.argmax(np.abs(vv), axis=-2)
    assert (np.take_along_axis(vv, idx[:, None, :], axis=-2) > 0).all()


def test_svd_descending_with_the_largest_entry_of_each_u_column_positive():
    a = rng.standard_normal((2, 5, 3))
    u, s, vh = la.svd(a, full_matrices=False)
    assert (np.diff(s.numpy(), axis=-1) < 0).all()
    idx = np.argmax(np.abs(u.numpy()), axis=-2)
    assert (np.take_along_axis(u.numpy(), idx[:, None, :], axis=-2) > 0).all()
    np.testing.assert_allclose(np.asarray(u @ (s.numpy()[..., None] * vh.numpy())), a, atol=1e-13)


def test_full_matrices_and_complete_mode_match_numpys_shapes_and_their_extra_columns_carry_no_gradient():
    a = rng.standard_normal((5, 3))
    u, s, vh = la.svd(a)  # NumPy's default: full_matrices=True
    nu, ns, nvh = np.linalg.svd(a)
    assert u.shape == nu.shape and vh.shape == nvh.shape
    np.testing.assert_allclose(u.numpy().T @ u.numpy(), np.eye(5), atol=1e-13)
    q, r = la.qr(a, mode="complete")
    assert q.shape == (5, 5) and r.shape == (5, 3)
    np.testing.assert_allclose(np.asarray(q @ r), a, atol=1e-13)
    x = eg.Variable(a, requires_grad=True)
    (g,) = eg.autograd.grad(eg.sum(la.svd(x).U[:, 3:]) + eg.sum(la.qr(x, mode="complete").Q[:, 3:]), [x])
    np.testing.assert_array_equal(g.numpy(), 0.0)


def test_triangle_read_and_its_gradient():
    # cholesky and eigh read the lower triangle (upper with upper=True / UPLO="U"),
    # and their gradient is zero on the other side (Note [Symmetric input read from
    # one triangle]).
    a = spd(4, 4)
    junk = a + np.triu(rng.standard_normal((4, 4)), 1)
    np.testing.assert_allclose(la.cholesky(junk).numpy(), np.linalg.cholesky(a), rtol=1e-13)
    np.testing.assert_allclose(la.cholesky(a.T + np.tril(junk, -1), upper=True).numpy(),
                               np.linalg.cholesky(a, upper=True), rtol=1e-13)
    for f in (lambda x: eg.sum(la.cholesky(x) ** 2), lambda x: eg.sum(la.eigh(x).eigenvalues ** 3)):
        g = eg.grad(f)(junk).numpy()
        np.testing.assert_array_equal(np.triu(g, 1), 0.0)


def test_eigh_at_repeated_eigenvalues_is_finite_and_right_for_invariant_losses():
    # Note [Repeated eigenvalues]: A has eigenvalue 1 twice. The projector onto that
    # eigenspace is a smooth function of A; its derivative needs the 1/(w_j - w_i)
    # factors of the tie to be 0, as eigengrad takes them (PyTorch: NaN).
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    a = q @ np.diag([1.0, 1.0, 4.0]) @ q.T

    def projector(x):
        v = la.eigh(x).eigenvectors[:, :2]
        return v @ eg.transpose(v)

    assert eg.gradcheck(projector, a)
    g = eg.grad(lambda x: eg.sum(la.eigh(x).eigenvalues * np.array([1.0, 2.0, 3.0])))(np.eye(3)).numpy()
    assert np.isfinite(g).all()
    g = eg.grad(lambda x: eg.sum(la.eigh(x).eigenvectors))(np.eye(3)).numpy()
    assert np.isfinite(g).all()


def test_svd_at_repeated_singular_values_is_right_for_gauge_invariant_losses():
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))  # every singular value is 1

    def polar(x):  # U Vh does not depend on the basis chosen
        u, s, vh = la.svd(x)
        return u @ vh

    assert eg.gradcheck(polar, q)
    assert eg.gradcheck(lambda x: la.svd(x, compute_uv=False), q + 0.1 * np.diag([3.0, 2.0, 1.0]))


def test_det_gradient_at_singular_matrices_is_the_cofactor_matrix():
    b = rng.standard_normal((4, 3))
    rank3 = b @ rng.standard_normal((3, 4))
    for a in (rank3, np.array([[1.0, 2.0], [2.0, 4.0]]), np.zeros((3, 3)), invertible(4, 4)):
        x = eg.Variable(a, requires_grad=True)
        (g,) = eg.autograd.grad(la.det(x), [x])
        np.testing.assert_allclose(g.numpy(), adjugate(a).T, atol=1e-10 * max(1.0, np.abs(a).max() ** 3))
        _, t = eg.jvp(la.det, (a,), (np.ones_like(a),))
        np.testing.assert_allclose(t.item(), adjugate(a).sum(), atol=1e-9)
    assert np.abs(adjugate(rank3)).max() > 1e-3  # rank n - 1: a non-zero gradient
    # second derivatives need the inverse: at an exactly singular matrix they raise
    x = eg.Variable(np.array([[1.0, 2.0], [2.0, 4.0]]), requires_grad=True)
    (g,) = eg.autograd.grad(la.det(x), [x], create_graph=True)
    with pytest.raises(la.LinAlgError, match="det: the derivative at a singular matrix"):
        eg.autograd.grad(eg.sum(g), [x])


def test_slogdet_sign_is_a_constant_and_its_gradient_at_a_singular_matrix_raises():
    a = -invertible(3, 3)
    sign, logdet = la.slogdet(a)
    assert not sign.requires_grad
    s0, l0 = np.linalg.slogdet(a)
    assert sign.item() == s0
    np.testing.assert_allclose(logdet.item(), l0, rtol=1e-14)
    sing = np.array([[1.0, 2.0], [2.0, 4.0]])
    s, l = la.slogdet(sing)
    assert s.item() == 0 and l.item() == -np.inf
    with pytest.raises(la.LinAlgError, match="slogdet: the derivative at a singular matrix"):
        eg.grad(lambda x: la.slogdet(x).logabsdet)(sing)


def test_logdet_hessian_is_minus_the_kronecker_product_of_the_inverse():
    a = invertible(3, 3)
    h = eg.hessian(lambda x: la.slogdet(x).logabsdet)(a).numpy()
    w = np.linalg.inv(a)
    np.testing.assert_allclose(h, -np.einsum("li,jk->ijkl", w, w), rtol=1e-10, atol=1e-12)


def test_jacobians_in_both_modes_agree_with_broadcast_batches():
    a, b = invertible(2, 1, 3, 3), rng.standard_normal((4, 3, 2))
    for mode in ("rev", "fwd"):
        ja, jb = eg.jacobian(la.solve, argnums=(0, 1), mode=mode)(a, b)
        if mode == "rev":
            ref = (ja.numpy(), jb.numpy())
        else:
            np.testing.assert_allclose(ja.numpy(), ref[0], rtol=1e-12, atol=1e-13)
            np.testing.assert_allclose(jb.numpy(), ref[1], rtol=1e-12, atol=1e-13)


def test_float32_stays_float32():
    a = spd(2, 3, 3).astype(np.float32)
    for out in (la.inv(a), la.det(a), la.cholesky(a), la.solve(a, np.ones(3, np.float32)), *la.qr(a), *la.eigh(a),
                *la.svd(a), *la.slogdet(a)):
        assert out.dtype == np.float32
    assert la.solve(a, np.ones(3)).dtype == np.float64  # promotion


def test_results_are_the_same_bits_for_any_batch_and_thread_count():
    a = symmetric(6, 8, 8)
    outs = []
    for threads in (1, 2):
        eg.set_num_threads(threads)
        try:
            outs.append([np.asarray(t).copy() for t in (la.inv(a), la.det(a), *la.qr(a), *la.eigh(a), *la.svd(a))])
        finally:
            eg.set_num_threads(1)
    single = [np.asarray(t) for t in (la.inv(a[3]), la.det(a[3]), *la.qr(a[3]), *la.eigh(a[3]), *la.svd(a[3]))]
    for x, y, z in zip(*outs, single):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x[3], z)


# ---- against PyTorch ------------------------------------------------------------------------


def _torch_cases(torch):
    """name -> (input, eigengrad f, torch f): scalar losses with fixed weights, signs
    fixed as eigengrad's (a locally constant factor), symmetric inputs parameterised."""
    w = {k: rng.standard_normal(s) for k, s in
         [("3x3", (2, 3, 3)), ("4x3", (2, 4, 3)), ("3", (2, 3)), ("2", (2,))]}

    def t_w(name):
        return torch.tensor(w[name])

    def fix_signs_t(v):
        idx = v.abs().argmax(dim=-2, keepdim=True)
        return torch.sign(torch.gather(v, -2, idx)).detach()

    def eg_sym(b):
        return b @ eg.transpose(b, (0, 2, 1)) + np.eye(3)

    def t_sym(b):
        return b @ b.transpose(-1, -2) + torch.eye(3, dtype=b.dtype)

    def t_qr(a):
        q, r = torch.linalg.qr(a)
        d = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).detach()[..., None, :]
        return (q * d * t_w("4x3")).sum() + (r * d.transpose(-1, -2) * t_w("3x3")).sum()

    def t_eigh(b):
        e, v = torch.linalg.eigh(t_sym(b))
        return (e * t_w("3")).sum() + (v * fix_signs_t(v) * t_w("3x3")).sum()

    def t_svd(a):
        u, s, vh = torch.linalg.svd(a, full_matrices=False)
        sg = fix_signs_t(u)
        return (u * sg * t_w("4x3")).sum() + (s * t_w("3")).sum() + (vh * sg.transpose(-1, -2) * t_w("3x3")).sum()

    return {
        "solve": (invertible(2, 3, 3), lambda a: eg.sum(la.solve(a, w["3x3"]) * w["3x3"]),
                  lambda a: (torch.linalg.solve(a, t_w("3x3")) * t_w("3x3")).sum()),
        "inv": (invertible(2, 3, 3), lambda a: eg.sum(la.inv(a) * w["3x3"]),
                lambda a: (torch.linalg.inv(a) * t_w("3x3")).sum()),
        "det": (invertible(2, 3, 3), lambda a: eg.sum(la.det(a) * w["2"]),
                lambda a: (torch.linalg.det(a) * t_w("2")).sum()),
        "slogdet": (invertible(2, 3, 3), lambda a: eg.sum(la.slogdet(a).logabsdet * w["2"]),
                    lambda a: (torch.linalg.slogdet(a).logabsdet * t_w("2")).sum()),
        "cholesky": (rng.standard_normal((2, 3, 3)), lambda b: eg.sum(la.cholesky(eg_sym(b)) * w["3x3"]),
                     lambda b: (torch.linalg.cholesky(t_sym(b)) * t_w("3x3")).sum()),
        "qr": (rng.standard_normal((2, 4, 3)),
               lambda a: eg.sum(la.qr(a).Q * w["4x3"]) + eg.sum(la.qr(a).R * w["3x3"]),
               lambda a: t_qr(a)),
        "eigh": (rng.standard_normal((2, 3, 3)),
                 lambda b: eg.sum(la.eigh(eg_sym(b)).eigenvalues * w["3"]) + eg.sum(la.eigh(eg_sym(b)).eigenvectors * w["3x3"]),
                 t_eigh),
        "svd": (rng.standard_normal((2, 4, 3)),
                lambda a: eg.sum(la.svd(a, full_matrices=False).U * w["4x3"]) + eg.sum(la.svd(a).S * w["3"])
                + eg.sum(la.svd(a, full_matrices=False).Vh * w["3x3"]),
                t_svd),
    }


@pytest.mark.parametrize("name", ["solve", "inv", "det", "slogdet", "cholesky", "qr", "eigh", "svd"])
def test_gradients_and_second_derivatives_match_pytorch(name):
    torch = pytest.importorskip("torch")
    x, f, tf = _torch_cases(torch)[name]
    xt = torch.tensor(x, requires_grad=True)
    (g1,) = torch.autograd.grad(tf(xt), xt, create_graph=True)
    direction = rng.standard_normal(x.shape)
    (g2,) = torch.autograd.grad((g1 * torch.tensor(direction)).sum(), xt)
    v = eg.Variable(x, requires_grad=True)
    (e1,) = eg.autograd.grad(f(v), [v], create_graph=True)
    (e2,) = eg.autograd.grad(eg.sum(e1 * direction), [v])
    np.testing.assert_allclose(e1.numpy(), g1.detach().numpy(), rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(e2.numpy(), g2.numpy(), rtol=1e-9, atol=1e-10)
    # forward mode: the directional derivative is <gradient, direction>, and forward
    # over reverse gives the same Hessian-vector product
    _, t = eg.jvp(f, (x,), (direction,))
    np.testing.assert_allclose(t.item(), np.sum(g1.detach().numpy() * direction), rtol=1e-10)
    _, hv = eg.hvp(f, (x,), (direction,))
    np.testing.assert_allclose(np.asarray(hv[0]), g2.numpy(), rtol=1e-9, atol=1e-10)

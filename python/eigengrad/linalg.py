"""Linear algebra with gradients: ``numpy.linalg``'s names and semantics.

Every function takes Variables or array-likes, works on stacks of matrices (the
last two axes hold the matrices, leading axes are a batch), keeps float32 and
float64 (integer input becomes float64; mixed inputs promote) and is
differentiable in both modes and to any order. Errors name the op and the shapes:
non-square or 1-D input is a ``ValueError``; a singular or indefinite matrix, or
NaN/inf given to ``eigh`` or ``svd``, is a :class:`LinAlgError`.

Conventions (pinned by tests/ops/test_decompositions.py):

- ``qr``: ``R`` has a non-negative diagonal (unique for full column rank);
  NumPy's signs may differ by column.
- ``eigh``: eigenvalues ascending; each eigenvector's entry of largest magnitude
  is positive. ``svd``: singular values descending; each column of ``U`` has its
  entry of largest magnitude positive (``Vh``'s row flipped with it).
- ``cholesky`` and ``eigh`` read one triangle of ``a`` (the lower by default), as
  NumPy; their gradient is the derivative of that function, so it is zero on the
  other side of the diagonal (PyTorch returns a symmetric gradient instead; for a
  symmetric parameterisation both give the same gradient of the parameters).
- At repeated eigenvalues or singular values (equal to ``8 n eps max|w|``) the
  ``1 / (w_j - w_i)`` factors of the rules are taken as 0: finite gradients, right
  for losses that do not depend on the basis chosen inside a repeated eigenspace
  (PyTorch gives inf or NaN).
- ``det``'s gradient is the cofactor matrix, finite and exact at singular
  matrices too; ``slogdet``'s gradient at a singular matrix raises LinAlgError.
- ``svd(full_matrices=True)`` and ``qr(mode="complete")``: the further columns
  beyond ``min(m, n)`` carry no gradient (any orthonormal basis would do).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

from eigengrad._core import Variable
from eigengrad._core import linalg as _linalg

__all__ = ["LinAlgError", "solve", "inv", "det", "slogdet", "cholesky", "qr", "eigh", "svd",
           "SlogdetResult", "QRResult", "EighResult", "SVDResult"]

LinAlgError = _linalg.LinAlgError


class SlogdetResult(NamedTuple):
    sign: Variable
    logabsdet: Variable


class QRResult(NamedTuple):
    Q: Variable
    R: Variable


class EighResult(NamedTuple):
    eigenvalues: Variable
    eigenvectors: Variable


class SVDResult(NamedTuple):
    U: Variable
    S: Variable
    Vh: Variable


def solve(a: Any, b: Any) -> Variable:
    """Solve ``a @ x = b`` for ``x``.

    Parameters
    ----------
    a : (..., M, M) array_like
        Coefficient matrices.
    b : (M,) or (..., M, K) array_like
        Right-hand sides: a vector only when ``b`` is 1-D (NumPy 2), otherwise a
        stack of matrices whose batch axes broadcast with ``a``'s.

    Returns
    -------
    x : Variable
        Shape ``(..., M)`` for a 1-D ``b``, else ``(..., M, K)``.

    Raises
    ------
    LinAlgError
        If a matrix of ``a`` is exactly singular (a zero pivot in LU with partial
        pivoting, NumPy's test).

    Notes
    -----
    Gradients: ``gb = solve(a^T, g)``, ``ga = -gb x^T``.
    """
    x: Variable = _linalg.solve(a, b)  # the stub types _core.linalg as a plain module: Any
    return x


def inv(a: Any) -> Variable:
    """The inverse of each matrix of ``a`` (..., M, M).

    Raises
    ------
    LinAlgError
        If a matrix is exactly singular.

    Notes
    -----
    Gradient: ``ga = -inv(a)^T g inv(a)^T``.
    """
    inverse: Variable = _linalg.inv(a)
    return inverse


def det(a: Any) -> Variable:
    """The determinant of each matrix of ``a`` (..., M, M); 1 for 0 x 0 matrices.

    Notes
    -----
    The gradient is the cofactor matrix ``adj(a)^T`` (``det(a) inv(a)^T`` where
    ``a`` is invertible), computed without the inverse: finite and exact at
    singular matrices (non-zero at rank M - 1, zero below). Second derivatives go
    through ``inv(a)`` and raise LinAlgError at an exactly singular matrix.
    """
    determinant: Variable = _linalg.det(a)
    return determinant


def slogdet(a: Any) -> SlogdetResult:
    """Sign and natural log of the absolute value of the determinant.

    Returns
    -------
    sign : Variable
        -1, 0 or 1 (0 for a singular matrix); a constant (no gradient).
    logabsdet : Variable
        ``log|det a|``, ``-inf`` for a singular matrix.

    Notes
    -----
    Gradient of ``logabsdet``: ``inv(a)^T``; at a singular matrix it does not exist
    and computing it raises LinAlgError.
    """
    sign, logabsdet = _linalg.slogdet(a)
    return SlogdetResult(sign, logabsdet)


def cholesky(a: Any, /, *, upper: bool = False) -> Variable:
    """Cholesky factor ``L`` of each symmetric positive-definite matrix, ``a = L L^T``.

    Parameters
    ----------
    a : (..., M, M) array_like
        Only the lower triangle is read (the upper one with ``upper=True``).
    upper : bool
        Return the upper factor ``L^T`` instead (as NumPy 2).

    Raises
    ------
    LinAlgError
        If a matrix is not positive definite (or holds NaN).

    Notes
    -----
    The gradient is the derivative of the function of the triangle read: zero on
    the other side of the diagonal (see the module docstring).
    """
    factor: Variable = _linalg.cholesky(a, upper)
    return factor


def qr(a: Any, mode: str = "reduced") -> Union[QRResult, Variable]:
    """QR decomposition ``a = Q R`` of each (M, N) matrix, ``K = min(M, N)``.

    Parameters
    ----------
    mode : {"reduced", "complete", "r"}
        ``"reduced"``: Q (..., M, K), R (..., K, N). ``"complete"``: Q (..., M, M),
        R (..., M, N). ``"r"``: R only.

    Returns
    -------
    QRResult(Q, R), or R for ``mode="r"``.

    Notes
    -----
    R's diagonal is non-negative (the unique QR of a full-rank matrix; NumPy's
    column signs may differ). Gradients need ``a``'s first K columns independent;
    with ``mode="complete"`` and M > N the further columns of Q carry no gradient.
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"qr: unrecognized mode {mode!r}; use 'reduced', 'complete' or 'r'")
    q, r = _linalg.qr(a, mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def eigh(a: Any, UPLO: str = "L") -> EighResult:
    """Eigenvalues and eigenvectors of each real symmetric matrix of ``a``.

    Parameters
    ----------
    a : (..., M, M) array_like
        Only the triangle named by ``UPLO`` is read.
    UPLO : {"L", "U"}
        Lower (default) or upper triangle.

    Returns
    -------
    EighResult(eigenvalues, eigenvectors)
        Eigenvalues (..., M) ascending; eigenvectors (..., M, M) as columns, each
        with its entry of largest magnitude positive.

    Raises
    ------
    LinAlgError
        If the triangle read holds NaN or inf, or the iteration does not converge.

    Notes
    -----
    Gradients use ``1 / (w_j - w_i)``, taken as 0 where two eigenvalues agree to
    rounding, ``8 M eps max|w|`` (finite; right for losses invariant to the basis of
    a repeated eigenspace, such as functions of the eigenvalues or projectors).
    """
    if UPLO not in ("L", "U", "l", "u"):
        raise ValueError(f"eigh: UPLO argument must be 'L' or 'U', got {UPLO!r}")
    w, v = _linalg.eigh(a, UPLO in ("U", "u"))
    return EighResult(w, v)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Union[SVDResult, Variable]:
    """Singular value decomposition ``a = U @ (S[..., None] * Vh)``.

    Parameters
    ----------
    a : (..., M, N) array_like
    full_matrices : bool
        True (NumPy's default): U (..., M, M) and Vh (..., N, N); the columns of U
        and rows of Vh beyond ``K = min(M, N)`` carry no gradient (PyTorch's rule:
        any orthonormal basis of the complement would do). False: U (..., M, K),
        Vh (..., K, N).
    compute_uv : bool
        False returns S alone.
    hermitian : bool
        Only False is supported (NotImplementedError otherwise).

    Returns
    -------
    SVDResult(U, S, Vh), or S when ``compute_uv`` is False. S (..., K) descending;
    each column of U has its entry of largest magnitude positive.

    Raises
    ------
    LinAlgError
        If the input holds NaN or inf.

    Notes
    -----
    Derivatives of U and Vh exist where the singular values are distinct (and
    non-zero when M != N). Where two agree to rounding (``8 K eps max(S)``) the
    ``1 / (s_j - s_i)`` factors are taken as 0 (the ``1 / (s_i + s_j)`` ones
    stay): the gradient is then right for gauge-invariant losses such as
    ``U @ Vh`` or functions of S.
    """
    if hermitian:
        raise NotImplementedError("svd: hermitian=True is not supported; use eigh for symmetric matrices")
    u, s, vh = _linalg.svd(a, bool(full_matrices) and bool(compute_uv))
    return SVDResult(u, s, vh) if compute_uv else s

// Batched matrix decompositions (Eigen's LU, LLT, Householder QR, self-adjoint
// eigensolver and SVD) behind eg.linalg. Tensors are row-major and contiguous; the
// last two axes hold the matrices and every leading axis is a batch axis. The ops
// (cpp/src/ops/decompositions.cpp) check shapes before calling: these kernels only
// raise LinAlgError for what the values make impossible (a singular or indefinite
// matrix, non-finite input to an iterative method), naming `op`, the input's shape
// and, for a batch, the index of the offending matrix.
//
// Results depend on nothing but the input matrix: each matrix of a batch is
// factored on its own, in a fixed order, with Eigen on one thread.
#pragma once

#include <utility>

#include "eigengrad/tensor.h"

namespace eigengrad::kernels {

/// X with a X = b for a (..., n, n) and b (..., n, k) whose batch shapes broadcast
/// to `batch` (LU with partial pivoting; one factorisation per distinct a). An
/// exact zero pivot (LAPACK's test, as NumPy) raises LinAlgError, and so does NaN or
/// inf in a (NumPy returns what its pivoting happens to give).
Tensor lu_solve(const Tensor& a, const Tensor& b, const Shape& batch, const char* op);
/// The inverse of each matrix of a (..., n, n); an exact zero pivot, NaN or inf raises.
Tensor inverse(const Tensor& a, const char* op);
/// det of each matrix: the product of the LU pivots and the permutation's sign.
Tensor det(const Tensor& a);
/// (sign, log|det|) of each matrix; a zero pivot gives (0, -inf), as NumPy.
std::pair<Tensor, Tensor> slogdet(const Tensor& a);
/// The cofactor matrix adj(a)^T, equal to det(a) a^-T where a is invertible and
/// finite (with the right rank-1 value) where a has rank n - 1. Well-conditioned
/// matrices take the LU route, nearly singular ones the SVD's:
/// cof(U S V^T) = det(U) det(V) U diag(prod_{j != i} s_j) V^T.
Tensor cofactor(const Tensor& a);
/// The lower Cholesky factor of each matrix, read from its lower triangle only;
/// a pivot that is not positive (or NaN) raises LinAlgError.
Tensor cholesky(const Tensor& a, const char* op);
/// Householder QR of each (m, n) matrix, m >= n, with R's diagonal made
/// non-negative: [Q; R] packed as (..., m + n, n). With `complete`, also the
/// m - n further columns of the square Q, (..., m, m - n); else undefined.
/// NaN or inf raises LinAlgError.
std::pair<Tensor, Tensor> qr(const Tensor& a, bool complete, const char* op);
/// Eigenvalues (ascending) and eigenvectors of each symmetric matrix, read from
/// its lower triangle: [w; V] packed as (..., n + 1, n), each eigenvector's entry
/// of largest magnitude (the first such) positive. Non-finite input raises.
Tensor eigh(const Tensor& a, const char* op);
/// Reduced SVD of each (m, n) matrix, k = min(m, n): [U; s; V] packed as
/// (..., m + 1 + n, k) (V = Vh^T), s descending, each column of U with its entry of
/// largest magnitude positive (V's column flipped with it). With `full`, also the
/// further columns of the square U and V: (..., m, m - k) and (..., n, n - k).
/// Non-finite input raises LinAlgError.
struct SvdResult {
  Tensor packed, u_rest, v_rest;
};
SvdResult svd(const Tensor& a, bool full, const char* op);

}  // namespace eigengrad::kernels

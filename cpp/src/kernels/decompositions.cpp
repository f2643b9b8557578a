// Batched decompositions through Eigen (decompositions.h). Each matrix is copied
// into a column-major work matrix, factored, and its results written back
// row-major; a batch is a plain loop, so the results are those of one matrix
// whatever the batch size or the thread count.
#include "decompositions.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../dispatch.h"
#include "eigen.h"  // first: it decides what an Eigen assertion does
#include "strided.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>

namespace eigengrad::kernels {

namespace {

template <class T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

Shape batch_of(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

/// For every matrix of the broadcast batch `out`, the index of its matrix in an
/// input of batch shape `in` (right-aligned, size-1 axes repeated).
std::vector<std::int64_t> batch_map(const Shape& in, const Shape& out) {
  const Dims stride = broadcast_strides(in, out);
  const std::int64_t total = shape_numel(out);
  std::vector<std::int64_t> map(static_cast<std::size_t>(total));
  Dims idx(out.size(), 0);
  std::int64_t pos = 0;
  for (std::int64_t i = 0; i < total; ++i) {
    map[static_cast<std::size_t>(i)] = pos;
    for (std::size_t d = out.size(); d-- > 0;) {
      pos += stride[d];
      if (++idx[d] < out[d]) break;
      pos -= stride[d] * out[d];
      idx[d] = 0;
    }
  }
  return map;
}

[[noreturn]] void fail(const char* op, const std::string& what, const Shape& shape, std::int64_t index,
                       std::int64_t batch) {
  std::string where = batch > 1 || shape.size() > 2 ? ", matrix " + std::to_string(index) + " of the batch" : "";
  throw LinAlgError(std::string(op) + ": " + what + " (input of shape " + shape_str(shape) + where + ")");
}

/// Why solve, inv and qr refuse a matrix: pivoting on NaN gives results that depend
/// on the implementation (NumPy's LAPACK and Eigen differ), so none is returned.
constexpr const char* kNotFinite = "the matrix holds NaN or inf";

template <class T>
bool all_finite(const T* p, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return false;
  return true;
}

template <class T>
bool has_zero_pivot(const Eigen::PartialPivLU<Mat<T>>& lu) {
  return (lu.matrixLU().diagonal().array() == T(0)).any();
}

/// Flips the sign of column j of `a` (and of `b`, when given) where its entry of
/// largest magnitude (the first such) is negative.
template <class T>
void largest_entry_positive(Mat<T>& a, Mat<T>* b) {
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    Eigen::Index best = 0;
    for (Eigen::Index i = 1; i < a.rows(); ++i)
      if (std::abs(a(i, j)) > std::abs(a(best, j))) best = i;
    if (a.rows() > 0 && a(best, j) < 0) {
      a.col(j) *= T(-1);
      if (b) b->col(j) *= T(-1);
    }
  }
}

}  // namespace

Tensor lu_solve(const Tensor& a, const Tensor& b, const Shape& batch, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), k = b.shape().back();
  Shape out_shape = batch;
  out_shape.push_back(n);
  out_shape.push_back(k);
  Tensor out(out_shape, a.dtype());
  if (out.numel() == 0) return out;
  const std::vector<std::int64_t> ia = batch_map(batch_of(a.shape()), batch);
  const std::vector<std::int64_t> ib = batch_map(batch_of(b.shape()), batch);
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* pa = a.data_as<T>();
    const T* pb = b.data_as<T>();
    T* po = out.data_as<T>();
    Eigen::PartialPivLU<Mat<T>> lu;
    std::int64_t factored = -1;
    for (std::size_t i = 0; i < ia.size(); ++i) {
      if (ia[i] != factored) {
        const T* ai = pa + ia[i] * n * n;
        if (!all_finite(ai, n * n)) fail(op, kNotFinite, a.shape(), ia[i], shape_numel(batch_of(a.shape())));
        lu.compute(ConstMatrixMap<T>(ai, n, n));
        factored = ia[i];
        if (has_zero_pivot(lu)) fail(op, "singular matrix", a.shape(), ia[i], shape_numel(batch_of(a.shape())));
      }
      MatrixMap<T>(po + static_cast<std::int64_t>(i) * n * k, n, k) =
          lu.solve(ConstMatrixMap<T>(pb + ib[i] * n * k, n, k));
    }
  });
  return out;
}

Tensor inverse(const Tensor& a, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Tensor out(a.shape(), a.dtype());
  if (out.numel() == 0) return out;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::PartialPivLU<Mat<T>> lu;
    for (std::int64_t i = 0; i < batch; ++i) {
      if (!all_finite(a.data_as<T>() + i * n * n, n * n)) fail(op, kNotFinite, a.shape(), i, batch);
      lu.compute(ConstMatrixMap<T>(a.data_as<T>() + i * n * n, n, n));
      if (has_zero_pivot(lu)) fail(op, "singular matrix", a.shape(), i, batch);
      MatrixMap<T>(out.data_as<T>() + i * n * n, n, n) = lu.inverse();
    }
  });
  return out;
}

Tensor det(const Tensor& a) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Tensor out(batch_of(a.shape()), a.dtype());
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::PartialPivLU<Mat<T>> lu;
    for (std::int64_t i = 0; i < batch; ++i) {
      if (n == 0) {
        out.data_as<T>()[i] = T(1);
        continue;
      }
      lu.compute(ConstMatrixMap<T>(a.data_as<T>() + i * n * n, n, n));
      out.data_as<T>()[i] = lu.determinant();
    }
  });
  return out;
}

std::pair<Tensor, Tensor> slogdet(const Tensor& a) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Tensor sign(batch_of(a.shape()), a.dtype()), logabs(batch_of(a.shape()), a.dtype());
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::PartialPivLU<Mat<T>> lu;
    for (std::int64_t i = 0; i < batch; ++i) {
      T s = 1, l = 0;
      if (n > 0) {
        lu.compute(ConstMatrixMap<T>(a.data_as<T>() + i * n * n, n, n));
        s = static_cast<T>(lu.permutationP().determinant());
        for (Eigen::Index j = 0; j < n; ++j) {
          const T u = lu.matrixLU()(j, j);
          if (u == T(0)) {
            s = 0;
            l = -std::numeric_limits<T>::infinity();
            break;
          }
          if (u < 0) s = -s;
          l += std::log(std::abs(u));
        }
      }
      sign.data_as<T>()[i] = s;
      logabs.data_as<T>()[i] = l;
    }
  });
  return {sign, logabs};
}

Tensor cofactor(const Tensor& a) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Tensor out(a.shape(), a.dtype());
  if (out.numel() == 0) return out;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    // Below this estimate of 1/cond, det(a) a^-T loses more than a thousandth of
    // the digits: the SVD's product of singular values does not.
    constexpr T kLuFrom = T(1e-3);
    Eigen::PartialPivLU<Mat<T>> lu;
    for (std::int64_t i = 0; i < batch; ++i) {
      const T* pa = a.data_as<T>() + i * n * n;
      MatrixMap<T> o(out.data_as<T>() + i * n * n, n, n);
      if (!all_finite(pa, n * n)) {
        o.setConstant(std::numeric_limits<T>::quiet_NaN());
        continue;
      }
      if (n == 1) {
        o(0, 0) = T(1);
        continue;
      }
      lu.compute(ConstMatrixMap<T>(pa, n, n));
      if (!has_zero_pivot(lu) && lu.rcond() > kLuFrom) {
        o = lu.determinant() * lu.inverse().transpose();
        continue;
      }
      Eigen::JacobiSVD<Mat<T>> svd(ConstMatrixMap<T>(pa, n, n), Eigen::ComputeFullU | Eigen::ComputeFullV);
      const auto& s = svd.singularValues();
      Eigen::Matrix<T, Eigen::Dynamic, 1> others(n);
      T before = 1;
      for (Eigen::Index j = 0; j < n; ++j) {
        others(j) = before;
        before *= s(j);
      }
      T after = 1;
      for (Eigen::Index j = n; j-- > 0;) {
        others(j) *= after;
        after *= s(j);
      }
      const T orientation = svd.matrixU().determinant() * svd.matrixV().determinant() > 0 ? T(1) : T(-1);
      o = orientation * svd.matrixU() * others.asDiagonal() * svd.matrixV().transpose();
    }
  });
  return out;
}

Tensor cholesky(const Tensor& a, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Tensor out(a.shape(), a.dtype());
  if (out.numel() == 0) return out;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::LLT<Mat<T>, Eigen::Lower> llt;
    for (std::int64_t i = 0; i < batch; ++i) {
      llt.compute(ConstMatrixMap<T>(a.data_as<T>() + i * n * n, n, n));
      Mat<T> l = llt.matrixL();
      // Eigen stops at a pivot <= 0 but lets a NaN one through: both are refused.
      const auto d = l.diagonal().array();
      if (llt.info() != Eigen::Success || !(d > T(0)).all() || !d.isFinite().all())
        fail(op, "matrix is not positive definite", a.shape(), i, batch);
      MatrixMap<T>(out.data_as<T>() + i * n * n, n, n) = l;
    }
  });
  return out;
}

std::pair<Tensor, Tensor> qr(const Tensor& a, bool complete, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t m = a.shape()[a.shape().size() - 2], n = a.shape().back();
  const std::int64_t batch = shape_numel(batch_of(a.shape()));
  Shape packed_shape = batch_of(a.shape()), rest_shape = batch_of(a.shape());
  packed_shape.insert(packed_shape.end(), {m + n, n});
  rest_shape.insert(rest_shape.end(), {m, m - n});
  Tensor packed(packed_shape, a.dtype()), rest = complete ? Tensor(rest_shape, a.dtype()) : Tensor();
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::HouseholderQR<Mat<T>> hqr;
    for (std::int64_t i = 0; i < batch; ++i) {
      if (n == 0) {
        if (complete) MatrixMap<T>(rest.data_as<T>() + i * m * m, m, m).setIdentity();
        continue;
      }
      Mat<T> ai = ConstMatrixMap<T>(a.data_as<T>() + i * m * n, m, n);
      if (!ai.allFinite()) fail(op, kNotFinite, a.shape(), i, batch);
      // Householder vectors are normalised through squared norms, which overflow
      // from |a| ~ 1e154 (float64): huge matrices are scaled by a power of two first
      // (exact), and R scaled back.
      const T big = std::ldexp(T(1), std::numeric_limits<T>::max_exponent / 2 - 12);
      const T largest = ai.cwiseAbs().maxCoeff();
      const T scale = largest > big ? std::ldexp(T(1), std::ilogb(largest)) : T(1);
      hqr.compute(ai / scale);
      Mat<T> r = hqr.matrixQR().topRows(n).template triangularView<Eigen::Upper>();
      r *= scale;
      Mat<T> q = complete ? Mat<T>(hqr.householderQ() * Mat<T>::Identity(m, m))
                          : Mat<T>(hqr.householderQ() * Mat<T>::Identity(m, n));
      for (Eigen::Index j = 0; j < n; ++j)
        if (r(j, j) < 0) {
          r.row(j) *= T(-1);
          q.col(j) *= T(-1);
        }
      MatrixMap<T> p(packed.data_as<T>() + i * (m + n) * n, m + n, n);
      p.topRows(m) = q.leftCols(n);
      p.bottomRows(n) = r;
      if (complete) MatrixMap<T>(rest.data_as<T>() + i * m * (m - n), m, m - n) = q.rightCols(m - n);
    }
  });
  return {packed, rest};
}

Tensor eigh(const Tensor& a, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t n = a.shape().back(), batch = shape_numel(batch_of(a.shape()));
  Shape packed_shape = batch_of(a.shape());
  packed_shape.insert(packed_shape.end(), {n + 1, n});
  Tensor packed(packed_shape, a.dtype());
  if (packed.numel() == 0) return packed;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    Eigen::SelfAdjointEigenSolver<Mat<T>> es;
    for (std::int64_t i = 0; i < batch; ++i) {
      Mat<T> w = ConstMatrixMap<T>(a.data_as<T>() + i * n * n, n, n);
      // Only the lower triangle is read, as by the solver.
      if (!w.template triangularView<Eigen::Lower>().toDenseMatrix().allFinite())
        fail(op, "eigenvalues did not converge: the input holds NaN or inf", a.shape(), i, batch);
      es.compute(w, Eigen::ComputeEigenvectors);
      if (es.info() != Eigen::Success) fail(op, "eigenvalues did not converge", a.shape(), i, batch);
      Mat<T> v = es.eigenvectors();
      largest_entry_positive<T>(v, nullptr);
      MatrixMap<T> p(packed.data_as<T>() + i * (n + 1) * n, n + 1, n);
      p.row(0) = es.eigenvalues().transpose();
      p.bottomRows(n) = v;
    }
  });
  return packed;
}

SvdResult svd(const Tensor& a, bool full, const char* op) {
  keep_eigen_single_threaded();
  const std::int64_t m = a.shape()[a.shape().size() - 2], n = a.shape().back(), k = std::min(m, n);
  const std::int64_t batch = shape_numel(batch_of(a.shape()));
  Shape packed_shape = batch_of(a.shape()), u_shape = batch_of(a.shape()), v_shape = batch_of(a.shape());
  packed_shape.insert(packed_shape.end(), {m + 1 + n, k});
  u_shape.insert(u_shape.end(), {m, m - k});
  v_shape.insert(v_shape.end(), {n, n - k});
  SvdResult result{Tensor(packed_shape, a.dtype()), full ? Tensor(u_shape, a.dtype()) : Tensor(),
                   full ? Tensor(v_shape, a.dtype()) : Tensor()};
  // Beyond this size the divide-and-conquer SVD is much faster than one-sided Jacobi.
  constexpr std::int64_t kBdcFrom = 64;
  dispatch(a.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const unsigned options = full ? Eigen::ComputeFullU | Eigen::ComputeFullV : Eigen::ComputeThinU | Eigen::ComputeThinV;
    for (std::int64_t i = 0; i < batch; ++i) {
      ConstMatrixMap<T> ai(a.data_as<T>() + i * m * n, m, n);
      if (k == 0) {
        if (full) MatrixMap<T>(result.u_rest.data_as<T>() + i * m * m, m, m).setIdentity();
        if (full) MatrixMap<T>(result.v_rest.data_as<T>() + i * n * n, n, n).setIdentity();
        continue;
      }
      if (!ai.allFinite()) fail(op, "SVD did not converge: the input holds NaN or inf", a.shape(), i, batch);
      Mat<T> u, v;
      Eigen::Matrix<T, Eigen::Dynamic, 1> s;
      if (k >= kBdcFrom) {
        Eigen::BDCSVD<Mat<T>> dc(ai, options);
        u = dc.matrixU(), v = dc.matrixV(), s = dc.singularValues();
      } else {
        Eigen::JacobiSVD<Mat<T>> jacobi(ai, options);
        u = jacobi.matrixU(), v = jacobi.matrixV(), s = jacobi.singularValues();
      }
      if (!s.allFinite()) fail(op, "SVD did not converge", a.shape(), i, batch);
      Mat<T> uk = u.leftCols(k), vk = v.leftCols(k);
      largest_entry_positive<T>(uk, &vk);
      MatrixMap<T> p(result.packed.data_as<T>() + i * (m + 1 + n) * k, m + 1 + n, k);
      p.topRows(m) = uk;
      p.row(m) = s.transpose();
      p.bottomRows(n) = vk;
      if (full) {
        MatrixMap<T>(result.u_rest.data_as<T>() + i * m * (m - k), m, m - k) = u.rightCols(m - k);
        MatrixMap<T>(result.v_rest.data_as<T>() + i * n * (n - k), n, n - k) = v.rightCols(n - k);
      }
    }
  });
  return result;
}

}  // namespace eigengrad::kernels

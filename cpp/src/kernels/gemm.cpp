// Batched matrix products through Eigen's GEMM (or a loaded BLAS library: kernels/blas.cpp),
// with the transposes of the backward rules folded into the product instead of copied.
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "../dispatch.h"
#include "blas.h"
#include "eigen.h"
#include "kernels.h"
#include "parallel.h"
#include "strided.h"

namespace eigengrad::kernels {

namespace {

// Products of at least this many multiply-adds are split over threads by rows.
constexpr double kParallelGemmFrom = 1 << 24;

// Products with at most this many columns are done column by column (Note [Narrow
// products]).
constexpr std::int64_t kNarrowColumns = 4;

// Square matrices from this size on are checked for being diagonal first.
constexpr std::int64_t kDiagonalCheckFrom = 32;

/// True when the square n x n matrix p has zeros (+0 or -0) off its diagonal. Stops
/// at the first row with an off-diagonal nonzero, so a dense matrix costs a row.
/// Why bits: a diagonal matrix is read whole (a Jacobian's scaled basis, every
/// pass), and an OR of the bits without the sign, unlike a compare-and-branch per
/// element, vectorises: 1.7 instead of 10-13 us for 100 x 100 float64.
template <class T>
bool is_diagonal(const T* p, std::int64_t n) {
  using Bits = std::conditional_t<sizeof(T) == 8, std::uint64_t, std::uint32_t>;
  static_assert(sizeof(Bits) == sizeof(T));
  if (n < kDiagonalCheckFrom) return false;
  auto bits_of = [](const T* q) {
    Bits b;
    std::memcpy(&b, q, sizeof b);
    return static_cast<Bits>(b << 1);  // the sign bit out: -0 is zero; NaN and inf stay nonzero
  };
  for (std::int64_t i = 0; i < n; ++i) {
    const T* row = p + i * n;
    Bits any = 0;
    for (std::int64_t j = 0; j < i; ++j) any |= bits_of(row + j);
    for (std::int64_t j = i + 1; j < n; ++j) any |= bits_of(row + j);
    if (any != 0) return false;
  }
  return true;
}

template <class T>
void gemm(const T* x, std::int64_t xr, std::int64_t xc, bool tx, const T* y, std::int64_t yr,
          std::int64_t yc, bool ty, T* out, std::int64_t m, std::int64_t n) {
  ConstMatrixMap<T> X(x, xr, xc);
  ConstMatrixMap<T> Y(y, yr, yc);
  MatrixMap<T> O(out, m, n);
  // A diagonal factor makes the product a scaling of rows or columns: O(n^2), not
  // O(n^3). Whole Jacobians meet this every time: a basis of unit (co)tangents
  // scaled by an element-wise derivative is diagonal. (Unlike a GEMM, the zeros
  // then do not turn infinities of the other factor into NaN.)
  if (xr == xc && is_diagonal(x, xr)) {
    auto d = X.diagonal().array();
    if (ty) O = (Y.transpose().array().colwise() * d).matrix();
    else O = (Y.array().colwise() * d).matrix();
    return;
  }
  if (yr == yc && is_diagonal(y, yr)) {
    auto d = Y.diagonal().transpose().array();
    if (tx) O = (X.transpose().array().rowwise() * d).matrix();
    else O = (X.array().rowwise() * d).matrix();
    return;
  }
  const std::int64_t k = tx ? xr : xc;
  const bool large = static_cast<double>(m) * n * k >= kParallelGemmFrom;
  const bool blas = blas_takes<T>(m, n, k);  // a loaded BLAS library, for the sizes where it wins
  // Rows [r0, r0 + len) of the product, on the calling thread: one-thread BLAS or
  // Eigen (kept single-threaded: see keep_eigen_single_threaded).
  auto rows = [&](std::int64_t r0, std::int64_t len) {
    if (blas) {
      // Row r of op(X) is row r of X, or column r of X when transposed.
      blas_gemm(tx ? x + r0 : x + r0 * xc, xc, tx, y, yc, ty, out + r0 * n, len, n, k);
      return;
    }
    // Note [Narrow products]: a matrix times a few vectors, as in a Hessian-vector
    // product's W [h | t], column by column as matrix-vector products. Eigen's GEMM
    // packs the whole matrix for them: W^T [g | dg] with W 1000 x 1000 took 0.43 ms
    // as one product, 0.20 ms as two.
    auto product = [&](const auto& A, const auto& B) {  // A = op(X), B = op(Y)
      if (n <= kNarrowColumns)
        for (std::int64_t j = 0; j < n; ++j) O.col(j).segment(r0, len).noalias() = A.middleRows(r0, len) * B.col(j);
      else
        O.middleRows(r0, len).noalias() = A.middleRows(r0, len) * B;
    };
    if (!tx && !ty) product(X, Y);
    else if (!tx && ty) product(X, Y.transpose());
    else if (tx && !ty) product(X.transpose(), Y);
    else product(X.transpose(), Y.transpose());
  };
  const int threads = get_num_threads();
  if (threads > 1 && m >= 2 * threads && large) {
    // Large products only: a parallel region costs tens of microseconds when
    // another process holds a core, which small products must not pay. BLAS too is
    // split here, one BLAS thread per block, rather than run on its own pool: the
    // two pools' idle threads each spin for a while after their work, and on two
    // cores they took the cores from each other (Note [One thread pool], blas.cpp).
    const std::int64_t per = (m + threads - 1) / threads;
#ifdef _OPENMP
#pragma omp parallel for num_threads(threads) schedule(static)
#endif
    for (int t = 0; t < threads; ++t) {
      const std::int64_t r0 = std::min<std::int64_t>(m, t * per);
      const std::int64_t len = std::min<std::int64_t>(m - r0, per);
      if (len > 0) rows(r0, len);
    }
    return;
  }
  rows(0, m);
}

}  // namespace

Tensor matmul(const Tensor& x, const Tensor& y, bool tx, bool ty) {
  keep_eigen_single_threaded();
  const Shape& xs = x.shape();
  const Shape& ys = y.shape();
  const std::int64_t xr = xs[xs.size() - 2], xc = xs.back();
  const std::int64_t yr = ys[ys.size() - 2], yc = ys.back();
  const std::int64_t m = tx ? xc : xr, k = tx ? xr : xc, n = ty ? yr : yc;
  Shape xb(xs.begin(), xs.end() - 2), yb(ys.begin(), ys.end() - 2);
  Shape batch = broadcast_shapes("matmul", xb, yb);
  Shape shape = batch;
  shape.push_back(m);
  shape.push_back(n);
  Tensor out(shape, x.dtype());
  if (out.numel() == 0) return out;
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* px = x.data_as<T>();
    const T* py = y.data_as<T>();
    T* po = out.data_as<T>();
    if (k == 0) {
      MatrixMap<T>(po, out.numel(), 1).setZero();
      return;
    }
    if (yb.empty() && !tx) {  // (..., m, k) @ (k, n): one GEMM over the stacked rows
      const std::int64_t rows = x.numel() / xc;
      gemm(px, rows, xc, false, py, yr, yc, ty, po, rows, n);
      return;
    }
    if (xb.empty() && n == 1) {
      // op(X) @ (B columns y_b): the columns are the rows of a (B, k) matrix, so
      // out (B, m) = Y (B, k) @ op(X)^T, one GEMM instead of B matrix-vector
      // products (the batched cotangents of a Jacobian take this path).
      const std::int64_t batch_count = out.numel() / m;
      gemm(py, batch_count, k, false, px, xr, xc, !tx, po, batch_count, m);
      return;
    }
    std::array<Dims, 3> strides{contiguous_strides(batch), broadcast_strides(xb, batch),
                                broadcast_strides(yb, batch)};
    const std::int64_t x_mat = xr * xc, y_mat = yr * yc, o_mat = m * n;
    for_each_row<3>(batch, strides, [&](const auto& off, std::int64_t count, const auto& s) {
      for (std::int64_t i = 0; i < count; ++i)
        gemm(px + (off[1] + i * s[1]) * x_mat, xr, xc, tx, py + (off[2] + i * s[2]) * y_mat, yr, yc,
             ty, po + (off[0] + i * s[0]) * o_mat, m, n);
    });
  });
  return out;
}

}  // namespace eigengrad::kernels

// Fused kernels of the neural-network ops: row-wise loops over Eigen maps.
#include <cmath>

#include "../dispatch.h"
#include "eigen.h"
#include "kernels.h"
#include "math.h"
#include "math_float.h"
#include "nn_kernels.h"
#include "strong_zero.h"
#include "sum.h"

namespace eigengrad::kernels {

Tensor linear(const Tensor& x, const Tensor& W, const Tensor& b) {
  Tensor out = matmul(x, W, false, true);
  if (!b.defined() || out.numel() == 0) return out;
  dispatch(out.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::int64_t rows = out.shape()[0], cols = out.shape()[1];
    MatrixMap<T> O(out.data_as<T>(), rows, cols);
    Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>> B(b.data_as<T>(), cols);
    O.rowwise() += B;
  });
  return out;
}

// Why one pass of exp: e = exp(x - max) is both the softmax numerator and, summed,
// the log-sum-exp; the max shift keeps every exponent <= 0 (finite at +-1000).
Tensor cross_entropy(const Tensor& logits, const std::vector<std::int64_t>& labels, Tensor& probs) {
  const std::int64_t rows = logits.shape()[0], cols = logits.shape()[1];
  Tensor loss({rows}, logits.dtype());
  probs = Tensor({rows, cols}, logits.dtype());
  dispatch(logits.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* x = logits.data_as<T>();
    T* p = probs.data_as<T>();
    T* l = loss.data_as<T>();
    for (std::int64_t i = 0; i < rows; ++i) {
      const T* xi = x + i * cols;
      T m = xi[0];  // the row's max, NaN if any is (then the whole row is NaN)
      for (std::int64_t j = 1; j < cols; ++j) m = (xi[j] > m || xi[j] != xi[j]) ? xi[j] : m;
      l[i] = m;  // kept here until the loss replaces it
      for (std::int64_t j = 0; j < cols; ++j) p[i * cols + j] = xi[j] - m;
    }
    // One vectorised pass of exp over every row at once (rows are often short).
    const std::int64_t n = rows * cols;
    for (std::int64_t k = 0; k < n; ++k) p[k] = math::exp(p[k]);
    for (std::int64_t i = 0; i < rows; ++i) {
      T* pi = p + i * cols;
      const T s = sum(pi, cols);
      const T inv = T(1) / s;
      for (std::int64_t j = 0; j < cols; ++j) pi[j] *= inv;
      // x_label - m first: exact near the max.
      l[i] = math::log(s) - (x[i * cols + labels[i]] - l[i]);
    }
  });
  return loss;
}

Tensor cross_entropy_backward(const Tensor& probs, const std::vector<std::int64_t>& labels,
                              const Tensor& scale, bool strong) {
  const std::int64_t rows = probs.shape()[0], cols = probs.shape()[1];
  Tensor gx({rows, cols}, probs.dtype());
  dispatch(probs.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    ConstMatrixMap<T> P(probs.data_as<T>(), rows, cols);
    MatrixMap<T> G(gx.data_as<T>(), rows, cols);
    const T* s = scale.data_as<T>();
    const bool per_row = scale.numel() == rows && rows != 1;
    for (std::int64_t i = 0; i < rows; ++i) {
      const T w = per_row ? s[i] : s[0];
      G.row(i) = P.row(i) * w;
      G(i, labels[i]) -= w;
      // Note [Strong zero]: a zero cotangent gives a zero row, also where the row's
      // probabilities are NaN (a NaN or inf logit). Other rows are untouched.
      if (strong && w == T(0))
        for (std::int64_t j = 0; j < cols; ++j) G(i, j) = G(i, j) != G(i, j) ? T(0) : G(i, j);
    }
  });
  return gx;
}

Tensor bce_with_logits(const Tensor& x, const Tensor& y) {
  Tensor out(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    ConstArrayMap<T> X(x.data_as<T>(), x.numel()), Y(y.data_as<T>(), y.numel());
    T* o = out.data_as<T>();
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      o[i] = (std::max(X(i), T(0)) - X(i) * Y(i)) + math::log1p(math::exp(-std::fabs(X(i))));
    }
  });
  return out;
}

namespace {
template <bool Strong, class T>
void bce_backward_typed(const T* x, const T* y, const T* s, T* g, std::int64_t n, bool per_element) {
  for (std::int64_t i = 0; i < n; ++i) g[i] = rule_mul<Strong>(s[per_element ? i : 0], math::sigmoid(x[i]) - y[i]);
}
}  // namespace

Tensor bce_with_logits_backward(const Tensor& x, const Tensor& y, const Tensor& scale, bool strong) {
  Tensor gx(x.shape(), x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    const std::int64_t n = x.numel();
    const bool per_element = scale.numel() == n && n != 1;
    auto run = strong ? bce_backward_typed<true, T> : bce_backward_typed<false, T>;
    run(x.data_as<T>(), y.data_as<T>(), scale.data_as<T>(), gx.data_as<T>(), n, per_element);
  });
  return gx;
}

Tensor scaled_total(const Tensor& x, double factor) {
  Tensor out({}, x.dtype());
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    out.data_as<T>()[0] = sum(x.data_as<T>(), x.numel()) * static_cast<T>(factor);
  });
  return out;
}

}  // namespace eigengrad::kernels

// Matrix products.
#include <optional>
#include <utility>

#include "common.h"

namespace eigengrad {

using detail::align;
using detail::promote_pair;
using detail::record_op;
using detail::unbroadcast;
using Grads = std::vector<Variable>;

namespace {

// matmul_nt(x, y) = op(x) @ op(y), op transposing the last two axes when its flag
// is set; x and y have ndim >= 2 and broadcast their batch dimensions.
//   vjp (C = A B, A = op(x), B = op(y)):  gA = gout B^T,  gB = A^T gout,
//   each written as one more matmul_nt with the flags that fold every transpose:
//     tx ty | gx                     | gy
//     0  0  | gout @ y^T             | x^T @ gout
//     0  1  | gout @ y               | gout^T @ x
//     1  0  | y @ gout^T             | x @ gout
//     1  1  | y^T @ gout^T           | gout^T @ x^T
//   then unbroadcast to the input's shape over broadcast batch dimensions.
//   jvp: tout = op(tx) @ op(y) + op(x) @ op(ty)
// Note [Primal and tangent in one product]
// In a Hessian-vector product (forward over reverse) the matrix is usually a
// constant and the vector it multiplies carries a tangent: W h and W th each read
// all of W, which dominates when h is a vector. When y is a narrow matrix with a
// single plain tangent t (no batch dimensions, nothing requiring grad) and x is a
// constant, W [h | t] gives both in one pass over W. The tangent is then exactly
// the rule's W t (x has no tangent), and needs no graph of its own.
std::optional<std::pair<Tensor, Tensor>> with_tangent_in_one_product(const Variable& x, const Variable& y,
                                                                     bool tx, bool ty) {
  constexpr std::int64_t kMaxColumns = 8;
  if (!forward_levels_open() || ty || x.ndim() != 2 || y.ndim() != 2 || y.shape()[1] > kMaxColumns) return {};
  if (x.requires_grad() || !x.impl()->tangents.empty() || y.impl()->tangents.size() != 1) return {};
  const Variable& t = y.impl()->tangents[0].second;
  if (t.shape() != y.shape() || t.dtype() != y.dtype() || t.requires_grad() || !t.impl()->tangents.empty())
    return {};
  const std::int64_t n = y.shape()[1];
  Tensor both = kernels::matmul(x.data(), kernels::concatenate({y.data(), t.data()}, 1), tx, false);
  const std::int64_t m = both.shape()[0];
  return std::make_pair(kernels::slice(both, {0, 0}, {1, 1}, {m, n}), kernels::slice(both, {0, n}, {1, 1}, {m, n}));
}

Variable matmul_nt(const Variable& x, const Variable& y, bool tx, bool ty) {
  std::optional<std::pair<Tensor, Tensor>> fused = with_tangent_in_one_product(x, y, tx, ty);
  Variable precomputed = fused ? Variable(fused->second) : Variable();
  return record_op("matmul", fused ? fused->first : kernels::matmul(x.data(), y.data(), tx, ty), {x, y},
                   [x, y, tx, ty](const BackwardArgs& a) -> Grads {
                     const Variable& g = a.gout;
                     Grads out(2);
                     if (a.need(0))
                       out[0] = unbroadcast(tx ? matmul_nt(y, g, ty, true) : matmul_nt(g, y, false, !ty),
                                            x.shape(), a.lead);
                     if (a.need(1))
                       out[1] = unbroadcast(ty ? matmul_nt(g, x, true, tx) : matmul_nt(x, g, !tx, false),
                                            y.shape(), a.lead);
                     return out;
                   },
                   [x, y, tx, ty, precomputed](const JvpArgs& a) {
                     if (precomputed.defined()) return precomputed;
                     const std::size_t n = static_cast<std::size_t>(a.out.ndim());
                     Variable t;
                     if (a.has(0)) t = matmul_nt(align(a.t(0), x.shape(), n), y, tx, ty);
                     if (a.has(1)) {
                       Variable u = matmul_nt(x, align(a.t(1), y.shape(), n), tx, ty);
                       t = t.defined() ? t + u : u;
                     }
                     return t;
                   });
}

}  // namespace

// matmul(x, y) as numpy.matmul: a 1-D x is a row (1, n), a 1-D y a column (n, 1),
// and the added axes are removed from the result.
Variable matmul(const Variable& x0, const Variable& y0) {
  if (x0.ndim() == 0 || y0.ndim() == 0)
    throw std::invalid_argument("matmul: Input operand " + std::string(x0.ndim() == 0 ? "0" : "1") +
                                " does not have enough dimensions (shapes " + shape_str(x0.shape()) + " and " +
                                shape_str(y0.shape()) + "); use mul for scalars");
  auto [x, y] = promote_pair(x0, y0);
  const bool x_vec = x.ndim() == 1, y_vec = y.ndim() == 1;
  Variable x2 = x_vec ? reshape(x, {1, x.shape()[0]}) : x;
  Variable y2 = y_vec ? reshape(y, {y.shape()[0], 1}) : y;
  const std::int64_t k = x2.shape().back(), k2 = y2.shape()[y2.ndim() - 2];
  if (k != k2)
    throw std::invalid_argument("matmul: mismatch in the contracted dimension: shapes " + shape_str(x0.shape()) +
                                " and " + shape_str(y0.shape()) + " (size " + std::to_string(k) +
                                " is different from " + std::to_string(k2) + ")");
  Shape xb(x2.shape().begin(), x2.shape().end() - 2), yb(y2.shape().begin(), y2.shape().end() - 2);
  try {
    kernels::broadcast_shapes("matmul", xb, yb);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("matmul: batch dimensions of shapes " + shape_str(x0.shape()) + " and " +
                                shape_str(y0.shape()) + " could not be broadcast together");
  }
  Variable out = matmul_nt(x2, y2, false, false);
  if (!x_vec && !y_vec) return out;
  Shape s(out.shape().begin(), out.shape().end() - 2);
  if (!x_vec) s.push_back(out.shape()[out.ndim() - 2]);
  if (!y_vec) s.push_back(out.shape().back());
  return reshape(out, s);
}

}  // namespace eigengrad

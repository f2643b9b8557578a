// Reductions. VJPs reshape gout to the keepdims shape and let broadcasting (or
// broadcast_to) spread it back over the reduced axes; JVPs reduce the tangent over
// the same axes counted from the right, so batch dimensions in front pass through.
#include <cmath>

#include "common.h"

namespace eigengrad {

using kernels::Reduce;
using detail::constant;
using detail::from_right;
using detail::keepdims_shape;
using detail::normalize_axes;
using detail::prefixed;
using detail::record_op;
using detail::strong_div;
using detail::strong_mul;
using Grads = std::vector<Variable>;

// sum(x, axes)
//   vjp: gx = broadcast_to(gout with the reduced axes kept, x.shape)
//   jvp: tout = sum(tx, axes)
Variable sum(const Variable& x, const Axes& axes, bool keepdims) {
  Dims ax = normalize_axes("sum", axes, x.ndim());
  return record_op("sum", kernels::reduce(Reduce::Sum, x.data(), ax, keepdims), {x},
                   [xs = x.shape(), ks = keepdims_shape(x.shape(), ax)](const BackwardArgs& a) -> Grads {
                     Shape lead = a.lead_shape();
                     return {broadcast_to(reshape(a.gout, prefixed(lead, ks)), prefixed(lead, xs))};
                   },
                   [right = from_right(ax, x.ndim()), keepdims](const JvpArgs& a) {
                     return sum(a.t(0), right, keepdims);
                   });
}

// mean(x, axes) = sum(x, axes) / n, n the number of elements reduced (NaN when 0,
// as NumPy)
Variable mean(const Variable& x, const Axes& axes, bool keepdims) {
  Dims ax = normalize_axes("mean", axes, x.ndim());
  double n = 1;
  for (std::int64_t a : ax) n *= static_cast<double>(x.shape()[a]);
  return sum(x, ax, keepdims) * (1.0 / n);
}

namespace {

// max(x, axes) and min(x, axes)
//   share = [x == out] / count(x == out)   (ties share evenly; a NaN out is matched
//                                           by the NaN entries; finite, so the plain
//                                           product keeps a zero cotangent zero)
//   vjp: gx = gout (reduced axes kept) * share
//   jvp: tout = sum(tx * share, axes)
Variable extremum(const char* name, Reduce op, const Variable& x, const Axes& axes, bool keepdims) {
  Dims ax = normalize_axes(name, axes, x.ndim());
  for (std::int64_t a : ax)
    if (x.shape()[a] == 0)
      throw std::invalid_argument(std::string(name) + ": zero-size array of shape " + shape_str(x.shape()) +
                                  " to reduction operation " + name + " which has no identity");
  Shape ks = keepdims_shape(x.shape(), ax);
  auto share = [x, ax, ks](const Variable& out) {
    Tensor hit = kernels::binary(kernels::Binary::Equal, x.data(), out.data().view(ks));
    Tensor count = kernels::reduce(Reduce::Sum, hit, ax, true);
    return constant(kernels::binary(kernels::Binary::Div, hit, count));
  };
  return record_op(name, kernels::reduce(op, x.data(), ax, keepdims), {x},
                   [share, ks](const BackwardArgs& a) -> Grads {
                     return {reshape(a.gout, prefixed(a.lead_shape(), ks)) * share(a.out)};
                   },
                   [share, right = from_right(ax, x.ndim()), keepdims](const JvpArgs& a) {
                     return sum(a.t(0) * share(a.out), right, keepdims);
                   }, true);
}

}  // namespace

Variable max(const Variable& x, const Axes& axes, bool keepdims) {
  return extremum("max", Reduce::Max, x, axes, keepdims);
}

Variable min(const Variable& x, const Axes& axes, bool keepdims) {
  return extremum("min", Reduce::Min, x, axes, keepdims);
}

// logsumexp(x, axes) = m + log(sum(exp(x - m))), m the max (0 where it is not finite)
//   w = exp(x - out'), out' = out (reduced axes kept) with -inf replaced by 0: the
//       softmax weights, and 0 over a slice that is all -inf (our convention: no
//       finite direction increases the value, and NaN would poison every gradient).
//   vjp: gx = gout (reduced axes kept) * w
//   jvp: tout = sum(tx * w, axes)
//   (w is NaN where x is NaN or +inf: the products are strong_mul, Note [Strong zero])
Variable logsumexp(const Variable& x, const Axes& axes, bool keepdims) {
  Dims ax = normalize_axes("logsumexp", axes, x.ndim());
  Shape ks = keepdims_shape(x.shape(), ax);
  Tensor out = detail::logsumexp_tensor(x.data(), ax);
  if (!keepdims) {
    Shape s;
    for (std::int64_t d = 0, k = 0; d < x.ndim(); ++d)
      if (k < static_cast<std::int64_t>(ax.size()) && ax[k] == d) ++k;
      else s.push_back(x.shape()[d]);
    out = out.view(s);
  }
  auto weights = [x, ks](const Variable& out) {
    Variable out_k = reshape(out, ks);
    Tensor neg_inf = kernels::unary(kernels::Unary::IsNegInf, out_k.data());
    return exp(x - where(neg_inf, scalar_like(0.0, out_k), out_k));
  };
  return record_op("logsumexp", out, {x},
                   [weights, ks](const BackwardArgs& a) -> Grads {
                     return {strong_mul(reshape(a.gout, prefixed(a.lead_shape(), ks)), weights(a.out))};
                   },
                   [weights, right = from_right(ax, x.ndim()), keepdims](const JvpArgs& a) {
                     return sum(strong_mul(a.t(0), weights(a.out)), right, keepdims);
                   }, true);
}

// norm(x, axes) = sqrt(sum(x^2, axes)), the Euclidean norm
//   safe = out (reduced axes kept), with 1 where out == 0
//   vjp: gx = gout (reduced axes kept) * x / safe
//   jvp: tout = sum(tx * x, axes) / safe
// At 0 the gradient is 0, the minimum-norm subgradient (PyTorch's convention):
// x / out would be 0/0. The where() keeps every derivative of the rule finite too.
// With an infinite x the products and quotients are strong_mul / strong_div.
Variable norm(const Variable& x, const Axes& axes, bool keepdims) {
  Dims ax = normalize_axes("norm", axes, x.ndim());
  Shape ks = keepdims_shape(x.shape(), ax);
  Tensor squares = kernels::binary(kernels::Binary::Mul, x.data(), x.data());
  Tensor out = kernels::unary(kernels::Unary::Sqrt, kernels::reduce(Reduce::Sum, squares, ax, keepdims));
  auto safe = [ks](const Variable& out) {
    Variable out_k = reshape(out, ks);
    Tensor zero = kernels::binary(kernels::Binary::Equal, out_k.data(), Tensor::zeros({}, out_k.dtype()));
    return where(zero, scalar_like(1.0, out_k), out_k);
  };
  return record_op("norm", out, {x},
                   [x, safe, ks](const BackwardArgs& a) -> Grads {
                     return {strong_div(strong_mul(reshape(a.gout, prefixed(a.lead_shape(), ks)), x), safe(a.out))};
                   },
                   [x, safe, right = from_right(ax, x.ndim()), keepdims](const JvpArgs& a) {
                     Variable s = keepdims ? safe(a.out) : reshape(safe(a.out), a.out.shape());
                     return strong_div(sum(strong_mul(a.t(0), x), right, keepdims), s);
                   }, true);
}

// sum_to(x, shape): sums the broadcast dimensions of x away so that it has `shape`
//   vjp: gx = broadcast_to(gout aligned with x, x.shape)
//   jvp: tout = sum_to(tx, shape)
Variable sum_to(const Variable& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  Shape full = kernels::broadcast_shapes("sum_to", shape, x.shape());
  if (full != x.shape())
    throw std::invalid_argument("sum_to: shape " + shape_str(shape) + " does not broadcast to " +
                                shape_str(x.shape()));
  Dims ax;
  const std::size_t lead = x.shape().size() - shape.size();
  for (std::size_t d = 0; d < x.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) ax.push_back(static_cast<std::int64_t>(d));
  Tensor out = kernels::reduce(Reduce::Sum, x.data(), ax, false).view(shape);
  return record_op("sum_to", out, {x},
                   [xs = x.shape(), shape](const BackwardArgs& a) -> Grads {
                     Variable g = detail::align(a.gout, shape, xs.size());
                     return {broadcast_to(g, prefixed(a.lead_shape(), xs))};
                   },
                   [shape](const JvpArgs& a) { return detail::unbroadcast(a.t(0), shape, a.lead); });
}

}  // namespace eigengrad

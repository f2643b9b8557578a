// Neural-network functions along one axis, stable for large |x|. Rules name the
// axis from the right, so batch dimensions in front pass through. Their weights are
// NaN where x is NaN or +inf: the products are strong_mul (Note [Strong zero]).
#include "common.h"

namespace eigengrad {

using detail::normalize_axis;
using detail::record_op;
using detail::strong_mul;
using Grads = std::vector<Variable>;

// softmax(x) = exp((x - m) - log(sum(exp(x - m)))) along axis, m the max
//   vjp: gx = out * (gout - sum(gout * out, axis, keepdims))
//   jvp: tout = out * (tx - sum(tx * out, axis, keepdims))
Variable softmax(const Variable& x, std::int64_t axis) {
  const std::int64_t ax = normalize_axis("softmax", axis, x.ndim());
  auto [shifted, log_sum] = detail::shifted_logsumexp(x.data(), {ax});
  Tensor out = kernels::unary(kernels::Unary::Exp, kernels::binary(kernels::Binary::Sub, shifted, log_sum));
  Dims right{ax - x.ndim()};
  return record_op("softmax", out, {x},
                   [right](const BackwardArgs& a) -> Grads {
                     return {strong_mul(a.gout - sum(strong_mul(a.gout, a.out), right, true), a.out)};
                   },
                   [right](const JvpArgs& a) {
                     return strong_mul(a.t(0) - sum(strong_mul(a.t(0), a.out), right, true), a.out);
                   },
                   true);
}

// log_softmax(x) = (x - m) - log(sum(exp(x - m))) along axis, m the max
//   vjp: gx = gout - exp(out) * sum(gout, axis, keepdims)
//   jvp: tout = tx - sum(tx * exp(out), axis, keepdims)
Variable log_softmax(const Variable& x, std::int64_t axis) {
  const std::int64_t ax = normalize_axis("log_softmax", axis, x.ndim());
  auto [shifted, log_sum] = detail::shifted_logsumexp(x.data(), {ax});
  Dims right{ax - x.ndim()};
  return record_op("log_softmax", kernels::binary(kernels::Binary::Sub, shifted, log_sum), {x},
                   [right](const BackwardArgs& a) -> Grads {
                     return {a.gout - strong_mul(sum(a.gout, right, true), exp(a.out))};
                   },
                   [right](const JvpArgs& a) { return a.t(0) - sum(strong_mul(a.t(0), exp(a.out)), right, true); },
                   true);
}

}  // namespace eigengrad

// Neural-network functions along one axis, stable for large |x|.
#include "common.h"

namespace eigengrad {

using detail::normalize_axis;
using Grads = std::vector<Variable>;

// softmax(x) = exp((x - m) - log(sum(exp(x - m)))) along axis, m the max
//   vjp: gx = out * (gout - sum(gout * out, axis, keepdims))
Variable softmax(const Variable& x, std::int64_t axis) {
  std::vector<std::int64_t> ax{normalize_axis("softmax", axis, x.ndim())};
  auto [shifted, log_sum] = detail::shifted_logsumexp(x.data(), ax);
  Tensor out = kernels::unary(kernels::Unary::Exp, kernels::binary(kernels::Binary::Sub, shifted, log_sum));
  return record("softmax", out, {x}, [ax](const BackwardArgs& a) -> Grads {
    return {a.out * (a.gout - sum(a.gout * a.out, ax, true))};
  }, true);
}

// log_softmax(x) = (x - m) - log(sum(exp(x - m))) along axis, m the max
//   vjp: gx = gout - exp(out) * sum(gout, axis, keepdims)
Variable log_softmax(const Variable& x, std::int64_t axis) {
  std::vector<std::int64_t> ax{normalize_axis("log_softmax", axis, x.ndim())};
  auto [shifted, log_sum] = detail::shifted_logsumexp(x.data(), ax);
  return record("log_softmax", kernels::binary(kernels::Binary::Sub, shifted, log_sum), {x},
                [ax](const BackwardArgs& a) -> Grads {
                  return {a.gout - exp(a.out) * sum(a.gout, ax, true)};
                }, true);
}

}  // namespace eigengrad

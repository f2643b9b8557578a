// The Variable methods built on ops: copy_ (broadcasts the value) and the
// forward-mode helpers make_dual, tangent and grad_input (alias, astype).
#include <cstring>
#include <stdexcept>

#include "../forward_levels.h"
#include "eigengrad/ops.h"

namespace eigengrad {

void Variable::copy_(const Variable& value) const {
  const Tensor& dst = data();
  if (requires_grad() && grad_enabled())
    throw std::runtime_error(
        "copy_: an in-place update of a Variable that requires grad would not be recorded; make "
        "it with grad mode off (with eg.no_grad(): ...) or compute a new Variable instead");
  Tensor src;
  {
    NoGradGuard no_grad;
    Variable v = value.shape() == dst.shape() ? value : broadcast_to(value, dst.shape());
    src = v.data().to(dst.dtype());
  }
  const std::size_t n = static_cast<std::size_t>(dst.numel()) * itemsize(dst.dtype());
  if (n && src.data() != dst.data()) std::memmove(dst.data(), src.data(), n);
  dst.storage()->bump_version();
}

Variable make_dual(const Variable& primal, const Variable& tangent, const ForwardLevel& level) {
  Variable t = tangent.dtype() == primal.dtype() ? tangent : astype(tangent, primal.dtype());
  detail::tangent_lead("make_dual", primal, t);
  Variable dual = alias(primal);
  detail::set_tangent(dual, level.id(), std::move(t));
  return dual;
}

Variable tangent(const Variable& x, const ForwardLevel& level) { return detail::find_tangent(x, level.id()); }

Variable grad_input(const Variable& x) {
  if (x.requires_grad()) return alias(x);
  Variable leaf(x.data(), true);
  leaf.impl()->tangents = x.impl()->tangents;
  return leaf;
}

}  // namespace eigengrad

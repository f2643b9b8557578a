#include "common.h"

#include <algorithm>
#include <cmath>

#include "../dispatch.h"

namespace eigengrad::detail {

std::int64_t normalize_axis(const char* op, std::int64_t axis, std::int64_t ndim) {
  if (axis < -ndim || axis >= ndim)
    throw AxisError(std::string(op) + ": axis " + std::to_string(axis) +
                    " is out of bounds for array of dimension " + std::to_string(ndim));
  return axis < 0 ? axis + ndim : axis;
}

Dims normalize_axes(const char* op, const Axes& axes, std::int64_t ndim) {
  Dims out;
  if (!axes) {
    for (std::int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (std::int64_t a : *axes) out.push_back(normalize_axis(op, a, ndim));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    throw std::invalid_argument(std::string(op) + ": duplicate value in 'axis'");
  return out;
}

Shape keepdims_shape(const Shape& shape, const Dims& axes) {
  Shape out = shape;
  for (std::int64_t a : axes) out[a] = 1;
  return out;
}

Shape prefixed(const Shape& lead_shape, const Shape& shape) {
  Shape out = lead_shape;
  out.insert(out.end(), shape.begin(), shape.end());
  return out;
}

Variable unbroadcast(const Variable& g, const Shape& shape, std::size_t lead) {
  if (lead == 0) return sum_to(g, shape);
  Shape lead_shape(g.shape().begin(), g.shape().begin() + static_cast<std::ptrdiff_t>(lead));
  const std::size_t pad = static_cast<std::size_t>(g.ndim()) - lead - shape.size();
  Shape target = lead_shape;
  target.insert(target.end(), pad, 1);
  target.insert(target.end(), shape.begin(), shape.end());
  return reshape(sum_to(g, target), prefixed(lead_shape, shape));
}

Variable align(const Variable& t, const Shape& x_shape, std::size_t out_ndim) {
  const std::size_t lead = static_cast<std::size_t>(t.ndim()) - x_shape.size();
  if (lead == 0 || x_shape.size() >= out_ndim) return t;
  Shape target(t.shape().begin(), t.shape().begin() + static_cast<std::ptrdiff_t>(lead));
  target.insert(target.end(), out_ndim - x_shape.size(), 1);
  target.insert(target.end(), x_shape.begin(), x_shape.end());
  return reshape(t, target);
}

Dims from_right(const Dims& axes, std::int64_t ndim) {
  Dims out;
  for (std::int64_t a : axes) out.push_back(a - ndim);
  return out;
}

std::pair<Variable, Variable> promote_pair(const Variable& x, const Variable& y) {
  if (x.dtype() == y.dtype()) return {x, y};
  DType common = promote(x.dtype(), y.dtype());
  return {astype(x, common), astype(y, common)};
}

namespace {
Tensor finite_max(const Tensor& x, const Dims& axes) {
  Tensor m = kernels::reduce(kernels::Reduce::Max, x, axes, true);
  dispatch(m.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* p = m.data_as<T>();
    for (std::int64_t i = 0; i < m.numel(); ++i)
      if (!std::isfinite(p[i])) p[i] = 0;
  });
  return m;
}
}  // namespace

std::pair<Tensor, Tensor> shifted_logsumexp(const Tensor& x, const Dims& axes) {
  using namespace kernels;
  Tensor shifted = binary(Binary::Sub, x, finite_max(x, axes));
  Tensor sum_exp = reduce(Reduce::Sum, unary(Unary::Exp, shifted), axes, true);
  return {shifted, unary(Unary::Log, sum_exp)};
}

Tensor logsumexp_tensor(const Tensor& x, const Dims& axes) {
  using namespace kernels;
  Tensor m = finite_max(x, axes);
  Tensor sum_exp = reduce(Reduce::Sum, unary(Unary::Exp, binary(Binary::Sub, x, m)), axes, true);
  return binary(Binary::Add, unary(Unary::Log, sum_exp), m);
}

Variable swap_last(const Variable& x) {
  Dims perm;
  for (std::int64_t d = 0; d < x.ndim(); ++d) perm.push_back(d);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  return transpose(x, perm);
}

}  // namespace eigengrad::detail
